import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEMO } from '../../dev/sandbox/demo-data.js';
import { type SandboxFixture, startFixture } from '../sandbox/fixtures.js';
import { swaggerValidator } from './json-schema.js';
import { readSpecJson } from './specs.js';

/**
 * Throttling and unavailability on every peer the product talks to: a 429 or 503 carries the service's own error
 * body and a whole-seconds `Retry-After`, which the product's retries honour. Shapes: ARM's CloudError (dns.json),
 * ACS's ErrorResponse (common-types), Graph's error object (https://learn.microsoft.com/graph/errors), the Teams
 * admin API's `{ error: { code, message } }` (what go-teams' parseAPIError reads, teamsapi/invoke.go), Entra ID's
 * OAuth 2.0 error (RFC 6749 §5.2 with Entra's `error_codes`, `trace_id`, `correlation_id`, `timestamp`), and the
 * AudioCodes REST API's `{ description }`.
 */

const armSpec = readSpecJson('arm-dns/dns.json') as { definitions: Record<string, unknown> };
const commonTypes = readSpecJson('acs-email/specification/common-types/data-plane/v1/types.json') as {
  definitions: Record<string, unknown>;
};
const arm = swaggerValidator(armSpec);
const acs = swaggerValidator(commonTypes);

const zodProblems = (schema: z.ZodType, body: unknown) => {
  const parsed = schema.safeParse(body);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

const graphError = z.strictObject({
  error: z.strictObject({
    code: z.string().min(1),
    message: z.string(),
    innerError: z.strictObject({
      date: z.string(),
      'request-id': z.string(),
      'client-request-id': z.string(),
    }),
  }),
});
const teamsError = z.strictObject({
  error: z.strictObject({ code: z.string().min(1), message: z.string() }),
});
const oauthError = z.strictObject({
  error: z.string().min(1),
  error_description: z.string(),
  error_codes: z.array(z.number().int()),
  timestamp: z.string(),
  trace_id: z.string(),
  correlation_id: z.string(),
  error_uri: z.string().optional(),
});
const sbcError = z.strictObject({ description: z.string() });

interface Peer {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly pattern: string;
  readonly problems: (body: unknown, headers: Headers) => string[];
}

const tenant = DEMO.customers.contoso.tenantId;
const PEERS: readonly Peer[] = [
  {
    name: 'Graph',
    method: 'GET',
    path: '/graph/v1.0/organization',
    pattern: '^/graph/',
    problems: (body) => zodProblems(graphError, body),
  },
  {
    name: 'ARM DNS',
    method: 'GET',
    path: '/arm/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network/dnsZones/zone1?api-version=2018-05-01',
    pattern: '^/arm/',
    problems: (body) => arm({ $ref: '#/definitions/CloudError' }, body),
  },
  {
    name: 'Teams admin',
    method: 'GET',
    path: '/teams/Teams.Tenant/serviceDiscovery',
    pattern: '^/teams/',
    problems: (body) => zodProblems(teamsError, body),
  },
  {
    name: 'ACS Email send',
    method: 'POST',
    path: '/emails:send?api-version=2023-03-31',
    pattern: '^/emails:send$',
    problems: (body, headers) => [
      ...acs({ $ref: '#/definitions/ErrorResponse' }, body),
      ...(headers.get('x-ms-error-code') ? [] : ['no x-ms-error-code']),
    ],
  },
  {
    name: 'ACS Email operation',
    method: 'GET',
    path: '/emails/operations/00000000-0000-0000-0000-000000000000?api-version=2023-03-31',
    pattern: '^/emails/operations/',
    problems: (body) => acs({ $ref: '#/definitions/ErrorResponse' }, body),
  },
  {
    name: 'Entra ID token',
    method: 'POST',
    path: `/entra/${tenant}/oauth2/v2.0/token`,
    pattern: '^/entra/',
    problems: (body) => zodProblems(oauthError, body),
  },
  {
    name: 'AudioCodes SBC',
    method: 'GET',
    path: '/sbc/sbc-eu1/api/v1/status',
    pattern: '^/sbc/',
    problems: (body) => zodProblems(sbcError, body),
  },
];

describe('429 and 503 on every peer: the service’s error body and an integer Retry-After', () => {
  let f: SandboxFixture;

  beforeAll(async () => {
    f = await startFixture();
  });
  afterAll(() => f.close());

  const cases = PEERS.flatMap((peer) => [429, 503].map((status) => ({ ...peer, status })));
  it.each(cases)('$name $status', async ({ method, path, pattern, status, problems }) => {
    f.sandbox.faults.add({ pathPattern: pattern, kind: 'status', status, times: 1 });
    const response = await f.transport.fetch(`${f.sandbox.url}${path}`, {
      method,
      ...(method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}),
    });
    expect(response.status).toBe(status);
    expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(problems(await response.json(), response.headers)).toEqual([]);
  });

  it('fails a throttling answer in another service’s shape (broken on purpose)', () => {
    const graphShaped = {
      error: {
        code: 'TooManyRequests',
        message: 'x',
        innerError: { date: 'd', 'request-id': 'r', 'client-request-id': 'c' },
      },
    };
    expect(arm({ $ref: '#/definitions/CloudError' }, graphShaped)).toEqual([
      "/error must NOT have additional properties 'innerError'",
    ]);
    expect(zodProblems(oauthError, { error: { code: 'x', message: 'y' } })).not.toEqual([]);
  });
});
