import { z } from 'zod';
import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import { buildOpenApiDocument } from '../shared/http/openapi.js';
import type { FunctionDefinition, HttpFunctionDefinition } from '../shared/platform/function-definitions.js';

/** Takes the registry lazily because the document describes the registry that contains it. */
export function openApiFunction(
  edge: ApiEdge,
  registry: () => readonly FunctionDefinition[],
): HttpFunctionDefinition {
  let document: Record<string, unknown> | undefined;
  return defineApiRoute(edge, {
    name: 'openapi',
    method: 'GET',
    route: 'api/v1/openapi.json',
    summary: "This API's OpenAPI 3.1 document",
    tags: ['Meta'],
    roles: null,
    responses: { 200: { description: 'The OpenAPI document.', schema: z.record(z.string(), z.unknown()) } },
    handler: async () => {
      document ??= buildOpenApiDocument(
        registry().filter((definition) => definition.kind === 'http'),
        {
          title: 'Direct Routing Hub API',
          version: '1.0.0',
          description:
            'Onboard and run Microsoft Teams Direct Routing customers. Errors are RFC 9457 application/problem+json with a stable code.',
        },
      );
      return { status: 200, body: document };
    },
  });
}
