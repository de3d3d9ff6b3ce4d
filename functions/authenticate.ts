import type { HttpResponseInit } from '@azure/functions';
import { z } from 'zod';
import type { ConsentFlow } from '../shared/consent/consent-flow.js';
import { NOT_CONSENTED, OTHER_BROWSER, OTHER_BROWSER_WIZARD } from '../shared/consent/consent-service.js';
import { bindBrowser, browserKeyOf } from '../shared/http/browser-binding.js';
import { isDomainError } from '../shared/errors/domain-errors.js';
import { STATUS_OF_KIND } from '../shared/http/problem-mapper.js';
import type { Invitation } from '../shared/invitations/invitation.js';
import { DEVICE_CODE, THANK_YOU, WELCOME, WIZARD_SIGNED_IN } from '../shared/pages/consent-templates.js';
import { type Brand, redirectTo, renderPage } from '../shared/pages/page-renderer.js';
import {
  definePage,
  messagePage,
  type PageEdge,
  type PageInput,
  readForm,
  sameSite,
} from '../shared/http/page-route.js';
import type { AppServices } from './app-services.js';
import type { ProviderSettingsService } from '../shared/provider/provider-settings-service.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';

const LINK = 'authenticate/{linkId}';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const csrfField = z.string({ error: 'The form is incomplete; reload the page.' }).max(100);

const deviceForm = z.object({
  csrf: csrfField,
  m365AdminEmail: z
    .string()
    .trim()
    .pipe(
      z.email({
        error: 'Enter the M365 admin username, an email address such as admin@contoso.onmicrosoft.com.',
      }),
    ),
});
const signInForm = z.object({ csrf: csrfField });
const appRegistrationForm = z.object({
  csrf: csrfField,
  tenantId: z
    .string()
    .trim()
    .regex(GUID, 'The Customer Microsoft Tenant ID is a GUID (Directory (tenant) ID).'),
  clientId: z.string().trim().regex(GUID, 'The Application (Client) ID is a GUID.'),
  clientSecret: z.string().min(1, 'Enter the Client Secret.').max(1024, 'The Client Secret is too long.'),
});

const base = (linkId: string) => `/authenticate/${linkId}`;
const csrfData = (linkId: string) => `customer-pages/${linkId}`;

/** The last page; after a consent it names the tenant and the account, so the admin sees what was connected. */
const thankYou = (brand: Brand, appRegistrationValid = false, flow: ConsentFlow | null = null) =>
  renderPage(
    THANK_YOU,
    { appRegistrationValid, signedIn: flow?.signedIn ?? null },
    { title: 'Thank you', brand },
  );

/** The invitation behind a link, or the page that says why it cannot be used. */
async function openInvitation(
  services: AuthenticatePagesDeps,
  input: PageInput,
): Promise<Invitation | HttpResponseInit> {
  const { brand } = input;
  const state = await services.invitations.openLink(input.params.linkId ?? '');
  switch (state.kind) {
    case 'valid':
      return state.invitation;
    case 'completed':
      return thankYou(brand);
    case 'expired':
      return messagePage(brand, 410, {
        heading: 'This invitation has expired',
        message: `The invitation link expired on ${formatDate(state.invitation.expiresAt)}.`,
        advice: `Ask ${brand.displayName} to send you a reminder; it carries a new link.`,
      });
    case 'revoked':
      return messagePage(brand, 410, {
        heading: 'This invitation was withdrawn',
        message: `${brand.displayName} withdrew this invitation, so the link no longer works.`,
        advice: 'Ask them for a new invitation if you still need to connect your tenant.',
      });
    default:
      return messagePage(brand, 404, {
        heading: 'This link is not valid',
        message: 'No invitation matches this link.',
        advice:
          'Open the whole link from the invitation email, or ask your service provider for a new invitation.',
      });
  }
}

const isPage = (value: Invitation | HttpResponseInit): value is HttpResponseInit => !('linkHash' in value);

