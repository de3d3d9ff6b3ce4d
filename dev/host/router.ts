import type { HttpFunctionDefinition } from '../../shared/platform/function-definitions.js';
import {
  comparePrecedence,
  matchRouteTemplate,
  parseRouteTemplate,
  type RouteTemplate,
  RouteTemplateError,
  splitRequestPath,
} from './route-template.js';

export type Resolution =
  | {
      readonly kind: 'matched';
      readonly definition: HttpFunctionDefinition;
      readonly params: Record<string, string>;
    }
  | { readonly kind: 'method-not-allowed'; readonly allow: readonly string[] }
  | { readonly kind: 'not-found' };

export interface Router {
  resolve(method: string, pathname: string): Resolution;
}

interface Route {
  readonly definition: HttpFunctionDefinition;
  readonly template: RouteTemplate;
  /** Empty means every method, as a trigger without `methods` behaves in Azure. */
  readonly methods: readonly string[];
}

export function createRouter(definitions: readonly HttpFunctionDefinition[]): Router {
  const routes: Route[] = definitions.map((definition) => ({
    definition,
    template: parseRouteTemplate(definition.route),
    methods: definition.methods.map((m) => m.toUpperCase()),
  }));
  rejectDuplicates(routes);
  // Array.prototype.sort is stable, so equally specific routes keep their registration order.
  routes.sort((a, b) => comparePrecedence(a.template, b.template));

  return {
    resolve(method, pathname) {
      const path = splitRequestPath(pathname);
      const upper = method.toUpperCase();
      const matches: Array<{ route: Route; params: Record<string, string> }> = [];
      for (const route of routes) {
        const params = matchRouteTemplate(route.template, path);
        if (params) matches.push({ route, params });
      }
      // As ASP.NET's HTTP-method policy does: a less specific route that accepts the method beats a more
      // specific one that does not; 405 only when no matching route accepts it.
      const accepted = matches.find(
        ({ route }) => route.methods.length === 0 || route.methods.includes(upper),
      );
      if (accepted)
        return { kind: 'matched', definition: accepted.route.definition, params: accepted.params };
      if (matches.length > 0) {
        return {
          kind: 'method-not-allowed',
          allow: [...new Set(matches.flatMap(({ route }) => route.methods))],
        };
      }
      return { kind: 'not-found' };
    },
  };
}

function rejectDuplicates(routes: readonly Route[]): void {
  const byTemplate = new Map<string, Route[]>();
  for (const route of routes) {
    const key = route.template.template.replace(/^~?\//, '').replace(/\/$/, '').toLowerCase();
    const earlier = byTemplate.get(key) ?? [];
    for (const other of earlier) {
      const overlap = route.methods.filter((m) => other.methods.length === 0 || other.methods.includes(m));
      if (overlap.length > 0 || route.methods.length === 0) {
        throw new RouteTemplateError(
          `Functions '${other.definition.name}' and '${route.definition.name}' both serve ` +
            `${overlap.join(', ') || 'every method'} on route '${route.definition.route}'.`,
        );
      }
    }
    byTemplate.set(key, [...earlier, route]);
  }
}
