import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { z } from 'zod';
import type { AccessScope } from '../../access/access-policy.js';
import type { Reach } from '../../access/rate-limits.js';
import type { Principal } from '../../auth/authenticator.js';
import type { HttpMethod } from '../../platform/function-definitions.js';
import type { Role, TextBody, TextMediaType } from '../operation-doc.js';

export interface ApiResult {
  readonly status: number;
  readonly body?: unknown;
  /** The body is this text media type (a string, sent as it is) rather than JSON. */
  readonly contentType?: TextMediaType;
  readonly headers?: Readonly<Record<string, string>>;
  /** The fields the operation changed, for the audit trail (secrets are masked when recorded). */
  readonly changes?: Readonly<Record<string, { readonly before: unknown; readonly after: unknown }>>;
  /** The customer the operation was about when its path does not say (it created the customer). */
  readonly customerId?: string;
}

/** What the steps read of a route: its spec, as data, after the root resolved its roles and customer scope. */
export interface EdgeRoute {
  readonly name: string;
  readonly method: HttpMethod;
  /** The roles that may call it, customer roles included; `null` lets anyone call it. */
  readonly roles: readonly Role[] | null;
  /** Open to anyone, but a token sent is verified (401 if it proves no caller) and its principal passed on. */
  readonly optionalAuthentication?: boolean;
  /** About one customer (a `customerId` path parameter or `customerOf`): the caller must reach that customer. */
  readonly customerScoped: boolean;
  readonly customerOf?: (params: unknown) => Promise<string | null>;
  /** Reaches an SBC or a customer's tenant: rate limited (shared/access/rate-limits.ts). */
  readonly reach?: Reach;
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  /** The body is text of this media type (validated by `body` as a string) rather than a JSON document. */
  readonly textBody?: TextBody;
  /** The statuses its OpenAPI description documents; another one is logged as drift. */
  readonly documentedStatuses?: ReadonlySet<number>;
}

/** One call as it passes the steps: each fills in what the later ones and the handler read. */
export interface EdgeContext {
  readonly request: HttpRequest;
  readonly context: InvocationContext;
  readonly route: EdgeRoute;
  principal: Principal | null;
  /** The customers the caller may see, for operations that list across customers. */
  scope: () => Promise<AccessScope>;
  params: unknown;
  query: unknown;
  body: unknown;
  result: ApiResult | undefined;
  response: HttpResponseInit | undefined;
}

export function newEdgeContext(
  route: EdgeRoute,
  request: HttpRequest,
  context: InvocationContext,
): EdgeContext {
  return {
    request,
    context,
    route,
    principal: null,
    // Fails closed: only the authorize step knows whose customers these are.
    scope: () => Promise.reject(new Error('The scope is unknown before the authorize step.')),
    params: undefined,
    query: undefined,
    body: undefined,
    result: undefined,
    response: undefined,
  };
}
