import { z } from 'zod';
import { PROBLEM_CODES } from '../errors/problem-codes.js';
import type { HttpFunctionDefinition } from '../platform/function-definitions.js';
import type { OperationDoc } from './operation-doc.js';
import { PROBLEM_CONTENT_TYPE } from './problem.js';
import { type DeclaredHeader, documentedResponses } from './response-contract.js';

type JsonSchema = Record<string, unknown>;

/**
 * Where the API lives, relative to the host that serves the document, and the prefix of every path in it: a client
 * configured with the base URL `npm start` prints (…/api/v1) calls `${baseUrl}/customers`, as openapi-fetch does.
 */
export const API_BASE_PATH = '/api/v1';

const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };

const problemSchema: JsonSchema = {
  type: 'object',
  description: 'RFC 9457 problem details with a stable code.',
  required: ['type', 'title', 'status', 'code'],
  properties: {
    type: { type: 'string', description: 'urn:direct-routing-hub:problem:<code>' },
    title: { type: 'string' },
    status: { type: 'integer' },
    code: { type: 'string', enum: [...PROBLEM_CODES], description: 'Stable, machine-readable error code.' },
    detail: { type: 'string' },
    errors: { type: 'array', items: { $ref: '#/components/schemas/FieldError' } },
    task: {
      type: 'string',
      format: 'uri-reference',
      description:
        'The task the problem is about, e.g. the one a submitted wizard session queued (wizard_submitted): poll it.',
    },
  },
};

const fieldErrorSchema: JsonSchema = {
  type: 'object',
  description: 'One field the request got wrong.',
  required: ['field', 'in', 'code', 'message'],
  properties: {
    field: { type: 'string', description: 'Dotted path of the field; empty for the whole value.' },
    in: { type: 'string', enum: ['body', 'query', 'path', 'header'] },
    code: { type: 'string', description: 'Stable, machine-readable reason, e.g. too_short.' },
    message: { type: 'string' },
    allowed: {
      type: 'array',
      items: { type: 'string' },
      description:
        "The values the field may take, when they come from configuration: e.g. the chosen SBC's carriers (unknown_carrier), CAC profiles (unknown_cac_profile) or dial plans (unknown_dial_plan).",
    },
  },
};

const HEADER_COMPONENT: Readonly<Record<DeclaredHeader, string>> = {
  ETag: 'ETag',
  Location: 'Location',
  'Retry-After': 'RetryAfter',
  'WWW-Authenticate': 'WWWAuthenticate',
};

const headers: Readonly<Record<string, JsonSchema>> = {
  ETag: {
    description:
      'The strong version of the resource; send it back in If-Match to change it only if unchanged.',
    schema: { type: 'string' },
  },
  Location: {
    description: 'The created resource, or the task to poll after a 202; a path on this host.',
    schema: { type: 'string', format: 'uri-reference' },
  },
  RetryAfter: {
    description: 'Seconds after which a retry may succeed.',
    schema: { type: 'integer', minimum: 0 },
  },
  WWWAuthenticate: { description: 'The bearer challenge.', schema: { type: 'string' } },
};

const ifMatchParameter: JsonSchema = {
  name: 'If-Match',
  in: 'header',
  required: false,
  description:
    'The ETag last read (or *): the change is made only if the resource is still at that version, else 412.',
  schema: { type: 'string' },
};

/** Named schemas (`.meta({ id })`), one `components.schemas` entry each, referenced wherever they are used. */
type SharedSchemas = Record<string, JsonSchema>;

function rewriteRefs(value: unknown, rename: (name: string) => string): unknown {
  if (Array.isArray(value)) return value.map((item) => rewriteRefs(item, rename));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      key === '$ref' && typeof inner === 'string'
        ? inner.replace(/^#\/\$defs\/(.+)$/, (_all, name: string) => `#/components/schemas/${rename(name)}`)
        : rewriteRefs(inner, rename),
    ]),
  );
}

/** `format: base64` is no JSON Schema 2020-12 format; `contentEncoding` says it (zod emits both). */
function override(ctx: { jsonSchema: JsonSchema }): void {
  if (ctx.jsonSchema.format === 'base64') delete ctx.jsonSchema.format;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Zod puts the named schemas a schema uses in its `$defs`; they become components. A request's view of a named schema
 * differs from a response's when it has defaults or transforms: the output is the component, the input `<id>Input`.
 * Responses are converted first (buildOpenApiDocument), so the output always owns the plain name.
 */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output', shared: SharedSchemas): JsonSchema {
  const {
    $schema: _ignored,
    $defs,
    ...rest
  } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any', override });
  const definitions = Object.entries($defs ?? {});
  const names = new Map<string, string>();
  for (const [name, definition] of definitions) {
    const owned = shared[name];
    const clash =
      owned !== undefined &&
      !sameJson(
        owned,
        rewriteRefs(definition, (n) => n),
      );
    names.set(name, clash && io === 'input' ? `${name}Input` : name);
  }
  const rename = (name: string) => names.get(name) ?? name;
  for (const [name, definition] of definitions) {
    const target = rename(name);
    const converted = rewriteRefs(definition, rename) as JsonSchema;
    const owned = shared[target];
    if (owned !== undefined && !sameJson(owned, converted)) {
      throw new Error(`Two different schemas are named ${target}; give one of them another id.`);
    }
    shared[target] = converted;
  }
  return rewriteRefs(rest, rename) as JsonSchema;
}

