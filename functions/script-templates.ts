import { z } from 'zod';
import type { Principal } from '../shared/auth/authenticator.js';
import { type ApiEdge, type ApiResult, defineApiRoute } from '../shared/http/api-route.js';
import { ifMatchOf, versioned } from '../shared/http/route-kit.js';
import {
  createTemplateSchema,
  listQuerySchema,
  previewSchema,
  previewViewSchema,
  type ScriptTemplate,
  templateIdSchema,
  templateListSchema,
  templateViewSchema,
  updateTemplateSchema,
  versionListSchema,
  versionViewSchema,
} from '../shared/templates/script-template.js';
import type { ScriptTemplateService } from '../shared/templates/script-template-service.js';
import type { AppServices } from './app-services.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import { listPage, pagingQuery } from '../shared/paging/paging.js';

const TAGS = ['Script templates'];
const ROLES = ['provider-admin'] as const;
const COLLECTION = 'api/v1/script-templates';
const ITEM = `${COLLECTION}/{templateId}`;

/** Ids are lower-case slugs; a path in another case (the manual's `sbc-scenario7Cleanup`) names the same one. */
const itemParams = z.strictObject({
  templateId: z
    .string()
    .transform((id) => id.toLowerCase())
    .pipe(templateIdSchema),
});
const versionParams = itemParams.extend({
  version: z.coerce.number().int().min(1).max(999_999),
});

const actor = (principal: Principal | null) => principal?.name ?? principal?.subject ?? 'unknown';

function view(service: ScriptTemplateService, template: ScriptTemplate) {
  const { etag: _etag, ...rest } = template;
  return { ...rest, customized: service.isCustomized(template) };
}

function withVersion(
  status: number,
  service: ScriptTemplateService,
  template: ScriptTemplate,
  headers: Record<string, string> = {},
): ApiResult {
  return versioned(template.etag, { status, body: view(service, template), headers });
}

export type ScriptTemplateFunctionsDeps = ApiEdge & Pick<AppServices, 'templates'>;