async function welcome(
  services: AuthenticatePagesDeps,
  input: PageInput,
  invitation: Invitation,
  extra: Record<string, unknown> = {},
  status = 200,
): Promise<HttpResponseInit> {
  const linkId = input.params.linkId ?? '';
  return renderPage(
    WELCOME,
    {
      customerId: invitation.id,
      fullName: invitation.fullName,
      expiresAt: formatDate(invitation.expiresAt),
      m365AdminEmail: invitation.m365AdminEmail ?? invitation.invitationEmail,
      deviceCode: (await services.providerSettings.tokenApp())?.deviceCode === true,
      base: base(linkId),
      csrf: services.pageSigner.sign(csrfData(linkId)),
      ...extra,
    },
    {
      title: `Welcome ${invitation.id}`,
      brand: input.brand,
      status,
      formTargets: [new URL(services.settings.endpoints.authorityHost).origin],
    },
  );
}

/** Our own page posted this form, for this link. */
function formIsOurs(services: AuthenticatePagesDeps, input: PageInput, csrf: string): boolean {
  return (
    sameSite(input.request, services.settings.publicBaseUrl) &&
    services.pageSigner.verify(csrfData(input.params.linkId ?? ''), csrf)
  );
}

const forbidden = (brand: Brand) =>
  messagePage(brand, 403, {
    heading: 'The form could not be accepted',
    message: 'It did not come from this page, or the page is out of date.',
    advice: 'Open the invitation link again and retry.',
  });

/**
 * The device-code flow of this invitation, polled; `other-browser` when this browser did not start it, null when
 * the id belongs to something else.
 */
async function flowOf(
  services: AuthenticatePagesDeps,
  input: PageInput,
  invitation: Invitation,
): Promise<ConsentFlow | 'other-browser' | null> {
  const poll = await services.consent.pollDeviceCode(input.params.flowId ?? '', browserKeyOf(input.request));
  if (poll.kind !== 'flow') return poll.kind === 'other-browser' ? poll.kind : null;
  const { flow } = poll;
  return flow.subject.type === 'invitation' && flow.subject.invitationId === invitation.id ? flow : null;
}

/** The page for a callback or poll from another browser than the one that started the flow: fixed text. */
const otherBrowser = (brand: Brand, wizard = false) =>
  messagePage(brand, 403, {
    heading: 'This sign-in belongs to another browser',
    message: wizard ? OTHER_BROWSER_WIZARD : OTHER_BROWSER,
    advice: 'If someone sent you a sign-in link or a code, do not use it: ask your service provider instead.',
    code: 'consent_browser_mismatch',
  });

function devicePage(input: PageInput, flow: ConsentFlow): HttpResponseInit {
  const device = flow.device!;
  const flowUrl = `${base(input.params.linkId ?? '')}/device/${flow.id}`;
  const teams = flow.step === 'teams';
  return renderPage(
    DEVICE_CODE,
    {
      stepTitle: teams
        ? 'Step 2 of 2: allow access to the Teams admin API'
        : 'Step 1 of 2: sign in with your Microsoft 365 administrator account',
      stepIntro: teams
        ? 'Microsoft asks for consent once per service. Sign in again with the same account and accept the permissions for the Skype and Teams Tenant Admin API.'
        : 'Sign in at Microsoft with the administrator account and accept the permissions requested.',
      verificationUri: device.verificationUri,
      userCode: device.userCode,
      expiresAt: formatDate(device.expiresAt),
      step: flow.step,
      flowUrl,
      statusUrl: `${flowUrl}/status`,
      intervalMs: device.intervalSeconds * 1000,
    },
    { title: 'Start authentication', brand: input.brand },
  );
}

export type AuthenticatePagesDeps = PageEdge & {
  readonly providerSettings: Pick<ProviderSettingsService, 'tokenApp'>;
} & Pick<AppServices, 'consent' | 'credentials' | 'invitations' | 'pageSigner' | 'settings'>;

