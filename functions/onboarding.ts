import { z } from 'zod';
import { domainErrors } from '../shared/errors/domain-errors.js';
import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import {
  customerIdParam,
  customerParams,
  dryRunQuery,
  ifMatchOf,
  siteNameParam,
  versioned,
} from '../shared/http/route-kit.js';
import { toSiteView } from '../shared/onboarding/customer-site.js';
import { upgradeRequestSchema } from '../shared/onboarding/customer-upgrade.js';
import { addSiteSchema } from '../shared/onboarding/site-builder.js';
import { sitePatchSchema } from '../shared/onboarding/site-patch.js';
import { WIZARD_SESSION_ID_PATTERN } from '../shared/wizard/wizard-session.js';
import { acceptedTask, taskViewSchema } from './tasks.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import type { AppServices } from './app-services.js';
import { listPage, pageSchema, pagingQuery } from '../shared/paging/paging.js';

const TAGS = ['Onboarding'];
const ROLES = ['provider-admin'] as const;
const CUSTOMER = 'api/v1/customers/{customerId}';

const siteParams = z.strictObject({ customerId: customerIdParam, siteName: siteNameParam });
const dryRunBody = z
  .strictObject({
    dryRun: z.boolean().default(false).meta({
      description:
        'List the DNS changes, Teams commands and SBC scripts the task would apply, applying none.',
    }),
  })
  .default({ dryRun: false });

const siteViewSchema = z
  .object({ customerId: z.string(), siteName: z.string(), gatewayFqdn: z.string().nullable() })
  .loose()
  .meta({ id: 'CustomerSite' });

const owner = (principal: { subject: string } | null) => {
  if (!principal) throw domainErrors.unauthenticated('Sign in first.');
  return principal.subject;
};

const accepted = {
  description: 'Queued; poll the task at Location.',
  schema: taskViewSchema,
  headers: ['location'],
} as const;

export type OnboardingFunctionsDeps = ApiEdge & Pick<AppServices, 'onboarding' | 'upgrades'>;

