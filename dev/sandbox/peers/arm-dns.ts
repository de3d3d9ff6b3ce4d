import { profileDelayMs, type SandboxProfile, STRICT_PROFILE } from '../profile.js';
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import {
  type DnsRecordSet,
  type DnsRecordType,
  type DnsZone,
  type DnsZones,
  isRecordType,
  RECORD_PROPERTIES,
} from '../dns-zones.js';
import type { Peer, PeerRequest, Reply } from '../router.js';
import { type TokenIssuer, TokenRejectedError, type VerifiedToken } from '../tokens.js';

/** `aud` values of Azure Resource Manager tokens (Windows Azure Service Management API). */
const ARM_AUDIENCES = [
  'https://management.azure.com/',
  'https://management.azure.com',
  'https://management.core.windows.net/',
];

/** The api-versions of Microsoft.Network/dnszones the sandbox answers. */
const API_VERSIONS = ['2018-05-01', '2023-07-01-preview'];

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;
const ZONE_PATH =
  '/subscriptions/:subscriptionId/resourceGroups/:resourceGroup/providers/Microsoft.Network/dnsZones/:zone';

type Action = 'read' | 'write' | 'delete';

interface ZoneRequest {
  readonly zone: DnsZone;
  readonly token: VerifiedToken;
}

/**
 * Azure Resource Manager at `/arm`, Microsoft.Network/dnszones only (api-version 2018-05-01): zones, record sets
 * with ETag preconditions and paging. Callers need a token for `https://management.azure.com/` from the zone's
 * tenant and "DNS Zone Contributor" on the zone (`state.dns.grant`).
 */
/**
 * How long a role assignment takes to reach ARM's authorization. Learn, "Troubleshoot Azure RBAC" (role
 * assignment changes not detected): Azure Resource Manager caches role assignments, and a change can take up to 10
 * minutes to take effect; meanwhile ARM answers 403 `AuthorizationFailed` ("If access was recently granted, please
 * refresh your credentials"). The reality profile plays the full 10 minutes, scaled.
 */
export const REAL_RBAC_PROPAGATION_MS = 10 * 60_000;