export function createAuthenticatePages(services: AuthenticatePagesDeps): FunctionDefinition[] {
  return [
    definePage(services, {
      name: 'authenticate-callback',
      methods: ['GET'],
      route: 'authenticate/OAuth2Callback',
      async handler({ request, brand }) {
        const outcome = await services.consent.handleCallback(
          new URLSearchParams(request.query),
          browserKeyOf(request),
        );
        if (outcome.kind === 'redirect') return redirectTo(outcome.url);
        if (outcome.kind === 'complete') {
          return outcome.flow.subject.type === 'invitation'
            ? thankYou(brand, false, outcome.flow)
            : renderPage(
                WIZARD_SIGNED_IN,
                { tenant: outcome.flow.tenant, signedIn: outcome.flow.signedIn },
                { title: 'Authentication complete', brand },
              );
        }
        if (outcome.kind === 'invalid' && outcome.reason === 'other-browser')
          return otherBrowser(brand, outcome.flow?.subject.type === 'wizard');
        const retry =
          outcome.flow?.subject.type === 'wizard'
            ? 'Start the sign-in again from the onboarding wizard.'
            : 'Open the invitation link again to retry.';
        if (outcome.kind === 'failed') {
          if (outcome.reason === 'other-tenant') {
            return messagePage(brand, 403, {
              heading: "This is not the customer's tenant",
              message: outcome.message,
              advice: retry,
              code: 'consent_tenant_mismatch',
            });
          }
          return messagePage(brand, outcome.reason === 'denied' ? 403 : 502, {
            heading: outcome.reason === 'denied' ? 'Consent was not given' : 'Authentication failed',
            message: outcome.reason === 'denied' ? NOT_CONSENTED : outcome.message,
            advice: retry,
          });
        }
        if (outcome.reason === 'replayed') {
          return messagePage(brand, 409, {
            heading: 'This sign-in answer was already used',
            message: 'Each answer from Microsoft is accepted once.',
            advice: `If the first one did not complete: ${retry}`,
          });
        }
        if (outcome.reason === 'refused') {
          return messagePage(brand, 410, {
            heading: 'This invitation can no longer be used',
            message: outcome.message ?? 'The invitation expired or was withdrawn while you were signing in.',
            advice: 'Ask your service provider for a new invitation.',
          });
        }
        if (outcome.reason === 'expired') {
          return messagePage(brand, 410, {
            heading: 'The sign-in took too long',
            message: 'A sign-in must be completed within 10 minutes.',
            advice: retry,
          });
        }
        return messagePage(brand, 400, {
          heading: 'This sign-in answer is not valid',
          message: 'It does not belong to a sign-in started here.',
          advice: 'Start again from the invitation link or the onboarding wizard.',
        });
      },
    }),
    definePage(services, {
      name: 'authenticate-sign-in-launch',
      methods: ['GET'],
      route: 'authenticate/launch/{launchToken}',
      async handler({ request, params, brand }) {
        const binding = bindBrowser(request);
        const outcome = await services.consent.launchSignIn(params.launchToken ?? '', binding.key);
        // The cookie is set only with the redirect: a refused link binds nothing.
        if (outcome.kind === 'redirect') return { ...redirectTo(outcome.url), cookies: [binding.cookie] };
        const again = 'Choose Sign in now again in the onboarding wizard; it gives a new link.';
        if (outcome.reason === 'used') {
          return messagePage(brand, 410, {
            heading: 'This sign-in link was already used',
            message: 'Each Sign in now link starts one sign-in, in the browser that opened it first.',
            advice: `If that was not you, or it did not complete: ${again}`,
          });
        }
        if (outcome.reason === 'expired') {
          return messagePage(brand, 410, {
            heading: 'This sign-in link has expired',
            message: 'A Sign in now link must be opened within 5 minutes.',
            advice: again,
          });
        }
        return messagePage(brand, 404, {
          heading: 'This sign-in link is not valid',
          message: 'No sign-in was started with this link.',
          advice: `Open the whole link, or: ${again}`,
        });
      },
    }),
    definePage(services, {
      name: 'authenticate-welcome',
      methods: ['GET'],
      route: LINK,
      async handler(input) {
        const invitation = await openInvitation(services, input);
        return isPage(invitation) ? invitation : welcome(services, input, invitation);
      },
    }),
    definePage(services, {
      name: 'authenticate-device-start',
      methods: ['POST'],
      route: `${LINK}/device`,
      async handler(input) {
        const invitation = await openInvitation(services, input);
        if (isPage(invitation)) return invitation;
        const form = await readForm(input.request, deviceForm);
        if (!form.ok) return welcome(services, input, invitation, { deviceError: form.message }, form.status);
        if (!formIsOurs(services, input, form.data.csrf)) return forbidden(input.brand);
        try {
          const binding = bindBrowser(input.request);
          const flow = await services.consent.startDeviceCode(
            { type: 'invitation', invitationId: invitation.id },
            form.data.m365AdminEmail,
            binding.key,
          );
          return {
            ...redirectTo(`${base(input.params.linkId ?? '')}/device/${flow.id}`),
            cookies: [binding.cookie],
          };
        } catch (error) {
          if (!isDomainError(error) || error.code === 'prerequisite_missing') throw error;
          return welcome(
            services,
            input,
            invitation,
            { deviceError: error.detail ?? error.title },
            STATUS_OF_KIND[error.kind],
          );
        }
      },
    }),
    definePage(services, {
      name: 'authenticate-device',
      methods: ['GET'],
      route: `${LINK}/device/{flowId}`,
      async handler(input) {
        const invitation = await openInvitation(services, input);
        if (isPage(invitation)) return invitation;
        const flow = await flowOf(services, input, invitation);
        if (flow === 'other-browser') return otherBrowser(input.brand);
        if (!flow) {
          return messagePage(input.brand, 404, {
            heading: 'This authentication is not known',
            message: 'It may have been started from another invitation.',
            advice: 'Open the invitation link again and press Start authentication.',
          });
        }
        if (flow.status === 'complete') return thankYou(input.brand, false, flow);
        if (flow.status === 'failed') {
          return welcome(services, input, invitation, {
            deviceError: flow.message,
            deviceErrorCode: flow.failureCode ?? null,
          });
        }
        return devicePage(input, flow);
      },
    }),
    definePage(services, {
      name: 'authenticate-device-status',
      methods: ['GET'],
      route: `${LINK}/device/{flowId}/status`,
      async handler(input) {
        const json = (status: number, body: unknown): HttpResponseInit => ({
          status,
          headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
          body: JSON.stringify(body),
        });
        const invitation = await openInvitation(services, input);
        if (isPage(invitation)) return json(200, { status: 'complete' });
        const flow = await flowOf(services, input, invitation);
        if (flow === 'other-browser')
          return json(403, { status: 'refused', code: 'consent_browser_mismatch' });
        if (!flow) return json(404, { status: 'unknown' });
        return json(200, {
          status: flow.status,
          step: flow.step,
          intervalSeconds: flow.device?.intervalSeconds ?? 5,
        });
      },
    }),
    definePage(services, {
      name: 'authenticate-sign-in',
      methods: ['POST'],
      route: `${LINK}/sign-in`,
      async handler(input) {
        const invitation = await openInvitation(services, input);
        if (isPage(invitation)) return invitation;
        const form = await readForm(input.request, signInForm);
        if (!form.ok || !formIsOurs(services, input, form.data.csrf)) return forbidden(input.brand);
        const binding = bindBrowser(input.request);
        const { url } = await services.consent.startSignIn(
          { type: 'invitation', invitationId: invitation.id },
          invitation.m365AdminEmail,
          binding.key,
        );
        return { ...redirectTo(url), cookies: [binding.cookie] };
      },
    }),
    definePage(services, {
      name: 'authenticate-app-registration',
      methods: ['POST'],
      route: `${LINK}/app-registration`,
      async handler(input) {
        const invitation = await openInvitation(services, input);
        if (isPage(invitation)) return invitation;
        const form = await readForm(input.request, appRegistrationForm);
        if (!form.ok) return welcome(services, input, invitation, { appError: form.message }, form.status);
        const { csrf, ...registration } = form.data;
        if (!formIsOurs(services, input, csrf)) return forbidden(input.brand);
        try {
          await services.credentials.connectAppRegistration(invitation.id, registration);
        } catch (error) {
          if (!isDomainError(error, 'unprocessable')) throw error;
          return welcome(
            services,
            input,
            invitation,
            { appError: error.detail, tenantId: registration.tenantId, clientId: registration.clientId },
            422,
          );
        }
        await services.invitations.markAuthenticated(invitation.id, null);
        return thankYou(input.brand, true);
      },
    }),
  ];
}

function formatDate(iso: string): string {
  return new Date(iso).toUTCString().replace(' GMT', ' UTC');
}
