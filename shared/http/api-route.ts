import type { HttpRequest, InvocationContext } from '@azure/functions';
import type { z } from 'zod';
import { type AccessScope, customerScopedRoles } from '../access/access-policy.js';
import { OPERATION_REACH } from '../access/rate-limits.js';
import type { Principal } from '../auth/authenticator.js';
import type { HttpFunctionDefinition, HttpMethod } from '../platform/function-definitions.js';
import type { ApiPipeline } from './edge/api-edge.js';
import type { ApiResult } from './edge/context.js';
import { documentedResponses } from './response-contract.js';
import type { ErrorDocs, OperationDoc, ResponseDoc, Role, AnswerStatus, TextBody } from './operation-doc.js';

export type { ApiResult } from './edge/context.js';

/** What a feature gets from the composition root to define its operations: the one assembled edge. */
export interface ApiEdge {
  readonly apiEdge: ApiPipeline;
}

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface ApiInput<P, Q, B> {
  readonly params: Parsed<P>;
  readonly query: Parsed<Q>;
  readonly body: Parsed<B>;
  readonly principal: Principal | null;
  /** The customers the caller may see, for operations that list across customers. */
  readonly scope: () => Promise<AccessScope>;
  readonly request: HttpRequest;
  readonly context: InvocationContext;
}

export interface ApiRouteSpec<
  P extends z.ZodObject | undefined,
  Q extends z.ZodObject | undefined,
  B extends z.ZodType | undefined,
> {
  readonly name: string;
  readonly method: HttpMethod;
  readonly route: string;
  readonly summary: string;
  readonly tags: readonly string[];
  /** `null` lets anyone call the operation. */
  readonly roles: readonly Role[] | null;
  /**
   * With `roles: null`: a bearer token, when sent, is verified (401 if it proves no caller) and the handler sees its
   * principal, so one public address can tell more to a caller it knows (health: liveness to a probe, details to an
   * admin).
   */
  readonly optionalAuthentication?: boolean;
  /** What the OpenAPI operation's description says beyond the roles it requires. */
  readonly description?: string;
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  /** The body is text of this media type (a CSV file), validated by `body` as a string, instead of JSON. */
  readonly textBody?: TextBody;
  /** What the handler answers when it succeeds. */
  readonly responses: Readonly<Partial<Record<AnswerStatus, ResponseDoc>>>;
  /** The domain errors the handler can throw; the edge's own (401, 403, 404, 400, …) are derived. */
  readonly errors?: ErrorDocs;
  /** The handler reads If-Match (route-kit's ifMatchOf): the header is documented, and its 412. */
  readonly ifMatch?: boolean;
  /**
   * Customer scope. An operation with a `customerId` path parameter is about that customer: channel admins of its
   * channel may call it, and its customer admins when it only reads. `customerOf` names the customer of other
   * operations (a task's); `providerOnly` keeps an operation the provider's.
   */
  readonly access?: {
    readonly customerOf?: (params: Parsed<P>) => Promise<string | null>;
    readonly providerOnly?: boolean;
  };
  readonly handler: (input: ApiInput<P, Q, B>) => Promise<ApiResult>;
}

/**
 * A JSON API operation: the spec is data (its schemas also feed the OpenAPI document); the edge's steps
 * (shared/http/edge) authenticate, authorize, validate, audit and turn every failure into problem+json.
 */
export function defineApiRoute<
  P extends z.ZodObject | undefined = undefined,
  Q extends z.ZodObject | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(edge: ApiEdge, spec: ApiRouteSpec<P, Q, B>): HttpFunctionDefinition {
  const customerScoped =
    spec.roles !== null &&
    !spec.access?.providerOnly &&
    (spec.access?.customerOf !== undefined ||
      Boolean(spec.params?.shape && 'customerId' in spec.params.shape));
  const roles =
    spec.roles && customerScoped ? customerScopedRoles(spec.roles, spec.method, spec.name) : spec.roles;
  const customerOf = spec.access?.customerOf;
  // Capability as data: what an operation reaches is declared in one table, not by each route.
  const reach = OPERATION_REACH[spec.name];
  const openapi: OperationDoc = {
    operationId: spec.name,
    method: spec.method,
    route: spec.route,
    summary: spec.summary,
    tags: spec.tags,
    roles,
    customerScoped,
    ...(spec.optionalAuthentication ? { optionalAuthentication: true } : {}),
    ...(spec.description ? { description: spec.description } : {}),
    responses: spec.responses,
    ...(spec.errors ? { errors: spec.errors } : {}),
    ...(spec.ifMatch ? { ifMatch: true } : {}),
    ...(reach ? { reach } : {}),
    ...(spec.params ? { params: spec.params } : {}),
    ...(spec.query ? { query: spec.query } : {}),
    ...(spec.body ? { body: spec.body } : {}),
    ...(spec.textBody ? { textBody: spec.textBody } : {}),
  };
  let documented: ReadonlySet<number> | undefined;
  const route = {
    name: spec.name,
    method: spec.method,
    roles,
    customerScoped,
    ...(spec.optionalAuthentication ? { optionalAuthentication: true } : {}),
    ...(customerOf ? { customerOf: (params: unknown) => customerOf(params as Parsed<P>) } : {}),
    ...(reach ? { reach } : {}),
    ...(spec.params ? { params: spec.params } : {}),
    ...(spec.query ? { query: spec.query } : {}),
    ...(spec.body ? { body: spec.body } : {}),
    ...(spec.textBody ? { textBody: spec.textBody } : {}),
    // Derived on the operation's first answer, not for every route at start-up (docs/decisions.md, 82).
    get documentedStatuses(): ReadonlySet<number> {
      return (documented ??= new Set(documentedResponses(openapi).keys()));
    },
  };
  return {
    kind: 'http',
    name: spec.name,
    methods: [spec.method],
    route: spec.route,
    openapi,
    handler: (request, context) =>
      edge.apiEdge.handle(route, request, context, (ctx) =>
        spec.handler({
          params: ctx.params as Parsed<P>,
          query: ctx.query as Parsed<Q>,
          body: ctx.body as Parsed<B>,
          principal: ctx.principal,
          scope: ctx.scope,
          request,
          context,
        }),
      ),
  };
}
