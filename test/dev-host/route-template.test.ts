import { describe, expect, it } from 'vitest';
import {
  matchRouteTemplate,
  parseRouteTemplate,
  RouteTemplateError,
  splitRequestPath,
} from '../../dev/host/route-template.js';
import { createRouter } from '../../dev/host/router.js';
import type { HttpFunctionDefinition, HttpMethod } from '../../shared/platform/function-definitions.js';

// Pure functions: this file needs neither Azurite nor a host.

const match = (template: string, path: string) =>
  matchRouteTemplate(parseRouteTemplate(template), splitRequestPath(path));

describe('route templates', () => {
  it.each([
    ['api/v1/customers/{customerId}', '/api/v1/customers/c-1', { customerId: 'c-1' }],
    ['api/v1/customers/{customerId}', '/API/V1/Customers/c-1', { customerId: 'c-1' }],
    ['api/v1/customers/{customerId}', '/api/v1/customers/c-1/', { customerId: 'c-1' }],
    ['api/v1/customers/{customerId}', '/api/v1/customers/a%20b', { customerId: 'a b' }],
    ['api/v1/customers/{customerId}', '/api/v1/customers/a%2Fb', { customerId: 'a%2Fb' }],
    ['docs/{page?}', '/docs', {}],
    ['docs/{page?}', '/docs/intro', { page: 'intro' }],
    ['docs/{page=home}', '/docs', { page: 'home' }],
    ['files/{*path}', '/files/a/b/c.txt', { path: 'a/b/c.txt' }],
    ['files/{**path}', '/files/a/b', { path: 'a/b' }],
    ['files/{*path}', '/files', {}],
    ['users/{id:int}', '/users/42', { id: '42' }],
    ['users/{id:int}', '/users/-7', { id: '-7' }],
    ['users/{id:int:min(1)}', '/users/3', { id: '3' }],
    ['users/{id:range(1,10)}', '/users/10', { id: '10' }],
    [
      'items/{id:guid}',
      '/items/3f2504e0-4f89-11d3-9a0c-0305e82c3301',
      { id: '3f2504e0-4f89-11d3-9a0c-0305e82c3301' },
    ],
    ['items/{name:alpha}', '/items/Widget', { name: 'Widget' }],
    ['codes/{code:regex(^[a-z]{{2}}\\d+$)}', '/codes/ab12', { code: 'ab12' }],
    ['codes/{code:length(2,3)}', '/codes/abc', { code: 'abc' }],
    ['download/{name}.{ext}', '/download/report.v2.pdf', { name: 'report.v2', ext: 'pdf' }],
  ])('%s matches %s', (template, path, expected) => {
    expect(match(template, path)).toEqual(expected);
  });

  it.each([
    ['api/v1/customers/{customerId}', '/api/v1/customers'],
    ['api/v1/customers/{customerId}', '/api/v1/customers/c-1/users'],
    ['api/v1/customers/{customerId}', '/api/v2/customers/c-1'],
    ['users/{id:int}', '/users/abc'],
    ['users/{id:int}', '/users/2147483648'],
    ['users/{id:int:min(1)}', '/users/0'],
    ['items/{id:guid}', '/items/not-a-guid'],
    ['items/{name:alpha}', '/items/abc1'],
    ['codes/{code:regex(^[a-z]{{2}}\\d+$)}', '/codes/abc'],
    ['docs/{page?}', '/docs/a/b'],
    ['download/{name}.{ext}', '/download/report'],
  ])('%s does not match %s', (template, path) => {
    expect(match(template, path)).toBeUndefined();
  });

  it.each([
    ['files/{*path}/more', /catch-all parameter 'path' must be the whole last segment/],
    ['docs/{page?}/edit', /optional parameter can only be followed by other optional/],
    ['a/{id}/b/{id}', /'id' appears more than once/],
    ['a/{id:nope}', /constraint 'nope' is not supported/],
    ['a/{id:min(x)}', /needs 1 integer argument/],
    ['a/{id', /unclosed '\{'/],
    ['a/id}', /unmatched '\}'/],
    ['a//b', /empty segment/],
    ['a/{x}{y}', /two consecutive parameters/],
    ['a/{*rest?}', /cannot be marked optional/],
    ['a/{x:regex(()}', /not a valid regular expression/],
  ])('rejects %s', (template, message) => {
    expect(() => parseRouteTemplate(template)).toThrow(RouteTemplateError);
    expect(() => parseRouteTemplate(template)).toThrow(message);
  });
});

describe('router', () => {
  const fn = (name: string, route: string, methods: HttpMethod[] = ['GET']): HttpFunctionDefinition => ({
    kind: 'http',
    name,
    route,
    methods,
    handler: async () => ({}),
  });
  const resolve = (router: ReturnType<typeof createRouter>, method: string, path: string) => {
    const resolution = router.resolve(method, path);
    return resolution.kind === 'matched' ? resolution.definition.name : resolution;
  };

  it('prefers literal over constrained over plain parameter over catch-all, whatever the registration order', () => {
    const router = createRouter([
      fn('catch-all', 'api/{*rest}'),
      fn('plain', 'api/customers/{id}'),
      fn('constrained', 'api/customers/{id:int}'),
      fn('literal', 'api/customers/search'),
    ]);
    expect(resolve(router, 'GET', '/api/customers/search')).toBe('literal');
    expect(resolve(router, 'GET', '/api/customers/42')).toBe('constrained');
    expect(resolve(router, 'GET', '/api/customers/abc')).toBe('plain');
    expect(resolve(router, 'GET', '/api/other/x/y')).toBe('catch-all');
  });

  it('prefers the route without an optional segment for the shorter path', () => {
    const router = createRouter([fn('with-page', 'docs/{page?}'), fn('index', 'docs')]);
    expect(resolve(router, 'GET', '/docs')).toBe('index');
    expect(resolve(router, 'GET', '/docs/intro')).toBe('with-page');
  });

  it('falls back to a less specific route that accepts the method, and answers 405 only when none does', () => {
    const router = createRouter([
      fn('search', 'api/items/search', ['GET']),
      fn('update', 'api/items/{id}', ['PUT', 'DELETE']),
    ]);
    expect(resolve(router, 'PUT', '/api/items/search')).toBe('update');
    expect(resolve(router, 'POST', '/api/items/search')).toEqual({
      kind: 'method-not-allowed',
      allow: ['GET', 'PUT', 'DELETE'],
    });
    expect(resolve(router, 'GET', '/nowhere')).toEqual({ kind: 'not-found' });
  });

  it('refuses two functions serving the same method on the same route', () => {
    expect(() => createRouter([fn('a', 'api/x', ['GET', 'POST']), fn('b', 'API/x', ['POST'])])).toThrow(
      /'a' and 'b' both serve POST on route 'API\/x'/,
    );
    expect(() => createRouter([fn('a', 'api/x', ['GET']), fn('b', 'api/x', ['POST'])])).not.toThrow();
  });
});
