import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { PeerRequest } from './router.js';

/** ACS refuses requests whose x-ms-date is further than this from its clock. */
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
const AUTHORIZATION = /^HMAC-SHA256 SignedHeaders=([^&]+)&Signature=(.+)$/;

/**
 * Checks an Azure Communication Services HMAC-SHA256 request signature, as the service does for access-key
 * callers: `VERB\n<path and query>\n<values of SignedHeaders joined by ';'>`, keyed with the base64-decoded
 * access key, and the body's SHA-256 in x-ms-content-sha256. Returns why it fails, or undefined when valid.
 */
export function acsSignatureProblem(
  request: PeerRequest,
  accessKey: string,
  now = Date.now(),
): string | undefined {
  const authorization = header(request, 'authorization');
  const match = authorization ? AUTHORIZATION.exec(authorization) : null;
  if (!match) return 'The request is not signed with HMAC-SHA256.';
  const signedHeaders = (match[1] ?? '').toLowerCase().split(';');
  for (const required of ['x-ms-date', 'host', 'x-ms-content-sha256']) {
    if (!signedHeaders.includes(required)) return `SignedHeaders must include ${required}.`;
  }
  const date = Date.parse(header(request, 'x-ms-date') ?? '');
  if (Number.isNaN(date) || Math.abs(now - date) > MAX_CLOCK_SKEW_MS) {
    return 'x-ms-date is missing or too far from the service clock.';
  }
  const contentHash = createHash('sha256').update(request.body).digest('base64');
  if (header(request, 'x-ms-content-sha256') !== contentHash)
    return 'x-ms-content-sha256 does not match the body.';
  const values = signedHeaders.map((name) => header(request, name) ?? '');
  const stringToSign = `${request.method.toUpperCase()}\n${request.url.pathname}${request.url.search}\n${values.join(';')}`;
  const expected = createHmac('sha256', Buffer.from(accessKey, 'base64')).update(stringToSign).digest();
  const given = Buffer.from(match[2] ?? '', 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return 'The signature is invalid.';
  return undefined;
}

function header(request: PeerRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
