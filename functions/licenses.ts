import { z } from 'zod';
import { productLog } from '../shared/platform/product-log.js';
import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import { customerParams } from '../shared/http/route-kit.js';
import { factorSwitchesSchema, licenseSettingsSchema } from '../shared/licenses/license-store.js';
import { FACTOR_NOTES, refreshCustomerLicenses } from '../shared/licenses/license-service.js';
import { LICENSE_FACTORS } from '../shared/licenses/license-usage.js';
import { defineTimer } from '../shared/platform/background.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import type { AppServices } from './app-services.js';

const TAGS = ['Licenses'];
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
    factors: z.object(Object.fromEntries(LICENSE_FACTORS.map((f) => [f, factorUsageSchema]))),
    factorsSource: z.enum(['global', 'customer']),
  })
  .meta({ id: 'LicenseSnapshot' });
const customerLicenseSchema = snapshotSchema.extend({ note: z.string() }).meta({ id: 'CustomerLicense' });

const withNote = <T extends { factorsSource: 'global' | 'customer' }>(snapshot: T) => ({
  ...snapshot,
  note: FACTOR_NOTES[snapshot.factorsSource],
});

export type LicenseFunctionsDeps = ApiEdge &
  Pick<AppServices, 'customers' | 'licenses' | 'licenseGate' | 'mirror' | 'settings' | 'sites'>;

export function createLicenseFunctions(services: LicenseFunctionsDeps): FunctionDefinition[] {
  /** A count afresh also brings the customer's grace period and license alarms up to date. */
  const refresh = async (customerId: string) => {
    const snapshot = await refreshCustomerLicenses(services, customerId);
    await services.licenseGate.review(snapshot);
    return snapshot;
  };
  return [
    defineApiRoute(services, {
      name: 'settings-license-get',
      method: 'GET',
      route: 'api/v1/settings/license',
      summary:
        'License: the pool (tenant and user licenses), Warning Limit, Grace Interval, License Factors [Global]',
      tags: TAGS,
      roles: ROLES,
      responses: {
        200: {
          description: 'The license settings.',
          schema: licenseSettingsSchema.extend({
            tenantLicenses: z.number().int(),
            userLicenses: z.number().int(),
            expiresOn: z.iso.date().nullable().meta({
              description: 'The last day of the license (LICENSE_EXPIRES); null when it does not expire.',
            }),
          }),
        },
      },
      handler: async () => ({
        status: 200,
        body: {
          tenantLicenses: services.settings.license.tenantCount,
          userLicenses: services.settings.license.userCount,
          expiresOn: services.settings.license.expiresOn ?? null,
          ...(await services.licenses.settings()),
        },
      }),
    }),
    defineApiRoute(services, {
      name: 'settings-license-put',
      method: 'PUT',
      route: 'api/v1/settings/license',
      summary: 'Save Warning Limit (%), Grace Interval (%) and License Factors [Global]',
      tags: TAGS,
      roles: ROLES,
      body: licenseSettingsSchema,
      responses: { 200: { description: 'Saved.', schema: licenseSettingsSchema } },
      handler: async ({ body }) => {
        const before = await services.licenses.settings();
        await services.licenses.putSettings(body);
        return { status: 200, body, changes: { license: { before, after: body } } };
      },
    }),
    defineApiRoute(services, {
      name: 'customer-license-get',
      method: 'GET',
      route: 'api/v1/customers/{customerId}/license',
      summary: "UMP License: the customer's last calculation (computed now if there is none)",
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      responses: { 200: { description: 'The license usage.', schema: customerLicenseSchema } },
      handler: async ({ params }) => {
        const customer = await services.customers.get(params.customerId);
        const since = new Date(Date.now() - 92 * 24 * 60 * 60 * 1000).toISOString();
        const [latest] = await services.licenses.history(customer.id, since);
        return {
          status: 200,
          body: withNote(latest ?? (await refreshCustomerLicenses(services, customer.id))),
        };
      },
    }),
    defineApiRoute(services, {
      name: 'customer-license-refresh',
      method: 'POST',
      route: 'api/v1/customers/{customerId}/license/refresh',
      summary: 'Refresh Licenses: count again from the replicated data',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      responses: { 200: { description: 'The new calculation.', schema: customerLicenseSchema } },
      handler: async ({ params }) => ({
        status: 200,
        body: withNote(await refresh(params.customerId)),
      }),
    }),
    defineApiRoute(services, {
      name: 'customer-license-factors',
      method: 'PUT',
      route: 'api/v1/customers/{customerId}/license/factors',
      summary:
        'Apply license factors for this customer ({"factors": null} restores the global ones); then recounts',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      body: z.strictObject({ factors: factorSwitchesSchema.nullable() }),
      responses: { 200: { description: 'The new calculation.', schema: customerLicenseSchema } },
      handler: async ({ params, body }) => {
        const customer = await services.customers.get(params.customerId);
        const before = await services.licenses.customerFactors(customer.id);
        await services.licenses.putCustomerFactors(customer.id, body.factors);
        return {
          status: 200,
          body: withNote(await refresh(customer.id)),
          changes: { factors: { before, after: body.factors } },
        };
      },
    }),
    defineApiRoute(services, {
      name: 'customer-license-history',
      method: 'GET',
      route: 'api/v1/customers/{customerId}/license/history',
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
        return { status: 200, body: { value: await services.licenses.history(customer.id, since) } };
      },
    }),
    defineTimer({
      name: 'licenses-refresh',
      // Hourly, after the full replication cycles: every customer's usage, and so its history.
      schedule: '0 30 * * * *',
      async run(context) {
        for (let page = await services.customers.list({ top: 100 }); ;) {
          for (const customer of page.customers) {
            await refresh(customer.id).catch((error: unknown) =>
              productLog(context, 'warn', `License count failed: ${(error as Error).message}`, {
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
