import { z } from 'zod';
import { DomainError } from '../errors/domain-errors.js';
import { safeDisplayText } from '../validation/display-text.js';
import { SHORT_NAME_MAX, SHORT_NAME_MIN, SHORT_NAME_PATTERN, shortNameViolations } from './short-name.js';

export const LICENSE_TYPES = ['hosted-essentials', 'hosted-essentials-plus', 'hosted-pro'] as const;
export type LicenseType = (typeof LICENSE_TYPES)[number];

/** The manual's License Type names: for messages and scripts that quote the manual. */
export const LICENSE_TYPE_LABELS: Readonly<Record<LicenseType, string>> = {
  'hosted-essentials': 'Hosted Essentials',
  'hosted-essentials-plus': 'Hosted Essentials +',
  'hosted-pro': 'Hosted Pro',
};

export const CUSTOMER_STATES = ['ready-for-deployment', 'deploying', 'deployed', 'ready-for-remove'] as const;
export type CustomerState = (typeof CUSTOMER_STATES)[number];

/** The manual's customer State names. */
export const CUSTOMER_STATE_LABELS: Readonly<Record<CustomerState, string>> = {
  'ready-for-deployment': 'Ready for Deployment',
  deploying: 'Deploying',
  deployed: 'Deployed',
  'ready-for-remove': 'Ready for remove',
};

export const MAX_LICENSED_USERS = 500;
export const FULL_NAME_MAX = 256;

/** Hosted Essentials has no Microsoft 365 side, hence no licensed users (docs/decisions.md). */
export function usesLicensedUsers(licenseType: LicenseType): boolean {
  return licenseType !== 'hosted-essentials';
}

export interface Customer {
  /** The CustomerId: the Short Name as the operator typed it. */
  readonly id: string;
  /**
   * Immutable and random: the customer itself, where the Short Name is only its name, which a later customer may take
   * once this one is removed (docs/decisions.md, 69).
   */
  readonly uid: string;
  readonly fullName: string;
  readonly shortName: string;
  readonly licenseType: LicenseType;
  readonly licensedUsers: number;
  readonly state: CustomerState;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lastReplicationAt: string | null;
  /** Opaque version for If-Match. */
  readonly etag: string;
}

const fullName = safeDisplayText(
  z
    .string({
      error: (issue) => (issue.input === undefined ? 'Full Name is required.' : 'Full Name must be text.'),
    })
    .trim()
    .min(1, 'Full Name is required.')
    .max(FULL_NAME_MAX, `Full Name can be at most ${FULL_NAME_MAX} characters long.`)
    .refine((value) => !/\p{Cc}/u.test(value), { message: 'Full Name cannot contain control characters.' }),
  'Full Name',
);

export const shortNameSchema = z
  .string({
    error: (issue) => (issue.input === undefined ? 'Short Name is required.' : 'Short Name must be text.'),
  })
  .superRefine((value, ctx) => {
    for (const violation of shortNameViolations(value)) {
      ctx.addIssue({ code: 'custom', message: violation.message, params: { code: violation.code } });
    }
  })
  .meta({
    description: 'Unique Short Name, the CustomerId: letters, digits and inner hyphens; "audit" is reserved.',
    minLength: SHORT_NAME_MIN,
    maxLength: SHORT_NAME_MAX,
    pattern: SHORT_NAME_PATTERN.source,
  });

const licenseType = z.enum(LICENSE_TYPES, {
  error: (issue) =>
    issue.input === undefined
      ? 'License Type is required.'
      : `License Type must be one of ${LICENSE_TYPES.map((t) => `"${t}"`).join(', ')}.`,
});

const licensedUsersMessages = {
  type: (input: unknown) =>
    input === undefined ? 'Licensed Users is required.' : 'Licensed Users must be a number.',
  integer: 'Licensed Users must be a whole number.',
  atLeastOne: 'Licensed Users must be at least 1.',
  atMost: `A maximum of ${MAX_LICENSED_USERS} users can be configured per customer.`,
};

export const licensedUsersSchema = z
  .number({ error: (issue) => licensedUsersMessages.type(issue.input) })
  .int(licensedUsersMessages.integer)
  .min(1, licensedUsersMessages.atLeastOne)
  .max(MAX_LICENSED_USERS, licensedUsersMessages.atMost);

