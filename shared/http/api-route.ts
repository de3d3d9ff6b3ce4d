import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { productLog, traceIdOf, withLogFields } from '../platform/product-log.js';
import type { z } from 'zod';
import { type AccessScope, customerScopedRoles, decideCustomerAccess } from '../access/access-policy.js';
import type { AccessStore } from '../access/access-store.js';
import type { AuditStore } from '../audit/audit-store.js';
import { redactValue } from '../tasks/redact.js';
import { type Authenticator, type Principal, requireRole } from '../auth/authenticator.js';
import type { HttpFunctionDefinition, HttpMethod } from '../platform/function-definitions.js';
import type { TaskEngine } from '../tasks/task-engine.js';
import type { OperationDoc, ResponseDoc, Role } from './operation-doc.js';
import { type FieldLocation, ProblemError, problemResponse, problems } from './problem.js';
import { problemOfDomainError } from './problem-mapper.js';
import { toFieldErrors } from '../errors/zod-field-errors.js';

export const MAX_BODY_BYTES = 1024 * 1024;

/** What every API operation goes through before and after its handler: who calls, on which customer, the audit. */
export interface ApiEdge {
  readonly authenticator: Pick<Authenticator, 'authenticate'>;
  readonly access: Pick<AccessStore, 'customerChannel' | 'grantsOf' | 'customersOfChannel'>;
  readonly audit: Pick<AuditStore, 'record'>;
  /** Names the customer of an audited task operation, whose path names only the task. */
  readonly taskEngine: Pick<TaskEngine, 'get'>;
}

export interface ApiResult {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** The fields the operation changed, for the audit trail (secrets are masked when recorded). */
  readonly changes?: Readonly<Record<string, { readonly before: unknown; readonly after: unknown }>>;
  /** The customer the operation was about when its path does not say (it created the customer). */
  readonly customerId?: string;
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
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  readonly responses: Readonly<Record<number, ResponseDoc>>;
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
 * A JSON API operation: authenticates, validates path, query and body against the same zod schemas the OpenAPI
 * document is generated from, and turns every failure into problem+json. Nothing reaches the handler unvalidated.
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
  const roles = spec.roles && customerScoped ? customerScopedRoles(spec.roles, spec.method) : spec.roles;
  const openapi: OperationDoc = {
    operationId: spec.name,
    method: spec.method,
    route: spec.route,
    summary: spec.summary,
    tags: spec.tags,
    roles,
    responses: spec.responses,
    ...(spec.params ? { params: spec.params } : {}),
    ...(spec.query ? { query: spec.query } : {}),
    ...(spec.body ? { body: spec.body } : {}),
  };
  return {
    kind: 'http',
    name: spec.name,
    methods: [spec.method],
    route: spec.route,
    openapi,
    handler: (request, context) =>
      withLogFields(
        {
          correlationId: traceIdOf(request.headers.get('traceparent')) ?? context.invocationId,
          customerId: request.params.customerId ?? null,
        },
        () => invoke(request, context),
      ),
  };

  async function invoke(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    try {
      let principal: Principal | null = null;
      if (roles) {
        principal = await edge.authenticator.authenticate(request.headers.get('authorization'));
        requireRole(principal, roles);
      }
      const params = spec.params ? parsePath(spec.params, request.params) : undefined;
      // Before the query and body: a caller outside the customer learns nothing from validation errors.
      if (principal && roles && customerScoped && !principal.roles.includes('provider-admin')) {
        const { access } = edge;
        const customerId = spec.access?.customerOf
          ? await spec.access.customerOf(params as Parsed<P>)
          : String((params as { customerId?: unknown } | undefined)?.customerId ?? '');
        if (!customerId) throw problems.forbidden('You may not act on this resource.');
        const decision = decideCustomerAccess({
          principal,
          roles,
          customerId,
          channelOf: await access.customerChannel(customerId),
          grants: await access.grantsOf(principal.subject),
        });
        if (!decision.allowed) throw problems.forbidden(decision.reason);
      }
      const caller = principal;
      const scope = async (): Promise<AccessScope> => {
        if (!caller || caller.roles.includes('provider-admin')) return { kind: 'all' };
        const { access } = edge;
        const grants = await access.grantsOf(caller.subject);
        const customerIds = new Set(caller.roles.includes('customer-admin') ? grants.customers : []);
        if (caller.roles.includes('channel-admin')) {
          for (const channel of grants.channels) {
            for (const id of await access.customersOfChannel(channel)) customerIds.add(id);
          }
        }
        return { kind: 'customers', customerIds };
      };
      const query = spec.query
        ? parseOrThrow(spec.query, Object.fromEntries(request.query), 'query')
        : undefined;
      const body = spec.body ? parseOrThrow(spec.body, await readJsonBody(request), 'body') : undefined;
      const result = await spec.handler({
        params: params as Parsed<P>,
        query: query as Parsed<Q>,
        body: body as Parsed<B>,
        principal,
        scope,
        request,
        context,
      });
      if (spec.method !== 'GET' && result.status < 400) {
        await audit({ spec, principal, params, body, result, request, context, edge });
      }
      return toResponse(result);
    } catch (error) {
      if (error instanceof ProblemError) return problemResponse(error.toProblem());
      const mapped = problemOfDomainError(error);
      if (mapped) return problemResponse(mapped.problem, mapped.headers);
      productLog(context, 'error', `Unhandled error in ${spec.name}.`, {
        error: error instanceof Error ? error.stack : String(error),
      });
      return problemResponse({
        type: 'urn:direct-routing-hub:problem:internal_error',
        title: 'Internal error',
        status: 500,
        code: 'internal_error',
        detail: `Something went wrong on our side; quote invocation ${context.invocationId} to support.`,
      });
    }
  }
}

