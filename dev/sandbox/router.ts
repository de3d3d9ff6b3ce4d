import type { IncomingHttpHeaders } from 'node:http';

/** A request as a peer sees it: the path is relative to the peer's prefix, the body already read. */
export interface PeerRequest {
  readonly method: string;
  readonly url: URL;
  /** The path below the peer's prefix, e.g. `/v1.0/users` for `/graph/v1.0/users`. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** Values of the route's `:name` segments, URL-decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** `https://localhost:PORT`, for absolute URLs in responses (issuers, next links). */
  readonly origin: string;
}

export interface Reply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Serialised as JSON unless it is a string. */
  readonly body?: unknown;
}

export interface Route {
  readonly method: string;
  /** Literal segments and `:name` parameters, e.g. `/:tenant/oauth2/v2.0/token`. */
  readonly path: string;
  handle(request: PeerRequest): Reply | Promise<Reply>;
}

/** One simulated service, mounted under a path prefix of the sandbox's single origin. */
export interface Peer {
  readonly name: string;
  /** E.g. `/entra`; requests below it are this peer's. */
  readonly prefix: string;
  readonly routes: readonly Route[];
  /** The service's own error format, for unknown routes, wrong methods, injected faults and crashes. */
  error(status: number, message: string, request: PeerRequest): Reply;
}

interface CompiledRoute {
  readonly route: Route;
  readonly pattern: RegExp;
  readonly names: readonly string[];
}

export interface RouteMatch {
  readonly peer: Peer;
  /** Undefined when no route of the peer matches. */
  readonly route?: Route;
  readonly params: Record<string, string>;
  /** True when the path matches a route but the method does not. */
  readonly wrongMethod: boolean;
  readonly path: string;
}

/** Dispatches on prefix, then on path and method; paths are case-insensitive like Microsoft's services. */
export class Router {
  private readonly peers: ReadonlyArray<{ peer: Peer; routes: readonly CompiledRoute[] }>;

  constructor(peers: readonly Peer[]) {
    this.peers = peers.map((peer) => ({ peer, routes: peer.routes.map(compile) }));
  }

  match(method: string, pathname: string): RouteMatch | undefined {
    for (const { peer, routes } of this.peers) {
      const prefix = peer.prefix.toLowerCase();
      const lower = pathname.toLowerCase();
      if (lower !== prefix && !lower.startsWith(`${prefix}/`)) continue;
      const path = pathname.slice(prefix.length) || '/';
      let wrongMethod = false;
      for (const compiled of routes) {
        const found = compiled.pattern.exec(path);
        if (!found) continue;
        if (compiled.route.method !== method) {
          wrongMethod = true;
          continue;
        }
        const params: Record<string, string> = {};
        compiled.names.forEach((name, index) => {
          params[name] = safeDecode(found[index + 1] ?? '');
        });
        return { peer, route: compiled.route, params, wrongMethod: false, path };
      }
      return { peer, params: {}, wrongMethod, path };
    }
    return undefined;
  }
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(segment.slice(1));
      return '([^/]+)';
    })
    .join('/');
  return { route, pattern: new RegExp(`^${source}/?$`, 'i'), names };
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
