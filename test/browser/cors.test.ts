import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogRecord } from '../../dev/host/index.js';
import { apiClient } from '../support/api-client.js';
import { launchBrowser } from '../support/browser.js';
import { startStack, type TestStack } from '../support/stack.js';

/** What the portal's script gets back from a call, as plain data out of the page. */
type CallResult =
  | {
      readonly ok: true;
      readonly status: number;
      readonly body: unknown;
      readonly contentType: string | null;
      readonly etag: string | null;
    }
  | { readonly ok: false; readonly error: string };

/**
 * A portal page in miniature: its script calls the API the way a single-page app does, with a bearer token and a
 * JSON body, which makes the browser send a real preflight first.
 */
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Portal</title></head><body>
<script>
  window.callApi = async (url, token, method, json) => {
    try {
      const response = await fetch(url, {
        method,
        headers: {
          authorization: 'Bearer ' + token,
          ...(json === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(json === undefined ? {} : { body: JSON.stringify(json) }),
      });
      return {
        ok: true,
        status: response.status,
        body: await response.json(),
        contentType: response.headers.get('content-type'),
        etag: response.headers.get('etag'),
      };
    } catch (error) {
      return { ok: false, error: error.name + ': ' + error.message };
    }
  };
</script>
</body></html>`;

const ROUTE = '/api/v1/settings/white-label';
const FUNCTION = 'settings-white-label-put';

let allowedSite: Server;
let otherSite: Server;
let allowedOrigin: string;
let otherOrigin: string;
let stack: TestStack;
let browser: Browser;
const logs: LogRecord[] = [];

/** Another port is another origin: each page server is a site of its own. */
async function serveThePage(): Promise<{ server: Server; origin: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  ({ server: allowedSite, origin: allowedOrigin } = await serveThePage());
  ({ server: otherSite, origin: otherOrigin } = await serveThePage());
  // One stack for both cases: only the page's origin differs between them.
  stack = await startStack({
    log: (record) => logs.push(record),
    settings: { cors: { allowedOrigins: [allowedOrigin] } },
  });
  browser = await launchBrowser(stack.sandboxUrl);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await new Promise((resolve) => allowedSite?.close(resolve));
  await new Promise((resolve) => otherSite?.close(resolve));
});

async function callFrom(
  origin: string,
  method: string,
  path: string,
  json?: Record<string, unknown>,
): Promise<CallResult> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${origin}/`);
    const token = await stack.token();
    return await page.evaluate(
      ([url, bearer, verb, body]) =>
        (
          globalThis as unknown as {
            callApi: (url: string, token: string, method: string, json?: unknown) => Promise<CallResult>;
          }
        ).callApi(url, bearer, verb, body),
      [`${stack.apiUrl}${path}`, token, method, json] as const,
    );
  } finally {
    await context.close();
  }
}

const invocations = () =>
  logs.filter((record) => record.functionName === FUNCTION && record.message.startsWith('Executed')).length;

describe('the API called from a page on another origin (CORS)', () => {
  it('answers a page whose origin is allowed: the preflight passes and the script reads the JSON', async () => {
    const result = await callFrom(allowedOrigin, 'PUT', ROUTE, { displayName: 'Northwind Voice' });
    expect(result).toMatchObject({
      ok: true,
      status: 200,
      contentType: 'application/json',
      body: { displayName: 'Northwind Voice' },
    });
    expect(logs).toContainEqual(
      expect.objectContaining({
        message: `CORS preflight for ${ROUTE} from ${allowedOrigin}: allowed (204)`,
      }),
    );
    expect(invocations()).toBe(1);
  });

  it('lets the script read the version for its next If-Match: the API exposes ETag itself', async () => {
    const result = await callFrom(allowedOrigin, 'GET', '/api/v1/script-templates/sbc-scenario7Cleanup');
    expect(result).toMatchObject({ ok: true, status: 200, body: { id: expect.any(String) } });
    expect(result.ok && result.etag).toMatch(/^(W\/)?".+"$/);
  });

  it('is refused by the browser for any other origin, and the API never runs the call', async () => {
    const before = invocations();
    const result = await callFrom(otherOrigin, 'PUT', ROUTE, { displayName: 'Contoso Voice' });
    expect(result).toEqual({ ok: false, error: 'TypeError: Failed to fetch' });
    expect(logs).toContainEqual(
      expect.objectContaining({ message: `CORS preflight for ${ROUTE} from ${otherOrigin}: refused (204)` }),
    );
    expect(invocations()).toBe(before);

    const call = apiClient(stack.apiUrl, () => stack.token());
    const settings = await call('GET', ROUTE);
    expect(settings.body).toMatchObject({ displayName: 'Northwind Voice' });
  });
});
