import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { HttpResponse, type HttpResponseInit } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAzurite, startAzurite } from '../../dev/azurite.js';
import { type LogRecord, type RunningHost, startLocalHost } from '../../dev/host/index.js';
import type {
  FunctionDefinition,
  HttpFunctionDefinition,
  HttpHandler,
  HttpMethod,
} from '../../shared/platform/function-definitions.js';

const http = (
  name: string,
  route: string,
  methods: HttpMethod[],
  handler: HttpHandler,
): HttpFunctionDefinition => ({
  kind: 'http',
  name,
  route,
  methods,
  handler,
});
const echoParams: HttpHandler = async (request) => ({
  jsonBody: { params: request.params, url: request.url },
});
const invocations = new Map<string, number>();
const counted =
  (name: string, handler: HttpHandler): HttpHandler =>
  (request, context) => {
    invocations.set(name, (invocations.get(name) ?? 0) + 1);
    return handler(request, context);
  };

const registry: FunctionDefinition[] = [
  http('customer-get', 'api/v1/customers/{customerId}', ['GET'], echoParams),
  http('customer-user', 'api/v1/customers/{customerId}/users/{userId:int}', ['GET'], echoParams),
  http('customer-list', 'api/v1/customers', ['GET'], async () => ({ jsonBody: { value: [] } })),
  http('customer-create', 'api/v1/customers', ['POST'], async () => ({ status: 201, jsonBody: {} })),
  http('docs', 'docs/{page?}', ['GET'], echoParams),
  http('files', 'files/{*path}', ['GET'], echoParams),
  http('oauth-callback', 'authenticate/OAuth2Callback', ['GET'], async (request) => ({
    jsonBody: {
      query: Object.fromEntries(request.query),
      codes: request.query.getAll('code'),
      url: request.url,
    },
  })),
  http(
    'echo',
    'echo',
    ['POST', 'PUT'],
    counted('echo', async (request) => {
      const bytes = new Uint8Array(await request.arrayBuffer());
      return {
        status: 201,
        headers: {
          'content-type': request.headers.get('content-type') ?? 'application/octet-stream',
          'x-received-length': String(bytes.length),
        },
        body: bytes,
      };
    }),
  ),
  http('headers', 'headers', ['GET'], async (request) => ({
    jsonBody: {
      method: request.method,
      test: request.headers.get('x-test'),
      host: request.headers.get('host'),
    },
  })),
  http('text', 'responses/text', ['GET'], async () => ({
    body: 'plain text',
    headers: { 'content-type': 'text/plain; charset=utf-8', 'x-custom': 'yes' },
    cookies: [
      { name: 'session', value: 'a b', httpOnly: true, secure: true, sameSite: 'Lax', path: '/', maxAge: 60 },
      { name: 'theme', value: 'dark', expires: Date.UTC(2030, 0, 1) },
    ],
  })),
  http('json', 'responses/json', ['GET'], async () => ({ status: 202, jsonBody: { ok: true, n: 1 } })),
  http('json-typed', 'responses/json-typed', ['GET'], async () => ({
    jsonBody: { a: 1 },
    headers: new Headers({ 'Content-Type': 'application/vnd.drh+json' }),
  })),
  http('json-and-body', 'responses/json-and-body', ['GET'], async () => ({
    jsonBody: ['json'],
    body: 'ignored',
  })),
  http('bytes', 'responses/bytes', ['GET'], async () => ({ body: new Uint8Array([0, 255, 1, 128]) })),
  http('array-buffer', 'responses/array-buffer', ['GET'], async () => ({
    body: new Uint8Array([9, 8, 7]).buffer,
  })),
  http('stream', 'responses/stream', ['GET'], async () => ({
    body: new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('first,'));
        controller.enqueue(new TextEncoder().encode('second'));
        controller.close();
      },
    }),
  })),
  http(
    'instance',
    'responses/instance',
    ['GET'],
    async (): Promise<HttpResponseInit> =>
      new HttpResponse({
        status: 418,
        jsonBody: { teapot: true },
        cookies: [{ name: 'brew', value: 'earl-grey' }],
      }),
  ),
  http('empty', 'responses/empty', ['DELETE'], async () => ({ status: 204 })),
  http('boom', 'boom', ['GET'], async (_request, context) => {
    context.log('about to fail');
    throw new Error('database password is hunter2');
  }),
  http('boom-non-error', 'boom/{what}', ['GET'], async (request) => {
    throw request.params.what === 'undefined' ? undefined : 'thrown string with hunter2';
  }),
  http('logs', 'logs', ['POST'], async (request, context) => {
    await request.text();
    context.log('info message', { n: 1 });
    context.warn('warned');
    context.error('errored');
    return { jsonBody: { invocationId: context.invocationId, functionName: context.functionName } };
  }),
];

