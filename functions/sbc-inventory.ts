import { z } from 'zod';
import { DomainError, domainErrors } from '../shared/errors/domain-errors.js';
import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import { createGraphClient } from '../shared/m365/graph-client.js';
import { GraphRequestError } from '../shared/m365/graph-domains.js';
import { listSubscribedSkus, NO_LICENSE_MESSAGE } from '../shared/m365/graph-licenses.js';
import { sbcBaseUrl } from '../shared/onboarding/onboarding-ports.js';
import type { KnownSbc } from '../shared/onboarding/onboarding-settings.js';
import { createSbcClient, SbcError } from '../shared/sbc/sbc-client.js';
import { sbcChoicesReader, sbcUnreachable } from '../shared/onboarding/sbc-choices.js';
import { WIZARD_SESSION_ID_PATTERN } from '../shared/wizard/wizard-session.js';
import type { AppServices } from './app-services.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';

const ROLES = ['provider-admin'] as const;
const id = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/);

function clientFor(services: SbcInventoryFunctionsDeps, device: KnownSbc) {
  return createSbcClient({
    baseUrl: sbcBaseUrl(services.settings.endpoints, device),
    username: device.gatewayUser,
    password: device.gatewayPassword,
    transport: services.transport,
  });
}

const sbcOptionsSchema = z
  .object({
    sbc: z.string(),
    carriers: z
      .array(z.string())
      .meta({ description: 'Names configured as SIP Interface, Proxy Set and IP Profile.' }),
    cacProfiles: z.array(z.string()),
    dialPlans: z
      .array(z.string())
      .meta({ description: "Dial plan names a prefix may name (the ini file's DialPlan table)." }),
  })
  .meta({ id: 'SbcOptions' });

const sbcStatusSchema = z
  .object({
    sbc: z.string(),
    reachable: z.boolean(),
    productType: z.string().nullable(),
    version: z.string().nullable(),
    highAvailability: z.string().nullable(),
    error: z.string().nullable(),
  })
  .meta({ id: 'SbcStatus' });

const licensePlanAvailabilitySchema = z
  .object({
    value: z.array(z.object({ name: z.string(), available: z.number().int() })),
    message: z
      .string()
      .nullable()
      .meta({ description: "The manual's message when no plan has a free license." }),
  })
  .meta({ id: 'LicensePlanAvailability' });

export type SbcInventoryFunctionsDeps = ApiEdge &
  Pick<AppServices, 'adapters' | 'credentials' | 'onboardingSettings' | 'settings' | 'transport' | 'wizard'>;

export function createSbcInventoryFunctions(services: SbcInventoryFunctionsDeps): FunctionDefinition[] {
  return [
    defineApiRoute(services, {
      name: 'settings-sbcs-status',
      method: 'GET',
      route: 'api/v1/settings/sbcs/{sbcId}/status',
      summary: 'Status from the SBC: product, version and HA state, read from the device now',
      tags: ['Onboarding settings'],
      roles: ROLES,
      params: z.strictObject({ sbcId: id }),
      responses: { 200: { description: 'Reachable or not, and why.', schema: sbcStatusSchema } },
      handler: async ({ params }) => {
        const device = await services.onboardingSettings.sbc(params.sbcId);
        if (!device) throw domainErrors.notFound(`There is no Known SBC "${params.sbcId}".`);
        try {
          const status = await clientFor(services, device).status();
          return {
            status: 200,
            body: {
              sbc: device.name,
              reachable: true,
              productType: status.productType ?? null,
              version: status.versionID ?? null,
              highAvailability: status.highAvailability ?? null,
              error: null,
            },
          };
        } catch (error) {
          if (!(error instanceof SbcError)) throw error;
          return {
            status: 200,
            body: {
              sbc: device.name,
              reachable: false,
              productType: null,
              version: null,
              highAvailability: null,
              error: error.message,
            },
          };
        }
      },
    }),
    defineApiRoute(services, {
      name: 'settings-regions-sbc-options',
      method: 'GET',
      route: 'api/v1/settings/regions/{regionId}/sbc-options',
      summary: "The SBC page's Carrier and CAC Profile lists and the dial plans, read from the region's SBC",
      tags: ['Onboarding settings'],
      roles: ROLES,
      params: z.strictObject({ regionId: id }),
      responses: {
        200: { description: 'Carriers, CAC profiles and dial plans of the SBC.', schema: sbcOptionsSchema },
      },
      errors: { upstream_failed: 'The SBC did not answer.' },
      handler: async ({ params }) => {
        const region = await services.onboardingSettings.region(params.regionId);
        if (!region) throw domainErrors.notFound(`There is no region "${params.regionId}".`);
        const device = await services.onboardingSettings.sbc(region.sbcId);
        if (!device) throw domainErrors.notFound(`The region "${region.name}" names no Known SBC.`);
        try {
          const { sbc, carriers, cacProfiles, dialPlans } = await sbcChoicesReader(services.adapters)(
            device.id,
          );
          return { status: 200, body: { sbc, carriers, cacProfiles, dialPlans } };
        } catch (error) {
          throw sbcUnreachable(device.name, error);
        }
      },
    }),
    defineApiRoute(services, {
      name: 'wizard-license-plans',
      method: 'GET',
      route: 'api/v1/wizard-sessions/{sessionId}/license-plans',
      summary:
        "License Plan and its Reload: the eligible plans with their free licenses in the customer's tenant",
      tags: ['Onboarding wizard'],
      roles: ROLES,
      params: z.strictObject({ sessionId: z.string().regex(WIZARD_SESSION_ID_PATTERN) }),
      responses: {
        200: {
          description: 'Plans with a free license first; message when there is none.',
          schema: licensePlanAvailabilitySchema,
        },
      },
      errors: { conflict: "The customer's tenant is not connected yet." },
      handler: async ({ params, principal }) => {
        if (!principal) throw domainErrors.unauthenticated('Sign in first.');
        const session = await services.wizard.get(params.sessionId, principal.subject);
        const credential = session.draft ? await services.credentials.get(session.draft.shortName) : null;
        if (session.connection?.status !== 'authentication-complete' || !credential) {
          throw new DomainError('conflict', {
            code: 'wizard_step_missing',
            title: 'Not connected',
            detail: "Connect the customer's Microsoft 365 tenant first.",
          });
        }
        let skus;
        try {
          skus = await listSubscribedSkus(
            createGraphClient({
              baseUrl: services.settings.endpoints.graph,
              credential: services.credentials.graphCredential(credential),
              transport: services.transport,
            }),
          );
        } catch (error) {
          if (!(error instanceof GraphRequestError)) throw error;
          throw new DomainError('upstream_failed', {
            code: 'graph_unavailable',
            title: 'Microsoft Graph did not answer',
            detail: error.message,
          });
        }
        const free = new Map(skus.map((sku) => [sku.skuPartNumber.toUpperCase(), sku.available]));
        const plans = (await services.onboardingSettings.licensePlans()).map((plan) => ({
          name: plan.name,
          available: Math.min(...plan.skuPartNumbers.map((part) => free.get(part.toUpperCase()) ?? 0)),
        }));
        const sorted = [...plans.filter((p) => p.available > 0), ...plans.filter((p) => p.available === 0)];
        return {
          status: 200,
          body: { value: sorted, message: sorted.some((p) => p.available > 0) ? null : NO_LICENSE_MESSAGE },
        };
      },
    }),
  ];
}
