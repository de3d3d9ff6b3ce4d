import { describe, expect, it } from 'vitest';
import { evaluateCors, withCorsHeaders } from '../../dev/host/cors.js';
import { startMemoryStack } from '../support/memory-stack.js';

const PORTAL = 'https://portal.example.com';
const one = { allowedOrigins: [PORTAL] };
const two = { allowedOrigins: [PORTAL, 'http://localhost:5173'] };
const any = { allowedOrigins: ['*'] };

function request(method: string, headers: Record<string, string>) {
  return { method, header: (name: string) => headers[name] };
}
const preflight = (origin: string, extra: Record<string, string> = {}) =>
  request('OPTIONS', { origin, 'access-control-request-method': 'PUT', ...extra });

describe('CORS as Azure answers it (ASP.NET Core CorsMiddleware, policy from siteConfig.cors)', () => {
  it('answers an allowed preflight with the origin, the method asked for and the headers asked for', () => {
    expect(
      evaluateCors(one, preflight(PORTAL, { 'access-control-request-headers': 'authorization, if-match' })),
    ).toEqual({
      kind: 'preflight',
      allowed: true,
      headers: {
        'access-control-allow-origin': PORTAL,
        'access-control-allow-methods': 'PUT',
        'access-control-allow-headers': 'authorization,if-match',
      },
    });
  });

  it('sends no Max-Age, no credentials and no exposed headers: the platform has no setting for them', () => {
    const { headers } = evaluateCors(one, preflight(PORTAL)) as { headers: Record<string, string> };
    expect(Object.keys(headers).sort()).toEqual([
      'access-control-allow-methods',
      'access-control-allow-origin',
    ]);
    const actual = evaluateCors(one, request('GET', { origin: PORTAL })) as {
      headers: Record<string, string>;
    };
    expect(actual.headers).toEqual({ 'access-control-allow-origin': PORTAL });
  });

  it('answers a refused preflight too, without any CORS header, so the browser refuses', () => {
    expect(evaluateCors(one, preflight('https://evil.example.com'))).toEqual({
      kind: 'preflight',
      allowed: false,
      headers: {},
    });
    expect(evaluateCors({ allowedOrigins: [] }, preflight(PORTAL))).toMatchObject({
      kind: 'preflight',
      allowed: false,
    });
  });

  it('compares the Origin as sent with the lower-cased list', () => {
    expect(evaluateCors({ allowedOrigins: ['https://Portal.Example.com'] }, preflight(PORTAL))).toMatchObject(
      {
        allowed: true,
      },
    );
    expect(evaluateCors(one, preflight('https://PORTAL.example.com'))).toMatchObject({ allowed: false });
    expect(evaluateCors(one, preflight(`${PORTAL}:443`))).toMatchObject({ allowed: false });
    expect(evaluateCors(one, preflight(''))).toMatchObject({ allowed: false });
  });

  it('leaves a request without Origin alone, even an OPTIONS with Access-Control-Request-Method', () => {
    expect(evaluateCors(one, request('GET', {}))).toEqual({ kind: 'none' });
    expect(evaluateCors(one, request('OPTIONS', { 'access-control-request-method': 'PUT' }))).toEqual({
      kind: 'none',
    });
  });

  it('lets an OPTIONS without Access-Control-Request-Method through to the routes, as a plain request', () => {
    expect(evaluateCors(one, request('OPTIONS', { origin: PORTAL }))).toEqual({
      kind: 'actual',
      allowed: true,
      headers: { 'access-control-allow-origin': PORTAL },
    });
  });

  it('marks actual requests: allowed ones get the origin, refused ones nothing, and the function runs for both', () => {
    expect(evaluateCors(one, request('POST', { origin: PORTAL }))).toEqual({
      kind: 'actual',
      allowed: true,
      headers: { 'access-control-allow-origin': PORTAL },
    });
    expect(evaluateCors(one, request('POST', { origin: 'https://evil.example.com' }))).toEqual({
      kind: 'actual',
      allowed: false,
      headers: {},
    });
  });

  it('treats a same-origin request like any other: the host cannot tell, and the browser needs no header', () => {
    const sameOrigin = request('POST', { origin: 'https://api.example.com', host: 'api.example.com' });
    expect(evaluateCors(one, sameOrigin)).toMatchObject({ kind: 'actual', allowed: false, headers: {} });
  });

  it('answers * for any origin when the list is * alone, without Vary', () => {
    expect(evaluateCors(any, preflight('https://anyone.example.com'))).toEqual({
      kind: 'preflight',
      allowed: true,
      headers: { 'access-control-allow-origin': '*', 'access-control-allow-methods': 'PUT' },
    });
    expect(evaluateCors(any, request('GET', { origin: 'https://anyone.example.com' }))).toMatchObject({
      headers: { 'access-control-allow-origin': '*' },
    });
  });

  it('varies by Origin only when the list has several origins, and only for an allowed one', () => {
    expect(evaluateCors(two, preflight(PORTAL))).toMatchObject({ headers: { vary: 'Origin' } });
    expect(evaluateCors(two, request('GET', { origin: 'http://localhost:5173' }))).toMatchObject({
      headers: { 'access-control-allow-origin': 'http://localhost:5173', vary: 'Origin' },
    });
    expect(evaluateCors(one, request('GET', { origin: PORTAL }))).not.toHaveProperty('headers.vary');
    expect(evaluateCors(two, request('GET', { origin: 'https://evil.example.com' }))).toMatchObject({
      headers: {},
    });
  });

  it("drops empty entries of the requested headers and echoes the rest in the browser's order", () => {
    const decision = evaluateCors(
      one,
      preflight(PORTAL, { 'access-control-request-headers': ' content-type ,, authorization' }),
    );
    expect(decision).toMatchObject({
      headers: { 'access-control-allow-headers': 'content-type,authorization' },
    });
  });

  it("puts its headers on a function's response: its Allow-Origin wins, Vary is appended to", () => {
    expect(
      withCorsHeaders(
        { etag: '"v1"', vary: 'Accept', 'access-control-allow-origin': 'https://other.example.com' },
        { 'access-control-allow-origin': PORTAL, vary: 'Origin' },
      ),
    ).toEqual({ etag: '"v1"', vary: 'Accept, Origin', 'access-control-allow-origin': PORTAL });
  });
});

describe('CORS in the in-process test stack', () => {
  it('answers as the local host: preflights before routing, the origin on every answer', async () => {
    const stack = await startMemoryStack({ settings: { cors: { allowedOrigins: [PORTAL] } } });
    try {
      const answer = await stack.api.fetch(`${stack.api.url}/api/v1/no-such-route`, {
        method: 'OPTIONS',
        headers: { origin: PORTAL, 'access-control-request-method': 'DELETE' },
      });
      expect(answer.status).toBe(204);
      expect(answer.headers.get('access-control-allow-origin')).toBe(PORTAL);
      expect(answer.headers.get('access-control-allow-methods')).toBe('DELETE');

      const notFound = await stack.api.fetch(`${stack.api.url}/api/v1/no-such-route`, {
        headers: { origin: PORTAL },
      });
      expect(notFound.status).toBe(404);
      expect(notFound.headers.get('access-control-allow-origin')).toBe(PORTAL);

      const refused = await stack.api.fetch(`${stack.api.url}/api/v1/health`, {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'GET' },
      });
      expect(refused.status).toBe(204);
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await stack.close();
    }
  });
});