let azurite: RunningAzurite;
let host: RunningHost;
let smallLimitHost: RunningHost;
let corsHost: RunningHost;
const PORTAL = 'https://portal.example.com';
const logs: LogRecord[] = [];
const get = (path: string, init?: RequestInit) => fetch(`${host.url}${path}`, init);

beforeAll(async () => {
  azurite = await startAzurite();
  host = await startLocalHost({
    registry,
    port: 0,
    storageConnectionString: azurite.connectionString,
    log: (record) => logs.push(record),
  });
  smallLimitHost = await startLocalHost({
    registry,
    port: 0,
    storageConnectionString: azurite.connectionString,
    http: { maxRequestBodyBytes: 1024 },
    log: () => {},
  });
  corsHost = await startLocalHost({
    registry,
    port: 0,
    storageConnectionString: azurite.connectionString,
    http: { cors: { allowedOrigins: [PORTAL, 'http://localhost:5173'] } },
    log: (record) => logs.push(record),
  });
});

afterAll(async () => {
  await host?.close();
  await smallLimitHost?.close();
  await corsHost?.close();
  await azurite?.close();
});

async function expectProblem(response: Response, status: number, code: string): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  expect(await response.json()).toEqual({
    type: `urn:direct-routing-hub:problem:${code}`,
    title: expect.any(String),
    status,
    code,
  });
}

