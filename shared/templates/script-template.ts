import { z } from 'zod';
import { labelledValues } from '../validation/enum-labels.js';
import { SCRIPT_TYPE_LABELS, SCRIPT_TYPES, type ScriptType, type TemplateVariable } from './script-types.js';
import { previewContextSchema } from './template-context.js';
import { pageSchema, pagingQuery } from '../paging/paging.js';

/** A stored script template (the manual's `dbo.SbcScriptTemplate` row plus its pairing and history). */
export interface ScriptTemplate {
  /** Lower-case slug, unique; what the wizard's script pickers store. */
  readonly id: string;
  readonly name: string;
  readonly type: ScriptType;
  readonly description: string;
  readonly body: string;
  readonly variables: readonly TemplateVariable[];
  /** The onboarding ↔ cleanup counterpart; always mutual. */
  readonly pairedTemplateId: string | null;
  /** Preselected in the wizard's picker for its type ("Default Script"). */
  readonly isDefault: boolean;
  readonly builtIn: boolean;
  /** 1 when created, +1 on every save or reset. */
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly updatedBy: string;
  readonly etag: string;
}

export type VersionChange = 'created' | 'updated' | 'reset';

/** One saved version of a template's content (History). */
export interface ScriptTemplateVersion {
  readonly templateId: string;
  readonly version: number;
  readonly change: VersionChange;
  readonly name: string;
  readonly type: ScriptType;
  readonly description: string;
  readonly body: string;
  readonly variables: readonly TemplateVariable[];
  readonly pairedTemplateId: string | null;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

export type ScriptTemplateVersionSummary = Omit<
  ScriptTemplateVersion,
  'body' | 'variables' | 'description' | 'pairedTemplateId'
>;

export const TEMPLATE_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;
/** Letters, digits, `_` and `-` (the manual's `IP-Network`), as in the wizard's Customer Variables grid. */
export const VARIABLE_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,39}$/;
export const MAX_BODY_BYTES = 64 * 1024;
export const MAX_VARIABLES = 50;

export const templateIdSchema = z
  .string()
  .regex(TEMPLATE_ID_PATTERN, 'A template id is 1-64 lower-case letters, digits and hyphens.')
  .meta({ description: 'Lower-case slug, e.g. `sbc-scenario7`.' });

const typeSchema = z.enum(SCRIPT_TYPES, { error: `type must be one of: ${SCRIPT_TYPES.join(', ')}.` }).meta({
  id: 'ScriptType',
  description: `${labelledValues(SCRIPT_TYPE_LABELS)} Background scripts are processing only.`,
});

const variableSchema = z
  .strictObject({
    name: z
      .string({ error: 'name is required.' })
      .regex(
        VARIABLE_NAME_PATTERN,
        'A Customer Variable name starts with a letter and has at most 40 letters, digits, _ and -.',
      )
      .meta({ description: 'Used in the body as {{CustomVar.<name>}}.' }),
    label: z.string().trim().min(1).max(100).optional().meta({ description: 'Defaults to the name.' }),
    default: z.string().max(500).nullable().optional(),
    required: z.boolean().default(false),
  })
  .transform((v): TemplateVariable => ({
    name: v.name,
    label: v.label ?? v.name,
    default: v.default ?? null,
    required: v.required,
  }));

const variablesSchema = z
  .array(variableSchema)
  .max(MAX_VARIABLES, `A template declares at most ${MAX_VARIABLES} Customer Variables.`)
  .superRefine((variables, ctx) => {
    const seen = new Set<string>();
    variables.forEach((v, i) => {
      const key = v.name.toLowerCase();
      if (seen.has(key)) {
        ctx.addIssue({
          code: 'custom',
          path: [i, 'name'],
          message: `The Customer Variable "${v.name}" is declared twice.`,
          params: { code: 'duplicate' },
        });
      }
      seen.add(key);
    });
  });

const bodySchema = z
  .string({ error: 'body is required.' })
  .min(1, 'body is required.')
  .refine((body) => Buffer.byteLength(body, 'utf8') <= MAX_BODY_BYTES, {
    message: `body can be at most ${MAX_BODY_BYTES} bytes (UTF-8).`,
    params: { code: 'too_long' },
  })
  .meta({ description: 'Handlebars; see docs/script-templates.md for the variables.' });

