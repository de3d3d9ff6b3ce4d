import { randomUUID } from 'node:crypto';
import type { PeerRequest, Reply } from './router.js';

/** Entra ID never lets token responses be cached. */
export const noStore = { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' };

export interface Aadsts {
  readonly code: number;
  readonly message: string;
}

/**
 * Entra ID's OAuth error body; the correlation id echoes the client's `client-request-id` (a header, or a query
 * parameter as MSAL sends it) like the real one. `extra` carries fields such as `suberror`.
 */
export function entraError(
  request: PeerRequest,
  status: number,
  error: string,
  aadsts: Aadsts,
  extra: Readonly<Record<string, string>> = {},
): Reply {
  const { traceId, correlationId, timestamp } = traceOf(request);
  return {
    status,
    headers: noStore,
    body: {
      error,
      error_description: `AADSTS${aadsts.code}: ${aadsts.message} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [aadsts.code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `${request.origin}/entra/error?code=${aadsts.code}`,
      ...extra,
    },
  };
}

/** The ids Entra ID prints under every error, on JSON errors and error pages alike. */
export function traceOf(request: PeerRequest): { traceId: string; correlationId: string; timestamp: string } {
  const header = request.headers['client-request-id'];
  const correlationId =
    (typeof header === 'string' && header) ||
    request.url.searchParams.get('client-request-id') ||
    randomUUID();
  const timestamp = new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
  return { traceId: randomUUID(), correlationId, timestamp };
}

export function tenantNotFoundError(segment: string): Aadsts {
  return {
    code: 90002,
    message:
      `Tenant '${segment}' not found. Check to make sure you have the correct tenant ID and are signing into the ` +
      'correct cloud. Check with your subscription administrator, this may happen if there are no active ' +
      'subscriptions for the tenant.',
  };
}

export function tenantNotFound(request: PeerRequest, segment: string, error: string): Reply {
  return entraError(request, 400, error, tenantNotFoundError(segment));
}

export function missingParameterError(name: string): Aadsts {
  return { code: 900144, message: `The request body must contain the following parameter: '${name}'.` };
}

export function missingParameter(request: PeerRequest, name: string): Reply {
  return entraError(request, 400, 'invalid_request', missingParameterError(name));
}

export function unknownClientError(clientId: string, directory: string): Aadsts {
  return {
    code: 700016,
    message:
      `Application with identifier '${clientId}' was not found in the directory '${directory}'. ` +
      'This can happen if the application has not been installed by the administrator of the tenant or ' +
      'consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.',
  };
}