describe('local host: HTTP routes', () => {
  it('serves routes at their template with route parameters and the full request URL', async () => {
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await get('/api/v1/customers/contoso-1');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      params: { customerId: 'contoso-1' },
      url: `${host.url}/api/v1/customers/contoso-1`,
    });
  });

  it('applies route constraints', async () => {
    expect(await (await get('/api/v1/customers/c1/users/42')).json()).toMatchObject({
      params: { customerId: 'c1', userId: '42' },
    });
    await expectProblem(await get('/api/v1/customers/c1/users/forty-two'), 404, 'route_not_found');
  });

  it('serves optional and catch-all parameters', async () => {
    expect(await (await get('/docs')).json()).toMatchObject({ params: {} });
    expect(await (await get('/docs/getting-started')).json()).toMatchObject({
      params: { page: 'getting-started' },
    });
    expect(await (await get('/files/reports/2024/q1.csv')).json()).toMatchObject({
      params: { path: 'reports/2024/q1.csv' },
    });
  });

  it('matches literal segments case-insensitively and parses the query string', async () => {
    const response = await get('/AUTHENTICATE/oauth2callback?code=abc&state=x%20y&code=def');
    expect(response.status).toBe(200);
    const body = (await response.json()) as { query: Record<string, string>; codes: string[]; url: string };
    // Repeated keys arrive joined with commas, as the Azure host passes them.
    expect(body.query).toEqual({ code: 'abc,def', state: 'x y' });
    expect(body.codes).toEqual(['abc,def']);
    expect(body.url).toBe(`${host.url}/AUTHENTICATE/oauth2callback?code=abc&state=x%20y&code=def`);
  });

  it('answers an unknown route with 404 problem+json', async () => {
    await expectProblem(await get('/api/v1/nothing-here'), 404, 'route_not_found');
  });

  it('answers a known route with a wrong method with 405 problem+json and Allow', async () => {
    const response = await get('/api/v1/customers', { method: 'DELETE' });
    expect(response.headers.get('allow')).toBe('GET, POST');
    await expectProblem(response, 405, 'method_not_allowed');
    expect((await get('/api/v1/customers', { method: 'POST' })).status).toBe(201);
  });

  it('passes request headers and method to the handler', async () => {
    const response = await get('/headers', { headers: { 'x-test': 'value-1' } });
    expect(await response.json()).toEqual({ method: 'GET', test: 'value-1', host: new URL(host.url).host });
  });

  it('delivers request body bytes unchanged', async () => {
    const sent = new Uint8Array(randomBytes(64 * 1024));
    sent[0] = 0xff; // never valid UTF-8: a text round trip would corrupt it
    const response = await get('/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: sent,
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-received-length')).toBe(String(sent.length));
    expect(Buffer.from(await response.arrayBuffer()).equals(Buffer.from(sent))).toBe(true);
  });

  it('serialises jsonBody as application/json unless the handler set a content type', async () => {
    const json = await get('/responses/json');
    expect(json.status).toBe(202);
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(await json.json()).toEqual({ ok: true, n: 1 });

    const typed = await get('/responses/json-typed');
    expect(typed.headers.get('content-type')).toBe('application/vnd.drh+json');
    expect(await typed.json()).toEqual({ a: 1 });

    expect(await (await get('/responses/json-and-body')).json()).toEqual(['json']);
  });

  it('writes a string body with headers and cookies', async () => {
    const response = await get('/responses/text');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(response.headers.get('x-custom')).toBe('yes');
    expect(response.headers.get('content-length')).toBe(String('plain text'.length));
    expect(response.headers.getSetCookie()).toEqual([
      'session=a%20b; Max-Age=60; Path=/; HttpOnly; Secure; SameSite=Lax',
      'theme=dark; Expires=Tue, 01 Jan 2030 00:00:00 GMT',
    ]);
    expect(await response.text()).toBe('plain text');
  });

  it('writes binary, ArrayBuffer and stream bodies', async () => {
    expect([...new Uint8Array(await (await get('/responses/bytes')).arrayBuffer())]).toEqual([
      0, 255, 1, 128,
    ]);
    expect([...new Uint8Array(await (await get('/responses/array-buffer')).arrayBuffer())]).toEqual([
      9, 8, 7,
    ]);
    expect(await (await get('/responses/stream')).text()).toBe('first,second');
  });

  it('accepts an HttpResponse instance from the handler', async () => {
    const response = await get('/responses/instance');
    expect(response.status).toBe(418);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.getSetCookie()).toEqual(['brew=earl-grey']);
    expect(await response.json()).toEqual({ teapot: true });
  });

  it('sends 204 without a body', async () => {
    const response = await get('/responses/empty', { method: 'DELETE' });
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
  });

  it('answers a throwing handler with 500 problem+json that leaks nothing, and logs the error', async () => {
    const response = await get('/boom');
    const text = await response.text();
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(JSON.parse(text)).toEqual({
      type: 'urn:direct-routing-hub:problem:internal_error',
      title: 'Internal server error',
      status: 500,
      code: 'internal_error',
    });
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('http.test');

    const failure = logs.find(
      (r) => r.functionName === 'boom' && r.category === 'host' && r.outcome === 'failed',
    );
    expect(failure).toMatchObject({ level: 'error', status: 500 });
    expect(failure?.error).toContain('database password is hunter2');
    expect(logs).toContainEqual(
      expect.objectContaining({ category: 'function', functionName: 'boom', message: 'about to fail' }),
    );

    for (const what of ['string', 'undefined']) {
      const thrown = await get(`/boom/${what}`);
      expect(thrown.status).toBe(500);
      expect(await thrown.text()).not.toContain('hunter2');
    }
    expect(logs.filter((r) => r.functionName === 'boom-non-error' && r.outcome === 'failed')).toHaveLength(2);
  });

  it('routes context logging to the log option and logs the outcome, never bodies or Authorization', async () => {
    const response = await get('/logs', {
      method: 'POST',
      headers: { authorization: 'Bearer super-secret-token', 'content-type': 'text/plain' },
      body: 'top-secret-body',
    });
    const { invocationId } = (await response.json()) as { invocationId: string };
    const mine = logs.filter((r) => r.invocationId === invocationId);
    expect(mine).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          category: 'function',
          level: 'information',
          functionName: 'logs',
          message: 'info message { n: 1 }',
        }),
        expect.objectContaining({ category: 'function', level: 'warning', message: 'warned' }),
        expect.objectContaining({ category: 'function', level: 'error', message: 'errored' }),
        expect.objectContaining({
          category: 'host',
          level: 'information',
          functionName: 'logs',
          outcome: 'succeeded',
          status: 200,
          durationMs: expect.any(Number),
        }),
      ]),
    );
    const everything = JSON.stringify(logs);
    expect(everything).not.toContain('super-secret-token');
    expect(everything).not.toContain('top-secret-body');
  });
});

