import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OPERATION_REACH } from '../../shared/access/rate-limits.js';
import { RATE_LIMITS_TABLE } from '../../shared/access/rate-limiter.js';
import { createCredentialStore } from '../../shared/credentials/credential-store.js';
import type { RateLimitSettings } from '../../shared/provider/provider-settings.js';
import { DEFAULT_RATE_LIMITS } from '../../shared/provider/provider-settings-schemas.js';
import { type ApiResponse, apiClient } from '../support/api-client.js';
import { connectedCredential } from '../support/connected-credential.js';
import { faultyTables } from '../support/faulty-tables.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';
import { sbcSite } from '../support/sbc-site.js';
import { CHANNEL, CHANNEL_ADMIN, grantRoles, OTHER, OWN } from '../support/roles.js';

/**
 * Rate limits on the operations that reach an SBC or a customer's tenant (decisions §70): per caller and per SBC,
 * counted in Table storage so that every instance of the app counts the same calls. The limiter's clock is the
 * test's: a window passes without waiting.
 */

const FAR = 'FarCo';
const SECOND_CHANNEL_ADMIN = '33333333-3333-4333-8333-333333333333';
const WINDOW_MS = 60_000;

let clock = Date.UTC(2026, 11, 3, 12, 0, 0);
/** The start of the next window: every test counts from nothing. */
const freshWindow = () => {
  clock = (Math.floor(clock / WINDOW_MS) + 1) * WINDOW_MS;
};

let storageDown = false;
let stack: MemoryStack;
let provider: ReturnType<typeof apiClient>;
let channelAdmin: ReturnType<typeof apiClient>;
let secondChannelAdmin: ReturnType<typeof apiClient>;

const replicate = (call: ReturnType<typeof apiClient>, customerId = OWN) =>
  call('POST', `/api/v1/customers/${customerId}/replication`);
const reload = (call: ReturnType<typeof apiClient>, customerId: string) =>
  call('POST', `/api/v1/customers/${customerId}/prefixes/reload`);

async function setLimits(limits: Partial<RateLimitSettings>): Promise<void> {
  const saved = await provider('PUT', '/api/v1/settings/rate-limits', {
    json: { ...DEFAULT_RATE_LIMITS, providerAdminRequests: 1000, adminRequests: 1000, ...limits },
  });
  expect(saved.status, JSON.stringify(saved.body)).toBe(200);
}

function expectRateLimited(answer: ApiResponse, detail: RegExp): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(429);
  expect(answer.contentType).toMatch(/^application\/problem\+json/);
  expect(answer.problem.code).toBe('rate_limited');
  expect(answer.problem.detail).toMatch(detail);
  expect(answer.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
}

