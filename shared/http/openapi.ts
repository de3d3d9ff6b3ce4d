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

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  });
  return rest;
}

/** `{name:int}`, `{name?}` and `{*name}` are Azure route syntax; OpenAPI knows only `{name}`. */
export function openApiPath(route: string): string {
  return `/${route.replace(/\{\*?([A-Za-z0-9_]+)[^}]*\}/g, '{$1}')}`;
}

function parameters(doc: OperationDoc): JsonSchema[] {
  const result: JsonSchema[] = [];
  for (const [location, shape] of [
    ['path', doc.params?.shape],
    ['query', doc.query?.shape],
  ] as const) {
    for (const [name, field] of Object.entries(shape ?? {})) {
      const schema = jsonSchema(field as z.ZodType, 'input');
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

function operation(doc: OperationDoc): JsonSchema {
  const responses: Record<string, JsonSchema> = problemResponses(doc);
  for (const [status, response] of Object.entries(doc.responses)) {
    const isError = Number(status) >= 400;
    const content = response.schema
      ? { 'application/json': { schema: jsonSchema(response.schema, 'output') } }
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
    parameters: parameters(doc),
    ...(doc.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: jsonSchema(doc.body, 'input') } },
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
  for (const definition of definitions) {
    if (!definition.openapi) continue;
    const path = openApiPath(definition.route);
    paths[path] ??= {};
    paths[path][definition.openapi.method.toLowerCase()] = operation(definition.openapi);
  }
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: {
      schemas: { Problem: problemSchema },
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
