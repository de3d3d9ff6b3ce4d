import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentPath } from '../../shared/http/openapi.js';
import { apiClient } from '../support/api-client.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';

let stack: MemoryStack;
let document: {
  openapi: string;
  paths: Record<string, Record<string, { security: unknown[]; responses: Record<string, unknown> }>>;
};

beforeAll(async () => {
  stack = await startMemoryStack();
  const response = await apiClient(stack.api)('GET', '/api/v1/openapi.json', { token: null });
  expect(response.status).toBe(200);
  document = response.body as typeof document;
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
    const documented = Object.entries(document.paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`))
      .sort();
    expect(documented).toEqual(expected);
    expect(documented).toContain('post /customers');
    expect(documented.some((operation) => operation.includes('/authenticate'))).toBe(false);
  });

  it('documents the validation rules the handlers apply, and problem responses', () => {
    const create = document.paths['/customers']?.post as unknown as {
      requestBody: {
        content: {
          'application/json': {
            schema: { properties: Record<string, Record<string, unknown>>; required: string[] };
          };
        };
      };
      responses: Record<string, { content?: Record<string, unknown> }>;
    };
    const schema = create.requestBody.content['application/json'].schema;
    expect(schema.required.sort()).toEqual(['fullName', 'licenseType', 'shortName']);
    expect(schema.properties.shortName).toMatchObject({ minLength: 3, maxLength: 15 });
    expect(schema.properties.licensedUsers).toMatchObject({ maximum: 500 });
    expect(schema.properties.licenseType).toMatchObject({
      enum: ['Hosted Essentials', 'Hosted Essentials +', 'Hosted Pro'],
    });
    for (const status of ['400', '401', '403', '409', '413', '415']) {
      expect(Object.keys(create.responses[status]?.content ?? {})).toEqual(['application/problem+json']);
    }
    expect(document.paths['/customers']?.get?.security).toEqual([{ bearer: [] }]);
  });
});