export function armDnsPeer(
  issuer: TokenIssuer,
  dns: DnsZones,
  profile: () => SandboxProfile = () => STRICT_PROFILE,
): Peer {
  /** api-version, authentication, zone lookup and authorisation, in ARM's order. */
  const zoneRoute =
    (action: Action, handler: (request: PeerRequest, context: ZoneRequest) => Reply) =>
    async (request: PeerRequest): Promise<Reply> => {
      const version = request.url.searchParams.get('api-version');
      if (!version) {
        return armError(
          request,
          400,
          'MissingApiVersionParameter',
          'The api-version query parameter (?api-version=) is required for all requests.',
        );
      }
      if (!API_VERSIONS.includes(version)) {
        return armError(
          request,
          400,
          'NoRegisteredProviderFound',
          `No registered resource provider found for location 'global' and API version '${version}' for type 'dnszones'. The supported api-versions are '${API_VERSIONS.join(', ')}'.`,
        );
      }
      const token = await authenticate(request);
      if ('status' in token) return token;
      const { subscriptionId = '', resourceGroup = '', zone: zoneName = '' } = request.params;
      const zone = dns.zone(subscriptionId, resourceGroup, zoneName);
      if (zone && zone.tenantId !== token.tenant.id) {
        return armError(
          request,
          401,
          'InvalidAuthenticationTokenTenant',
          `The access token is from the wrong issuer '${String(token.claims.iss)}'. It must match the tenant associated with this subscription.`,
        );
      }
      if (!zone) {
        return armError(
          request,
          404,
          'ResourceNotFound',
          `The Resource 'Microsoft.Network/dnszones/${zoneName}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
        );
      }
      const principals = [token.claims.appid, token.claims.azp, token.claims.oid]
        .filter((p): p is string => typeof p === 'string')
        .map((p) => p.toLowerCase());
      const propagated = (p: string) => {
        const at = dns.grantedAt(zone, p);
        return at === undefined || Date.now() >= at + profileDelayMs(profile(), REAL_RBAC_PROPAGATION_MS);
      };
      if (!principals.some((p) => zone.contributors.has(p) && propagated(p))) {
        const objectId = typeof token.claims.oid === 'string' ? token.claims.oid : 'unknown';
        const clientId = typeof token.claims.appid === 'string' ? token.claims.appid : objectId;
        const type = request.params.type ? `/${request.params.type.toUpperCase()}` : '';
        return armError(
          request,
          403,
          'AuthorizationFailed',
          `The client '${clientId}' with object id '${objectId}' does not have authorization to perform action 'Microsoft.Network/dnszones${type}/${action}' over scope '${request.path}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
        );
      }
      return handler(request, { zone, token });
    };

  const authenticate = async (request: PeerRequest): Promise<VerifiedToken | Reply> => {
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    if (!match?.[1]) {
      return withChallenge(
        request,
        armError(
          request,
          401,
          'AuthenticationFailed',
          "Authentication failed. The 'Authorization' header is missing.",
        ),
      );
    }
    try {
      return await issuer.verify(match[1], ARM_AUDIENCES);
    } catch (error) {
      if (!(error instanceof TokenRejectedError)) throw error;
      const failures: Record<TokenRejectedError['reason'], [string, string]> = {
        expired: [
          'ExpiredAuthenticationToken',
          'The access token expiry UTC time is earlier than current UTC time.',
        ],
        audience: [
          'InvalidAuthenticationTokenAudience',
          "The access token has been obtained for wrong audience or resource. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.azure.com/'.",
        ],
        signature: [
          'InvalidAuthenticationToken',
          'The received access token is not valid: signature is invalid.',
        ],
        issuer: [
          'InvalidAuthenticationToken',
          'The received access token is not valid: at least one of the claims issuer is invalid.',
        ],
        malformed: ['InvalidAuthenticationToken', 'The access token is invalid.'],
      };
      const [code, message] = failures[error.reason];
      return withChallenge(request, armError(request, 401, code, message));
    }
  };

  return {
    name: 'arm-dns',
    prefix: '/arm',
    error: (status, message, request) => armError(request, status, codeByStatus(status), message),
    routes: [
      {
        method: 'GET',
        path: ZONE_PATH,
        handle: zoneRoute('read', (request, { zone }) => json(request, 200, zoneJson(zone, dns))),
      },
      {
        method: 'GET',
        path: `${ZONE_PATH}/recordsets`,
        handle: zoneRoute('read', (request, { zone }) => listRecordSets(request, zone, dns, undefined)),
      },
      {
        method: 'GET',
        path: `${ZONE_PATH}/all`,
        handle: zoneRoute('read', (request, { zone }) => listRecordSets(request, zone, dns, undefined)),
      },
      {
        method: 'GET',
        path: `${ZONE_PATH}/:type`,
        handle: zoneRoute('read', (request, { zone }) =>
          withType(request, (type) => listRecordSets(request, zone, dns, type)),
        ),
      },
      {
        method: 'GET',
        path: `${ZONE_PATH}/:type/:name`,
        handle: zoneRoute('read', (request, { zone }) =>
          withType(request, (type) => {
            const recordSet = dns.recordSet(zone, type, request.params.name ?? '');
            if (!recordSet) return recordNotFound(request, zone);
            return json(request, 200, recordSetJson(zone, recordSet), recordSet.etag);
          }),
        ),
      },
      {
        method: 'PUT',
        path: `${ZONE_PATH}/:type/:name`,
        handle: zoneRoute('write', (request, { zone }) =>
          withType(request, (type) => putRecordSet(request, zone, dns, type)),
        ),
      },
      {
        method: 'PATCH',
        path: `${ZONE_PATH}/:type/:name`,
        handle: zoneRoute('write', (request, { zone }) =>
          withType(request, (type) => patchRecordSet(request, zone, dns, type)),
        ),
      },
      {
        method: 'DELETE',
        path: `${ZONE_PATH}/:type/:name`,
        handle: zoneRoute('delete', (request, { zone }) =>
          withType(request, (type) => {
            const name = request.params.name ?? '';
            const existing = dns.recordSet(zone, type, name);
            const precondition = checkPreconditions(request, existing, name);
            if (precondition) return precondition;
            if (!existing) return { status: 204, headers: requestIds(request) };
            if (name === '@' && (type === 'SOA' || type === 'NS')) {
              return armError(
                request,
                400,
                'BadRequest',
                `The ${type} record set at the zone apex cannot be deleted.`,
              );
            }
            dns.delete(zone, type, name);
            zone.etag = randomUUID();
            return { status: 200, headers: requestIds(request) };
          }),
        ),
      },
    ],
  };
}