/** `{name:int}`, `{name?}` and `{*name}` are Azure route syntax; OpenAPI knows only `{name}`. */
export function openApiPath(route: string): string {
  return `/${route.replace(/\{\*?([A-Za-z0-9_]+)[^}]*\}/g, '{$1}')}`;
}

/** The path as the document lists it: relative to the server, API_BASE_PATH. */
export function documentPath(route: string): string {
  const path = openApiPath(route);
  if (!path.startsWith(`${API_BASE_PATH}/`)) {
    throw new Error(`${path} is not under ${API_BASE_PATH}, the API's server.`);
  }
  return path.slice(API_BASE_PATH.length);
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
  if (doc.ifMatch) result.push({ $ref: '#/components/parameters/IfMatch' });
  return result;
}

function responses(doc: OperationDoc, shared: SharedSchemas): Record<string, JsonSchema> {
  const result: Record<string, JsonSchema> = {};
  for (const [status, response] of documentedResponses(doc)) {
    const content = {
      ...(response.schema
        ? { [response.mediaType]: { schema: jsonSchema(response.schema, 'output', shared) } }
        : {}),
      ...(response.problem ? { [PROBLEM_CONTENT_TYPE]: { schema: PROBLEM_REF } } : {}),
    };
    result[String(status)] = {
      description: response.description,
      ...(response.headers.length > 0
        ? {
            headers: Object.fromEntries(
              response.headers.map((header) => [
                header,
                { $ref: `#/components/headers/${HEADER_COMPONENT[header]}` },
              ]),
            ),
          }
        : {}),
      ...(Object.keys(content).length > 0 ? { content } : {}),
    };
  }
  return result;
}

function operation(doc: OperationDoc, shared: SharedSchemas): JsonSchema {
  const answers = responses(doc, shared);
  const params = parameters(doc, shared);
  return {
    operationId: doc.operationId,
    summary: doc.summary,
    tags: [...doc.tags],
    ...(doc.roles || doc.description
      ? {
          description: [
            doc.roles ? `Requires the role ${doc.roles.join(' or ')}.` : '',
            doc.description ?? '',
          ]
            .filter(Boolean)
            .join(' '),
        }
      : {}),
    // An empty requirement makes the token optional (OpenAPI 3.1 §4.8.30).
    security: doc.roles ? [{ bearer: [] }] : doc.optionalAuthentication ? [{}, { bearer: [] }] : [],
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(doc.body
      ? {
          requestBody: {
            required: true,
            content: {
              [doc.textBody?.mediaType ?? 'application/json']: {
                schema: jsonSchema(doc.body, 'input', shared),
              },
            },
          },
        }
      : {}),
    responses: answers,
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
  tagDescriptions: Readonly<Record<string, string>> = {},
): JsonSchema {
  const documented = definitions.flatMap((definition) =>
    definition.openapi ? [{ route: definition.route, doc: definition.openapi }] : [],
  );
  const shared: SharedSchemas = {};
  // Responses first: the output of a named schema owns its name (see jsonSchema).
  for (const { doc } of documented) responses(doc, shared);
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const { route, doc } of documented) {
    const path = documentPath(route);
    paths[path] ??= {};
    paths[path][doc.method.toLowerCase()] = operation(doc, shared);
  }
  const tags = [...new Set(documented.flatMap(({ doc }) => doc.tags))].sort();
  return {
    openapi: '3.1.0',
    info,
    servers: [
      { url: API_BASE_PATH, description: 'This host; the document is served at /api/v1/openapi.json.' },
    ],
    tags: tags.map((name) => ({
      name,
      ...(tagDescriptions[name] ? { description: tagDescriptions[name] } : {}),
    })),
    paths,
    components: {
      schemas: Object.fromEntries(
        Object.entries({ ...shared, Problem: problemSchema, FieldError: fieldErrorSchema }).sort(([a], [b]) =>
          a.localeCompare(b),
        ),
      ),
      headers,
      parameters: { IfMatch: ifMatchParameter },
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
