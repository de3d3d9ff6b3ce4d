import { consentMissing, recordConsent, requestedPermissions } from '../entra-consent.js';
import {
  type Aadsts,
  entraError,
  missingParameter,
  missingParameterError,
  noStore,
  tenantNotFound,
  tenantNotFoundError,
  traceOf,
  unknownClientError,
} from '../entra-errors.js';
import type { InteractiveFlow, PkceChallenge } from '../entra-grants.js';
import {
  adminApprovalPage,
  consentPage,
  deviceCodePage,
  deviceDonePage,
  errorPage,
  signInPage,
} from '../entra-pages.js';
import {
  clientAllowedIn,
  parseScopes,
  type RequestedScopes,
  redirectUriRegistered,
} from '../entra-scopes.js';
import type { PeerRequest, Reply, Route } from '../router.js';
import { type Application, type SandboxState, SandboxStateError, type Tenant } from '../state.js';

const MULTI_TENANT_ALIASES = new Set(['common', 'organizations']);

/** A request that passed the checks Entra ID answers with an error page (no redirect): where to send answers. */
interface BrowserRequest {
  readonly tenant: Tenant | null;
  readonly application: Application;
  readonly redirectUri: string;
  readonly state: string | null;
}

/**
 * Entra ID's interactive endpoints: `authorize` (authorization code with PKCE), the v2.0 admin consent endpoint,
 * the device authorization endpoint and `devicelogin`, with the sign-in and consent pages between them. Pages
 * post to `/entra/login` and `/entra/consent`; passwords travel only in POST bodies, which are never logged.
 */