function withType(request: PeerRequest, handler: (type: DnsRecordType) => Reply): Reply {
  const type = (request.params.type ?? '').toUpperCase();
  if (!isRecordType(type)) {
    return armError(
      request,
      400,
      'BadRequest',
      `The record type '${request.params.type ?? ''}' is not supported. Supported types: ${Object.keys(RECORD_PROPERTIES).join(', ')}.`,
    );
  }
  return handler(type);
}

function putRecordSet(request: PeerRequest, zone: DnsZone, dns: DnsZones, type: DnsRecordType): Reply {
  const name = request.params.name ?? '';
  if (!isRelativeName(name)) {
    return armError(request, 400, 'BadRequest', `The record set name '${name}' is not valid.`);
  }
  const existing = dns.recordSet(zone, type, name);
  const precondition = checkPreconditions(request, existing, name);
  if (precondition) return precondition;
  const body = parseBody(request, type);
  if ('status' in body) return body;
  const recordSet = dns.upsert(zone, type, name, {
    ttl: body.ttl ?? 3600,
    metadata: body.metadata ?? {},
    records: body.records ?? emptyRecords(type),
  });
  zone.etag = randomUUID();
  return json(request, existing ? 200 : 201, recordSetJson(zone, recordSet), recordSet.etag);
}

function patchRecordSet(request: PeerRequest, zone: DnsZone, dns: DnsZones, type: DnsRecordType): Reply {
  const name = request.params.name ?? '';
  const existing = dns.recordSet(zone, type, name);
  if (!existing) return recordNotFound(request, zone);
  const precondition = checkPreconditions(request, existing, name);
  if (precondition) return precondition;
  const body = parseBody(request, type);
  if ('status' in body) return body;
  const recordSet = dns.upsert(zone, type, name, {
    ttl: body.ttl ?? existing.ttl,
    metadata: body.metadata ?? existing.metadata,
    records: body.records ?? existing.records,
  });
  zone.etag = randomUUID();
  return json(request, 200, recordSetJson(zone, recordSet), recordSet.etag);
}

/** `If-Match` (an etag or `*`) and `If-None-Match: *`, as Azure DNS checks them: 412 PreconditionFailed. */
function checkPreconditions(
  request: PeerRequest,
  existing: DnsRecordSet | undefined,
  name: string,
): Reply | undefined {
  const ifMatch = header(request, 'if-match');
  const ifNoneMatch = header(request, 'if-none-match');
  if (ifMatch !== undefined) {
    const wanted = unquote(ifMatch);
    if (!existing || (wanted !== '*' && wanted !== existing.etag)) {
      return armError(
        request,
        412,
        'PreconditionFailed',
        existing
          ? `The Record set ${name} has been modified (etag mismatch).`
          : `The Record set ${name} does not exist, so the precondition cannot be met.`,
      );
    }
  }
  if (ifNoneMatch !== undefined && unquote(ifNoneMatch) === '*' && existing) {
    return armError(
      request,
      412,
      'PreconditionFailed',
      `The Record set ${name} exists already and hence cannot be created again.`,
    );
  }
  return undefined;
}

interface ParsedRecordSet {
  readonly ttl?: number;
  readonly metadata?: Record<string, string>;
  readonly records?: unknown;
}