export function createScriptTemplateFunctions(services: ScriptTemplateFunctionsDeps): FunctionDefinition[] {
  return [
    defineApiRoute(services, {
      name: 'script-templates-list',
      method: 'GET',
      route: COLLECTION,
      summary: 'List script templates (System > Script Templates), built-ins included',
      tags: TAGS,
      roles: ROLES,
      query: listQuerySchema,
      responses: {
        200: {
          description: 'A page of matching templates, by name, without bodies.',
          schema: templateListSchema,
        },
      },
      handler: async ({ query, request }) => {
        const service = services.templates;
        const templates = await service.list({
          ...(query.type ? { type: query.type } : {}),
          ...(query.family ? { family: query.family } : {}),
        });
        const summaries = templates.map((t) => {
          const { body: _body, ...rest } = view(service, t);
          return { ...rest, hasCustomArguments: t.variables.length > 0, hasHistory: t.version > 1 };
        });
        return {
          status: 200,
          body: listPage(summaries, (t) => `${t.name.toLowerCase()}\n${t.id}`, query, request.url),
        };
      },
    }),
    defineApiRoute(services, {
      name: 'script-templates-create',
      method: 'POST',
      route: COLLECTION,
      summary:
        'Add a script template; it is checked (syntax, variables, helpers, M365 lines) before it is stored',
      tags: TAGS,
      roles: ROLES,
      body: createTemplateSchema,
      responses: {
        201: {
          description: 'Created as version 1.',
          schema: templateViewSchema,
          headers: ['etag', 'location'],
        },
      },
      errors: {
        validation: '`template_invalid` (with line/column per error) or `validation_failed`.',
        conflict: '`template_exists` or `pairing_conflict`.',
      },
      handler: async ({ body, principal }) => {
        const service = services.templates;
        const template = await service.create(body, actor(principal));
        return withVersion(201, service, template, {
          location: `/${COLLECTION}/${encodeURIComponent(template.id)}`,
        });
      },
    }),
    defineApiRoute(services, {
      name: 'script-templates-get',
      method: 'GET',
      route: ITEM,
      summary: 'Get a script template',
      tags: TAGS,
      roles: ROLES,
      params: itemParams,
      responses: {
        200: {
          description: 'The template; its ETag header versions it.',
          schema: templateViewSchema,
          headers: ['etag'],
        },
      },
      handler: async ({ params }) => {
        const service = services.templates;
        return withVersion(200, service, await service.get(params.templateId));
      },
    }),
    defineApiRoute(services, {
      name: 'script-templates-update',
      method: 'PUT',
      route: ITEM,
      summary: 'Save a script template as a new version (the previous one stays in its history)',
      tags: TAGS,
      roles: ROLES,
      params: itemParams,
      body: updateTemplateSchema,
      responses: { 200: { description: 'Saved.', schema: templateViewSchema, headers: ['etag'] } },
      errors: {
        validation: '`template_invalid` or `validation_failed`; nothing was stored.',
        conflict: '`pairing_conflict` or `builtin_type_fixed`.',
      },
      ifMatch: true,
      handler: async ({ params, body, request, principal }) => {
        const service = services.templates;
        const template = await service.update(params.templateId, body, actor(principal), ifMatchOf(request));
        return withVersion(200, service, template);
      },
    }),
    defineApiRoute(services, {
      name: 'script-templates-delete',
      method: 'DELETE',
      route: ITEM,
      summary: 'Delete a script template with its history; built-ins cannot be deleted, only reset',
      tags: TAGS,
      roles: ROLES,
      params: itemParams,
      responses: { 204: { description: 'Deleted; its counterpart is unpaired.' } },
      errors: { conflict: '`builtin_not_deletable`.' },
      ifMatch: true,
      handler: async ({ params, request }) => {
        await services.templates.remove(params.templateId, ifMatchOf(request));
        return { status: 204 };
      },
    }),
    defineApiRoute(services, {
      name: 'script-templates-reset',
      method: 'POST',
      route: `${ITEM}/reset`,
      summary: 'Reset a built-in template to the shipped text, as a new version',
      tags: TAGS,
      roles: ROLES,
      params: itemParams,
      responses: { 200: { description: 'Reset.', schema: templateViewSchema, headers: ['etag'] } },
      errors: { conflict: '`not_builtin`.' },
      ifMatch: true,
      handler: async ({ params, request, principal }) => {
        const service = services.templates;
        const template = await service.reset(params.templateId, actor(principal), ifMatchOf(request));
        return withVersion(200, service, template);
      },
    }),
    defineApiRoute(services, {
      name: 'script-templates-versions',
      method: 'GET',
      route: `${ITEM}/versions`,
      summary: "A template's history (Show N versions), newest first",
      tags: TAGS,
      roles: ROLES,
      params: itemParams,
      query: pagingQuery(),
      responses: { 200: { description: 'A page of versions, without bodies.', schema: versionListSchema } },
      handler: async ({ params, query, request }) => ({
        status: 200,
        body: listPage(
          await services.templates.versions(params.templateId),
          (v) => String(Number.MAX_SAFE_INTEGER - v.version).padStart(16, '0'),
          query,
          request.url,
        ),
      }),
    }),
    defineApiRoute(services, {
      name: 'script-templates-version',
      method: 'GET',
      route: `${ITEM}/versions/{version}`,
      summary: 'One version of a template, for comparison',
      tags: TAGS,
      roles: ROLES,
      params: versionParams,
      responses: { 200: { description: 'The version.', schema: versionViewSchema } },
      handler: async ({ params }) => ({
        status: 200,
        body: await services.templates.version(params.templateId, params.version),
      }),
    }),
    defineApiRoute(services, {
      name: 'script-templates-preview',
      method: 'POST',
      route: `${ITEM}/preview`,
      summary: 'Render a template for a sample customer: CLI text, or for M365 the Teams commands',
      tags: TAGS,
      roles: ROLES,
      params: itemParams,
      body: previewSchema,
      responses: { 200: { description: 'The rendered script.', schema: previewViewSchema } },
      errors: {
        validation: 'A required Customer Variable is missing, or a value cannot be rendered safely.',
      },
      handler: async ({ params, body }) => {
        const rendered = await services.templates.preview(params.templateId, body);
        return {
          status: 200,
          body: {
            templateId: rendered.templateId,
            type: rendered.type,
            text: rendered.text,
            ...(rendered.commands
              ? {
                  commands: rendered.commands.map((c) => ({
                    line: c.line,
                    cmdlet: c.command.cmdlet,
                    params: c.command.params,
                    powerShell: c.powerShell,
                  })),
                }
              : {}),
          },
        };
      },
    }),
  ];
}
