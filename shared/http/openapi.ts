import { z } from 'zod';
import type { HttpFunctionDefinition } from '../platform/function-definitions.js';
import type { OperationDoc } from './operation-doc.js';
import { PROBLEM_CONTENT_TYPE } from './problem.js';

type JsonSchema = Record<string, unknown>;

const problemSchema: JsonSchema = {
  type: 'object',
  description: 'RFC 9457 problem details with a stable code.',
  required: ['type', 'title', 'status', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    code: { type: 'string', description: 'Stable, machine-readable error code.' },
    detail: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['field', 'in', 'code', 'message'],
        properties: {
          field: { type: 'string' },
          in: { type: 'string', enum: ['body', 'query', 'path', 'header'] },
          code: { type: 'string' },
          message: { type: 'string' },
        },
      },
    },
  },
};

/** Named schemas (`.meta({ id })`) shared by the operations, hoisted into `components.schemas`. */
type SharedSchemas = Record<string, JsonSchema>;

/** Zod puts named schemas in a local `$defs`, whose `#/$defs/…` refs would resolve against the document root. */
function hoistDefinitions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(hoistDefinitions);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      key === '$ref' && typeof inner === 'string'
        ? inner.replace(/^#\/\$defs\//, '#/components/schemas/')
        : hoistDefinitions(inner),
    ]),
  );
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output', shared: SharedSchemas): JsonSchema {
  const {
    $schema: _ignored,
    $defs,
    ...rest
  } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  });
  for (const [name, definition] of Object.entries($defs ?? {})) {
    shared[name] = hoistDefinitions(definition) as JsonSchema;
  }
  return hoistDefinitions(rest) as JsonSchema;
}

/** `{name:int}`, `{name?}` and `{*name}` are Azure route syntax; OpenAPI knows only `{name}`. */
export function openApiPath(route: string): string {
  return `/${route.replace(/\{\*?([A-Za-z0-9_]+)[^}]*\}/g, '{$1}')}`;
}

function parameters(doc: OperationDoc, shared: SharedSchemas): JsonSchema[] {
  const result: JsonSchema[] = [];
  for (const [location, shape] of [
    ['path', doc.params?.shape],
    ['query', doc.query?.shape],
  ] as const) {
    for (const [name, field] of Object.entries(shape ?? {})) {
      const schema = jsonSchema(field as z.ZodType, 'input', shared);
      const { description, ...fieldSchema } = schema;
      result.push({
        name,
        in: location,
        required: location === 'path' || !(field as z.ZodType).safeParse(undefined).success,
        schema: fieldSchema,
        ...(typeof description === 'string' ? { description } : {}),
      });
    }
  }
  return result;
}

function problemResponses(doc: OperationDoc): Record<string, JsonSchema> {
  const ref = { content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } } };
  const statuses: Array<[number, string]> = [];
  if (doc.body || doc.query) statuses.push([400, 'Invalid request: malformed JSON or invalid fields.']);
  if (doc.roles) {
    statuses.push([401, 'Missing, invalid or expired access token.']);
    statuses.push([403, `The caller lacks the role ${doc.roles.join(' or ')}.`]);
  }
  if (doc.params) statuses.push([404, 'No such resource.']);
  if (doc.body) {
    statuses.push([413, 'The body exceeds 1 MB.']);
    statuses.push([415, 'The body is not application/json.']);
  }
  statuses.push([500, 'Unexpected error; quote the invocation id.']);
  return Object.fromEntries(
    statuses.map(([status, description]) => [String(status), { description, ...ref }]),
  );
}

function operation(doc: OperationDoc, shared: SharedSchemas): JsonSchema {
  const responses: Record<string, JsonSchema> = problemResponses(doc);
  for (const [status, response] of Object.entries(doc.responses)) {
    const isError = Number(status) >= 400;
    const content = response.schema
      ? { 'application/json': { schema: jsonSchema(response.schema, 'output', shared) } }
      : isError
        ? { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } }
        : undefined;
    responses[status] = { description: response.description, ...(content ? { content } : {}) };
  }
  return {
    operationId: doc.operationId,
    summary: doc.summary,
    tags: [...doc.tags],
    ...(doc.roles ? { description: `Requires the role ${doc.roles.join(' or ')}.` } : {}),
    security: doc.roles ? [{ bearer: [] }] : [],
    parameters: parameters(doc, shared),
    ...(doc.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: jsonSchema(doc.body, 'input', shared) } },
          },
        }
      : {}),
    responses,
  };
}

export interface OpenApiInfo {
  readonly title: string;
  readonly version: string;
  readonly description: string;
}

/** The OpenAPI 3.1 document of every JSON API operation in the registry. */
export function buildOpenApiDocument(
  definitions: readonly HttpFunctionDefinition[],
  info: OpenApiInfo,
): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const shared: SharedSchemas = {};
  for (const definition of definitions) {
    if (!definition.openapi) continue;
    const path = openApiPath(definition.route);
    paths[path] ??= {};
    paths[path][definition.openapi.method.toLowerCase()] = operation(definition.openapi, shared);
  }
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: {
      schemas: { ...shared, Problem: problemSchema },
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: "An Entra ID access token for the API's audience, with app roles.",
        },
      },
    },
  };
}