describe('local host: request body limit', () => {
  /** Sends only headers declaring a body, so the limit must be enforced from Content-Length alone. */
  function declareBody(url: string, length: number): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(`${url}/echo`, {
        method: 'POST',
        headers: { 'content-length': String(length) },
      });
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
          req.destroy();
        });
      });
      req.on('error', reject);
      req.flushHeaders();
    });
  }

  it('rejects a declared body above Azure’s 100 MB without reading it', async () => {
    const before = invocations.get('echo') ?? 0;
    const { status, body } = await declareBody(host.url, 100 * 1024 * 1024 + 1);
    expect(status).toBe(413);
    expect(JSON.parse(body)).toMatchObject({ status: 413, code: 'payload_too_large' });
    expect(invocations.get('echo') ?? 0).toBe(before);
  });

  it('stops reading a streamed body once it passes the limit', async () => {
    const before = invocations.get('echo') ?? 0;
    const chunk = new Uint8Array(700);
    const response = await fetch(`${smallLimitHost.url}/echo`, {
      method: 'POST',
      body: new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(chunk);
          controller.enqueue(chunk);
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    await expectProblem(response, 413, 'payload_too_large');
    expect(invocations.get('echo') ?? 0).toBe(before);

    const atLimit = await fetch(`${smallLimitHost.url}/echo`, { method: 'PUT', body: new Uint8Array(1024) });
    expect(atLimit.status).toBe(201);
    expect(atLimit.headers.get('x-received-length')).toBe('1024');
  });
});

describe('local host: CORS as Azure answers it', () => {
  interface Answer {
    readonly status: number;
    readonly headers: Record<string, string | string[] | undefined>;
    readonly body: string;
  }
  /** node:http, because fetch would not let the test set Origin and Access-Control-Request-Method itself. */
  function send(url: string, method: string, path: string, headers: Record<string, string>): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(`${url}${path}`, { method, headers });
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }
  const corsHeaderNames = (answer: Answer) =>
    Object.keys(answer.headers).filter((name) => name.startsWith('access-control-'));
  const preflight = (url: string, path: string, origin: string) =>
    send(url, 'OPTIONS', path, {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type',
    });

  it('answers a preflight on any route before routing: 204, no function runs, never 405', async () => {
    const before = invocations.get('echo') ?? 0;
    const answer = await preflight(corsHost.url, '/echo', PORTAL);
    expect(answer.status).toBe(204);
    expect(answer.body).toBe('');
    expect(answer.headers).toMatchObject({
      'access-control-allow-origin': PORTAL,
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': 'authorization,content-type',
      vary: 'Origin',
    });
    expect(answer.headers['access-control-max-age']).toBeUndefined();
    expect(answer.headers['access-control-allow-credentials']).toBeUndefined();
    expect(invocations.get('echo') ?? 0).toBe(before);
    // Even where no function is: the platform's middleware runs before the routes.
    expect((await preflight(corsHost.url, '/no/such/route', PORTAL)).status).toBe(204);
    expect(logs).toContainEqual(
      expect.objectContaining({ message: `CORS preflight for /echo from ${PORTAL}: allowed (204)` }),
    );
  });

  it('answers a refused origin with 204 and no CORS header; a host without a list refuses every origin', async () => {
    const refused = await preflight(corsHost.url, '/echo', 'https://evil.example.com');
    expect(refused.status).toBe(204);
    expect(corsHeaderNames(refused)).toEqual([]);
    const unconfigured = await preflight(host.url, '/echo', PORTAL);
    expect(unconfigured.status).toBe(204);
    expect(corsHeaderNames(unconfigured)).toEqual([]);
  });

  it("adds the origin to an allowed origin's responses, problem+json ones too, and nothing to others", async () => {
    const ok = await send(corsHost.url, 'GET', '/api/v1/customers', { origin: PORTAL });
    expect(ok.status).toBe(200);
    expect(ok.headers).toMatchObject({ 'access-control-allow-origin': PORTAL, vary: 'Origin' });
    expect(corsHeaderNames(ok)).toEqual(['access-control-allow-origin']);

    for (const [method, path, status] of [
      ['GET', '/no/such/route', 404],
      ['DELETE', '/api/v1/customers', 405],
      ['GET', '/boom', 500],
    ] as const) {
      const problem = await send(corsHost.url, method, path, { origin: PORTAL });
      expect(problem.status, path).toBe(status);
      expect(problem.headers['content-type'], path).toBe('application/problem+json');
      expect(problem.headers['access-control-allow-origin'], path).toBe(PORTAL);
    }

    const other = await send(corsHost.url, 'GET', '/api/v1/customers', {
      origin: 'https://evil.example.com',
    });
    expect(other.status).toBe(200);
    expect(corsHeaderNames(other)).toEqual([]);
    const sameOrigin = await send(corsHost.url, 'GET', '/api/v1/customers', {});
    expect(corsHeaderNames(sameOrigin)).toEqual([]);
  });

  it('leaves an OPTIONS without Access-Control-Request-Method to the routes', async () => {
    const answer = await send(corsHost.url, 'OPTIONS', '/echo', { origin: PORTAL });
    expect(answer.status).toBe(405);
    expect(answer.headers['access-control-allow-origin']).toBe(PORTAL);
  });
});
