import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DomainError, isDomainError } from '../../shared/errors/domain-errors.js';
import { audit } from '../../shared/http/edge/audit.js';
import { authenticate } from '../../shared/http/edge/authenticate.js';
import { authorizeCustomer, authorizeRole } from '../../shared/http/edge/authorize.js';
import { MAX_BODY_BYTES } from '../../shared/http/edge/body.js';
import type { EdgeStep } from '../../shared/http/edge/compose.js';
import { type EdgeContext, newEdgeContext } from '../../shared/http/edge/context.js';
import { errorsToProblems } from '../../shared/http/edge/errors.js';
import { exposeHeaders } from '../../shared/http/edge/expose-headers.js';
import { respond, warnIfUndocumented } from '../../shared/http/edge/respond.js';
import { validateInput, validatePath } from '../../shared/http/edge/validate.js';
import {
  bodyOf,
  CHANNEL_ADMIN,
  CUSTOMER_ADMIN,
  edgeContext,
  fakePorts,
  invocation,
  PROVIDER,
  request,
} from './edge-fixtures.js';

/** Runs one step with a `next` that records it was called; returns what the step threw, if anything. */
async function run(step: EdgeStep, ctx: EdgeContext, inner: () => Promise<void> = async () => {}) {
  let reached = false;
  try {
    await step(ctx, async () => {
      reached = true;
      await inner();
    });
    return { reached, error: undefined };
  } catch (error) {
    return { reached, error };
  }
}

const ADMIN_ROUTE = { roles: ['provider-admin', 'channel-admin'] as const, customerScoped: true };

describe('authenticate', () => {
  it('refuses a missing token with the authenticator’s 401', async () => {
    const { reached, error } = await run(authenticate(fakePorts().authenticator), edgeContext(ADMIN_ROUTE));
    expect(reached).toBe(false);
    expect(isDomainError(error, 'unauthenticated')).toBe(true);
  });

  it('sets the principal for the steps inside', async () => {
    const ctx = edgeContext(ADMIN_ROUTE, request({ headers: { authorization: 'Bearer provider-1' } }));
    expect((await run(authenticate(fakePorts().authenticator), ctx)).reached).toBe(true);
    expect(ctx.principal).toEqual(PROVIDER);
  });

  it('reads no token on a route open to anyone', async () => {
    const ctx = edgeContext({ roles: null }, request({ headers: { authorization: 'Bearer nobody' } }));
    expect((await run(authenticate(fakePorts().authenticator), ctx)).reached).toBe(true);
    expect(ctx.principal).toBeNull();
  });
});

describe('authenticate, optional on a route open to anyone', () => {
  const OPEN = { roles: null, optionalAuthentication: true };

  it('passes a caller without a token on as anonymous', async () => {
    const ctx = edgeContext(OPEN);
    expect((await run(authenticate(fakePorts().authenticator), ctx)).reached).toBe(true);
    expect(ctx.principal).toBeNull();
  });

  it('verifies a token that is sent and passes its principal on', async () => {
    const ctx = edgeContext(OPEN, request({ headers: { authorization: 'Bearer provider-1' } }));
    expect((await run(authenticate(fakePorts().authenticator), ctx)).reached).toBe(true);
    expect(ctx.principal).toEqual(PROVIDER);
  });

  it('refuses a token that proves no caller: 401, not the anonymous answer', async () => {
    const ctx = edgeContext(OPEN, request({ headers: { authorization: 'Bearer nobody' } }));
    const { reached, error } = await run(authenticate(fakePorts().authenticator), ctx);
    expect(reached).toBe(false);
    expect(isDomainError(error, 'unauthenticated')).toBe(true);
  });
});

describe('authorizeRole', () => {
  it('refuses a caller without one of the roles: 403', async () => {
    const ctx = edgeContext({ roles: ['provider-admin'] });
    ctx.principal = CUSTOMER_ADMIN;
    const { reached, error } = await run(authorizeRole, ctx);
    expect(reached).toBe(false);
    expect(isDomainError(error, 'forbidden')).toBe(true);
  });

  it('lets a caller with one of the roles through', async () => {
    const ctx = edgeContext({ roles: ['provider-admin'] });
    ctx.principal = PROVIDER;
    expect((await run(authorizeRole, ctx)).reached).toBe(true);
  });
});

