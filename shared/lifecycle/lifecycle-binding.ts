import { z } from 'zod';
import { templateIdSchema } from './user-template.js';

/**
 * The manual's Lifecycle Management (manual-part-D §1.8, §3.5): ranked bindings of a user template to one or more
 * security groups. A user matches a binding when a member of all its groups; the lowest rank that matches wins.
 */

/** What happens to a user who leaves every group of the binding that gave them their template. */
export const LEAVE_ACTIONS = ['keep', 'remove'] as const;
export type LeaveAction = (typeof LEAVE_ACTIONS)[number];

export const BINDING_LIMITS = {
  perCustomer: 100,
  groupsPerBinding: 10,
  maxQuarantineDays: 365,
  defaultQuarantineDays: 30,
} as const;

const groupIdSchema = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'A group is its Entra object id.')
  .transform((id) => id.toLowerCase());

export const bindingIdSchema = z
  .string()
  .regex(/^[0-9a-f]{12}$/, 'bindingId is not one this API returned.')
  .meta({ description: "The binding's id (its rank changes when bindings are reordered; its id does not)." });

export const bindingInputSchema = z
  .strictObject({
    templateId: templateIdSchema.meta({
      description: 'The manual\'s "Replication Template": its Template Id.',
    }),
    groupIds: z
      .array(groupIdSchema)
      .min(1, 'Give at least one security group.')
      .max(BINDING_LIMITS.groupsPerBinding, `At most ${BINDING_LIMITS.groupsPerBinding} groups a binding.`)
      .refine((ids) => new Set(ids).size === ids.length, 'Each group once.')
      .meta({
        description:
          'The manual\'s "Security Group": one or more groups (object ids). A user matches when a member of all of ' +
          'them ("a logical AND function is performed on all groups specified").',
      }),
    onLeave: z
      .enum(LEAVE_ACTIONS)
      .default('keep')
      .meta({
        description:
          'A user who leaves the groups: `keep` leaves their policies and number as they are; `remove` sets the ' +
          "template's policies back to Global, unassigns the number and holds it in quarantine for `quarantineDays`.",
      }),
    quarantineDays: z
      .number()
      .int()
      .min(0)
      .max(BINDING_LIMITS.maxQuarantineDays)
      .default(BINDING_LIMITS.defaultQuarantineDays)
      .meta({
        description:
          'Days a number released by `remove` stays reserved (the Reserved Numbers list, reason "Quarantine") before ' +
          'it can be given to another user; 0 releases it at once.',
      }),
  })
  .meta({ id: 'LifecycleBindingInput' });
export type BindingInput = z.output<typeof bindingInputSchema>;

export const bindingMoveSchema = z
  .strictObject({
    rank: z
      .number()
      .int()
      .min(1)
      .max(BINDING_LIMITS.perCustomer)
      .meta({ description: 'The new rank (1 is the highest priority); the others shift to make room.' }),
  })
  .meta({ id: 'LifecycleBindingMove' });

/** What the last lifecycle pass found for a binding. */
export interface BindingOutcome {
  readonly members: number;
  readonly applied: number;
  readonly refused: number;
  readonly overrides: number;
}

export interface Binding extends BindingInput {
  readonly id: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly createdBy: string;
  /** The manual's "Error" column: what the last pass could not do for this binding; null when all went well. */
  readonly error: string | null;
  readonly outcome: BindingOutcome | null;
}

export const bindingViewSchema = z
  .object({
    id: bindingIdSchema,
    rank: z.number().int().meta({ description: 'The manual\'s "Rank": 1 is the highest priority.' }),
    templateId: z.number().int(),
    templateName: z.string().nullable().meta({ description: 'null when the template is gone.' }),
    groups: z
      .array(
        z.object({
          id: z.string(),
          displayName: z.string().nullable().meta({
            description: 'As replicated; null for a group replication has not seen (or that was deleted).',
          }),
        }),
      )
      .meta({ description: 'The manual\'s "Security Group".' }),
    onLeave: z.enum(LEAVE_ACTIONS),
    quarantineDays: z.number().int(),
    error: z.string().nullable().meta({ description: 'The manual\'s "Error" column.' }),
    members: z
      .number()
      .int()
      .nullable()
      .meta({ description: 'Users this binding wins for, at the last pass; null before the first pass.' }),
    applied: z.number().int().nullable().meta({ description: 'Of them, the users who have the template.' }),
    refused: z
      .number()
      .int()
      .nullable()
      .meta({ description: 'Users the last pass could not provision (see error, and the preview).' }),
    overrides: z
      .number()
      .int()
      .nullable()
      .meta({ description: 'Users an operator changed by hand since: the pass leaves them as they are.' }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    createdBy: z.string(),
  })
  .meta({ id: 'LifecycleBinding' });
export type BindingView = z.output<typeof bindingViewSchema>;

/** One user's change in a pass (the preview's row). */
export const PASS_CHANGE_KINDS = ['join', 'change', 'phone', 'leave', 'override', 'refused'] as const;
export type PassChangeKind = (typeof PASS_CHANGE_KINDS)[number];
