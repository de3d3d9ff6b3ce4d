import { z } from 'zod';
import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import { customerParams } from '../shared/http/route-kit.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import { customerWithUsers, NO_M365_USERS_DOC } from '../shared/users/user-access.js';
import {
  buildFromExamples,
  buildFromFields,
  defaultRuleName,
  ruleExamplesSchema,
  ruleFieldsSchema,
} from '../shared/voice/rule-builder.js';
import type { AppServices } from './app-services.js';

/** Like the simulator: it only answers, so the customer's own admins, who edit their dial plans, may use it. */
const ROLES = ['provider-admin', 'customer-admin'] as const;

const buildBody = z
  .strictObject({
    fields: ruleFieldsSchema.optional().meta({ description: "The manual's fields; or give examples." }),
    examples: ruleExamplesSchema.optional().meta({
      description: 'Dialed numbers and what they should become (1 to 20); or give fields.',
    }),
    name: z
      .string()
      .trim()
      .min(1)
      .max(128)
      .regex(/^[^/\\?#\p{Cc}]+$/u, 'A name has no /, \\, ?, # or control character.')
      .optional()
      .meta({
        description: 'The rule\'s Name; by default one from the fields, e.g. "Starting 0, 11 digits".',
      }),
    description: z.string().max(1024).default(''),
    isInternalExtension: z
      .boolean()
      .default(false)
      .meta({ description: 'IsInternalExtension: the numbers are extensions inside the organization.' }),
  })
  .superRefine((body, ctx) => {
    const given = [body.fields, body.examples].filter((v) => v !== undefined).length;
    if (given === 1) return;
    ctx.addIssue({
      code: 'custom',
      path: [given === 0 ? 'fields' : 'examples'],
      message: given === 0 ? 'Give fields or examples.' : 'Give either fields or examples, not both.',
      params: { code: given === 0 ? 'required' : 'not_allowed' },
    });
  })
  .meta({ id: 'NormalizationRuleBuildRequest' });

const builtView = z
  .object({
    rule: z
      .object({
        name: z.string(),
        pattern: z.string(),
        translation: z.string(),
        isInternalExtension: z.boolean(),
        description: z.string(),
      })
      .meta({ description: "A rule of a dial plan's create or update body, as it is." }),
    fields: z
      .object({
        startingDigits: z.string(),
        length: z.number().int().nullable(),
        digitsToRemove: z.number().int(),
        digitsToAdd: z.string(),
      })
      .meta({ description: 'The fields the rule was built from: those given, or those the examples imply.' }),
    checks: z
      .array(
        z.object({
          dialed: z.string(),
          expected: z.string(),
          produced: z
            .string()
            .nullable()
            .meta({ description: 'null: the pattern does not match the number.' }),
          matches: z.boolean(),
        }),
      )
      .meta({ description: 'The rule run on each example, or on a sample number for fields.' }),
  })
  .meta({ id: 'NormalizationRuleBuild' });

export type VoiceRuleBuilderFunctionsDeps = ApiEdge & Pick<AppServices, 'customers'>;

export function createVoiceRuleBuilderFunctions(
  services: VoiceRuleBuilderFunctionsDeps,
): FunctionDefinition[] {
  return [
    defineApiRoute(services, {
      name: 'voice-normalization-rules-build',
      method: 'POST',
      route: 'api/v1/customers/{customerId}/voice/normalization-rules/build',
      summary:
        'Build a normalization rule: the Pattern and Translation from starting digits, length and digits to remove and add, or from examples',
      description:
        'The manual\'s "Add new Normalization Rule" page: from its fields, or from dialed and normalized examples, the rule as a dial plan\'s body takes it, run on each example (or a sample number) first. Changes nothing. See docs/voice-routing.md, "Rule builder".',
      tags: ['Voice routing'],
      roles: ROLES,
      params: customerParams,
      body: buildBody,
      responses: {
        200: { description: 'The rule, and what it makes of each number.', schema: builtView },
      },
      errors: {
        conflict: NO_M365_USERS_DOC,
        validation:
          '`validation_failed`: e.g. a length shorter than the starting digits (`length_below_starting_digits`), more digits to remove than the length (`remove_beyond_length`), a rule that would leave nothing (`rule_normalizes_to_nothing`), examples no single rule explains (`example_unexplained`, on the example that breaks it).',
      },
      handler: async ({ params, body }) => {
        await customerWithUsers(services.customers, params.customerId);
        // The body's refinement lets exactly one of fields and examples through.
        const built = body.fields ? buildFromFields(body.fields) : buildFromExamples(body.examples!);
        return {
          status: 200,
          body: {
            rule: {
              name: body.name ?? defaultRuleName(built.fields),
              pattern: built.pattern,
              translation: built.translation,
              isInternalExtension: body.isInternalExtension,
              description: body.description,
            },
            fields: built.fields,
            checks: built.checks,
          },
        };
      },
    }),
  ];
}