describe('authorizeCustomer', () => {
  const step = authorizeCustomer(fakePorts().access);
  const scoped = (principal: typeof PROVIDER, customerId: string) => {
    const ctx = edgeContext(ADMIN_ROUTE);
    ctx.principal = principal;
    ctx.params = { customerId };
    return ctx;
  };

  it('lets a channel admin act on a customer of its channel', async () => {
    expect((await run(step, scoped(CHANNEL_ADMIN, 'OwnCo'))).reached).toBe(true);
  });

  it('refuses a channel admin another channel’s customer: 403', async () => {
    const { reached, error } = await run(step, scoped(CHANNEL_ADMIN, 'OtherCo'));
    expect(reached).toBe(false);
    expect(isDomainError(error, 'forbidden')).toBe(true);
  });

  it('asks customerOf for the customer of a path without one, and refuses when it names none', async () => {
    const ctx = edgeContext({ ...ADMIN_ROUTE, customerOf: async () => null });
    ctx.principal = CHANNEL_ADMIN;
    const { error } = await run(step, ctx);
    expect(error).toMatchObject({ kind: 'forbidden', detail: 'You may not act on this resource.' });
  });

  it('asks nothing of a provider admin', async () => {
    const ctx = edgeContext({ ...ADMIN_ROUTE, customerOf: () => Promise.reject(new Error('asked')) });
    ctx.principal = PROVIDER;
    expect((await run(step, ctx)).reached).toBe(true);
  });

  it('tells list handlers which customers the caller sees', async () => {
    const channel = scoped(CHANNEL_ADMIN, 'OwnCo');
    await run(step, channel);
    expect(await channel.scope()).toEqual({ kind: 'customers', customerIds: new Set(['OwnCo', 'SecondCo']) });
    const provider = scoped(PROVIDER, 'OwnCo');
    await run(step, provider);
    expect(await provider.scope()).toEqual({ kind: 'all' });
  });
});

describe('validatePath', () => {
  const params = z.strictObject({ customerId: z.string().regex(/^[A-Za-z]+$/) });

  it('answers 404 for a path that names nothing', async () => {
    const ctx = edgeContext({ params }, request({ params: { customerId: 'a.b' } }));
    const { reached, error } = await run(validatePath, ctx);
    expect(reached).toBe(false);
    expect(isDomainError(error, 'not_found')).toBe(true);
  });

  it('hands the parsed parameters on', async () => {
    const ctx = edgeContext({ params }, request({ params: { customerId: 'OwnCo' } }));
    await run(validatePath, ctx);
    expect(ctx.params).toEqual({ customerId: 'OwnCo' });
  });
});

describe('validateInput', () => {
  const route = {
    method: 'POST' as const,
    query: z.object({ top: z.coerce.number().int().max(10).default(5) }),
    body: z.strictObject({ name: z.string().min(3) }),
  };
  const post = (body: string | undefined, headers: Record<string, string> = {}, url?: string) =>
    edgeContext(
      route,
      request({
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...headers },
        ...(url ? { url } : {}),
      }),
    );

  it('parses the query and the body for the handler', async () => {
    const ctx = post('{"name":"Alpha"}');
    expect((await run(validateInput, ctx)).reached).toBe(true);
    expect(ctx.query).toEqual({ top: 5 });
    expect(ctx.body).toEqual({ name: 'Alpha' });
  });

  it('answers 400 to a query parameter the schema does not declare, though the schema is not strict', async () => {
    const { reached, error } = await run(
      validateInput,
      post('{"name":"Alpha"}', {}, 'https://h/x?top=2&%24top=3'),
    );
    expect(reached).toBe(false);
    expect(error).toMatchObject({
      kind: 'validation',
      fields: [{ field: '$top', in: 'query', code: 'unknown_field' }],
    });
    expect((error as DomainError).fields?.[0]?.message).toMatch(/not a query parameter/);
  });

  it('answers 400 with field errors for the query and the body', async () => {
    const query = await run(validateInput, post('{"name":"Alpha"}', {}, 'https://h/x?top=11'));
    expect(query.error).toMatchObject({ kind: 'validation', fields: [{ field: 'top', in: 'query' }] });
    const body = await run(validateInput, post('{"name":"Al","extra":1}'));
    expect(body.reached).toBe(false);
    expect(body.error).toMatchObject({
      kind: 'validation',
      code: 'validation_failed',
      fields: [
        { field: 'name', in: 'body', code: 'too_short' },
        { field: 'extra', in: 'body', code: 'unknown_field' },
      ],
    });
  });

  it.each([
    ['a form', 'a=b', { 'content-type': 'application/x-www-form-urlencoded' }, 'unsupported_media_type'],
    ['a declared length over the limit', '{}', { 'content-length': String(MAX_BODY_BYTES + 1) }, 'too_large'],
    ['a body over the limit', `{"name":"${'x'.repeat(MAX_BODY_BYTES)}"}`, {}, 'too_large'],
    ['malformed JSON', '{"name":', {}, 'validation'],
    ['an empty body', '  ', {}, 'validation'],
  ])('refuses %s', async (_what, body, headers, kind) => {
    const { reached, error } = await run(validateInput, post(body, headers));
    expect(reached).toBe(false);
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).kind).toBe(kind);
  });
});

