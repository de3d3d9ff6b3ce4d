import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApiEdge } from '../../shared/http/edge/api-edge.js';
import type { EdgeRoute } from '../../shared/http/edge/context.js';
import { bodyOf, fakePorts, invocation, request } from './edge-fixtures.js';

/** The assembled pipeline: the order of the steps is what these pin down. */
const route: EdgeRoute = {
  name: 'things-update',
  method: 'PATCH',
  roles: ['provider-admin', 'channel-admin'],
  customerScoped: true,
  params: z.strictObject({ customerId: z.string().regex(/^[A-Za-z]+$/) }),
  body: z.strictObject({ name: z.string().min(3) }),
};

const call = (customerId: string, token: string | null, body = '{"name":"x"}', ports = fakePorts()) =>
  createApiEdge(ports).handle(
    route,
    request({
      method: 'PATCH',
      url: `https://hub.example.com/api/v1/customers/${customerId}`,
      params: { customerId },
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body,
    }),
    invocation().context,
    async (ctx) => ({ status: 200, body: { saved: ctx.body } }),
  );

describe('the API edge', () => {
  it('answers 401 with www-authenticate before anything else', async () => {
    const response = await call('a.b', null, 'not json');
    expect(response.status).toBe(401);
    expect(response.headers).toMatchObject({ 'www-authenticate': 'Bearer' });
  });

  it('answers a role it does not know 403 before the path is looked at', async () => {
    expect((await call('a.b', 'customer-1')).status).toBe(403);
  });

  it('refuses a caller outside the customer before validating the body', async () => {
    const response = await call('OtherCo', 'channel-1', '{"name":"x","extra":true}');
    expect(response.status).toBe(403);
    expect(bodyOf(response)).not.toHaveProperty('errors');
  });

  it('validates the body of a caller inside the customer: 400 with field errors', async () => {
    const response = await call('OwnCo', 'channel-1');
    expect(response.status).toBe(400);
    expect(bodyOf(response)).toMatchObject({ code: 'validation_failed', errors: [{ field: 'name' }] });
  });

  it('runs the handler, audits the change and answers JSON', async () => {
    const ports = fakePorts();
    const response = await call('OwnCo', 'channel-1', '{"name":"Alpha"}', ports);
    expect(response).toEqual({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"saved":{"name":"Alpha"}}',
    });
    expect(ports.records).toMatchObject([{ operation: 'things-update', customerId: 'OwnCo', status: 200 }]);
  });

  it('still answers the change when its audit record fails', async () => {
    const ports = fakePorts({ audit: { record: () => Promise.reject(new Error('down')) } });
    expect((await call('OwnCo', 'provider-1', '{"name":"Alpha"}', ports)).status).toBe(200);
  });
});