beforeAll(async () => {
  stack = await startMemoryStack({
    overrides: { rateLimitClock: () => clock },
    // Replication and prefix tasks stay queued: what is under test is whether the call was let through.
    deliverQueues: false,
    wrapTables: (tables) => faultyTables(tables, (call) => storageDown && call.table === RATE_LIMITS_TABLE),
  });
  provider = apiClient(stack.api, () => stack.token());
  channelAdmin = apiClient(stack.api, () =>
    stack.token({ roles: ['channel-admin'], subject: CHANNEL_ADMIN }),
  );
  secondChannelAdmin = apiClient(stack.api, () =>
    stack.token({ roles: ['channel-admin'], subject: SECOND_CHANNEL_ADMIN }),
  );
  for (const shortName of [OWN, OTHER, FAR]) {
    const created = await provider('POST', '/api/v1/customers', {
      json: { fullName: `${shortName} Ltd`, shortName, licenseType: 'hosted-pro', licensedUsers: 10 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  }
  await grantRoles(stack, provider);
  const granted = await provider('PUT', `/api/v1/channels/${CHANNEL}/admins/${SECOND_CHANNEL_ADMIN}`);
  expect(granted.status).toBeLessThan(300);
  const credentials = createCredentialStore(stack.tables);
  await credentials.put(connectedCredential(OWN, 'a1a1a1a1-0000-4000-8000-0000000000a1'));
  // OWN and OTHER share sbc-a; FAR is alone on sbc-b.
  for (const [name, ip] of [
    ['sbc-a', '192.0.2.10'],
    ['sbc-b', '192.0.2.11'],
  ] as const) {
    const sbc = await provider('POST', '/api/v1/settings/sbcs', {
      json: { name, ipAddress: ip, gatewayUser: 'admin', gatewayPassword: 'secret-1' },
    });
    expect(sbc.status, JSON.stringify(sbc.body)).toBe(201);
    const region = await provider('POST', '/api/v1/settings/regions', {
      json: { name: `region-${name}`, sbcId: name, fqdn: `${name}.example.com`, ipAddress: ip },
    });
    expect(region.status, JSON.stringify(region.body)).toBe(201);
  }
  await stack.services.sites.create(sbcSite(OWN, 'region-sbc-a'));
  await stack.services.sites.create(sbcSite(OTHER, 'region-sbc-a'));
  await stack.services.sites.create(sbcSite(FAR, 'region-sbc-b'));
}, 120_000);
afterAll(async () => stack?.close());
beforeEach(() => {
  storageDown = false;
  freshWindow();
});

describe('rate limits on calls that reach an SBC or a tenant', () => {
  it('refuses a channel admin hammering Queue Replication with 429 and Retry-After, not another caller, until the window passes', async () => {
    await setLimits({ adminRequests: 3 });
    for (let i = 0; i < 3; i++) expect((await replicate(channelAdmin)).status).toBe(202);

    clock += 48_000;
    const refused = await replicate(channelAdmin);
    expectRateLimited(refused, /^Too many of your requests .* try again in 12 seconds\.$/);
    expect(refused.headers.get('retry-after')).toBe('12');
    expect(refused.headers.get('access-control-expose-headers')).toMatch(/Retry-After/);

    // Another account of the same channel has its own count.
    expect((await replicate(secondChannelAdmin)).status).toBe(202);

    clock += 12_000;
    expect((await replicate(channelAdmin)).status).toBe(202);
  });

  it("gives a provider admin a higher limit than a channel admin's", async () => {
    await setLimits({ providerAdminRequests: 4, adminRequests: 2 });
    for (let i = 0; i < 4; i++) expect((await replicate(provider)).status).toBe(202);
    expectRateLimited(await replicate(provider), /at most 4 in 60 seconds/);
    for (let i = 0; i < 2; i++) expect((await replicate(channelAdmin)).status).toBe(202);
    expectRateLimited(await replicate(channelAdmin), /at most 2 in 60 seconds/);
  });

  it('makes the customers on one SBC share its limit, and leaves another SBC alone', async () => {
    await setLimits({ sbcRequests: 3 });
    // Whether the device answers (it does not, here: 502) is not the limit's business; the call reached it.
    expect((await reload(channelAdmin, OWN)).status).not.toBe(429);
    expect((await reload(channelAdmin, OWN)).status).not.toBe(429);
    expect((await reload(provider, OTHER)).status).not.toBe(429);

    clock += 30_000;
    expectRateLimited(
      await reload(provider, OTHER),
      /^Too many requests reach SBC sbc-a; try again in 30 seconds\.$/,
    );
    expectRateLimited(await reload(channelAdmin, OWN), /SBC sbc-a/);
    expect((await reload(provider, FAR)).status).not.toBe(429);
  });

  it('counts the same calls on every instance of the app built on the same tables', async () => {
    const second = await startMemoryStack({
      overrides: { rateLimitClock: () => clock },
      deliverQueues: false,
      wrapTables: () => stack.tables,
    });
    try {
      const onSecond = apiClient(second.api, () =>
        second.token({ roles: ['channel-admin'], subject: CHANNEL_ADMIN }),
      );
      await setLimits({ adminRequests: 3 });
      expect((await replicate(channelAdmin)).status).toBe(202);
      expect((await replicate(onSecond)).status).toBe(202);
      expect((await replicate(channelAdmin)).status).toBe(202);
      expectRateLimited(await replicate(onSecond), /Too many of your requests/);
      expectRateLimited(await replicate(channelAdmin), /Too many of your requests/);
    } finally {
      await second.close();
    }
  });

  it('answers 503 with Retry-After when the counters cannot be read, and does not let the call through', async () => {
    await setLimits({ adminRequests: 100 });
    storageDown = true;
    const answer = await replicate(channelAdmin);
    expect(answer.status, JSON.stringify(answer.body)).toBe(503);
    expect(answer.problem.code).toBe('service_unavailable');
    expect(answer.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
    storageDown = false;
    expect((await replicate(channelAdmin)).status).toBe(202);
  });

  it('leaves calls that reach neither an SBC nor a tenant alone', async () => {
    await setLimits({ providerAdminRequests: 1, adminRequests: 1, sbcRequests: 1 });
    for (let i = 0; i < 3; i++) {
      expect((await provider('GET', `/api/v1/customers/${OWN}/replication`)).status).toBe(200);
    }
  });

  it('validates the settings: bounds, and no admin above the provider admins', async () => {
    const put = (json: unknown) => provider('PUT', '/api/v1/settings/rate-limits', { json });
    const tooShort = await put({ ...DEFAULT_RATE_LIMITS, windowSeconds: 5 });
    expect(tooShort.status).toBe(400);
    expect(tooShort.problem.errors?.[0]?.field).toBe('windowSeconds');
    const above = await put({ ...DEFAULT_RATE_LIMITS, providerAdminRequests: 10, adminRequests: 11 });
    expect(above.status).toBe(400);
    expect(above.problem.errors?.[0]?.field).toBe('adminRequests');
    expect((await put({ ...DEFAULT_RATE_LIMITS, sbcRequests: 0 })).status).toBe(400);
    expect((await provider('GET', '/api/v1/settings/rate-limits')).status).toBe(200);
  });

  it('declares only operations that exist, and documents their 429', async () => {
    const document = (await provider('GET', '/api/v1/openapi.json', { token: null })).body as {
      paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>>;
    };
    const operations = new Map(
      Object.values(document.paths)
        .flatMap((methods) => Object.values(methods))
        .map((operation) => [operation.operationId, operation]),
    );
    for (const name of Object.keys(OPERATION_REACH)) {
      expect(operations.get(name)?.responses['429'], name).toBeDefined();
    }
    expect(operations.get('replication-get')?.responses['429']).toBeUndefined();
  });
});