/** Who changed what, when: every successful state-changing call (docs/operations.md). */
async function audit(input: {
  readonly spec: {
    readonly name: string;
    readonly method: HttpMethod;
    readonly access?: { readonly customerOf?: unknown };
  };
  readonly principal: Principal | null;
  readonly params: unknown;
  readonly body: unknown;
  readonly result: ApiResult;
  readonly request: HttpRequest;
  readonly context: InvocationContext;
  readonly edge: ApiEdge;
}): Promise<void> {
  const { principal, result, edge } = input;
  const params = (input.params ?? {}) as Record<string, unknown>;
  let customerId = typeof params.customerId === 'string' ? params.customerId : (result.customerId ?? null);
  if (!customerId && typeof params.taskId === 'string') {
    customerId = (await edge.taskEngine.get(params.taskId).catch(() => null))?.customerId ?? null;
  }
  const changes = result.changes
    ? (redactValue(result.changes).value as Record<string, { before: unknown; after: unknown }>)
    : null;
  try {
    await edge.audit.record({
      at: new Date().toISOString(),
      who: {
        subject: principal?.subject ?? 'anonymous',
        name: principal?.name ?? null,
        roles: [...(principal?.roles ?? [])],
      },
      operation: input.spec.name,
      method: input.spec.method,
      path: new URL(input.request.url).pathname,
      customerId,
      status: result.status,
      request: input.body === undefined ? null : redactValue(input.body).value,
      changes,
    });
  } catch (error) {
    // The change is made; failing the call now would tell the caller it was not.
    productLog(input.context, 'error', `Audit record of ${input.spec.name} failed.`, {
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, location: FieldLocation): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw problems.validation(toFieldErrors(result.error, location, value));
  return result.data;
}

/** A path that cannot name a resource (a Short Name with a dot, say) names nothing: 404, not 400. */
function parsePath<S extends z.ZodObject>(schema: S, params: Record<string, string>): z.output<S> {
  const result = schema.safeParse(params);
  if (!result.success) throw problems.notFound('Nothing exists at this address.');
  return result.data;
}

async function readJsonBody(request: HttpRequest): Promise<unknown> {
  const declaredLength = Number(request.headers.get('content-length') ?? '0');
  if (declaredLength > MAX_BODY_BYTES) throw problems.payloadTooLarge(MAX_BODY_BYTES);
  const contentType = request.headers.get('content-type');
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  if (mediaType !== 'application/json' && !/^application\/[\w.+-]+\+json$/.test(mediaType)) {
    throw problems.unsupportedMediaType(contentType);
  }
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > MAX_BODY_BYTES) throw problems.payloadTooLarge(MAX_BODY_BYTES);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw problems.malformedJson('The body is not valid UTF-8.');
  }
  if (text.trim() === '') throw problems.malformedJson('The body is empty; send a JSON document.');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw problems.malformedJson(
      `The body is not valid JSON: ${error instanceof Error ? error.message : 'parse error'}.`,
    );
  }
}

function toResponse(result: ApiResult): HttpResponseInit {
  if (result.body === undefined) return { status: result.status, headers: { ...result.headers } };
  return {
    status: result.status,
    headers: { ...result.headers, 'content-type': 'application/json' },
    body: JSON.stringify(result.body),
  };
}
