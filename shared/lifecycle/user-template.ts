import { z } from 'zod';
import { rangeIdSchema } from '../numbers/number-views.js';
import { CONTROL_CHARACTERS_TEXT, hasControlCharacter } from '../validation/control-characters.js';
import { USER_POLICY_TYPE_IDS, USER_POLICY_TYPES } from '../users/user-change.js';

/**
 * A customer's user template (manual-part-D §1.6, "Manage Templates"): the policies and telephony a user gets when
 * the template is applied to them, by an operator or by a security-group binding (Lifecycle Management).
 */

/** The manual's "Enable Enterprise Voice": Do Not Configure (the default) / Enable / Disable. */
export const ENTERPRISE_VOICE_SETTINGS = ['do-not-configure', 'enable', 'disable'] as const;
export type EnterpriseVoiceSetting = (typeof ENTERPRISE_VOICE_SETTINGS)[number];

/**
 * The manual's "Assign Number from". Phone and Mobile are the user's Entra ID attributes (Graph `businessPhones[0]`,
 * `mobilePhone`); Home and IpPhone are on-premises Active Directory attributes Graph v1.0 does not expose, so they are
 * refused with a reason (docs/decisions.md, 52). File: the numbers come with the users the template is applied to.
 */
export const NUMBER_SOURCES = ['phone', 'home', 'mobile', 'number-range', 'ip-phone', 'file'] as const;
export type NumberSource = (typeof NUMBER_SOURCES)[number];
export const UNSUPPORTED_NUMBER_SOURCES: ReadonlySet<NumberSource> = new Set(['home', 'ip-phone']);

export const NUMBER_SOURCE_LABELS: Readonly<Record<NumberSource, string>> = {
  phone: 'Phone',
  home: 'Home',
  mobile: 'Mobile',
  'number-range': 'Number Range',
  'ip-phone': 'IpPhone',
  file: 'File',
};

/** The manual's policy value for the policy type's org-wide default ("Global"). */
export const AUTOMATIC_POLICY = '<Automatic>';

export const TEMPLATE_LIMITS = { perCustomer: 200, nameLength: 64, maxExtensionDigits: 10 } as const;

export const templateIdSchema = z.coerce
  .number({ error: 'templateId is a number: the manual\'s "Template Id".' })
  .int()
  .min(1)
  .max(999_999)
  .meta({ description: 'The manual\'s "Template Id": 1, 2, 3 … per customer.' });

const printable = (what: string) =>
  z
    .string()
    .trim()
    .refine((value) => !hasControlCharacter(value), `${what} has no ${CONTROL_CHARACTERS_TEXT}.`);

export const templatePolicySchema = z
  .strictObject({
    policyType: z.enum(USER_POLICY_TYPE_IDS).meta({
      description: `The policy type: ${USER_POLICY_TYPE_IDS.map((id) => `\`${id}\` (${USER_POLICY_TYPES[id].label})`).join(', ')}.`,
    }),
    value: printable('A policy value')
      .pipe(z.string().min(1).max(256))
      .meta({
        description: `The policy's name in the tenant, or \`${AUTOMATIC_POLICY}\` for its Global default.`,
      }),
  })
  .meta({ id: 'UserTemplatePolicy' });

