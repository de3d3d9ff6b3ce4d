/**
 * CORS as Azure answers it for a Function App on Linux (Flex Consumption): the Functions host runs ASP.NET Core's
 * CorsMiddleware before any function, with one policy built from `siteConfig.cors` — the allowed origins, any method,
 * any header, credentials only with `supportCredentials` (which the product leaves off), no max age, no exposed
 * headers. The local host answers from this module so that a portal meets the same answers on both (decision 29).
 */

export interface CorsPolicy {
  /** The API_CORS_ALLOWED_ORIGINS list: origins as a browser sends them, or `['*']`. Empty refuses every origin. */
  readonly allowedOrigins: readonly string[];
}

export type CorsDecision =
  /** No Origin header: not a CORS request, the request goes on untouched. */
  | { readonly kind: 'none' }
  /** A preflight: answered 204 with these headers (none when the origin is refused); no function runs. */
  | {
      readonly kind: 'preflight';
      readonly allowed: boolean;
      readonly headers: Readonly<Record<string, string>>;
    }
  /** Any other request with an Origin: the function runs; its response, whatever it is, gets these headers. */
  | {
      readonly kind: 'actual';
      readonly allowed: boolean;
      readonly headers: Readonly<Record<string, string>>;
    };

export interface CorsRequest {
  readonly method: string;
  /** A request header's value, undefined when absent; repeated headers joined with commas. */
  readonly header: (name: string) => string | undefined;
}

export function evaluateCors(policy: CorsPolicy, request: CorsRequest): CorsDecision {
  const origin = request.header('origin');
  if (origin === undefined) return { kind: 'none' };

  const anyOrigin = policy.allowedOrigins.length === 1 && policy.allowedOrigins[0] === '*';
  // ASP.NET lower-cases the configured origins and compares the header as it came: ordinal, case-sensitive.
  const allowed =
    origin !== '' &&
    (anyOrigin || policy.allowedOrigins.some((allowedOrigin) => allowedOrigin.toLowerCase() === origin));
  const requestMethod = request.header('access-control-request-method');
  const preflight = request.method.toUpperCase() === 'OPTIONS' && requestMethod !== undefined;
  if (!allowed) return { kind: preflight ? 'preflight' : 'actual', allowed, headers: {} };

  const headers: Record<string, string> = { 'access-control-allow-origin': anyOrigin ? '*' : origin };
  if (preflight) {
    // "Any header" and "any method" are answered by echoing what the browser asked for.
    const requestHeaders = commaSeparated(request.header('access-control-request-headers'));
    if (requestHeaders.length > 0) headers['access-control-allow-headers'] = requestHeaders.join(',');
    if (requestMethod !== '') headers['access-control-allow-methods'] = requestMethod;
  }
  // Only a list of several origins varies the answer by Origin; one origin or `*` always answers the same.
  if (!anyOrigin && policy.allowedOrigins.length > 1) headers.vary = 'Origin';
  return { kind: preflight ? 'preflight' : 'actual', allowed, headers };
}

/**
 * The CORS headers on a function's response, as ASP.NET applies them when the response starts: its own
 * Access-Control-Allow-Origin replaces the function's, Vary is appended to, every other header is the function's.
 */
export function withCorsHeaders(
  response: Readonly<Record<string, string>>,
  cors: Readonly<Record<string, string>>,
): Record<string, string> {
  const merged: Record<string, string> = { ...response };
  for (const [name, value] of Object.entries(cors)) {
    const existing = name === 'vary' ? merged.vary : undefined;
    merged[name] = existing ? `${existing}, ${value}` : value;
  }
  return merged;
}

/** As ASP.NET's GetCommaSeparatedValues reads a list header: split on commas, trimmed, empty entries dropped. */
function commaSeparated(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
