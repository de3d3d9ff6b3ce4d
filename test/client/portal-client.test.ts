import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  listAllCustomers,
  previewPrefixSync,
  setLicensedUsers,
  updateIfMatch,
} from '../../clients/portal/example.js';
import { createPortalClient, followNextLink, type PortalClient } from '../../clients/portal/src/index.js';
import { openApiDocument } from '../../dev/openapi/document.js';
import { PORTAL_CLIENT_SCHEMA, portalClientTypes } from '../../dev/openapi/portal-client.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';

const CUSTOMERS = ['Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo', 'Foxtrot', 'Golf'];

let stack: MemoryStack;
let client: PortalClient;
const requested: string[] = [];

beforeAll(async () => {
  // Queued tasks stay queued: the dry run's task would otherwise go on to call peers this stack does not have.
  stack = await startMemoryStack({ deliverQueues: false });
  const token = await stack.token();
  client = createPortalClient(`${stack.api.url}/api/v1`, () => token, {
    fetch: async (request: Request) => {
      requested.push(`${request.method} ${new URL(request.url).pathname}${new URL(request.url).search}`);
      return stack.api.fetch(request);
    },
  });
  for (const shortName of CUSTOMERS) {
    const { response } = await client.POST('/customers', {
      body: { fullName: `${shortName} Ltd`, shortName, licenseType: 'hosted-pro', licensedUsers: 10 },
    });
    expect(response.status).toBe(201);
  }
});
afterAll(() => stack?.close());

describe('the portal client', () => {
  it('has the types the current OpenAPI document generates (npm run client:generate)', async () => {
    const generated = await portalClientTypes(await openApiDocument());
    expect(readFileSync(PORTAL_CLIENT_SCHEMA, 'utf8') === generated, `${PORTAL_CLIENT_SCHEMA} drifted`).toBe(
      true,
    );
  });

  it('follows nextLink to the last page', async () => {
    requested.length = 0;
    const customers = await listAllCustomers(client, 3);
    expect(customers.map((c) => c.id)).toEqual(CUSTOMERS);
    const pages = requested.filter((r) => r.startsWith('GET /api/v1/customers?'));
    expect(pages).toHaveLength(3);
    expect(pages[1]).toMatch(/[?&]cursor=/);
  });

  it('reads the cursor a nextLink carries', () => {
    expect(followNextLink('/api/v1/customers?top=3&cursor=abc')).toEqual({ cursor: 'abc' });
    expect(followNextLink('/api/v1/tasks?state=finish-failure')).toEqual({});
  });

  it('updates with If-Match, and reports a stale ETag as a conflict (412)', async () => {
    const read = await client.GET('/customers/{customerId}', { params: { path: { customerId: 'Bravo' } } });
    const stale = read.response.headers.get('etag');
    expect(stale).toMatch(/^"/);
    expect(await setLicensedUsers(client, 'Bravo', 20)).toBe('updated');
    expect(await updateIfMatch(client, 'Bravo', 30, stale ?? '')).toBe('conflict');
    const after = await client.GET('/customers/{customerId}', { params: { path: { customerId: 'Bravo' } } });
    expect(after.data?.licensedUsers).toBe(20);
  });

  it('starts an operation as a dry run', async () => {
    const task = await previewPrefixSync(client, 'Charlie');
    expect(task.type).toBe('SbcUpdatePrefixes');
    expect(requested.at(-1)).toBe('POST /api/v1/customers/Charlie/prefixes/sync?dryRun=true');
  });

  it('answers a problem as a typed error, not a throw', async () => {
    const { data, error, response } = await client.GET('/customers/{customerId}', {
      params: { path: { customerId: 'Nobody' } },
    });
    expect(data).toBeUndefined();
    expect(response.status).toBe(404);
    expect(error?.code).toBe('not_found');
  });
});
