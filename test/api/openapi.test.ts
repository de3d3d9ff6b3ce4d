import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBLEM_CODES } from '../../shared/errors/problem-codes.js';
import { documentPath } from '../../shared/http/openapi.js';
import type { OperationDoc } from '../../shared/http/operation-doc.js';
import { apiClient } from '../support/api-client.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';
import { contractViolations } from '../support/response-contract.js';

type Schema = Record<string, unknown> & {
  $ref?: string;
  properties?: Record<string, Schema>;
  required?: string[];
};
interface Response {
  description: string;
  headers?: Record<string, { $ref: string }>;
  content?: Record<string, { schema: Schema }>;
}
interface Operation {
  operationId: string;
  security: unknown[];
  parameters?: Array<{ $ref?: string; name?: string; in?: string; schema?: Schema }>;
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, Response>;
}
interface Document {
  openapi: string;
  servers: Array<{ url: string }>;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; headers: Record<string, unknown> };
}

let stack: MemoryStack;
let document: Document;
let text: string;

const operations = () =>
  Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
  );
const operation = (method: string, path: string): Operation => {
  const found = document.paths[path]?.[method];
  if (!found) throw new Error(`No ${method} ${path} in the document.`);
  return found;
};
const resolve = (schema: Schema): Schema =>
  schema.$ref
    ? resolve(document.components.schemas[schema.$ref.replace('#/components/schemas/', '')]!)
    : schema;

beforeAll(async () => {
  stack = await startMemoryStack();
  const response = await apiClient(stack.api)('GET', '/api/v1/openapi.json', { token: null });
  expect(response.status).toBe(200);
  document = response.body as Document;
  text = JSON.stringify(document);
});
afterAll(() => stack?.close());