export const templateInputSchema = z
  .strictObject({
    name: printable('The name')
      .pipe(z.string().min(1).max(TEMPLATE_LIMITS.nameLength))
      .meta({ description: 'The manual\'s "Template Name", unique in the customer (case-insensitive).' }),
    enterpriseVoice: z.enum(ENTERPRISE_VOICE_SETTINGS).default('do-not-configure').meta({
      description: 'The manual\'s "Enable Enterprise Voice": do-not-configure leaves it as the user has it.',
    }),
    clearLineUri: z
      .boolean()
      .default(false)
      .meta({ description: 'The manual\'s "Clear Line URI": the template unassigns the user\'s number.' }),
    assignNumberFrom: z
      .enum(NUMBER_SOURCES)
      .nullable()
      .default(null)
      .meta({
        description:
          'The manual\'s "Assign Number from"; null assigns no number. `phone` and `mobile` take the user\'s Entra ID ' +
          'attribute (and follow it when it changes); `number-range` the next free number of `numberRangeId`; `file` ' +
          'the number given with each user when the template is applied. `home` and `ip-phone` are refused: Graph ' +
          'does not expose them.',
      }),
    numberRangeId: rangeIdSchema
      .nullable()
      .default(null)
      .meta({ description: 'The range numbers come from when assignNumberFrom is `number-range`.' }),
    useExtensions: z.boolean().default(false).meta({ description: 'The manual\'s "Use Extensions".' }),
    extensionDigits: z
      .number()
      .int()
      .min(1)
      .max(TEMPLATE_LIMITS.maxExtensionDigits)
      .nullable()
      .default(null)
      .meta({
        description:
          'The manual\'s "Number Of Digits": the extension is the number\'s last this many digits (`;ext=`).',
      }),
    policies: z
      .array(templatePolicySchema)
      .max(USER_POLICY_TYPE_IDS.length)
      .default([])
      .meta({ description: 'The manual\'s "Additional Policies", in order; one per policy type.' }),
  })
  .superRefine((value, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (value.assignNumberFrom !== null && UNSUPPORTED_NUMBER_SOURCES.has(value.assignNumberFrom)) {
      issue(
        'assignNumberFrom',
        `${NUMBER_SOURCE_LABELS[value.assignNumberFrom]} is an on-premises Active Directory attribute that Microsoft ` +
          'Graph does not expose; use phone, mobile, number-range or file.',
      );
    }
    if ((value.assignNumberFrom === 'number-range') !== (value.numberRangeId !== null)) {
      issue('numberRangeId', 'Give numberRangeId exactly when assignNumberFrom is number-range.');
    }
    if (value.clearLineUri && value.assignNumberFrom !== null) {
      issue('clearLineUri', 'Clear Line URI and Assign Number from exclude each other: choose one.');
    }
    if (value.useExtensions !== (value.extensionDigits !== null)) {
      issue('extensionDigits', 'Give extensionDigits exactly when useExtensions is true.');
    }
    if (value.useExtensions && value.assignNumberFrom === null) {
      issue('useExtensions', 'Extensions need a number: set assignNumberFrom.');
    }
    const seen = new Set<string>();
    value.policies.forEach((policy, index) => {
      if (seen.has(policy.policyType)) {
        ctx.addIssue({
          code: 'custom',
          path: ['policies', index, 'policyType'],
          message: `${USER_POLICY_TYPES[policy.policyType].label} is already in the list.`,
        });
      }
      seen.add(policy.policyType);
    });
  })
  .meta({ id: 'UserTemplateInput' });
export type UserTemplateInput = z.output<typeof templateInputSchema>;

/** A template as stored: the input, its id and who made it when. */
export interface UserTemplate extends UserTemplateInput {
  readonly id: number;
  readonly customerId: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly createdBy: string;
}

export const templateViewSchema = z
  .object({
    id: z.number().int().meta({ description: 'The manual\'s "Template Id".' }),
    customerId: z.string(),
    name: z.string(),
    registrarPool: z
      .literal('Office365')
      .meta({ description: 'The manual\'s "Registrar Pool": always Office365.' }),
    enterpriseVoice: z.enum(ENTERPRISE_VOICE_SETTINGS),
    clearLineUri: z.boolean(),
    assignNumberFrom: z.enum(NUMBER_SOURCES).nullable(),
    numberRangeId: rangeIdSchema.nullable(),
    numberRange: z
      .object({ name: z.string(), start: z.string(), end: z.string() })
      .nullable()
      .meta({ description: 'The manual\'s "NumberRange details" (From … to …); null without a range.' }),
    useExtensions: z.boolean(),
    extensionDigits: z.number().int().nullable(),
    policies: z.array(templatePolicySchema),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    createdBy: z.string(),
  })
  .meta({ id: 'UserTemplate' });
export type UserTemplateView = z.output<typeof templateViewSchema>;

/** The manual's template file (Upload M365 Users from File and Attach to Template): users, and numbers for File. */
export const TEMPLATE_FILE_USER_HEADERS = [
  'Sip address',
  'SipAddress',
  'User',
  'UserPrincipalName',
  'UPN',
  'ObjectId',
];
export const TEMPLATE_FILE_NUMBER_HEADERS = ['Number', 'LineUri'];
