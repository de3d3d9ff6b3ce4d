import type { Cookie, HttpRequest } from '@azure/functions';
import { BROWSER_KEY_PATTERN, newBrowserKey } from '../consent/consent-flow.js';

/**
 * The cookie that binds a consent flow to the browser that started it (docs/decisions.md, "Consent bound to
 * the browser and the tenant").
 * `__Host-`: only this host sets it, over HTTPS (browsers count http://localhost as secure), for every path and
 * no other domain, so neither a sibling subdomain nor plain HTTP can plant or read one.
 */
export const BROWSER_COOKIE = '__Host-drh-consent';

/** A flow lives at most about 15 minutes (a device code); an hour covers a flow and its Teams step with room. */
const MAX_AGE_SECONDS = 60 * 60;

/** The browser key the request's cookie carries, or null when it has none (or not one of ours). */
export function browserKeyOf(request: HttpRequest): string | null {
  for (const part of (request.headers.get('cookie') ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at < 0 || part.slice(0, at).trim() !== BROWSER_COOKIE) continue;
    const value = part.slice(at + 1).trim();
    return BROWSER_KEY_PATTERN.test(value) ? value : null;
  }
  return null;
}

/**
 * The key to start a flow with: the browser's own when it has one (so two tabs of one browser both work), else a
 * new one; and the cookie that (re)sets it. A key the browser brings cannot come from anyone else: only this host
 * sets `__Host-` cookies.
 */
export function bindBrowser(request: HttpRequest): { key: string; cookie: Cookie } {
  const key = browserKeyOf(request) ?? newBrowserKey();
  return {
    key,
    cookie: {
      name: BROWSER_COOKIE,
      value: key,
      path: '/',
      secure: true,
      httpOnly: true,
      // Lax, not Strict: Microsoft sends the browser back with a cross-site top-level GET (a 302 from
      // login.microsoftonline.com, response_mode=query), which carries Lax cookies and drops Strict ones.
      sameSite: 'Lax',
      maxAge: MAX_AGE_SECONDS,
    },
  };
}
