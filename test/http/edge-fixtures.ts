import { HttpRequest, InvocationContext } from '@azure/functions';
import { createRateLimiter } from '../../shared/access/rate-limiter.js';
import type { AuditEntry } from '../../shared/audit/audit-store.js';
import type { Principal } from '../../shared/auth/authenticator.js';
import { domainErrors } from '../../shared/errors/domain-errors.js';
import type { ApiEdgePorts } from '../../shared/http/edge/api-edge.js';
import { type EdgeContext, type EdgeRoute, newEdgeContext } from '../../shared/http/edge/context.js';
import { DEFAULT_RATE_LIMITS } from '../../shared/provider/provider-settings-schemas.js';
import { memoryTables } from '../../shared/storage/memory-tables.js';

/** Fake ports and requests for the edge's steps: no storage, no ports, no tokens. */
export const PROVIDER: Principal = { subject: 'provider-1', name: 'Pat', roles: ['provider-admin'] };
export const CHANNEL_ADMIN: Principal = { subject: 'channel-1', roles: ['channel-admin'] };
export const CUSTOMER_ADMIN: Principal = { subject: 'customer-1', roles: ['customer-admin'] };

export function request(
  init: {
    method?: string;
    url?: string;
    headers?: Record<string, string>;
    body?: string | Uint8Array;
    params?: Record<string, string>;
  } = {},
): HttpRequest {
  return new HttpRequest({
    method: init.method ?? 'GET',
    url: init.url ?? 'https://hub.example.com/api/v1/things',
    headers: init.headers ?? {},
    // Bytes, unlike a string, get no Content-Type added: what a client that sends none looks like.
    ...(init.body === undefined
      ? {}
      : typeof init.body === 'string'
        ? { body: { string: init.body } }
        : { body: { bytes: init.body } }),
    params: init.params ?? {},
  });
}

export interface LogLine {
  readonly level: string;
  readonly line: Record<string, unknown>;
}

export function invocation(): { context: InvocationContext; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = (level: string) => (message: unknown) => {
    lines.push({ level, line: JSON.parse(String(message)) as Record<string, unknown> });
  };
  const context = new InvocationContext({
    invocationId: 'inv-123',
    functionName: 'things',
    logHandler: (level, ...args) => sink(level)(args[0]),
  });
  return { context, lines };
}

export function edgeContext(route: Partial<EdgeRoute>, req = request()): EdgeContext {
  return newEdgeContext(
    { name: 'things-op', method: 'GET', roles: null, customerScoped: false, ...route },
    req,
    invocation().context,
  );
}

/** Tokens are principals' subjects; 'OwnCo' is channel-1's customer and customer-1's. */
export function fakePorts(overrides: Partial<ApiEdgePorts> = {}): ApiEdgePorts & { records: AuditEntry[] } {
  const principals = new Map(
    [PROVIDER, CHANNEL_ADMIN, CUSTOMER_ADMIN].map((p) => [`Bearer ${p.subject}`, p]),
  );
  const records: AuditEntry[] = [];
  return {
    records,
    authenticator: {
      authenticate: async (authorization) => {
        const principal = principals.get(authorization ?? '');
        if (!principal) throw domainErrors.unauthenticated('Send a valid bearer token.');
        return principal;
      },
    },
    access: {
      customerChannel: async (customerId) => (customerId === 'OwnCo' ? 'channel-a' : null),
      grantsOf: async (subject) => ({
        channels: new Set(subject === CHANNEL_ADMIN.subject ? ['channel-a'] : []),
        customers: new Set(subject === CUSTOMER_ADMIN.subject ? ['OwnCo'] : []),
      }),
      customersOfChannel: async (channel) => (channel === 'channel-a' ? ['OwnCo', 'SecondCo'] : []),
      customerTenant: async () => null,
    },
    audit: {
      record: async (entry) => {
        records.push({ id: String(records.length + 1), ...entry });
      },
    },
    taskEngine: { get: async () => null },
    // No operation of these tests is declared to reach an SBC or a tenant; one that is would be counted in memory.
    rateLimits: {
      limiter: createRateLimiter(memoryTables()),
      limits: async () => DEFAULT_RATE_LIMITS,
      sbcsOfCustomer: async () => [],
      sbcOfSite: async () => null,
      sbcOfRegion: async () => null,
    },
    ...overrides,
  };
}

export function bodyOf(response: { body?: unknown }): Record<string, unknown> {
  return JSON.parse(String(response.body)) as Record<string, unknown>;
}
