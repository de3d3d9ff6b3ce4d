import { z } from 'zod';
import { DomainError, domainErrors } from '../shared/errors/domain-errors.js';
import { productLog } from '../shared/platform/product-log.js';
import { dialPlanOwners } from '../shared/dialplan/dialplan-owners.js';
import { refusalLines } from '../shared/dialplan/dialplan-task.js';
import {
  importCandidates,
  importCustomer,
  importCustomerSchema,
  saveSitePrefixes,
  startPrefixUpdate,
} from '../shared/dialplan/site-prefixes.js';
import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import { customerIdParam, customerParams, dryRunQuery, siteNameParam } from '../shared/http/route-kit.js';
import { toSiteView } from '../shared/onboarding/customer-site.js';
import { prefixesBodySchema, prefixesFromBody } from '../shared/onboarding/prefixes.js';
import { defineTimer } from '../shared/platform/background.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import { SbcError } from '../shared/sbc/sbc-client.js';
import { SbcDialPlanError } from '../shared/sbc/sbc-dial-plans.js';
import { acceptedTask, taskViewSchema } from './tasks.js';
import type { AppServices } from './app-services.js';
import {
  listPage,
  nextLinkOf,
  nextLinkSchema,
  PAGE_SIZE,
  pageOf,
  pageSchema,
  pagingQuery,
} from '../shared/paging/paging.js';

const TAGS = ['Dial plans'];
const ROLES = ['provider-admin'] as const;
const CUSTOMER = 'api/v1/customers/{customerId}';

const siteParams = z.strictObject({ customerId: customerIdParam, siteName: siteNameParam });

const cachedSchema = z.object({
  message: z
    .string()
    .meta({ description: 'Prefixes shown below are from cache. Press Reload to refresh them from SBC.' }),
  cachedAt: z.string().nullable(),
  value: z.array(
    z.object({
      sbcId: z.string(),
      dialPlan: z.string(),
      index: z
        .number()
        .int()
        .meta({ description: "The rule's row on the SBC (what sbc-remove-prefix deletes by)." }),
      name: z.string(),
      prefix: z.string(),
      tag: z.string(),
    }),
  ),
  nextLink: nextLinkSchema,
});

/** The cache is read whole (one partition per customer) and answered a page at a time, by SBC, dial plan and row. */
function prefixPage<T extends { value: ReadonlyArray<{ sbcId: string; dialPlan: string; index: number }> }>(
  rules: T,
  params: { customerId: string },
  query: { top: number; cursor?: string | undefined },
) {
  const page = pageOf(
    rules.value,
    (r) => `${r.sbcId}\n${r.dialPlan}\n${String(r.index).padStart(10, '0')}`,
    query,
  );
  const path = `/api/v1/customers/${encodeURIComponent(params.customerId)}/prefixes`;
  return { ...rules, value: page.items, nextLink: nextLinkOf(path, { top: query.top }, page.nextKey) };
}

const sbcParams = z.strictObject({
  sbcId: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
});
const importedSchema = z
  .object({
    customerId: z.string(),
    created: z.boolean(),
    site: z.object({ customerId: z.string(), siteName: z.string() }).loose(),
  })
  .meta({ id: 'SbcImport' });

const candidateSchema = z
  .object({
    sbcCustomerName: z.string(),
    fqdnPstnGateway: z.string(),
    dialPlans: z.array(z.string()),
    prefixes: z.number().int(),
    existingCustomer: z.boolean(),
  })
  .meta({ id: 'ImportCandidate' });

/** An SBC that does not answer is the operator's to look at: 502 with what the device said. */
async function fromSbc<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof SbcError) {
      throw new DomainError('upstream_failed', {
        code: 'sbc_unreachable',
        title: 'The SBC did not answer',
        detail: error.message,
      });
    }
    if (error instanceof SbcDialPlanError) {
      // The device answered, but not with dial plans the product can read: an upstream failure, not ours.
      throw new DomainError('upstream_failed', {
        code: 'sbc_unreachable',
        title: 'The SBC answered what the product cannot read',
        detail: error.message,
      });
    }
    throw error;
  }
}

const accepted = {
  description: 'Queued as SbcUpdatePrefixes; poll the task at Location.',
  schema: taskViewSchema,
  headers: ['location'],
} as const;

export type DialPlanFunctionsDeps = ApiEdge &
  Pick<
    AppServices,
    | 'adapters'
    | 'credentials'
    | 'customers'
    | 'dialPlans'
    | 'onboardingSettings'
    | 'siteClaims'
    | 'sites'
    | 'taskEngine'
  >;