describe('the OpenAPI document', () => {
  it('is served without a token and is a valid OpenAPI 3.1 document', async () => {
    expect(document.openapi).toBe('3.1.0');
    const result = await new Validator().validate(document as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('describes every API route of the registry, and nothing else (the customer pages are not API)', () => {
    const expected = stack.registry
      .filter((definition) => definition.kind === 'http')
      .filter((definition) => definition.route.startsWith('api/'))
      .flatMap((definition) =>
        definition.methods.map((method) => `${method.toLowerCase()} ${documentPath(definition.route)}`),
      )
      .sort();
    const documented = operations()
      .map(({ path, method }) => `${method} ${path}`)
      .sort();
    expect(documented).toEqual(expected);
    expect(documented).toContain('post /customers');
    expect(documented.some((entry) => entry.includes('/authenticate'))).toBe(false);
  });

  it('has its paths relative to the server /api/v1, the base URL npm start prints and a generated client takes', () => {
    expect(document.servers.map((server) => server.url)).toEqual(['/api/v1']);
    expect(Object.keys(document.paths).filter((path) => path.startsWith('/api/'))).toEqual([]);
    // Relative to the document's own address, /api/v1/openapi.json, the server is this host's /api/v1.
    expect(new URL(document.servers[0]!.url, 'https://hub.example.com/api/v1/openapi.json').href).toBe(
      'https://hub.example.com/api/v1',
    );
  });

  it('documents the validation rules the handlers apply, and problem responses', () => {
    const create = operation('post', '/customers');
    const schema = resolve(create.requestBody!.content['application/json']!.schema);
    expect(schema.required!.sort()).toEqual(['fullName', 'licenseType', 'shortName']);
    expect(schema.properties!.shortName).toMatchObject({ minLength: 3, maxLength: 15 });
    expect(schema.properties!.licensedUsers).toMatchObject({ maximum: 500 });
    expect(resolve(schema.properties!.licenseType!)).toMatchObject({
      enum: ['hosted-essentials', 'hosted-essentials-plus', 'hosted-pro'],
    });
    for (const status of ['400', '401', '403', '409', '413', '415', '500', '503']) {
      expect(create.responses[status]?.content).toEqual({
        'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
      });
    }
    expect(operation('get', '/customers').security).toEqual([{ bearer: [] }]);
  });

  it('names every resource and shared type once, and refers to it wherever it is used', () => {
    const named = Object.keys(document.components.schemas);
    for (const name of [
      'Customer',
      'CustomerPage',
      'LicenseType',
      'CustomerState',
      'WizardSession',
      'Task',
      'TaskPage',
      'TaskState',
      'Alarm',
      'Invitation',
      'ScriptTemplate',
      'Problem',
      'FieldError',
    ]) {
      expect(named).toContain(name);
    }
    const uses = (name: string) => text.split(`"#/components/schemas/${name}"`).length - 1;
    expect(uses('Customer')).toBeGreaterThanOrEqual(4);
    expect(uses('WizardSession')).toBeGreaterThanOrEqual(11);
    expect(uses('LicenseType')).toBeGreaterThanOrEqual(3);
    for (const { operation: op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        const json = response.content?.['application/json']?.schema;
        // A body is a named schema, or a small wrapper of named ones; never an inline copy of a resource.
        if (json && !json.$ref && json.type === 'object' && json.properties?.id) {
          throw new Error(
            `${op.operationId} ${status} inlines a resource with an id; name it with .meta({ id }).`,
          );
        }
      }
    }
  });

  it('enumerates the problem codes', () => {
    expect(document.components.schemas.Problem!.properties!.code).toMatchObject({ enum: [...PROBLEM_CODES] });
    expect(PROBLEM_CODES).toContain('short_name_taken');
    expect(new Set(PROBLEM_CODES).size).toBe(PROBLEM_CODES.length);
  });

  it('declares ETag, Location, If-Match, Retry-After and WWW-Authenticate where the operations use them', () => {
    const create = operation('post', '/customers');
    expect(Object.keys(create.responses['201']!.headers ?? {}).sort()).toEqual(['ETag', 'Location']);
    const update = operation('patch', '/customers/{customerId}');
    expect(update.parameters).toContainEqual({ $ref: '#/components/parameters/IfMatch' });
    expect(Object.keys(update.responses['200']!.headers ?? {})).toEqual(['ETag']);
    expect(update.responses['412']).toBeDefined();
    expect(Object.keys(operation('post', '/wizard-sessions').responses['201']!.headers ?? {})).toEqual([
      'Location',
    ]);
    for (const { operation: op } of operations()) {
      expect(op.responses['503']?.headers, op.operationId).toEqual({
        'Retry-After': { $ref: '#/components/headers/RetryAfter' },
      });
      if (op.security.length > 0) {
        expect(op.responses['401']?.headers, op.operationId).toEqual({
          'WWW-Authenticate': { $ref: '#/components/headers/WWWAuthenticate' },
        });
      }
      // Redocly's operation-4xx-response is off for this one operation only (redocly.yaml).
      if (op.operationId !== 'openapi') {
        expect(
          Object.keys(op.responses).some((status) => status.startsWith('4')),
          op.operationId,
        ).toBe(true);
      }
      for (const status of ['201']) {
        if (op.responses[status]) {
          expect(Object.keys(op.responses[status]!.headers ?? {}), `${op.operationId} ${status}`).toContain(
            'Location',
          );
        }
      }
    }
  });

  it('matches what the license settings and switch-to-token answer, and encodes base64 the 2020-12 way', () => {
    const license = resolve(
      operation('get', '/settings/license').responses['200']!.content!['application/json']!.schema,
    );
    expect(license.properties?.expiresOn).toBeDefined();
    expect(operation('post', '/customers/{customerId}/invitations').responses['409']).toBeDefined();
    expect(text).not.toContain('"format":"base64"');
    expect(text).toContain('"contentEncoding":"base64"');
  });
});

/** Every schema object in a value, wherever it sits (properties, items, anyOf, components). */
function* schemasIn(value: unknown, name = ''): Generator<[string, Schema]> {
  if (Array.isArray(value)) {
    for (const item of value) yield* schemasIn(item, name);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const schema = value as Schema;
  yield [name, schema];
  for (const [key, inner] of Object.entries(schema)) {
    if (key === 'properties' && inner && typeof inner === 'object') {
      for (const [property, child] of Object.entries(inner as Record<string, unknown>)) {
        yield* schemasIn(child, property);
      }
    } else {
      yield* schemasIn(inner, key === 'items' || key === 'anyOf' || key === 'oneOf' ? name : key);
    }
  }
}

/**
 * Lists whose length a small configuration bounds answer `value` without paging; a user's pending changes are at
 * most one queued change per field; a customer's lifecycle bindings are at most 100, ranked, and change as a whole
 * (one ETag).
 */
const BOUNDED_LISTS = new Set([
  'wizard-license-plans',
  'customer-license-history',
  'users-pending-changes',
  'lifecycle-bindings-list',
]);

describe('the API conventions (docs/api-conventions.md)', () => {
  it('pages every list the one way: top and cursor in, value and nextLink out', () => {
    const lists = operations().filter(({ method, operation: op }) => {
      const schema = op.responses['200']?.content?.['application/json']?.schema;
      return method === 'get' && schema !== undefined && resolve(schema).properties?.value !== undefined;
    });
    expect(lists.length).toBeGreaterThan(20);
    for (const { operation: op } of lists) {
      const body = resolve(op.responses['200']!.content!['application/json']!.schema);
      const query = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      if (BOUNDED_LISTS.has(op.operationId)) {
        expect(query, op.operationId).not.toContain('cursor');
        continue;
      }
      expect(query, op.operationId).toEqual(expect.arrayContaining(['top', 'cursor']));
      expect(body.properties?.nextLink, op.operationId).toMatchObject({
        anyOf: [{ type: 'string', format: 'uri-reference' }, { type: 'null' }],
      });
      const top = op.parameters!.find((p) => p.name === 'top')!.schema!;
      expect(top, op.operationId).toMatchObject({ type: 'integer', minimum: 1, maximum: 500, default: 100 });
    }
    for (const name of ['after', 'skip', 'page', 'pageSize', 'limit', 'offset']) {
      expect(text).not.toContain(`"name":"${name}","in":"query"`);
    }
  });

  it('types booleans in queries as booleans, never as the strings "true" and "false"', () => {
    const flags = operations().flatMap(({ operation: op }) =>
      (op.parameters ?? []).filter((p) => p.name === 'dryRun' || p.name === 'active'),
    );
    expect(flags.length).toBeGreaterThanOrEqual(4);
    for (const flag of flags) expect(flag.schema, flag.name).toMatchObject({ type: 'boolean' });
    expect(text).not.toContain('"enum":["true","false"]');
  });

  it('writes every point in time as RFC 3339 with format date-time', () => {
    const timestamps = [...schemasIn(document)].filter(
      ([name, schema]) => /(At|^at|^whenLastVerified)$/.test(name) && schema.type === 'string',
    );
    expect(timestamps.length).toBeGreaterThan(30);
    for (const [name, schema] of timestamps) expect(schema.format, name).toBe('date-time');
    // A calendar day (a license file's expiry) is a full-date, RFC 3339's other form.
    const days = [...schemasIn(document)].filter(([name, s]) => name === 'expiresOn' && s.type === 'string');
    for (const [name, schema] of days) expect(schema.format, name).toBe('date');
  });

  it('spells every enum value in lowercase kebab-case, and license the one way', () => {
    const problemCodes = new Set<string>(PROBLEM_CODES);
    const values = [...schemasIn(document)].flatMap(([, schema]) =>
      Array.isArray(schema.enum) ? (schema.enum as unknown[]).filter((v) => typeof v === 'string') : [],
    ) as string[];
    const offending = values.filter((v) => !problemCodes.has(v) && !v.startsWith('image/'));
    expect(offending.length).toBeGreaterThan(20);
    expect(offending.filter((v) => !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(v))).toEqual([]);
    expect(text).not.toMatch(/licen[cс]e/i);
  });
});

describe('responses held to the document', () => {
  it('pass through the memory stack only when every status, header and body is documented', async () => {
    const call = apiClient(stack.api, () => stack.token());
    // The stack throws on any response its operation's description does not allow (test/support/memory-stack.ts).
    const created = await call('POST', '/api/v1/customers', {
      json: { shortName: 'Contract', fullName: 'Contract Ltd', licenseType: 'hosted-pro', licensedUsers: 10 },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('etag')).toMatch(/^"/);
    expect(created.headers.get('location')).toBe('/api/v1/customers/Contract');
    const stale = await call('PATCH', '/api/v1/customers/Contract', {
      json: { licensedUsers: 20 },
      headers: { 'if-match': '"stale"' },
    });
    expect(stale.status).toBe(412);
    const anonymous = await call('GET', '/api/v1/customers', { token: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    const wizard = await call('POST', '/api/v1/wizard-sessions');
    expect(wizard.status).toBe(201);
    expect(wizard.headers.get('location')).toBe(
      `/api/v1/wizard-sessions/${(wizard.body as { id: string }).id}`,
    );
    expect((await call('GET', '/api/v1/settings/license')).status).toBe(200);
  });

  it('catch an undocumented status, an undeclared header and an undeclared problem', () => {
    const doc: OperationDoc = {
      operationId: 'things-get',
      method: 'GET',
      route: 'api/v1/things',
      summary: 'Things',
      tags: ['Things'],
      roles: null,
      customerScoped: false,
      responses: { 200: { description: 'The things.' } },
    };
    expect(contractViolations(doc, 200, new Headers())).toEqual([]);
    expect(contractViolations(doc, 409, new Headers())).toEqual([
      'things-get (GET /api/v1/things) answered 409, which its OpenAPI description does not document.',
    ]);
    expect(contractViolations(doc, 200, new Headers({ etag: '"1"', location: '/x' }))).toHaveLength(2);
    expect(
      contractViolations(doc, 200, new Headers({ 'content-type': 'application/problem+json' })),
    ).toHaveLength(1);
    expect(contractViolations(doc, 503, new Headers({ 'retry-after': '5' }))).toEqual([]);
  });
});
