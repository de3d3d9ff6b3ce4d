import { z } from 'zod';
import { productLog } from '../shared/platform/product-log.js';
import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import { customerParams } from '../shared/http/route-kit.js';
import { factorSwitchesSchema, licenceSettingsSchema } from '../shared/licences/licence-store.js';
import { FACTOR_NOTES, refreshCustomerLicences } from '../shared/licences/licence-service.js';
import { LICENCE_FACTORS } from '../shared/licences/licence-usage.js';
import { defineTimer } from '../shared/platform/background.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import type { AppServices } from './app-services.js';

const TAGS = ['Licences'];
const ROLES = ['provider-admin'] as const;

const factorUsageSchema = z.object({
  label: z.string(),
  enabled: z.boolean(),
  counted: z.number().int().meta({ description: 'n1: counted in Currently Licensed.' }),
  qualifying: z.number().int().meta({ description: 'n2: qualified for the factor.' }),
  display: z.string().meta({ description: '"n1 (n2)", "[n/a] (n2)" when the factor is off.' }),
});
const snapshotSchema = z
  .object({
    customerId: z.string(),
    calculatedAt: z.iso.datetime().meta({ description: 'License Calculation Time.' }),
    acquiredLicenses: z.number().int(),
    currentlyLicensed: z.number().int(),
    remaining: z.number().int(),
    totalMonitoredUsers: z.number().int(),
    factors: z.object(Object.fromEntries(LICENCE_FACTORS.map((f) => [f, factorUsageSchema]))),
    factorsSource: z.enum(['global', 'customer']),
  })
  .meta({ id: 'LicenceSnapshot' });
const customerLicenceSchema = snapshotSchema.extend({ note: z.string() }).meta({ id: 'CustomerLicence' });

const withNote = <T extends { factorsSource: 'global' | 'customer' }>(snapshot: T) => ({
  ...snapshot,
  note: FACTOR_NOTES[snapshot.factorsSource],
});

export type LicenceFunctionsDeps = ApiEdge &
  Pick<AppServices, 'customers' | 'licences' | 'mirror' | 'settings' | 'sites'>;

export function createLicenceFunctions(services: LicenceFunctionsDeps): FunctionDefinition[] {
  return [
    defineApiRoute(services, {
      name: 'settings-licence-get',
      method: 'GET',
      route: 'api/v1/settings/licence',
      summary:
        'License: the pool (tenant and user licences), Warning Limit, Grace Interval, License Factors [Global]',
      tags: TAGS,
      roles: ROLES,
      responses: {
        200: {
          description: 'The licence settings.',
          schema: licenceSettingsSchema.extend({
            tenantLicences: z.number().int(),
            userLicences: z.number().int(),
            expiresOn: z.iso.date().nullable().meta({
              description: 'The last day of the licence (LICENSE_EXPIRES); null when it does not expire.',
            }),
          }),
        },
      },
      handler: async () => ({
        status: 200,
        body: {
          tenantLicences: services.settings.licence.tenantCount,
          userLicences: services.settings.licence.userCount,
          expiresOn: services.settings.licence.expiresOn ?? null,
          ...(await services.licences.settings()),
        },
      }),
    }),
    defineApiRoute(services, {
      name: 'settings-licence-put',
      method: 'PUT',
      route: 'api/v1/settings/licence',
      summary: 'Save Warning Limit (%), Grace Interval (%) and License Factors [Global]',
      tags: TAGS,
      roles: ROLES,
      body: licenceSettingsSchema,
      responses: { 200: { description: 'Saved.', schema: licenceSettingsSchema } },
      handler: async ({ body }) => {
        const before = await services.licences.settings();
        await services.licences.putSettings(body);
        return { status: 200, body, changes: { licence: { before, after: body } } };
      },
    }),
    defineApiRoute(services, {
      name: 'customer-licence-get',
      method: 'GET',
      route: 'api/v1/customers/{customerId}/licence',
      summary: "UMP License: the customer's last calculation (computed now if there is none)",
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      responses: { 200: { description: 'The licence usage.', schema: customerLicenceSchema } },
      handler: async ({ params }) => {
        const customer = await services.customers.get(params.customerId);
        const since = new Date(Date.now() - 92 * 24 * 60 * 60 * 1000).toISOString();
        const [latest] = await services.licences.history(customer.id, since);
        return {
          status: 200,
          body: withNote(latest ?? (await refreshCustomerLicences(services, customer.id))),
        };
      },
    }),
    defineApiRoute(services, {
      name: 'customer-licence-refresh',
      method: 'POST',
      route: 'api/v1/customers/{customerId}/licence/refresh',
      summary: 'Refresh Licenses: count again from the replicated data',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      responses: { 200: { description: 'The new calculation.', schema: customerLicenceSchema } },
      handler: async ({ params }) => ({
        status: 200,
        body: withNote(await refreshCustomerLicences(services, params.customerId)),
      }),
    }),
    defineApiRoute(services, {
      name: 'customer-licence-factors',
      method: 'PUT',
      route: 'api/v1/customers/{customerId}/licence/factors',
      summary:
        'Apply license factors for this customer ({"factors": null} restores the global ones); then recounts',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      body: z.strictObject({ factors: factorSwitchesSchema.nullable() }),
      responses: { 200: { description: 'The new calculation.', schema: customerLicenceSchema } },
      handler: async ({ params, body }) => {
        const customer = await services.customers.get(params.customerId);
        const before = await services.licences.customerFactors(customer.id);
        await services.licences.putCustomerFactors(customer.id, body.factors);
        return {
          status: 200,
          body: withNote(await refreshCustomerLicences(services, customer.id)),
          changes: { factors: { before, after: body.factors } },
        };
      },
    }),
    defineApiRoute(services, {
      name: 'customer-licence-history',
      method: 'GET',
      route: 'api/v1/customers/{customerId}/licence/history',
      summary: 'UMP Customer License - Audit: the calculations of the last months (3 by default)',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: z.object({
        months: z.coerce
          .number({ error: 'months is a whole number.' })
          .int('months is a whole number.')
          .min(1, 'months is at least 1.')
          .max(24, 'months is at most 24.')
          .default(3),
      }),
      responses: {
        200: { description: 'Newest first.', schema: z.object({ value: z.array(snapshotSchema) }) },
      },
      handler: async ({ params, query }) => {
        const customer = await services.customers.get(params.customerId);
        const since = new Date(Date.now() - query.months * 31 * 24 * 60 * 60 * 1000).toISOString();
        return { status: 200, body: { value: await services.licences.history(customer.id, since) } };
      },
    }),
    defineTimer({
      name: 'licences-refresh',
      // Hourly, after the full replication cycles: every customer's usage, and so its history.
      schedule: '0 30 * * * *',
      async run(context) {
        for (let page = await services.customers.list({ top: 100 }); ;) {
          for (const customer of page.customers) {
            await refreshCustomerLicences(services, customer.id).catch((error: unknown) =>
              productLog(context, 'warn', `Licence count failed: ${(error as Error).message}`, {
                customerId: customer.id,
              }),
            );
          }
          if (!page.nextKey) break;
          page = await services.customers.list({ top: 100, afterKey: page.nextKey });
        }
      },
    }),
  ];
}