export function createDialPlanFunctions(services: DialPlanFunctionsDeps): FunctionDefinition[] {
  return [
    defineApiRoute(services, {
      name: 'prefixes-cached',
      method: 'GET',
      route: `${CUSTOMER}/prefixes`,
      summary: "The customer's dial-plan rules on its SBCs, as last read (from cache)",
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: pagingQuery(),
      responses: { 200: { description: 'A page of the cached rules.', schema: cachedSchema } },
      handler: async ({ params, query }) => {
        await services.customers.get(params.customerId);
        return {
          status: 200,
          body: prefixPage(await services.dialPlans.cached(params.customerId), params, query),
        };
      },
    }),
    defineApiRoute(services, {
      name: 'prefixes-reload',
      method: 'POST',
      route: `${CUSTOMER}/prefixes/reload`,
      summary: "Reload: read the customer's dial-plan rules from its SBCs into the cache",
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      responses: {
        200: {
          description: 'The first page of the rules as the SBCs have them now; nextLink pages the cache.',
          schema: cachedSchema,
        },
      },
      errors: { upstream_failed: 'An SBC did not answer.' },
      handler: async ({ params }) => ({
        status: 200,
        body: prefixPage(await fromSbc(() => services.dialPlans.reload(params.customerId)), params, {
          top: PAGE_SIZE.default,
        }),
      }),
    }),
    defineApiRoute(services, {
      name: 'prefixes-sync',
      method: 'POST',
      route: `${CUSTOMER}/prefixes/sync`,
      summary:
        "Queue SbcUpdatePrefixes: make the SBCs' rules match the customer's prefixes (or list what it would do)",
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: dryRunQuery,
      responses: { 202: accepted },
      handler: async ({ params, query }) => {
        await services.customers.get(params.customerId);
        return acceptedTask(await startPrefixUpdate(services, params.customerId, { dryRun: query.dryRun }));
      },
    }),
    defineApiRoute(services, {
      name: 'site-prefixes-save',
      method: 'PUT',
      route: `${CUSTOMER}/sites/{siteName}/prefixes`,
      summary:
        "Save a site's prefixes (typed or CSV); a Deployed customer's SBC follows through SbcUpdatePrefixes",
      tags: TAGS,
      roles: ROLES,
      params: siteParams,
      body: prefixesBodySchema,
      responses: {
        200: {
          description: 'Saved; the onboarding adds them when the site is deployed.',
          schema: z.object({ customerId: z.string(), siteName: z.string() }).loose(),
        },
        202: accepted,
      },
      errors: {
        conflict: 'The site has no SBC, changed meanwhile, or the customer is being removed.',
        upstream_failed: "The site's SBC did not answer, so the dial plan names could not be checked.",
      },
      handler: async ({ params, body }) => {
        const outcome = await saveSitePrefixes(
          services,
          params.customerId,
          params.siteName,
          prefixesFromBody(body),
        );
        return outcome.kind === 'queued'
          ? acceptedTask(outcome.task)
          : { status: 200, body: toSiteView(outcome.site) };
      },
    }),
    defineApiRoute(services, {
      name: 'sbc-import-candidates',
      method: 'GET',
      route: 'api/v1/settings/sbcs/{sbcId}/import-candidates',
      summary:
        'Import Customers: one row per distinct rule name and tag of the SBC dial plans not imported yet',
      tags: TAGS,
      roles: ROLES,
      params: z.strictObject({
        sbcId: z
          .string()
          .min(1)
          .max(64)
          .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
      }),
      query: pagingQuery(),
      responses: {
        200: {
          description: 'A page of candidates.',
          schema: pageSchema(candidateSchema, 'ImportCandidatePage'),
        },
      },
      errors: { not_found: 'No such Known SBC.', upstream_failed: 'The SBC did not answer.' },
      handler: async ({ params, query, request }) => {
        if (!(await services.onboardingSettings.sbc(params.sbcId))) {
          throw domainErrors.notFound(`There is no Known SBC "${params.sbcId}".`);
        }
        const candidates = await fromSbc(() => importCandidates(services, params.sbcId));
        return {
          status: 200,
          body: listPage(candidates, (c) => `${c.sbcCustomerName}\n${c.fqdnPstnGateway}`, query, request.url),
        };
      },
    }),
    defineApiRoute(services, {
      name: 'sbc-import-customer',
      method: 'POST',
      route: 'api/v1/settings/sbcs/{sbcId}/import',
      summary:
        "Import: a customer (Hosted Essentials, Short Name = the rule name) with the SBC's rules of that name and tag",
      tags: TAGS,
      roles: ROLES,
      params: sbcParams,
      body: importCustomerSchema,
      responses: {
        200: { description: 'Added to the customer imported before.', schema: importedSchema },
        201: {
          description: 'Imported: the customer was created (Location).',
          schema: importedSchema,
          headers: ['location'],
        },
      },
      errors: {
        not_found: 'No such Known SBC, or no rule of that name and tag on it.',
        conflict: 'No region uses the SBC, or no tenant license is left.',
        upstream_failed: 'The SBC did not answer.',
      },
      handler: async ({ params, body }) => {
        if (!(await services.onboardingSettings.sbc(params.sbcId))) {
          throw domainErrors.notFound(`There is no Known SBC "${params.sbcId}".`);
        }
        const imported = await fromSbc(() => importCustomer(services, params.sbcId, body));
        return {
          status: imported.created ? 201 : 200,
          ...(imported.created
            ? { headers: { location: `/api/v1/customers/${encodeURIComponent(imported.customer.id)}` } }
            : {}),
          body: {
            customerId: imported.customer.id,
            created: imported.created,
            site: toSiteView(imported.site),
          },
          customerId: imported.customer.id,
        };
      },
    }),
    defineTimer({
      name: 'dialplan-sync',
      // Every 15 minutes: changes made on the SBC behind the product's back are put right.
      schedule: '0 */15 * * * *',
      async run(context) {
        const dialPlans = services.dialPlans;
        for (const { sbcId } of await dialPlanOwners(services)) {
          try {
            const result = await dialPlans.syncSbc(sbcId);
            const { diff } = result.plan;
            if (result.refused.length > 0) {
              // The next run (a quarter of an hour on) reads the SBC again and sends what it still lacks.
              productLog(context, 'warn', `Dial-plan sync of ${refusalLines(result).join('\n')}`, {
                sbcId,
                refused: result.refused.length,
              });
            } else if (diff.added + diff.removed > 0) {
              productLog(
                context,
                'info',
                `Dial-plan sync of SBC ${sbcId}: ${diff.added} added, ${diff.removed} removed.`,
                { sbcId },
              );
            }
          } catch (error) {
            productLog(
              context,
              'warn',
              `Dial-plan sync of SBC ${sbcId} failed: ${(error as Error).message}`,
              {
                sbcId,
              },
            );
          }
        }
      },
    }),
  ];
}
