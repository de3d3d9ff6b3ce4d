import type { Cookie } from '@azure/functions';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const ATTRIBUTE_VALUE = /^[\u0021-\u003A\u003C-\u007E]*$/;

/**
 * A `Set-Cookie` value for an `HttpResponseInit.cookies` entry, in the form the Functions library itself
 * produces (the `cookie` package: value URI-encoded, then Max-Age, Domain, Path, Expires, HttpOnly, Secure,
 * SameSite). Throws on a name or attribute that would corrupt the header, as that package does.
 */
export function serializeCookie(cookie: Cookie): string {
  if (!TOKEN.test(cookie.name)) throw new TypeError(`Invalid cookie name '${cookie.name}'.`);
  const parts = [`${cookie.name}=${encodeURIComponent(cookie.value)}`];
  if (cookie.maxAge !== undefined) {
    if (!Number.isFinite(cookie.maxAge)) throw new TypeError(`Invalid maxAge for cookie '${cookie.name}'.`);
    parts.push(`Max-Age=${Math.floor(cookie.maxAge)}`);
  }
  if (cookie.domain !== undefined) parts.push(`Domain=${attribute(cookie, 'domain', cookie.domain)}`);
  if (cookie.path !== undefined) parts.push(`Path=${attribute(cookie, 'path', cookie.path)}`);
  if (cookie.expires !== undefined) {
    const expires = typeof cookie.expires === 'number' ? new Date(cookie.expires) : cookie.expires;
    if (Number.isNaN(expires.getTime())) throw new TypeError(`Invalid expires for cookie '${cookie.name}'.`);
    parts.push(`Expires=${expires.toUTCString()}`);
  }
  if (cookie.httpOnly) parts.push('HttpOnly');
  if (cookie.secure) parts.push('Secure');
  if (cookie.sameSite) parts.push(`SameSite=${cookie.sameSite}`);
  return parts.join('; ');
}

function attribute(cookie: Cookie, name: string, value: string): string {
  if (!ATTRIBUTE_VALUE.test(value)) throw new TypeError(`Invalid ${name} for cookie '${cookie.name}'.`);
  return value;
}
