import type { EdgeStep } from './compose.js';

/**
 * The response headers a portal's script must read that are not CORS-safelisted: the version for its next If-Match,
 * where a created resource is, when to retry. Azure's platform CORS has no setting to expose headers (it never sends
 * Access-Control-Expose-Headers, and leaves the function's own alone), so the operation names them itself; without
 * an allowed origin's Access-Control-Allow-Origin the header grants nothing (decision 29).
 */
const READABLE = ['ETag', 'Location', 'Retry-After'] as const;

export const exposeHeaders: EdgeStep = async (ctx, next) => {
  await next();
  const response = ctx.response;
  if (!response?.headers) return;
  const headers = new Headers(response.headers);
  const exposed = READABLE.filter((name) => headers.has(name));
  if (exposed.length === 0) return;
  const value = exposed.join(', ');
  const given = response.headers;
  // The edge answers with plain records; a Headers object (which keeps repeated fields) stays one.
  const isRecord = !(given instanceof Headers) && !Array.isArray(given);
  headers.set(EXPOSE, value);
  ctx.response = { ...response, headers: isRecord ? { ...given, [EXPOSE]: value } : headers };
};

const EXPOSE = 'access-control-expose-headers';