const nameSchema = z
  .string({ error: 'name is required.' })
  .trim()
  .min(1, 'name is required.')
  .max(100, 'name can be at most 100 characters long.');
const descriptionSchema = z.string().trim().max(1000, 'description can be at most 1000 characters long.');

export const createTemplateSchema = z.strictObject({
  id: templateIdSchema,
  name: nameSchema,
  type: typeSchema,
  description: descriptionSchema.default(''),
  body: bodySchema,
  variables: variablesSchema.default([]),
  pairedTemplateId: templateIdSchema.nullable().default(null),
  isDefault: z.boolean().default(false),
});
export type CreateTemplateInput = z.output<typeof createTemplateSchema>;

/** A save: name, type and body; the other fields keep their current value when omitted (null unpairs). */
export const updateTemplateSchema = z.strictObject({
  name: nameSchema,
  type: typeSchema,
  description: descriptionSchema.optional(),
  body: bodySchema,
  variables: variablesSchema.optional(),
  pairedTemplateId: templateIdSchema.nullable().optional(),
  isDefault: z.boolean().optional(),
});
export type UpdateTemplateInput = z.output<typeof updateTemplateSchema>;

export const previewSchema = z.strictObject({
  context: previewContextSchema.default({}).meta({
    description: 'Any part of the template context; the rest comes from a sample customer.',
  }),
  customVariables: z
    .record(z.string().regex(VARIABLE_NAME_PATTERN), z.string().max(500))
    .default({})
    .meta({ description: 'Values for the Customer Variables, by name.' }),
});
export type PreviewInput = z.output<typeof previewSchema>;

export const listQuerySchema = pagingQuery().extend({
  type: typeSchema.optional(),
  family: z
    .enum(['sbc', 'm365'], { error: 'family must be sbc or m365.' })
    .optional()
    .meta({ description: '"Show SBC scripts" (SBC and Background) or "Show M365 scripts".' }),
});

const variableViewSchema = z.object({
  name: z.string(),
  label: z.string(),
  default: z.string().nullable(),
  required: z.boolean(),
});

export const templateViewSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    type: typeSchema,
    description: z.string(),
    body: z.string(),
    variables: z.array(variableViewSchema),
    pairedTemplateId: z.string().nullable().meta({ description: 'The counterpart ("Related with").' }),
    isDefault: z.boolean(),
    builtIn: z.boolean(),
    customized: z.boolean().meta({ description: 'A built-in whose content differs from the shipped text.' }),
    version: z.number().int(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    updatedBy: z.string(),
  })
  .meta({ id: 'ScriptTemplate' });
export type TemplateView = z.output<typeof templateViewSchema>;

export const templateListSchema = pageSchema(
  templateViewSchema.omit({ body: true }).extend({
    hasCustomArguments: z.boolean(),
    hasHistory: z.boolean().meta({ description: 'More than one version is kept.' }),
  }),
  'ScriptTemplatePage',
);

export const versionSummarySchema = z.object({
  templateId: z.string(),
  version: z.number().int(),
  change: z.enum(['created', 'updated', 'reset']),
  name: z.string(),
  type: typeSchema,
  updatedAt: z.iso.datetime(),
  updatedBy: z.string(),
});
export const versionListSchema = pageSchema(versionSummarySchema, 'ScriptTemplateVersionPage');
export const versionViewSchema = versionSummarySchema
  .extend({
    description: z.string(),
    body: z.string(),
    variables: z.array(variableViewSchema),
    pairedTemplateId: z.string().nullable(),
  })
  .meta({ id: 'ScriptTemplateVersion' });

export const previewViewSchema = z
  .object({
    templateId: z.string(),
    type: typeSchema,
    text: z
      .string()
      .meta({ description: 'The rendered script: CLI text for the SBC, PowerShell lines for M365.' }),
    commands: z
      .array(
        z.object({
          line: z.number().int(),
          cmdlet: z.string(),
          params: z.record(z.string(), z.unknown()),
          powerShell: z.string(),
        }),
      )
      .optional()
      .meta({ description: 'M365 only: the Teams commands, each with its PowerShell line.' }),
  })
  .meta({ id: 'ScriptPreview' });
