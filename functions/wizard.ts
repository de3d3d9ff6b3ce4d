import { z } from 'zod';
import { createCustomerSchema } from '../shared/customers/customer.js';
import { SHORT_NAME_PATTERN } from '../shared/customers/short-name.js';
import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import type { WizardSession } from '../shared/wizard/wizard-session.js';
import { domainErrors } from '../shared/errors/domain-errors.js';
import {
  appRegistrationMethodSchema,
  guid,
  inviteMethodSchema,
} from '../shared/onboarding/m365-authentication.js';
import { invitationListSchema } from '../shared/invitations/invitation-views.js';
import { prefixesBodySchema, prefixesFromBody } from '../shared/onboarding/prefixes.js';
import { sbcSiteInputSchema } from '../shared/onboarding/sbc-site.js';
import {
  dnsPageSchema,
  m365RoutingPageSchema,
  sbcScriptsPageSchema,
} from '../shared/onboarding/wizard-pages.js';
import { WIZARD_SESSION_ID_PATTERN } from '../shared/wizard/wizard-session.js';
import {
  toWizardResetView,
  toWizardSessionView,
  wizardResetViewSchema,
  wizardSessionViewSchema,
} from '../shared/wizard/wizard-views.js';
import { defineTimer } from '../shared/platform/background.js';
import { productLog } from '../shared/platform/product-log.js';
import type { AppServices } from './app-services.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import { listPage, pagingQuery } from '../shared/paging/paging.js';

const TAGS = ['Onboarding wizard'];
const ROLES = ['provider-admin'] as const;
const SESSION = 'api/v1/wizard-sessions/{sessionId}';
const SUBMITTED_OR_MISSING =
  'An earlier step is missing, or the session was submitted (wizard_submitted; `task` is the task it queued).';
/** Every step loads the session, which may have expired since the last one. */
const EXPIRED = 'The session expired: ten minutes passed without a step.';
const sessionParams = z.strictObject({ sessionId: z.string().regex(WIZARD_SESSION_ID_PATTERN) });
const connectionSchema = z.discriminatedUnion(
  'method',
  [
    inviteMethodSchema,
    z.strictObject({
      method: z.literal('sign-in').meta({
        description:
          "Sign in now: the customer's admin signs in at Microsoft (authorization code with PKCE).",
      }),
      loginHint: z.email({ error: 'M365 admin username must be an email address.' }).optional(),
    }),
    appRegistrationMethodSchema,
  ],
  { error: 'method must be "invite", "sign-in" or "app-registration".' },
);

const m365SettingsSchema = z.strictObject({
  overrideAdminDomain: z
    .string({ error: 'Override Admin Domain is required.' })
    .regex(
      /^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/,
      'Override Admin Domain must be a domain name, e.g. contoso.onmicrosoft.com.',
    ),
  grantAdminAccessTo: z
    .email({ error: 'Grant Admin Access to must be a user principal name.' })
    .nullable()
    .default(null),
  teamsNotificationAppId: guid('Teams Notification Service Application ID').nullable().default(null),
  teamsNotificationSecret: z.string().min(1).max(1024).optional().meta({ description: 'Write-only.' }),
});

const owner = (principal: { subject: string } | null) => {
  if (!principal) throw domainErrors.unauthenticated('Sign in first.');
  return principal.subject;
};

const view = (status: number, session: Parameters<typeof toWizardSessionView>[0]) => ({
  status,
  body: toWizardSessionView(session),
});

export type WizardFunctionsDeps = ApiEdge & Pick<AppServices, 'consent' | 'tokenApp' | 'wizard'>;

