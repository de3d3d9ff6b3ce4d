import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../support/api-client.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';

const OPERATOR = '88888888-8888-4888-8888-888888888888';

let stack: MemoryStack;
let call: ReturnType<typeof apiClient>;

interface Entry {
  who: { subject: string; roles: string[] };
  operation: string;
  method: string;
  path: string;
  customerId: string | null;
  status: number;
  request: unknown;
  changes: Record<string, { before: unknown; after: unknown }> | null;
}

beforeAll(async () => {
  stack = await startMemoryStack();
  call = apiClient(stack.api, () => stack.token({ subject: OPERATOR }));
}, 60_000);
afterAll(() => stack?.close());

const entries = async (path: string) => ((await call('GET', path)).body as { value: Entry[] }).value;

describe('the audit trail', () => {
  it("records who changed what about a customer, with the fields' before and after, newest first", async () => {
    const created = await call('POST', '/api/v1/customers', {
      json: { fullName: 'Audited Ltd', shortName: 'Audited', licenseType: 'hosted-pro', licensedUsers: 10 },
    });
    expect(created.status).toBe(201);
    const refused = await call('PATCH', '/api/v1/customers/Audited', { json: { licensedUsers: 100_000 } });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect((await call('PATCH', '/api/v1/customers/Audited', { json: { licensedUsers: 12 } })).status).toBe(
      200,
    );
    await call('GET', '/api/v1/customers/Audited');

    const trail = await entries('/api/v1/customers/Audited/audit');
    expect(trail.map((e) => `${e.method} ${e.operation}`)).toEqual([
      'PATCH customers-update',
      'POST customers-create',
    ]);
    expect(trail[0]).toMatchObject({
      who: { subject: OPERATOR, roles: ['provider-admin'] },
      path: '/api/v1/customers/Audited',
      customerId: 'Audited',
      status: 200,
      request: { licensedUsers: 12 },
      changes: { licensedUsers: { before: 10, after: 12 } },
    });
  });

  it('masks secrets in what it records, and keeps provider-wide changes apart', async () => {
    const secret = 'dns8Q~audited-secret-value';
    const saved = await call('PUT', '/api/v1/settings/dns-api', {
      json: {
        credential: 'app',
        tenantId: '11111111-2222-4333-8444-555555555555',
        clientId: '22222222-3333-4444-8555-666666666666',
        clientSecret: secret,
        subscriptionId: '44444444-5555-4666-8777-888888888888',
        resourceGroupName: 'rg-voice',
        dnsZone: 'voice.provider.example',
      },
    });
    expect(saved.status).toBe(200);
    const response = await call('GET', '/api/v1/audit');
    expect(JSON.stringify(response.body)).not.toContain(secret);
    const [entry] = (response.body as { value: Entry[] }).value;
    expect(entry).toMatchObject({
      operation: 'settings-dns-api-put',
      customerId: null,
      request: { clientSecret: '[redacted]', resourceGroupName: 'rg-voice' },
    });
    expect((await entries('/api/v1/customers/Audited/audit')).map((e) => e.operation)).not.toContain(
      entry?.operation,
    );
  });

  it('is not shown to a customer admin of another customer, nor the provider-wide trail', async () => {
    const other = apiClient(stack.api, () => stack.token({ roles: ['customer-admin'], subject: OPERATOR }));
    expect((await other('GET', '/api/v1/customers/Audited/audit')).status).toBe(403);
    expect((await other('GET', '/api/v1/audit')).status).toBe(403);
  });
});