/** The `properties` of a record set body; records of other types than the URL's are refused. */
function parseBody(request: PeerRequest, type: DnsRecordType): ParsedRecordSet | Reply {
  let body: unknown;
  try {
    body = JSON.parse(request.body.toString('utf8') || '{}');
  } catch {
    return armError(
      request,
      400,
      'InvalidRequestContent',
      'The request content was invalid and could not be deserialized.',
    );
  }
  const properties = (body as { properties?: unknown } | null)?.properties;
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) {
    return armError(request, 400, 'BadRequest', "The request body must contain a 'properties' object.");
  }
  const props = properties as Record<string, unknown>;
  const ttl = props.TTL;
  if (
    ttl !== undefined &&
    (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0 || ttl > 2147483647)
  ) {
    return armError(request, 400, 'BadRequest', 'The TTL must be an integer between 0 and 2147483647.');
  }
  const metadata = props.metadata;
  if (
    metadata !== undefined &&
    metadata !== null &&
    (typeof metadata !== 'object' || Object.values(metadata).some((v) => typeof v !== 'string'))
  ) {
    return armError(request, 400, 'BadRequest', 'The metadata must map names to strings.');
  }
  for (const [other, property] of Object.entries(RECORD_PROPERTIES)) {
    if (other !== type && props[property] !== undefined && props[property] !== null) {
      return armError(
        request,
        400,
        'BadRequest',
        `The record set of type '${type}' cannot contain records of type '${other}' ('${property}').`,
      );
    }
  }
  const records = props[RECORD_PROPERTIES[type]];
  const invalid = records === undefined ? undefined : validateRecords(type, records);
  if (invalid) return armError(request, 400, 'BadRequest', invalid);
  return {
    ...(typeof ttl === 'number' ? { ttl } : {}),
    ...(metadata ? { metadata: metadata as Record<string, string> } : {}),
    ...(records !== undefined ? { records } : {}),
  };
}

/** The checks Azure DNS makes on the record types the product writes (A, TXT, CNAME); others are taken as sent. */
function validateRecords(type: DnsRecordType, records: unknown): string | undefined {
  if (type === 'CNAME') {
    const cname = (records as { cname?: unknown } | null)?.cname;
    return typeof cname === 'string' && cname.length > 0 ? undefined : "A CNAME record needs a 'cname'.";
  }
  if (type === 'SOA') return undefined;
  if (!Array.isArray(records)) return `'${RECORD_PROPERTIES[type]}' must be an array.`;
  for (const record of records as unknown[]) {
    if (type === 'A') {
      const ip = (record as { ipv4Address?: unknown } | null)?.ipv4Address;
      if (typeof ip !== 'string' || isIP(ip) !== 4) return `'${String(ip)}' is not a valid IPv4 address.`;
    }
    if (type === 'TXT') {
      const value = (record as { value?: unknown } | null)?.value;
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v.length > 1024)) {
        return "Each TXT record needs 'value': an array of strings of at most 1024 characters.";
      }
    }
  }
  return undefined;
}

function emptyRecords(type: DnsRecordType): unknown {
  return type === 'CNAME' || type === 'SOA' ? null : [];
}

function listRecordSets(
  request: PeerRequest,
  zone: DnsZone,
  dns: DnsZones,
  type: DnsRecordType | undefined,
): Reply {
  const topText = request.url.searchParams.get('$top');
  let top = DEFAULT_PAGE_SIZE;
  if (topText !== null) {
    top = Number(topText);
    if (!/^\d+$/.test(topText) || top < 1 || top > MAX_PAGE_SIZE) {
      return armError(
        request,
        400,
        'BadRequest',
        `The value '${topText}' of '$top' must be between 1 and ${MAX_PAGE_SIZE}.`,
      );
    }
  }
  const suffix = request.url.searchParams.get('$recordsetnamesuffix')?.toLowerCase().replace(/^\./, '');
  const skipToken = request.url.searchParams.get('$skipToken');
  const after = skipToken === null ? undefined : Buffer.from(skipToken, 'base64url').toString('utf8');
  const all = dns
    .recordSets(zone, type)
    .filter((r) => !suffix || r.name.toLowerCase() === suffix || r.name.toLowerCase().endsWith(`.${suffix}`));
  const keyOf = (r: DnsRecordSet) => `${r.type}/${r.name.toLowerCase()}`;
  const start = after === undefined ? 0 : all.findIndex((r) => keyOf(r) > after);
  const remaining = start < 0 ? [] : all.slice(start);
  const page = remaining.slice(0, top);
  const last = page.at(-1);
  let nextLink: string | undefined;
  if (remaining.length > top && last) {
    const next = new URL(`${request.origin}${request.url.pathname}`);
    next.searchParams.set(
      'api-version',
      request.url.searchParams.get('api-version') ?? API_VERSIONS[0] ?? '',
    );
    next.searchParams.set('$top', String(top));
    if (suffix) next.searchParams.set('$recordsetnamesuffix', suffix);
    next.searchParams.set('$skipToken', Buffer.from(keyOf(last)).toString('base64url'));
    nextLink = next.toString();
  }
  return json(request, 200, {
    value: page.map((r) => recordSetJson(zone, r)),
    ...(nextLink ? { nextLink } : {}),
  });
}