describe('validateInput, the body', () => {
  const route = {
    roles: null,
    body: z.strictObject({ name: z.string(), tags: z.array(z.string()).optional() }),
  };

  it('refuses a body without Content-Type as 415, saying to send application/json', async () => {
    const ctx = edgeContext(
      route,
      request({ method: 'POST', body: new TextEncoder().encode('{"name":"Alpha"}') }),
    );
    expect(ctx.request.headers.get('content-type')).toBeNull();
    const { reached, error } = await run(validateInput, ctx);
    expect(reached).toBe(false);
    expect(error).toMatchObject({ kind: 'unsupported_media_type', code: 'unsupported_media_type' });
    expect((error as DomainError).detail).toMatch(/no Content-Type/);
  });

  it('refuses a key named twice with 400, naming the field, instead of keeping the last', async () => {
    const ctx = edgeContext(
      route,
      request({
        method: 'POST',
        body: '{"name":"Alpha","name":"Omega"}',
        headers: { 'content-type': 'application/json' },
      }),
    );
    const { reached, error } = await run(validateInput, ctx);
    expect(reached).toBe(false);
    expect(error).toMatchObject({
      kind: 'validation',
      code: 'validation_failed',
      fields: [{ field: 'name', in: 'body', code: 'duplicate_field' }],
    });
  });
});

describe('audit', () => {
  const post = () => {
    const ctx = edgeContext(
      { name: 'things-update', method: 'PATCH' },
      request({ method: 'PATCH', url: 'https://hub.example.com/api/v1/customers/OwnCo?x=1' }),
    );
    ctx.principal = PROVIDER;
    ctx.params = { customerId: 'OwnCo' };
    ctx.body = { name: 'Alpha', clientSecret: 's3cret' };
    return ctx;
  };

  it('records a successful change, secrets masked', async () => {
    const ports = fakePorts();
    const ctx = post();
    await run(audit(ports), ctx, async () => {
      ctx.result = {
        status: 200,
        changes: { password: { before: 'old', after: 'new' }, users: { before: 1, after: 2 } },
      };
    });
    expect(ports.records).toEqual([
      expect.objectContaining({
        operation: 'things-update',
        method: 'PATCH',
        path: '/api/v1/customers/OwnCo',
        customerId: 'OwnCo',
        status: 200,
        who: { subject: 'provider-1', name: 'Pat', roles: ['provider-admin'] },
        request: { name: 'Alpha', clientSecret: '[redacted]' },
        changes: { password: '[redacted]', users: { before: 1, after: 2 } },
      }),
    ]);
  });

  it('records no read and no failure', async () => {
    const ports = fakePorts();
    const read = edgeContext({ method: 'GET' });
    await run(audit(ports), read, async () => {
      read.result = { status: 200 };
    });
    const failed = post();
    await run(audit(ports), failed, async () => {
      failed.result = { status: 409 };
    });
    const thrown = await run(audit(ports), post(), () => Promise.reject(new Error('boom')));
    expect(thrown.error).toEqual(new Error('boom'));
    expect(ports.records).toEqual([]);
  });

  it('names the customer of a task operation through the task', async () => {
    const ports = fakePorts({
      taskEngine: { get: async () => ({ customerId: 'OwnCo' }) as never },
    });
    const ctx = edgeContext({ method: 'POST' });
    ctx.params = { taskId: 'T1' };
    await run(audit(ports), ctx, async () => {
      ctx.result = { status: 202 };
    });
    expect(ports.records[0]?.customerId).toBe('OwnCo');
  });

  it('logs a failed record and does not fail the call', async () => {
    const ports = fakePorts({ audit: { record: () => Promise.reject(new Error('table down')) } });
    const { context, lines } = invocation();
    const ctx = { ...post(), context };
    const { error } = await run(audit(ports), ctx, async () => {
      ctx.result = { status: 200 };
    });
    expect(error).toBeUndefined();
    expect(lines).toEqual([
      {
        level: 'error',
        line: expect.objectContaining({
          message: 'Audit record of things-update failed.',
          error: 'table down',
        }),
      },
    ]);
  });
});

