import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, describe, expect, it } from 'vitest';
import { createScriptTemplateFunctions } from '../../functions/script-templates.js';
import { buildOpenApiDocument } from '../../shared/http/openapi.js';
import type { HttpFunctionDefinition } from '../../shared/platform/function-definitions.js';
import { offlineApp } from '../support/offline-app.js';

const app = offlineApp();
afterAll(() => app.close());

describe('the script template operations in the OpenAPI document', () => {
  it('form a valid OpenAPI 3.1 document', async () => {
    const document = buildOpenApiDocument(
      createScriptTemplateFunctions(app.services) as HttpFunctionDefinition[],
      {
        title: 'Direct Routing Hub',
        version: '1',
        description: 'Script templates',
      },
    );
    const result = await new Validator().validate(document as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(Object.keys(document.paths as object).sort()).toEqual([
      '/script-templates',
      '/script-templates/{templateId}',
      '/script-templates/{templateId}/preview',
      '/script-templates/{templateId}/reset',
      '/script-templates/{templateId}/versions',
      '/script-templates/{templateId}/versions/{version}',
    ]);
  });
});
