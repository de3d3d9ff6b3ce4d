import type { z } from 'zod';
import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import {
  emailSettingsInputSchema,
  emailSettingsViewSchema,
  invitationSettingsInputSchema,
  invitationSettingsViewSchema,
  rateLimitsInputSchema,
  rateLimitsViewSchema,
  tokenAppInputSchema,
  tokenAppViewSchema,
  whiteLabelInputSchema,
  whiteLabelViewSchema,
} from '../shared/provider/provider-settings-schemas.js';
import type { ProviderSettingsService } from '../shared/provider/provider-settings-service.js';
import type { AppServices } from './app-services.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';

const TAGS = ['Provider settings'];
const ROLES = ['provider-admin'] as const;

/** Each settings section is read and replaced whole; secrets are write-only and reported only as saved. */
function section<I extends z.ZodType, V extends z.ZodType>(
  services: ProviderSettingsFunctionsDeps,
  spec: {
    readonly name: string;
    readonly path: string;
    readonly title: string;
    readonly input: I;
    readonly view: V;
    readonly get: (service: ProviderSettingsService) => Promise<z.output<V>>;
    readonly put: (service: ProviderSettingsService, input: z.output<I>) => Promise<z.output<V>>;
  },
) {
  const route = `api/v1/settings/${spec.path}`;
  return [
    defineApiRoute(services, {
      name: `settings-${spec.name}-get`,
      method: 'GET',
      route,
      summary: `Read ${spec.title}`,
      tags: TAGS,
      roles: ROLES,
      responses: { 200: { description: `${spec.title}; secrets only as "saved".`, schema: spec.view } },
      handler: async () => ({ status: 200, body: await spec.get(services.providerSettings) }),
    }),
    defineApiRoute(services, {
      name: `settings-${spec.name}-put`,
      method: 'PUT',
      route,
      summary: `Replace ${spec.title}`,
      tags: TAGS,
      roles: ROLES,
      body: spec.input,
      responses: { 200: { description: 'Saved.', schema: spec.view } },
      handler: async ({ body }) => ({
        status: 200,
        body: await spec.put(services.providerSettings, body as z.output<I>),
      }),
    }),
  ];
}

export type ProviderSettingsFunctionsDeps = ApiEdge & Pick<AppServices, 'providerSettings'>;

export function createProviderSettingsFunctions(
  services: ProviderSettingsFunctionsDeps,
): FunctionDefinition[] {
  return [
    ...section(services, {
      name: 'token-app',
      path: 'token-app',
      title: 'the multi-tenant token app (Client Id, Client Secret, Redirect Uri)',
      input: tokenAppInputSchema,
      view: tokenAppViewSchema,
      get: (s) => s.tokenAppView(),
      put: (s, input) => s.putTokenApp(input),
    }),
    ...section(services, {
      name: 'invitations',
      path: 'invitations',
      title: 'Invitation Settings',
      input: invitationSettingsInputSchema,
      view: invitationSettingsViewSchema,
      get: (s) => s.invitationView(),
      put: (s, input) => s.putInvitation(input),
    }),
    ...section(services, {
      name: 'email',
      path: 'email',
      title: 'Email Settings (Azure Communication Services or SMTP)',
      input: emailSettingsInputSchema,
      view: emailSettingsViewSchema,
      get: (s) => s.emailView(),
      put: (s, input) => s.putEmail(input),
    }),
    ...section(services, {
      name: 'white-label',
      path: 'white-label',
      title: 'the white label of customer-facing pages and emails',
      input: whiteLabelInputSchema,
      view: whiteLabelViewSchema,
      get: (s) => s.whiteLabelView(),
      put: (s, input) => s.putWhiteLabel(input),
    }),
    ...section(services, {
      name: 'rate-limits',
      path: 'rate-limits',
      title: "Rate Limits: requests that reach an SBC or a customer's tenant, per caller and per SBC",
      input: rateLimitsInputSchema,
      view: rateLimitsViewSchema,
      get: (s) => s.rateLimits(),
      put: (s, input) => s.putRateLimits(input),
    }),
  ];
}
