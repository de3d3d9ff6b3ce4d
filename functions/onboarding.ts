import { z } from 'zod';
import { domainErrors } from '../shared/errors/domain-errors.js';
import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import { customerIdParam, customerParams, dryRunQuery, siteNameParam } from '../shared/http/route-kit.js';
import { toSiteView } from '../shared/onboarding/customer-site.js';
import { addSiteSchema } from '../shared/onboarding/site-builder.js';
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

export type OnboardingFunctionsDeps = ApiEdge & Pick<AppServices, 'onboarding'>;

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
        conflict: 'An earlier page is missing, or the Short Name is taken.',
        unprocessable: 'The pages do not fit together (field errors).',
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
      errors: { conflict: 'The Sbc Site Name is taken, or the customer is being removed.' },
      handler: async ({ params, query, body }) =>
        acceptedTask(await services.onboarding.addSite(params.customerId, body, { dryRun: query.dryRun })),
    }),
    defineApiRoute(services, {
      name: 'sites-get',
      method: 'GET',
      route: `${CUSTOMER}/sites/{siteName}`,
      summary: 'One SBC site',
      tags: TAGS,
      roles: ROLES,
      params: siteParams,
      responses: { 200: { description: 'The site; never the carrier password.', schema: siteViewSchema } },
      handler: async ({ params }) => ({
        status: 200,
        body: toSiteView(await services.onboarding.site(params.customerId, params.siteName)),
      }),
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