export function createWizardFunctions(services: WizardFunctionsDeps): FunctionDefinition[] {
  return [
    defineApiRoute(services, {
      name: 'wizard-open',
      method: 'POST',
      route: 'api/v1/wizard-sessions',
      summary: 'Open the onboarding wizard: a server-side session of ten minutes, renewed by every step',
      tags: TAGS,
      roles: ROLES,
      responses: {
        201: { description: 'A new, empty session.', schema: wizardSessionViewSchema, headers: ['location'] },
      },
      handler: async ({ principal }) => {
        const session = await services.wizard.open(owner(principal));
        return {
          ...view(201, session),
          headers: { location: `/api/v1/wizard-sessions/${encodeURIComponent(session.id)}` },
        };
      },
    }),
    defineApiRoute(services, {
      name: 'wizard-get',
      method: 'GET',
      route: SESSION,
      summary: 'Read the wizard session (renews it)',
      tags: TAGS,
      roles: ROLES,
      params: sessionParams,
      responses: { 200: { description: 'The session.', schema: wizardSessionViewSchema } },
      errors: { gone: EXPIRED },
      handler: async ({ params, principal }) =>
        view(200, await services.wizard.get(params.sessionId, owner(principal))),
    }),
    defineApiRoute(services, {
      name: 'wizard-reset',
      method: 'DELETE',
      route: SESSION,
      summary:
        'Reset: discard the wizard session and the Microsoft 365 credentials it captured (not submitted)',
      tags: TAGS,
      roles: ROLES,
      params: sessionParams,
      responses: {
        200: {
          description:
            "Discarded. When the session had captured credentials, they are deleted and `message` says what the customer's admin should revoke.",
          schema: wizardResetViewSchema,
        },
      },
      handler: async ({ params, principal }) => {
        const outcome = await services.wizard.reset(params.sessionId, owner(principal));
        const deleted = outcome.credentialsDeleted;
        return {
          status: 200,
          body: toWizardResetView(outcome),
          ...(deleted
            ? {
                changes: {
                  credentials: {
                    before: { customerId: deleted.customerId, tenantId: deleted.tenantId },
                    after: null,
                  },
                },
              }
            : {}),
        };
      },
    }),
    defineTimer({
      name: 'wizard-sweep',
      // Sessions last ten minutes: what one left behind is gone within about fifteen.
      schedule: '0 */5 * * * *',
      async run(context) {
        const { deleted, released } = await services.wizard.sweep();
        if (deleted + released > 0) {
          productLog(
            context,
            'info',
            `Wizard sweep: ${deleted} abandoned credentials deleted, ${released} handed to their customer.`,
          );
        }
      },
    }),
    defineApiRoute(services, {
      name: 'wizard-customer',
      method: 'PUT',
      route: `${SESSION}/customer`,
      summary: 'The first page, "Add New Customer": Full Name, Short Name, License Type, Licensed Users',
      tags: TAGS,
      roles: ROLES,
      params: sessionParams,
      body: createCustomerSchema,
      responses: { 200: { description: 'Accepted for this onboarding.', schema: wizardSessionViewSchema } },
      errors: {
        gone: EXPIRED,
        conflict: 'Short Name taken, no license left, or the session was submitted already.',
      },
      handler: async ({ params, body, principal }) =>
        view(200, await services.wizard.setCustomer(params.sessionId, owner(principal), body)),
    }),
    defineApiRoute(services, {
      name: 'wizard-connection',
      method: 'POST',
      route: `${SESSION}/connection`,
      summary:
        "Connect the customer's Microsoft 365: email a link to the IT administrator, sign in now, or use a known app registration",
      tags: TAGS,
      roles: ROLES,
      params: sessionParams,
      body: connectionSchema,
      responses: {
        200: { description: 'Connected, or the invitation sent.', schema: wizardSessionViewSchema },
      },
      errors: {
        gone: EXPIRED,
        conflict:
          'A prerequisite setting is missing ("No ClientId was specified."), or the step is out of order.',
        unprocessable:
          'The app registration does not yield tokens (`app_registration_invalid`), or lacks a Microsoft Graph ' +
          'permission onboarding or replication needs (`app_registration_permission_missing`, one error per ' +
          'permission); nothing was stored.',
        upstream_failed: 'Microsoft Graph did not answer the permission check; nothing was stored.',
      },
      handler: async ({ params, body, principal }) => {
        const who = owner(principal);
        if (body.method === 'sign-in') {
          // Checked before the session changes, so a missing token app leaves the session as it was.
          await services.tokenApp();
          const { session, customerId } = await services.wizard.beginSignIn(params.sessionId, who);
          // The caller holds a bearer token, not a cookie of this host: the sign-in is bound to a browser only
          // when one opens this one-time link on our host, which sets the cookie and goes on to Microsoft.
          const { url } = await services.consent.createSignInLaunch(
            { type: 'wizard', sessionId: session.id, owner: who, customerId },
            body.loginHint ?? null,
          );
          return { status: 200, body: { ...toWizardSessionView(session), signInUrl: url } };
        }
        const session =
          body.method === 'invite'
            ? await services.wizard.inviteItAdministrator(params.sessionId, who, body.invitationEmail)
            : await services.wizard.useAppRegistration(params.sessionId, who, body);
        return view(200, session);
      },
    }),
    defineApiRoute(services, {
      name: 'wizard-pending-invitations',
      method: 'GET',
      route: `${SESSION}/pending-invitations`,
      summary: 'Pending Invitations: `pending-authentication` or `authentication-complete`',
      tags: TAGS,
      roles: ROLES,
      params: sessionParams,
      query: pagingQuery(),
      responses: {
        200: {
          description: 'A page of invitations not yet added as customers.',
          schema: invitationListSchema,
        },
      },
      errors: { gone: EXPIRED },
      handler: async ({ params, principal, query, request }) => ({
        status: 200,
        body: listPage(
          await services.wizard.pendingInvitations(params.sessionId, owner(principal)),
          (invitation) => invitation.id,
          query,
          request.url,
        ),
      }),
    }),
    defineApiRoute(services, {
      name: 'wizard-add-invitation',
      method: 'POST',
      route: `${SESSION}/pending-invitations/{invitationId}/add`,
      summary: 'Add: continue onboarding with an invitation whose authentication is complete',
      tags: TAGS,
      roles: ROLES,
      params: z.strictObject({
        sessionId: z.string().regex(WIZARD_SESSION_ID_PATTERN),
        invitationId: z.string().regex(SHORT_NAME_PATTERN),
      }),
      responses: {
        200: {
          description: "The session now carries the invitation's customer and tenant.",
          schema: wizardSessionViewSchema,
        },
      },
      errors: { conflict: 'Authentication is still pending.' },
      handler: async ({ params, principal }) =>
        view(
          200,
          await services.wizard.addInvitation(params.sessionId, owner(principal), params.invitationId),
        ),
    }),
    defineApiRoute(services, {
      name: 'wizard-m365-settings',
      method: 'PUT',
      route: `${SESSION}/m365-settings`,
      summary:
        'The Microsoft 365 Settings page: Override Admin Domain, Grant Admin Access to, Teams Notification Service',
      tags: TAGS,
      roles: ROLES,
      params: sessionParams,
      body: m365SettingsSchema,
      responses: { 200: { description: 'Saved in the session.', schema: wizardSessionViewSchema } },
      errors: {
        gone: EXPIRED,
        conflict: "The customer's Microsoft 365 tenant is not connected yet, or the session was submitted.",
      },
      handler: async ({ params, body, principal }) =>
        view(200, await services.wizard.saveM365Settings(params.sessionId, owner(principal), body)),
    }),
    page(services, {
      name: 'wizard-dns',
      path: 'dns',
      summary:
        'Provision M365 Domain and DNS: automatic, two-step or manual; Region/Country and License Plan',
      body: dnsPageSchema,
      save: (services, id, who, body) => services.wizard.saveDns(id, who, body),
    }),
    page(services, {
      name: 'wizard-m365-routing',
      path: 'm365-routing',
      summary:
        'Configure M365 default routing: Online PSTN Gateway, M365 Onboarding and Cleanup Scripts, Customer Variables',
      body: m365RoutingPageSchema,
      save: (services, id, who, body) => services.wizard.saveM365Routing(id, who, body),
    }),
    page(services, {
      name: 'wizard-sbc',
      path: 'sbc',
      summary:
        'The SBC page: Configure SBC, Sbc Site Name, Sbc Configuration, Region, Carrier, Carrier Registration, CAC',
      body: sbcSiteInputSchema,
      checksSbc: true,
      save: (services, id, who, body) => services.wizard.saveSbc(id, who, body),
    }),
    page(services, {
      name: 'wizard-prefixes',
      path: 'prefixes',
      summary: 'SBC number prefixes: typed, or "Update from CSV" (dialPlanName,prefix,tag)',
      body: prefixesBodySchema,
      checksSbc: true,
      save: (services, id, who, body) => services.wizard.savePrefixes(id, who, prefixesFromBody(body)),
    }),
    page(services, {
      name: 'wizard-sbc-scripts',
      path: 'sbc-scripts',
      summary: 'SBC scripts: SBC Onboarding Script, SBC Cleanup Script, Customer Variables',
      body: sbcScriptsPageSchema,
      save: (services, id, who, body) => services.wizard.saveSbcScripts(id, who, body),
    }),
  ];
}

