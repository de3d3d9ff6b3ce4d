import { DomainError } from '../shared/errors/domain-errors.js';
import { z } from 'zod';
import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import {
  dnsApiInputSchema,
  dnsApiViewSchema,
  knownSbcInputSchema,
  knownSbcViewSchema,
  licensePlansSchema,
  registrarHostsSchema,
  regionInputSchema,
  regionViewSchema,
} from '../shared/onboarding/onboarding-settings.js';
import type { AppServices } from './app-services.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import { listPage, pageSchema, pagingQuery } from '../shared/paging/paging.js';

const TAGS = ['Provider settings'];
const ROLES = ['provider-admin'] as const;
const regionParams = z.strictObject({ regionId: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/) });
const sbcParams = z.strictObject({ sbcId: z.string().regex(/^[a-z0-9-]{1,40}$/) });

export type OnboardingSettingsFunctionsDeps = ApiEdge &
  Pick<AppServices, 'onboardingSettings' | 'resolveAddresses'>;

export function createOnboardingSettingsFunctions(
  services: OnboardingSettingsFunctionsDeps,
): FunctionDefinition[] {
  return [
    defineApiRoute(services, {
      name: 'settings-dns-api-get',
      method: 'GET',
      route: 'api/v1/settings/dns-api',
      summary: 'Read the DNS API Configuration (the Azure DNS zone for fully automatic DNS)',
      tags: TAGS,
      roles: ROLES,
      responses: {
        200: { description: 'The configuration; the secret only as "saved".', schema: dnsApiViewSchema },
      },
      handler: async () => ({ status: 200, body: await services.onboardingSettings.dnsApiView() }),
    }),
    defineApiRoute(services, {
      name: 'settings-dns-api-put',
      method: 'PUT',
      route: 'api/v1/settings/dns-api',
      summary:
        'Replace the DNS API Configuration: Tenant Id, Client Id, Client Secret (or managed identity), Subscription Id, Resource Group Name, Dns Zone',
      tags: TAGS,
      roles: ROLES,
      body: dnsApiInputSchema,
      responses: { 200: { description: 'Saved.', schema: dnsApiViewSchema } },
      handler: async ({ body }) => ({
        status: 200,
        body: await services.onboardingSettings.putDnsApi(body),
      }),
    }),
    defineApiRoute(services, {
      name: 'settings-license-plans-get',
      method: 'GET',
      route: 'api/v1/settings/license-plans',
      summary: 'The license plans eligible for domain activation',
      tags: TAGS,
      roles: ROLES,
      responses: { 200: { description: 'The plans, in order of preference.', schema: licensePlansSchema } },
      handler: async () => ({
        status: 200,
        body: { plans: await services.onboardingSettings.licensePlans() },
      }),
    }),
    defineApiRoute(services, {
      name: 'settings-license-plans-put',
      method: 'PUT',
      route: 'api/v1/settings/license-plans',
      summary: 'Replace the eligible license plans (each plan: the SKUs that must all have a free unit)',
      tags: TAGS,
      roles: ROLES,
      body: licensePlansSchema,
      responses: { 200: { description: 'Saved.', schema: licensePlansSchema } },
      handler: async ({ body }) => ({
        status: 200,
        body: { plans: await services.onboardingSettings.putLicensePlans(body.plans) },
      }),
    }),
    defineApiRoute(services, {
      name: 'settings-registrar-hosts-get',
      method: 'GET',
      route: 'api/v1/settings/registrar-hosts',
      summary: 'The registrar hosts a Carrier Registration may make an SBC register to',
      tags: TAGS,
      roles: ROLES,
      responses: {
        200: {
          description: 'The allowed hosts; null: those the sites already register to.',
          schema: registrarHostsSchema,
        },
      },
      handler: async () => ({
        status: 200,
        body: { hosts: await services.onboardingSettings.registrarHosts() },
      }),
    }),
    defineApiRoute(services, {
      name: 'settings-registrar-hosts-put',
      method: 'PUT',
      route: 'api/v1/settings/registrar-hosts',
      summary:
        'Set the registrar hosts a Carrier Registration may name (null: those the sites already register to)',
      tags: TAGS,
      roles: ROLES,
      body: registrarHostsSchema,
      responses: { 200: { description: 'Saved.', schema: registrarHostsSchema } },
      handler: async ({ body }) => ({
        status: 200,
        body: { hosts: await services.onboardingSettings.putRegistrarHosts(body.hosts) },
      }),
    }),
    defineApiRoute(services, {
      name: 'settings-regions-list',
      method: 'GET',
      route: 'api/v1/settings/regions',
      summary: 'The DNS sub domain Mapping table: the regions the wizard offers',
      tags: TAGS,
      roles: ROLES,
      query: pagingQuery(),
      responses: {
        200: { description: 'A page of regions, by id.', schema: pageSchema(regionViewSchema, 'RegionPage') },
      },
      handler: async ({ query, request }) => ({
        status: 200,
        body: listPage(
          await services.onboardingSettings.regions(),
          (region) => region.id,
          query,
          request.url,
        ),
      }),
    }),
    defineApiRoute(services, {
      name: 'settings-regions-create',
      method: 'POST',
      route: 'api/v1/settings/regions',
      summary: 'Add a region: Name, Sbc, Fqdn, Ip Address',
      tags: TAGS,
      roles: ROLES,
      body: regionInputSchema,
      responses: { 201: { description: 'Added.', schema: regionViewSchema, headers: ['location'] } },
      errors: { conflict: 'A region of that name exists.' },
      handler: async ({ body }) => {
        const region = await services.onboardingSettings.createRegion(body);
        return {
          status: 201,
          headers: { location: `/api/v1/settings/regions/${encodeURIComponent(region.id)}` },
          body: region,
        };
      },
    }),
    defineApiRoute(services, {
      name: 'settings-regions-resolve',
      method: 'POST',
      route: 'api/v1/settings/regions/resolve',
      summary: "Resolve Address: the IPv4 addresses of an Fqdn, to fill in a region's Ip Address",
      tags: TAGS,
      roles: ROLES,
      body: z.strictObject({ fqdn: regionInputSchema.shape.fqdn }),
      responses: {
        200: { description: 'The addresses.', schema: z.object({ addresses: z.array(z.string()) }) },
      },
      errors: { unprocessable: 'The name does not resolve.' },
      handler: async ({ body }) => {
        const addresses = await services.resolveAddresses(body.fqdn);
        if (addresses.length === 0) {
          throw new DomainError('unprocessable', {
            code: 'fqdn_unresolved',
            title: 'Address not found',
            detail: `${body.fqdn} does not resolve to an IPv4 address.`,
          });
        }
        return { status: 200, body: { addresses: [...addresses] } };
      },
    }),
    defineApiRoute(services, {
      name: 'settings-regions-update',
      method: 'PUT',
      route: 'api/v1/settings/regions/{regionId}',
      summary: 'Edit a region',
      tags: TAGS,
      roles: ROLES,
      params: regionParams,
      body: regionInputSchema,
      responses: { 200: { description: 'Saved.', schema: regionViewSchema } },
      handler: async ({ params, body }) => ({
        status: 200,
        body: await services.onboardingSettings.updateRegion(params.regionId, body),
      }),
    }),
    defineApiRoute(services, {
      name: 'settings-regions-delete',
      method: 'DELETE',
      route: 'api/v1/settings/regions/{regionId}',
      summary: 'Delete a region',
      tags: TAGS,
      roles: ROLES,
      params: regionParams,
      responses: { 204: { description: 'Deleted.' } },
      handler: async ({ params }) => {
        await services.onboardingSettings.deleteRegion(params.regionId);
        return { status: 204 };
      },
    }),
    defineApiRoute(services, {
      name: 'settings-sbcs-list',
      method: 'GET',
      route: 'api/v1/settings/sbcs',
      summary: 'Known SBCs (SBC List)',
      tags: TAGS,
      roles: ROLES,
      query: pagingQuery(),
      responses: {
        200: {
          description: 'A page of Known SBCs, by id.',
          schema: pageSchema(knownSbcViewSchema, 'KnownSbcPage'),
        },
      },
      handler: async ({ query, request }) => ({
        status: 200,
        body: listPage(await services.onboardingSettings.sbcViews(), (sbc) => sbc.id, query, request.url),
      }),
    }),
    defineApiRoute(services, {
      name: 'settings-sbcs-create',
      method: 'POST',
      route: 'api/v1/settings/sbcs',
      summary:
        'Add New SBC: Name, Ip Address, Device Fqdn, NAT Ip, Https (on by default), Gateway User, Gateway Password',
      tags: TAGS,
      roles: ROLES,
      body: knownSbcInputSchema,
      responses: { 201: { description: 'Added.', schema: knownSbcViewSchema, headers: ['location'] } },
      errors: { conflict: 'A Known SBC of that name exists.' },
      handler: async ({ body }) => {
        const sbc = await services.onboardingSettings.createSbc(body);
        return {
          status: 201,
          headers: { location: `/api/v1/settings/sbcs/${encodeURIComponent(sbc.id)}` },
          body: sbc,
        };
      },
    }),
    defineApiRoute(services, {
      name: 'settings-sbcs-update',
      method: 'PUT',
      route: 'api/v1/settings/sbcs/{sbcId}',
      summary: 'Edit a Known SBC (omit Gateway Password to keep it)',
      tags: TAGS,
      roles: ROLES,
      params: sbcParams,
      body: knownSbcInputSchema,
      responses: { 200: { description: 'Saved.', schema: knownSbcViewSchema } },
      handler: async ({ params, body }) => ({
        status: 200,
        body: await services.onboardingSettings.updateSbc(params.sbcId, body),
      }),
    }),
    defineApiRoute(services, {
      name: 'settings-sbcs-delete',
      method: 'DELETE',
      route: 'api/v1/settings/sbcs/{sbcId}',
      summary: 'Delete a Known SBC no region uses',
      tags: TAGS,
      roles: ROLES,
      params: sbcParams,
      responses: { 204: { description: 'Deleted.' } },
      errors: { conflict: 'A region uses it.' },
      handler: async ({ params }) => {
        await services.onboardingSettings.deleteSbc(params.sbcId);
        return { status: 204 };
      },
    }),
  ];
}