describe('a status the OpenAPI description does not document', () => {
  it('is logged as drift, by the handler or as a problem; a documented one is not', async () => {
    const { context, lines } = invocation();
    const route = { name: 'things-op', documentedStatuses: new Set([200, 500]) };
    warnIfUndocumented(route, 200, context);
    warnIfUndocumented(route, 201, context);
    const ctx = newEdgeContext(
      { ...route, method: 'GET', roles: null, customerScoped: false },
      request(),
      context,
    );
    await run(errorsToProblems, ctx, () =>
      Promise.reject(new DomainError('gone', { code: 'wizard_session_expired', title: 'Expired' })),
    );
    expect(ctx.response?.status).toBe(410);
    expect(lines.map(({ line }) => line.message)).toEqual([
      'things-op answered 201, which its OpenAPI description does not document.',
      'things-op answered 410, which its OpenAPI description does not document.',
    ]);
  });
});

describe('errorsToProblems and respond', () => {
  it('answers a DomainError with its kind’s status and problem+json', async () => {
    const ctx = edgeContext({});
    await run(errorsToProblems, ctx, () =>
      Promise.reject(
        new DomainError('limit_reached', {
          code: 'tenant_licenses_exhausted',
          title: 'No license',
          detail: 'd',
        }),
      ),
    );
    expect(ctx.response).toMatchObject({
      status: 409,
      headers: { 'content-type': 'application/problem+json' },
    });
    expect(bodyOf(ctx.response ?? {})).toEqual({
      type: 'urn:direct-routing-hub:problem:tenant_licenses_exhausted',
      title: 'No license',
      status: 409,
      code: 'tenant_licenses_exhausted',
      detail: 'd',
    });
  });

  it('answers 401 with www-authenticate', async () => {
    const ctx = edgeContext({ roles: ['provider-admin'] });
    await run(errorsToProblems, ctx, () =>
      run(authenticate(fakePorts().authenticator), ctx).then(({ error }) => {
        throw error;
      }),
    );
    expect(ctx.response?.status).toBe(401);
    expect(ctx.response?.headers).toMatchObject({ 'www-authenticate': 'Bearer' });
  });

  it('answers anything else 500 internal_error naming the invocation, and logs the stack', async () => {
    const { context, lines } = invocation();
    const ctx = { ...edgeContext({}), context };
    await run(errorsToProblems, ctx, () => Promise.reject(new TypeError('x is undefined')));
    expect(ctx.response?.status).toBe(500);
    expect(bodyOf(ctx.response ?? {})).toMatchObject({
      code: 'internal_error',
      detail: 'Something went wrong on our side; quote invocation inv-123 to support.',
    });
    expect(lines[0]?.level).toBe('error');
    expect(String(lines[0]?.line.error)).toContain('TypeError: x is undefined');
  });

  it('turns the result into JSON, or no body when it has none', async () => {
    const ctx = edgeContext({});
    await run(respond, ctx, async () => {
      ctx.result = { status: 200, body: { a: 1 }, headers: { etag: '"1"' } };
    });
    expect(ctx.response).toEqual({
      status: 200,
      headers: { etag: '"1"', 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    await run(respond, ctx, async () => {
      ctx.result = { status: 204 };
    });
    expect(ctx.response).toEqual({ status: 204, headers: {} });
  });
});

describe('exposeHeaders', () => {
  const answer = async (headers: Record<string, string> | Headers) => {
    const ctx = edgeContext({ roles: null });
    await run(exposeHeaders, ctx, async () => {
      ctx.response = { status: 201, headers, body: '{}' };
    });
    return ctx.response;
  };

  it('names the non-safelisted headers a portal reads, only those the response has', async () => {
    expect(
      await answer({ etag: '"v1"', location: '/api/v1/customers/c1', 'content-type': 'application/json' }),
    ).toEqual({
      status: 201,
      headers: {
        etag: '"v1"',
        location: '/api/v1/customers/c1',
        'content-type': 'application/json',
        'access-control-expose-headers': 'ETag, Location',
      },
      body: '{}',
    });
    expect((await answer({ 'retry-after': '30' }))?.headers).toMatchObject({
      'access-control-expose-headers': 'Retry-After',
    });
  });

  it('adds nothing when there is nothing to read, and keeps a Headers object one', async () => {
    expect((await answer({ 'content-type': 'application/json' }))?.headers).toEqual({
      'content-type': 'application/json',
    });
    const headers = (await answer(new Headers({ ETag: '"v2"' })))?.headers;
    expect(headers).toBeInstanceOf(Headers);
    expect((headers as Headers).get('access-control-expose-headers')).toBe('ETag');
  });
});