export function createOnboardingFunctions(services: OnboardingFunctionsDeps): FunctionDefinition[] {
  return [
    defineApiRoute(services, {
      name: 'wizard-submit',
      method: 'POST',
      route: 'api/v1/wizard-sessions/{sessionId}/submit',
      summary: 'Submit: create the customer and queue CreateCustomer (its domain, M365 routing and SBC)',
      tags: TAGS,
      roles: ROLES,
      params: z.strictObject({ sessionId: z.string().regex(WIZARD_SESSION_ID_PATTERN) }),
      body: dryRunBody,
      responses: { 202: accepted },
      errors: {
        gone: 'The wizard session expired: ten minutes passed without a step.',
        conflict:
          'An earlier page is missing, the Short Name is taken, or the session was submitted already (wizard_submitted; `task` is the task it queued).',
        unprocessable: 'The pages do not fit together (field errors).',
        upstream_failed: 'The chosen SBC did not answer, so its carriers could not be checked.',
      },
      handler: async ({ params, body, principal }) =>
        acceptedTask(await services.onboarding.submit(params.sessionId, owner(principal), body)),
    }),
    defineApiRoute(services, {
      name: 'sites-list',
      method: 'GET',
      route: `${CUSTOMER}/sites`,
      summary: "The customer's SBC sites (Site location)",
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: pagingQuery(),
      responses: {
        200: {
          description: 'A page of sites, by Sbc Site Name.',
          schema: pageSchema(siteViewSchema, 'CustomerSitePage'),
        },
      },
      handler: async ({ params, query, request }) => ({
        status: 200,
        body: listPage(
          (await services.onboarding.sites(params.customerId)).map(toSiteView),
          (site) => site.siteName,
          query,
          request.url,
        ),
      }),
    }),
    defineApiRoute(services, {
      name: 'sites-add',
      method: 'POST',
      route: `${CUSTOMER}/sites`,
      summary: 'Add SBC Site: a further site for an existing customer, queued as SBCInit',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: dryRunQuery,
      body: addSiteSchema,
      responses: { 202: accepted },
      errors: {
        conflict: 'The Sbc Site Name is taken, or the customer is being removed.',
        upstream_failed: 'The chosen SBC did not answer, so its carriers could not be checked.',
      },
      handler: async ({ params, query, body }) =>
        acceptedTask(await services.onboarding.addSite(params.customerId, body, { dryRun: query.dryRun })),
    }),
    defineApiRoute(services, {
      name: 'customers-upgrade',
      method: 'POST',
      route: `${CUSTOMER}/upgrade`,
      summary:
        'Upgrade Customer: a Hosted Essentials customer to Hosted Essentials + or Hosted Pro, queued as TenantUpgrade',
      description:
        "The licenses are checked now and taken when the tier changes, once the customer's tenant is connected; " +
        "meanwhile the customer's other tasks are `queue-postponed` (Queue Postponed due to customer upgrade) and " +
        'run after it. A failed upgrade leaves the customer on Hosted Essentials and the license pool as it was.',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      body: upgradeRequestSchema,
      responses: { 202: accepted },
      errors: {
        conflict:
          '`customer_not_essentials` (only Hosted Essentials customers are upgraded), `customer_being_removed`, ' +
          '`customer_upgrade_running` (`taskId` is the upgrade), `m365_not_connected` (no m365Authentication and ' +
          'no verified credentials), `invitation_exists` or `prerequisite_missing` (the invitation), ' +
          '`user_licenses_exhausted` or `license_expired` (the pool). Nothing was changed.',
        unprocessable:
          'The app registration does not yield tokens (`app_registration_invalid`) or lacks a Microsoft Graph ' +
          'permission (`app_registration_permission_missing`); nothing was stored.',
        upstream_failed: 'Microsoft Graph did not answer the permission check; nothing was stored.',
      },
      handler: async ({ params, body }) =>
        acceptedTask(await services.upgrades.start(params.customerId, body)),
    }),
    defineApiRoute(services, {
      name: 'sites-get',
      method: 'GET',
      route: `${CUSTOMER}/sites/{siteName}`,
      summary: 'One SBC site',
      tags: TAGS,
      roles: ROLES,
      params: siteParams,
      responses: {
        200: {
          description: 'The site; never the carrier password.',
          schema: siteViewSchema,
          headers: ['etag'],
        },
      },
      handler: async ({ params }) => {
        const { site, etag } = await services.onboarding.versionedSite(params.customerId, params.siteName);
        return versioned(etag, { status: 200, body: toSiteView(site) });
      },
    }),
    defineApiRoute(services, {
      name: 'sites-update',
      method: 'PATCH',
      route: `${CUSTOMER}/sites/{siteName}`,
      summary:
        'Fix a site that is not deployed yet (e.g. its onboarding failed at ProgramSbc): carrier, CAC, registration, prefixes, scripts; then deploy it again',
      tags: TAGS,
      roles: ROLES,
      params: siteParams,
      body: sitePatchSchema,
      responses: {
        200: { description: 'Saved; the next deploy uses it.', schema: siteViewSchema, headers: ['etag'] },
      },
      errors: {
        conflict: 'The customer is deployed (site_deployed) or being removed.',
        upstream_failed: "The site's SBC did not answer, so the new values could not be checked.",
      },
      ifMatch: true,
      handler: async ({ params, body, request }) => {
        const before = await services.onboarding.site(params.customerId, params.siteName);
        const { site, etag } = await services.onboarding.updateSite(
          params.customerId,
          params.siteName,
          body,
          ifMatchOf(request),
        );
        const [was, now] = [toSiteView(before), toSiteView(site)];
        const keys = (['sbc', 'm365Routing', 'prefixes'] as const).filter((key) => body[key] !== undefined);
        return {
          ...versioned(etag, { status: 200, body: now }),
          changes: Object.fromEntries(keys.map((key) => [key, { before: was[key], after: now[key] }])),
        };
      },
    }),
    defineApiRoute(services, {
      name: 'sites-deploy',
      method: 'POST',
      route: `${CUSTOMER}/sites/{siteName}/deploy`,
      summary: "Run a site's onboarding again (or its dry run); what exists already stays as it is",
      tags: TAGS,
      roles: ROLES,
      params: siteParams,
      body: dryRunBody,
      responses: { 202: accepted },
      handler: async ({ params, body }) =>
        acceptedTask(await services.onboarding.redeploySite(params.customerId, params.siteName, body)),
    }),
    defineApiRoute(services, {
      name: 'sites-verify-domain',
      method: 'POST',
      route: `${CUSTOMER}/sites/{siteName}/verify-domain`,
      summary: 'Verify And Configure Domain (two-step DNS): continue once the TXT record is at your DNS host',
      tags: TAGS,
      roles: ROLES,
      params: siteParams,
      responses: { 202: accepted },
      errors: { conflict: 'No task of this site waits for its TXT record.' },
      handler: async ({ params }) =>
        acceptedTask(await services.onboarding.verifyDomain(params.customerId, params.siteName)),
    }),
  ];
}