export const createCustomerSchema = z
  .strictObject({
    fullName,
    shortName: shortNameSchema,
    licenseType,
    licensedUsers: z
      .number({ error: (issue) => licensedUsersMessages.type(issue.input) })
      .int(licensedUsersMessages.integer)
      .min(0, 'Licensed Users cannot be negative.')
      .max(MAX_LICENSED_USERS, licensedUsersMessages.atMost)
      .optional()
      .meta({
        description:
          '1-500 for `hosted-essentials-plus` and `hosted-pro` (required); omitted or 0 for `hosted-essentials`.',
      }),
  })
  .superRefine(
    (value, ctx) => {
      const type = LICENSE_TYPES.find((t) => t === value.licenseType);
      if (type === undefined || (value.licensedUsers !== undefined && !Number.isInteger(value.licensedUsers)))
        return;
      const issue = (message: string, code: string) =>
        ctx.addIssue({ code: 'custom', path: ['licensedUsers'], message, params: { code } });
      if (usesLicensedUsers(type)) {
        if (value.licensedUsers === undefined)
          issue(`Licensed Users is required for ${LICENSE_TYPE_LABELS[type]}.`, 'required');
        else if (value.licensedUsers === 0) issue(licensedUsersMessages.atLeastOne, 'too_small');
      } else if (value.licensedUsers !== undefined && value.licensedUsers !== 0) {
        issue(
          'Hosted Essentials customers have no licensed users; leave Licensed Users out or set it to 0.',
          'licensed_users_not_applicable',
        );
      }
    },
    // Run even when other fields failed, so that one round trip reports every problem of the form.
    {
      when: (payload) =>
        typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value),
    },
  )
  .transform((value) => ({
    fullName: value.fullName,
    shortName: value.shortName,
    licenseType: value.licenseType,
    licensedUsers: usesLicensedUsers(value.licenseType) ? (value.licensedUsers ?? 0) : 0,
  }))
  .meta({ id: 'NewCustomer' });

export type CreateCustomerInput = z.output<typeof createCustomerSchema>;

export const updateCustomerSchema = z.strictObject({ licensedUsers: licensedUsersSchema });
export type UpdateCustomerInput = z.output<typeof updateCustomerSchema>;

/** Upgrade Customer's License Types: a Hosted Essentials customer becomes one of these. */
export const UPGRADE_LICENSE_TYPES = ['hosted-essentials-plus', 'hosted-pro'] as const;
export type UpgradeLicenseType = (typeof UPGRADE_LICENSE_TYPES)[number];

/** The tier an upgrade moves to: its License Type and Licensed Users (1-500, as for a new customer of that type). */
export const customerUpgradeSchema = z.strictObject({
  licenseType: z.enum(UPGRADE_LICENSE_TYPES, {
    error: (issue) =>
      issue.input === undefined
        ? 'License Type is required.'
        : `A Hosted Essentials customer is upgraded to ${UPGRADE_LICENSE_TYPES.map((t) => `"${t}"`).join(' or ')}.`,
  }),
  licensedUsers: licensedUsersSchema,
});
export type CustomerUpgrade = z.output<typeof customerUpgradeSchema>;

/** Upgrade Customer is offered for Hosted Essentials customers only (the manual's Tenants actions). */
export function refuseUnlessEssentials(customer: Pick<Customer, 'licenseType' | 'shortName'>): void {
  if (customer.licenseType !== 'hosted-essentials') {
    throw new DomainError('conflict', {
      code: 'customer_not_essentials',
      title: 'Only Hosted Essentials customers are upgraded',
      detail: `Customer "${customer.shortName}" is ${LICENSE_TYPE_LABELS[customer.licenseType]}; Upgrade Customer moves a Hosted Essentials customer to Hosted Essentials + or Hosted Pro.`,
    });
  }
}

/** A customer Ready for remove takes no more changes: its removal task is undoing what they would add. */
export function refuseWhileBeingRemoved(customer: Pick<Customer, 'state' | 'shortName'>): void {
  if (customer.state === 'ready-for-remove') {
    throw new DomainError('conflict', {
      code: 'customer_being_removed',
      title: 'Customer is being removed',
      detail: `Customer "${customer.shortName}" is Ready for remove and can no longer be changed.`,
    });
  }
}