export function entraInteractiveRoutes(deps: { readonly state: SandboxState }): Route[] {
  const { state } = deps;

  const pageError = (request: PeerRequest, aadsts: Aadsts): Reply =>
    errorPage({ code: aadsts.code, message: aadsts.message, trace: traceOf(request) });

  /** Tenant, client and redirect URI: mistakes here cannot be sent back to the app, so they are pages. */
  function browserRequest(request: PeerRequest): BrowserRequest | Reply {
    const query = request.url.searchParams;
    const segment = request.params.tenant ?? '';
    const alias = MULTI_TENANT_ALIASES.has(segment.toLowerCase());
    const tenant = alias ? null : (state.tenant(segment) ?? null);
    if (!alias && !tenant) return pageError(request, tenantNotFoundError(segment));
    const clientId = query.get('client_id');
    if (!clientId) return pageError(request, missingParameterError('client_id'));
    const application = state.application(clientId);
    if (!application || (tenant && !clientAllowedIn(application, tenant.id))) {
      return pageError(request, unknownClientError(clientId, tenant?.displayName ?? segment));
    }
    const redirectUri = query.get('redirect_uri');
    if (!redirectUri) return pageError(request, missingParameterError('redirect_uri'));
    if (!redirectUriRegistered(application, redirectUri)) {
      return pageError(request, {
        code: 50011,
        message:
          `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured ` +
          `for the application '${application.appId}'. Make sure the redirect URI sent in the request matches one ` +
          'added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to ' +
          'learn more about how to fix this.',
      });
    }
    return { tenant, application, redirectUri, state: query.get('state') };
  }

  function authorize(request: PeerRequest): Reply {
    const checked = browserRequest(request);
    if ('status' in checked) return checked;
    const query = request.url.searchParams;
    const fail = (error: string, aadsts: Aadsts) => redirectError(request, checked, error, aadsts);
    const responseType = query.get('response_type');
    if (!responseType) return fail('invalid_request', missingParameterError('response_type'));
    if (responseType !== 'code') {
      return fail('unsupported_response_type', {
        code: 700054,
        message: `response_type '${responseType}' is not enabled for the application.`,
      });
    }
    const scope = query.get('scope');
    if (!scope) return fail('invalid_request', missingParameterError('scope'));
    const parsed = parseScopes(state, scope, { tenant: checked.tenant });
    if (!parsed.ok) return fail(parsed.error, parsed.aadsts);
    const challenge = pkceChallenge(query);
    if (challenge === 'invalid') {
      return fail('invalid_request', {
        code: 501471,
        message: "The code_challenge_method is not valid; use 'S256' (or 'plain').",
      });
    }
    const prompt = query.get('prompt');
    // The sandbox keeps no browser session, so a silent request can never succeed.
    if (prompt === 'none') {
      return fail('login_required', {
        code: 50058,
        message: 'A silent sign-in request was sent but no user is signed in.',
      });
    }
    const flow = state.entra.startFlow({
      kind: 'authorize',
      tenantId: checked.tenant?.id ?? null,
      clientId: checked.application.appId,
      scope,
      redirectUri: checked.redirectUri,
      state: checked.state,
      challenge,
      prompt,
      loginHint: query.get('login_hint'),
      userCode: null,
    });
    return signInPage({
      flowId: flow.id,
      appName: checked.application.displayName,
      username: flow.loginHint ?? '',
    });
  }

  function adminConsent(request: PeerRequest): Reply {
    const checked = browserRequest(request);
    if ('status' in checked) return checked;
    // Without `scope`, what the app registration lists (its "static" permissions).
    const scope =
      request.url.searchParams.get('scope') ??
      Object.keys(checked.application.requiredResourceAccess)
        .map((appId) => `${appId}/.default`)
        .join(' ');
    const parsed = parseScopes(state, scope, { tenant: checked.tenant, multipleResources: true });
    if (!parsed.ok)
      return redirectError(request, checked, parsed.error, parsed.aadsts, { admin_consent: 'False' });
    const flow = state.entra.startFlow({
      kind: 'adminconsent',
      tenantId: checked.tenant?.id ?? null,
      clientId: checked.application.appId,
      scope,
      redirectUri: checked.redirectUri,
      state: checked.state,
      challenge: null,
      prompt: null,
      loginHint: null,
      userCode: null,
    });
    return signInPage({ flowId: flow.id, appName: checked.application.displayName, username: '' });
  }

  function deviceAuthorization(request: PeerRequest): Reply {
    const form = new URLSearchParams(request.body.toString('utf8'));
    const segment = request.params.tenant ?? '';
    const alias = MULTI_TENANT_ALIASES.has(segment.toLowerCase());
    const tenant = alias ? null : (state.tenant(segment) ?? null);
    if (!alias && !tenant) return tenantNotFound(request, segment, 'invalid_request');
    const clientId = form.get('client_id');
    if (!clientId) return missingParameter(request, 'client_id');
    const application = state.application(clientId);
    if (!application || (tenant && !clientAllowedIn(application, tenant.id))) {
      return entraError(
        request,
        400,
        'unauthorized_client',
        unknownClientError(clientId, tenant?.displayName ?? segment),
      );
    }
    const scope = form.get('scope');
    if (!scope) return missingParameter(request, 'scope');
    const parsed = parseScopes(state, scope, { tenant });
    if (!parsed.ok) return entraError(request, 400, parsed.error, parsed.aadsts);
    const code = state.entra.createDeviceCode({
      tenantId: tenant?.id ?? null,
      clientId: application.appId,
      scope,
    });
    const verificationUri = `${request.origin}/entra/devicelogin`;
    return {
      status: 200,
      headers: noStore,
      body: {
        user_code: code.userCode,
        device_code: code.deviceCode,
        verification_uri: verificationUri,
        expires_in: Math.max(0, Math.round((code.expiresAt - Date.now()) / 1000)),
        interval: code.interval,
        message:
          `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${code.userCode} ` +
          'to authenticate.',
      },
    };
  }

  function enterCode(request: PeerRequest): Reply {
    const form = new URLSearchParams(request.body.toString('utf8'));
    const code = state.entra.deviceCodeByUserCode(form.get('otc') ?? '');
    if (!code || code.outcome.status !== 'pending' || code.expiresAt <= Date.now()) {
      return deviceCodePage({ error: "That code didn't work. Check the code and try again." });
    }
    const application = state.application(code.clientId);
    if (!application) return pageError(request, unknownClientError(code.clientId, 'organizations'));
    const flow = state.entra.startFlow({
      kind: 'device',
      tenantId: code.tenantId,
      clientId: code.clientId,
      scope: code.scope,
      redirectUri: null,
      state: null,
      challenge: null,
      prompt: null,
      loginHint: null,
      userCode: code.userCode,
    });
    return signInPage({ flowId: flow.id, appName: application.displayName, username: '' });
  }

  function login(request: PeerRequest): Reply {
    const form = new URLSearchParams(request.body.toString('utf8'));
    const context = flowContext(request, form);
    if ('status' in context) return context;
    const { flow, application } = context;
    const username = form.get('login') ?? '';
    const result = state.entra.signIn(flow.tenantId, username, form.get('passwd') ?? '');
    if (!result.ok) {
      return signInPage({
        flowId: flow.id,
        appName: application.displayName,
        username,
        error: `AADSTS${result.code}: ${result.message}`,
      });
    }
    const { tenant, user, globalAdministrator } = result;
    if (!clientAllowedIn(application, tenant.id)) {
      return pageError(request, unknownClientError(application.appId, tenant.displayName));
    }
    flow.signedIn = { tenantId: tenant.id, userId: user.id, globalAdministrator };
    const parsed = parseScopes(state, flow.scope, {
      tenant,
      multipleResources: flow.kind === 'adminconsent',
    });
    if (!parsed.ok) return answerError(request, flow, parsed.error, parsed.aadsts);
    const adminConsent = flow.kind === 'adminconsent';
    const missing = consentMissing(state, tenant, application, parsed.scopes);
    if ((missing || adminConsent) && !globalAdministrator) {
      flow.needsAdminApproval = true;
      return adminApprovalPage({
        flowId: flow.id,
        appName: application.displayName,
        message: `AADSTS90094: ${adminApprovalMessage(application)}`,
        canReturn: flow.kind !== 'device',
      });
    }
    if (missing || adminConsent || flow.prompt === 'consent' || flow.kind === 'device') {
      return consentPage({
        flowId: flow.id,
        appName: application.displayName,
        username: user.userPrincipalName,
        permissions: requestedPermissions(application, parsed.scopes, { appRoles: adminConsent }),
        forOrganization: globalAdministrator,
      });
    }
    return complete(request, flow, tenant, application, parsed.scopes);
  }

  function consent(request: PeerRequest): Reply {
    const form = new URLSearchParams(request.body.toString('utf8'));
    const context = flowContext(request, form);
    if ('status' in context) return context;
    const { flow, application } = context;
    const tenant = flow.signedIn ? state.tenant(flow.signedIn.tenantId) : undefined;
    if (!flow.signedIn || !tenant) return pageError(request, sessionLost());
    if (form.get('action') !== 'accept' || flow.needsAdminApproval)
      return decline(request, flow, application);
    const parsed = parseScopes(state, flow.scope, {
      tenant,
      multipleResources: flow.kind === 'adminconsent',
    });
    if (!parsed.ok) return answerError(request, flow, parsed.error, parsed.aadsts);
    const adminConsent = flow.kind === 'adminconsent';
    if (adminConsent || consentMissing(state, tenant, application, parsed.scopes)) {
      recordConsent(state, tenant, application, parsed.scopes, { appRoles: adminConsent });
    }
    return complete(request, flow, tenant, application, parsed.scopes);
  }

  function complete(
    request: PeerRequest,
    flow: InteractiveFlow,
    tenant: Tenant,
    application: Application,
    scopes: RequestedScopes,
  ): Reply {
    state.entra.endFlow(flow.id);
    const signedIn = flow.signedIn;
    if (!signedIn) return pageError(request, sessionLost());
    if (flow.kind === 'device') return settleDevice(request, flow, application, signedIn);
    const redirectUri = flow.redirectUri ?? '';
    if (flow.kind === 'adminconsent') {
      return redirect(redirectUri, {
        admin_consent: 'True',
        tenant: tenant.id,
        scope: scopes.resources.length > 0 ? flow.scope : '',
        ...(flow.state !== null ? { state: flow.state } : {}),
      });
    }
    const code = state.entra.issueAuthorizationCode({
      tenantId: tenant.id,
      userId: signedIn.userId,
      clientId: application.appId,
      redirectUri,
      scope: flow.scope,
      challenge: flow.challenge,
    });
    return redirect(redirectUri, { code, ...(flow.state !== null ? { state: flow.state } : {}) });
  }

  function decline(request: PeerRequest, flow: InteractiveFlow, application: Application): Reply {
    state.entra.endFlow(flow.id);
    if (flow.kind === 'device') {
      if (flow.needsAdminApproval)
        return pageError(request, { code: 90094, message: adminApprovalMessage(application) });
      return settleDevice(request, flow, application, null);
    }
    const aadsts = flow.needsAdminApproval
      ? { code: 90094, message: adminApprovalMessage(application) }
      : { code: 65004, message: 'User declined to consent to access the app.' };
    return answerError(request, flow, 'access_denied', aadsts, { error_subcode: 'cancel' });
  }

  function settleDevice(
    request: PeerRequest,
    flow: InteractiveFlow,
    application: Application,
    signedIn: InteractiveFlow['signedIn'],
  ): Reply {
    try {
      state.entra.settleDeviceCode(
        flow.userCode ?? '',
        signedIn
          ? { status: 'approved', tenantId: signedIn.tenantId, userId: signedIn.userId }
          : { status: 'declined' },
      );
    } catch (error) {
      if (!(error instanceof SandboxStateError)) throw error;
      return pageError(request, { code: 70019, message: 'Verification code expired.' });
    }
    return deviceDonePage({ appName: application.displayName, approved: signedIn !== null });
  }

  function flowContext(
    request: PeerRequest,
    form: URLSearchParams,
  ): { flow: InteractiveFlow; application: Application } | Reply {
    const flow = state.entra.flow(form.get('flow') ?? '');
    const application = flow ? state.application(flow.clientId) : undefined;
    if (!flow || !application) return pageError(request, sessionLost());
    return { flow, application };
  }

  /** Errors after the redirect URI is known go back to the app, with `state`; device flows show a page. */
  function answerError(
    request: PeerRequest,
    flow: InteractiveFlow,
    error: string,
    aadsts: Aadsts,
    extra: Record<string, string> = {},
  ): Reply {
    if (!flow.redirectUri) return pageError(request, aadsts);
    return redirectError(
      request,
      { redirectUri: flow.redirectUri, state: flow.state },
      error,
      aadsts,
      flow.kind === 'adminconsent' ? { ...extra, admin_consent: 'False' } : extra,
    );
  }

  return [
    { method: 'GET', path: '/:tenant/oauth2/v2.0/authorize', handle: authorize },
    { method: 'GET', path: '/:tenant/v2.0/adminconsent', handle: adminConsent },
    { method: 'POST', path: '/:tenant/oauth2/v2.0/devicecode', handle: deviceAuthorization },
    { method: 'GET', path: '/devicelogin', handle: () => deviceCodePage() },
    { method: 'POST', path: '/devicelogin', handle: enterCode },
    { method: 'POST', path: '/login', handle: login },
    { method: 'POST', path: '/consent', handle: consent },
  ];
}

