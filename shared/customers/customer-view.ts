import { z } from 'zod';
import { labelledValues } from '../validation/enum-labels.js';
import {
  CUSTOMER_STATE_LABELS,
  CUSTOMER_STATES,
  type Customer,
  LICENSE_TYPE_LABELS,
  LICENSE_TYPES,
} from './customer.js';
import type { CustomerPage } from './customer-service.js';
import { nextLinkSchema } from '../paging/paging.js';

/** Named, so that every view that shows a License Type shares one enum in a generated client. */
export const licenseTypeSchema = z
  .enum(LICENSE_TYPES)
  .meta({ id: 'LicenseType', description: labelledValues(LICENSE_TYPE_LABELS) });

export const customerStateSchema = z
  .enum(CUSTOMER_STATES)
  .meta({ id: 'CustomerState', description: labelledValues(CUSTOMER_STATE_LABELS) });

/** A customer as the API returns it: the Tenants row and the wizard's first page. */
export const customerViewSchema = z
  .object({
    id: z.string().meta({ description: 'CustomerId: the Short Name as entered.' }),
    uid: z.uuid().meta({
      description:
        'Immutable id of this customer; a later customer of the same Short Name gets a different one.',
      readOnly: true,
    }),
    fullName: z.string().meta({ description: 'Customer Name (Full Customer Name).' }),
    shortName: z.string(),
    licenseType: licenseTypeSchema,
    licensedUsers: z.number().int(),
    state: customerStateSchema,
    lastReplicationAt: z.iso
      .datetime()
      .nullable()
      .meta({ description: 'Last sync; null until a replication ran.' }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Customer' });

export const customerActivitySchema = z
  .object({
    queuedCommands: z.number().int().meta({ description: 'Queued commands (up to 100).' }),
    executingCommands: z.number().int().meta({ description: 'Executing commands.' }),
    replicationInProgress: z.boolean().meta({ description: 'Replication in progress.' }),
  })
  .meta({ id: 'CustomerActivity' });

export const customerListSchema = z
  .object({
    value: z.array(
      customerViewSchema.extend({ activity: customerActivitySchema }).meta({ id: 'CustomerListItem' }),
    ),
    nextLink: nextLinkSchema,
    availableUsers: z.number().int().meta({ description: 'User licenses left in the provider pool.' }),
    availableCustomers: z.number().int().meta({ description: 'Tenant licenses left.' }),
  })
  .meta({ id: 'CustomerPage' });

export function toCustomerView(customer: Omit<Customer, 'etag'>): z.output<typeof customerViewSchema> {
  return {
    id: customer.id,
    uid: customer.uid,
    fullName: customer.fullName,
    shortName: customer.shortName,
    licenseType: customer.licenseType,
    licensedUsers: customer.licensedUsers,
    state: customer.state,
    lastReplicationAt: customer.lastReplicationAt,
    createdAt: customer.createdAt,
    updatedAt: customer.updatedAt,
  };
}

export function toCustomerListView(
  page: CustomerPage,
  nextLink: string | null,
): z.output<typeof customerListSchema> {
  return {
    value: page.customers.map((c) => ({ ...toCustomerView(c), activity: { ...c.activity } })),
    nextLink,
    availableUsers: page.availableUsers,
    availableCustomers: page.availableCustomers,
  };
}