function zoneId(zone: DnsZone): string {
  return `/subscriptions/${zone.subscriptionId}/resourceGroups/${zone.resourceGroup}/providers/Microsoft.Network/dnszones/${zone.name}`;
}

function zoneJson(zone: DnsZone, dns: DnsZones) {
  const ns = dns.recordSet(zone, 'NS', '@')?.records;
  const nameServers = Array.isArray(ns)
    ? (ns as Array<{ nsdname?: string }>).map((r) => r.nsdname ?? '').filter(Boolean)
    : [];
  return {
    id: zoneId(zone),
    name: zone.name,
    type: 'Microsoft.Network/dnszones',
    etag: zone.etag,
    location: 'global',
    tags: {},
    properties: {
      // As dns.json 2018-05-01 has them: maxNumberOfRecordsPerRecordSet came with later api-versions.
      maxNumberOfRecordSets: 10000,
      numberOfRecordSets: zone.recordSets.size,
      nameServers,
      zoneType: 'Public',
    },
  };
}

function recordSetJson(zone: DnsZone, recordSet: DnsRecordSet) {
  return {
    id: `${zoneId(zone)}/${recordSet.type}/${recordSet.name}`,
    name: recordSet.name,
    type: `Microsoft.Network/dnszones/${recordSet.type}`,
    etag: recordSet.etag,
    properties: {
      metadata: recordSet.metadata,
      TTL: recordSet.ttl,
      fqdn: `${recordSet.name === '@' ? zone.name : `${recordSet.name}.${zone.name}`}.`,
      provisioningState: 'Succeeded',
      targetResource: {},
      [RECORD_PROPERTIES[recordSet.type]]: recordSet.records,
    },
  };
}

function recordNotFound(request: PeerRequest, zone: DnsZone): Reply {
  return armError(
    request,
    404,
    'NotFound',
    `The resource record '${request.params.name ?? ''}' does not exist in resource group '${zone.resourceGroup}' of subscription '${zone.subscriptionId}'.`,
  );
}

/** `@` or dot-separated labels (letters, digits, `-`, `_`, `*` as the first label). */
function isRelativeName(name: string): boolean {
  if (name === '@') return true;
  return name
    .split('.')
    .every(
      (label, index) =>
        (index === 0 && label === '*') || /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/i.test(label),
    );
}

function header(request: PeerRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function unquote(value: string): string {
  return value
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');
}

function json(request: PeerRequest, status: number, body: unknown, etag?: string): Reply {
  return {
    status,
    headers: {
      ...requestIds(request),
      'content-type': 'application/json; charset=utf-8',
      ...(etag ? { etag } : {}),
    },
    body,
  };
}

function withChallenge(request: PeerRequest, reply: Reply): Reply {
  return {
    ...reply,
    headers: {
      ...reply.headers,
      'www-authenticate': `Bearer authorization_uri="${request.origin}/entra/common/oauth2/authorize", error="invalid_token", error_description="The access token is missing or invalid."`,
    },
  };
}

/** ARM's error body `{ error: { code, message } }`, with the request ids ARM sends. */
function armError(request: PeerRequest, status: number, code: string, message: string): Reply {
  return {
    status,
    headers: { ...requestIds(request), 'content-type': 'application/json; charset=utf-8' },
    body: { error: { code, message } },
  };
}

function requestIds(request: PeerRequest): Record<string, string> {
  const id = randomUUID();
  const clientId = header(request, 'x-ms-client-request-id');
  return {
    'x-ms-request-id': id,
    'x-ms-correlation-request-id': id,
    ...(clientId ? { 'x-ms-client-request-id': clientId } : {}),
  };
}

function codeByStatus(status: number): string {
  const codes: Record<number, string> = {
    400: 'BadRequest',
    401: 'AuthenticationFailed',
    403: 'AuthorizationFailed',
    404: 'NotFound',
    405: 'MethodNotAllowed',
    409: 'Conflict',
    412: 'PreconditionFailed',
    429: 'TooManyRequests',
    500: 'InternalServerError',
    502: 'BadGateway',
    503: 'ServiceUnavailable',
    504: 'GatewayTimeout',
  };
  return codes[status] ?? (status >= 500 ? 'InternalServerError' : 'BadRequest');
}
