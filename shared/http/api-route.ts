import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { z } from 'zod';
import { type Principal, requireRole } from '../auth/authenticator.js';
import type { HttpFunctionDefinition, HttpMethod } from '../platform/function-definitions.js';
import { getServices, type Services } from '../platform/services.js';
import type { OperationDoc, ResponseDoc, Role } from './operation-doc.js';
import { type FieldLocation, ProblemError, problemResponse, problems } from './problem.js';
import { toFieldErrors } from './zod-field-errors.js';

export const MAX_BODY_BYTES = 1024 * 1024;

export interface ApiResult {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface ApiInput<P, Q, B> {
  readonly params: Parsed<P>;
  readonly query: Parsed<Q>;
  readonly body: Parsed<B>;
  readonly principal: Principal | null;
  readonly request: HttpRequest;
  readonly context: InvocationContext;
  readonly services: Services;
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
>(spec: ApiRouteSpec<P, Q, B>): HttpFunctionDefinition {
  const openapi: OperationDoc = {
    operationId: spec.name,
    method: spec.method,
    route: spec.route,
    summary: spec.summary,
    tags: spec.tags,
    roles: spec.roles,
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
    handler: async (request, context) => {
      try {
        const services = await getServices();
        let principal: Principal | null = null;
        if (spec.roles) {
          principal = await services.authenticator.authenticate(request.headers.get('authorization'));
          requireRole(principal, spec.roles);
        }
        const params = spec.params ? parsePath(spec.params, request.params) : undefined;
        const query = spec.query
          ? parseOrThrow(spec.query, Object.fromEntries(request.query), 'query')
          : undefined;
        const body = spec.body ? parseOrThrow(spec.body, await readJsonBody(request), 'body') : undefined;
        const result = await spec.handler({
          params: params as Parsed<P>,
          query: query as Parsed<Q>,
          body: body as Parsed<B>,
          principal,
          request,
          context,
          services,
        });
        return toResponse(result);
      } catch (error) {
        if (error instanceof ProblemError) return problemResponse(error.toProblem(), error.headers);
        context.error(
          `Unhandled error in ${spec.name}:`,
          error instanceof Error ? error.stack : String(error),
        );
        return problemResponse({
          type: 'urn:direct-routing-hub:problem:internal_error',
          title: 'Internal error',
          status: 500,
          code: 'internal_error',
          detail: `Something went wrong on our side; quote invocation ${context.invocationId} to support.`,
        });
      }
    },
  };
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