/** `code_challenge_method` defaults to `plain` when a challenge is sent without one (RFC 7636 4.3). */
function pkceChallenge(query: URLSearchParams): PkceChallenge | null | 'invalid' {
  const value = query.get('code_challenge');
  if (!value) return null;
  const method = query.get('code_challenge_method') ?? 'plain';
  if (method !== 'S256' && method !== 'plain') return 'invalid';
  return { value, method };
}

function adminApprovalMessage(application: Application): string {
  return (
    `${application.displayName} needs permission to access resources in your organization that only an admin ` +
    'can grant. Please ask an admin to grant permission to this app before you can use it.'
  );
}

function sessionLost(): Aadsts {
  return { code: 90014, message: "The required field 'flow' is missing or the sign-in session has expired." };
}

function redirect(uri: string, params: Readonly<Record<string, string>>): Reply {
  const target = new URL(uri);
  for (const [name, value] of Object.entries(params)) target.searchParams.set(name, value);
  return { status: 302, headers: { ...noStore, location: target.toString() } };
}

/** An OAuth error sent back to the app's redirect URI, with the AADSTS description and trace ids. */
function redirectError(
  request: PeerRequest,
  to: { readonly redirectUri: string; readonly state: string | null },
  error: string,
  aadsts: Aadsts,
  extra: Readonly<Record<string, string>> = {},
): Reply {
  const { traceId, correlationId, timestamp } = traceOf(request);
  return redirect(to.redirectUri, {
    error,
    error_description:
      `AADSTS${aadsts.code}: ${aadsts.message} Trace ID: ${traceId} Correlation ID: ${correlationId} ` +
      `Timestamp: ${timestamp}`,
    ...(to.state !== null ? { state: to.state } : {}),
    ...extra,
  });
}
