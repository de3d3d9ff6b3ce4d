import { randomUUID } from 'node:crypto';
import type { PeerRequest, Reply } from '../router.js';
import type { DirectoryUser, Tenant } from '../state.js';

// Graph's OData conventions, shared by the directory routes (graph.ts) and change tracking (graph-delta.ts).

const ODATA_JSON =
  'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

/** Every user property the sandbox keeps, in Graph's schema order. */
const USER_PROPERTIES = [
  'id',
  'accountEnabled',
  'businessPhones',
  'department',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'usageLocation',
  'userPrincipalName',
] as const satisfies ReadonlyArray<keyof DirectoryUser>;

/** Selectable user properties: the stored ones plus the licenses Graph keeps per user. */
export const SELECTABLE_USER_PROPERTIES: readonly string[] = [...USER_PROPERTIES, 'assignedLicenses'];

/** What Graph v1.0 returns for a user without `$select` (per the user resource's documentation). */
export const USER_DEFAULT_PROPERTIES: readonly string[] = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
];

export const MAX_PAGE_SIZE = 999;

export type Guard = (
  permissions: readonly string[],
  handler: (request: PeerRequest, tenant: Tenant) => Reply | Promise<Reply>,
) => (request: PeerRequest) => Promise<Reply>;

/** `$select` resolved to the entity's property names, case-insensitively like Graph. */
export function parseSelect(
  request: PeerRequest,
  known: readonly string[],
  typeName: string,
): { properties?: readonly string[]; explicit?: readonly string[] } | Reply {
  const raw = queryOption(request, '$select');
  if (raw === null) return {};
  const properties: string[] = [];
  for (const name of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const property = known.find((k) => k.toLowerCase() === name.toLowerCase());
    if (!property) {
      return graphError(
        request,
        400,
        'BadRequest',
        `Could not find a property named '${name}' on type '${typeName}'.`,
      );
    }
    if (!properties.includes(property)) properties.push(property);
  }
  return { properties, explicit: properties };
}

/** OData query option names are case-insensitive. */
export function queryOption(request: PeerRequest, name: string): string | null {
  for (const [key, value] of request.url.searchParams) {
    if (key.toLowerCase() === name) return value;
  }
  return null;
}

export function project<T extends object>(entity: T, properties: readonly string[]): Record<string, unknown> {
  const values = new Map<string, unknown>(Object.entries(entity));
  return Object.fromEntries(properties.map((p) => [p, values.get(p) ?? null]));
}

export function context(
  request: PeerRequest,
  entitySet: string,
  select: readonly string[] | undefined,
): string {
  return `${request.origin}/graph/v1.0/$metadata#${entitySet}${select ? `(${select.join(',')})` : ''}`;
}

export function ok(request: PeerRequest, body: object): Reply {
  return { status: 200, headers: { ...requestIds(request), 'content-type': ODATA_JSON }, body };
}

/** Graph's error body, with the `innerError` request ids support staff ask for. */
export function graphError(request: PeerRequest, status: number, code: string, message: string): Reply {
  const ids = requestIds(request);
  return {
    status,
    headers: { ...ids, 'content-type': ODATA_JSON },
    body: {
      error: {
        code,
        message,
        innerError: {
          date: new Date().toISOString().replace(/\.\d{3}Z$/, ''),
          'request-id': ids['request-id'],
          'client-request-id': ids['client-request-id'],
        },
      },
    },
  };
}

export function requestIds(request: PeerRequest): { 'request-id': string; 'client-request-id': string } {
  const header = request.headers['client-request-id'];
  return {
    'request-id': randomUUID(),
    'client-request-id': typeof header === 'string' && header ? header : randomUUID(),
  };
}