/** A later wizard page: validated, stored in the session, the whole session returned. */
function page<B extends z.ZodType>(
  services: WizardFunctionsDeps,
  spec: {
    name: string;
    path: string;
    summary: string;
    body: B;
    /** The page's values are checked against the chosen SBC, which may not answer. */
    checksSbc?: boolean;
    save: (
      services: WizardFunctionsDeps,
      sessionId: string,
      owner: string,
      body: z.output<B>,
    ) => Promise<WizardSession>;
  },
) {
  return defineApiRoute(services, {
    name: spec.name,
    method: 'PUT',
    route: `${SESSION}/${spec.path}`,
    summary: spec.summary,
    tags: TAGS,
    roles: ROLES,
    params: sessionParams,
    body: spec.body,
    responses: { 200: { description: 'Saved in the session.', schema: wizardSessionViewSchema } },
    errors: {
      gone: EXPIRED,
      conflict: SUBMITTED_OR_MISSING,
      ...(spec.checksSbc
        ? {
            upstream_failed:
              "The region's SBC did not answer, so its carriers, CAC profiles and dial plans could not be checked.",
          }
        : {}),
    },
    handler: async ({ params, body, principal }) =>
      view(200, await spec.save(services, params.sessionId, owner(principal), body as z.output<B>)),
  });
}
