import type { CustomerCredential } from '../credentials/credential.js';
import type { CredentialService } from '../credentials/credential-service.js';
import type { TokenApp, TokenAppClients } from '../credentials/token-app-client.js';
import { DomainError } from '../errors/domain-errors.js';
import { AADSTS_MESSAGES, aadstsCode, describeEntraFailure } from '../m365/aadsts.js';
import { createPkcePair, EntraOAuthError, type TokenSet } from '../m365/entra-oauth.js';
import type { SecretBox } from '../secrets/secret-box.js';
import {
  type ConsentFlow,
  type ConsentRefusalCode,
  type ConsentStep,
  type ConsentSubject,
  FLOW_ID_PATTERN,
  hashBrowserKey,
  hashLaunchToken,
  LAUNCH_TOKEN_PATTERN,
  newConsentFlowId,
  newLaunchToken,
  sameBrowser,
  type SignedInAccount,
  SIGN_IN_LAUNCH_TTL_MS,
  SIGN_IN_TTL_MS,
  scopeFor,
  tenantHint,
} from './consent-flow.js';
import { VersionConflictError } from '../errors/domain-errors.js';
import type { ConsentFlowStore, SignInLaunchStore } from './consent-flow-store.js';

/** The manual's words when the admin refuses consent (Cancel on Microsoft's consent screen). */
export const NOT_CONSENTED = 'The administrator has not consented to use the application!';
export const CODE_EXPIRED = 'The code expired before it was used. Start authentication again.';
/**
 * A callback or poll from a browser other than the one that started the flow: a sign-in link or device code
 * forwarded to someone else. Fixed text: nothing of the request is echoed.
 */
export const OTHER_BROWSER =
  'This sign-in was started in another browser. Open the invitation link in this browser and start again.';
/** The same for the wizard's Sign in now, whose start is its one-time link rather than an invitation. */
export const OTHER_BROWSER_WIZARD =
  'This sign-in was started in another browser. Choose Sign in now again in the onboarding wizard and open its link in the browser that signs in.';
export const DEVICE_CODE_DISABLED =
  'Sign-in with a code is not offered. Use "Sign in with Microsoft" in this browser.';
/** Someone of another tenant signed in for a customer whose tenant is known: nothing is stored. */
export const OTHER_TENANT =
  "The account that signed in belongs to another Microsoft 365 tenant than this customer's. Nothing was changed; sign in with an administrator of the customer's own tenant.";

/** Where a completed consent lands: the invitation or the wizard session that asked for it. */
export interface ConsentSink {
  /** Why the subject can no longer take a consent (an invitation expired or revoked meanwhile), or null. */
  refusal(subject: ConsentSubject): Promise<string | null>;
  /** The tenant the subject's customer is already connected to, or null for a first-time tenant. */
  expectedTenant(subject: ConsentSubject): Promise<string | null>;
  completed(subject: ConsentSubject, credential: CustomerCredential): Promise<void>;
}

/** What the OAuth2Callback page shows, or where it sends the browser next. */
export type CallbackOutcome =
  | { readonly kind: 'complete'; readonly flow: ConsentFlow }
  | { readonly kind: 'redirect'; readonly url: string }
  | {
      readonly kind: 'failed';
      readonly reason: 'denied' | 'error' | 'other-tenant';
      readonly message: string;
      readonly flow: ConsentFlow;
    }
  | {
      readonly kind: 'invalid';
      readonly reason: 'unknown' | 'replayed' | 'expired' | 'refused' | 'other-browser';
      readonly flow: ConsentFlow | null;
      readonly message?: string;
    };

/** A browser opening the wizard's launch link: on to Microsoft, or why the link does not work. */
export type LaunchOutcome =
  | { readonly kind: 'redirect'; readonly url: string }
  | { readonly kind: 'invalid'; readonly reason: 'unknown' | 'used' | 'expired' };

/** A device-code poll: the flow, or why the caller may not see it. */
export type DevicePoll =
  | { readonly kind: 'flow'; readonly flow: ConsentFlow }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'other-browser' };

export interface ConsentService {
  /**
   * Starts the device-code flow: the customer's admin enters the returned code at Microsoft. `browserKey` is the
   * starting browser's binding cookie; only that browser may poll.
   */
  startDeviceCode(
    subject: ConsentSubject,
    m365AdminEmail: string | null,
    browserKey: string,
  ): Promise<ConsentFlow>;
  /**
   * Asks Microsoft once whether the code was used (at most once per interval); moves to the Teams step or
   * completes. Another browser than the starting one gets `other-browser` and nothing is asked or changed.
   */
  pollDeviceCode(flowId: string, browserKey: string | null): Promise<DevicePoll>;
  /**
   * Starts a sign-in (authorization code with PKCE) in the browser with `browserKey`; returns Microsoft's URL to
   * send that browser to. Only that browser's callback is accepted.
   */
  startSignIn(
    subject: ConsentSubject,
    loginHint: string | null,
    browserKey: string,
  ): Promise<{ flow: ConsentFlow; url: string }>;
  /**
   * The wizard's Sign in now, asked for through the API: a one-time, short-lived link on the callback's host
   * (`/authenticate/launch/{token}`). Only the token's hash is stored.
   */
  createSignInLaunch(
    subject: Extract<ConsentSubject, { type: 'wizard' }>,
    loginHint: string | null,
  ): Promise<{ url: string; expiresAt: string }>;
  /**
   * A browser opened a launch link: spends it and starts the sign-in bound to that browser; Microsoft's URL to
   * send it to, or why the link does not work (already used, expired, unknown).
   */
  launchSignIn(token: string, browserKey: string): Promise<LaunchOutcome>;
  /** Microsoft's redirect back to `/authenticate/OAuth2Callback`, with the browser key the request carried. */
  handleCallback(query: URLSearchParams, browserKey: string | null): Promise<CallbackOutcome>;
}

/** Thrown inside a flow when another tenant signed in than the customer's: the flow fails, nothing is stored. */
class OtherTenantError extends Error {}

export interface ConsentServiceOptions {
  readonly store: ConsentFlowStore;
  readonly launches: SignInLaunchStore;
  readonly secretBox: SecretBox;
  readonly tokenApp: TokenAppClients;
  readonly credentials: CredentialService;
  readonly sink: ConsentSink;
  readonly now?: () => Date;
}

const isConsentMissing = (error: unknown) =>
  error instanceof EntraOAuthError &&
  (error.aadsts?.endsWith('65001') === true || error.error === 'consent_required');

const failureText = (error: unknown) =>
  error instanceof OtherTenantError
    ? OTHER_TENANT
    : error instanceof EntraOAuthError
      ? describeEntraFailure(`${error.aadsts ?? ''} ${error.message}`).message
      : 'Microsoft Entra ID could not be reached. Try again in a minute.';

/** What the callback page says when Microsoft sends the admin back with an error. */
export const CALLBACK_FAILED = 'Microsoft did not complete the sign-in. Start the authentication again.';

/**
 * The callback's message for Microsoft's `error`: fixed text only. Anyone can craft a link to the callback with
 * their own `error_description` ("call this number…"), so its words are never shown; only a known AADSTS code in
 * it picks one of the product's own messages.
 */
export function callbackFailureMessage(error: string, errorDescription: string | null): string {
  if (error === 'access_denied' || error === 'consent_required') return NOT_CONSENTED;
  const code = aadstsCode(errorDescription ?? '');
  return (code ? AADSTS_MESSAGES[code] : undefined) ?? CALLBACK_FAILED;
}

export function createConsentService(options: ConsentServiceOptions): ConsentService {
  const { store, secretBox } = options;
  const now = options.now ?? (() => new Date());
  const slot = (flowId: string, field: string) => `consent-flows/${flowId}/${field}`;
  const customerOf = (subject: ConsentSubject) =>
    subject.type === 'invitation' ? subject.invitationId : subject.customerId;

  async function deviceFlow(
    app: TokenApp,
    base: Omit<ConsentFlow, 'etag' | 'device' | 'step' | 'expiresAt'>,
    step: ConsentStep,
  ): Promise<Omit<ConsentFlow, 'etag'>> {
    const grant = await app.oauth.startDeviceCode({ tenant: base.tenant, scope: scopeFor(step) });
    const expiresAt = new Date(now().getTime() + grant.expiresIn * 1000).toISOString();
    return {
      ...base,
      step,
      expiresAt,
      device: {
        sealedDeviceCode: secretBox.seal(grant.deviceCode, slot(base.id, 'device-code')),
        userCode: grant.userCode,
        verificationUri: grant.verificationUri,
        intervalSeconds: grant.interval,
        expiresAt,
        lastPolledAt: null,
      },
    };
  }

  /** Stores the grant as the customer's credential (checked for both resources) and tells the subject. */
  async function finish(flow: ConsentFlow, tokens: TokenSet, refreshToken: string): Promise<ConsentFlow> {
    const tenantId = await tenantOf(flow, tokens);
    // The account that signed in, not the username typed on our page: that is who granted the consent.
    const m365Email = tokens.account?.username ?? flow.m365AdminEmail ?? '';
    const credential = await options.credentials.connectDelegated(
      customerOf(flow.subject),
      { tenantId, m365Email, objectId: tokens.account?.objectId ?? null, refreshToken },
      // A wizard's sign-in is its session's until Submit; the session's end without one deletes it.
      flow.subject.type === 'wizard' ? { wizardSessionId: flow.subject.sessionId } : {},
    );
    await options.sink.completed(flow.subject, credential);
    const signedIn: SignedInAccount = {
      objectId: tokens.account?.objectId ?? null,
      username: tokens.account?.username ?? null,
      tenantId,
      tenantDisplayName: credential.tenantDisplayName,
      initialDomain: credential.initialDomain,
    };
    return store.replace(flow, {
      ...withoutEtag(flow),
      status: 'complete',
      tenant: tenantId,
      m365AdminEmail: m365Email || null,
      signedIn,
      sealedRefreshToken: null,
      device: null,
      message: null,
    });
  }

  /**
   * The tenant the tokens are for, refused (OtherTenantError) when it is not the one expected: the customer's
   * tenant once it has one, and in the Teams step the tenant of the Graph step. Checked before anything is stored.
   */
  async function tenantOf(flow: ConsentFlow, tokens: TokenSet): Promise<string> {
    const expected =
      (await options.sink.expectedTenant(flow.subject)) ?? (flow.step === 'teams' ? flow.tenant : null);
    const tenantId = tokens.account?.tenantId ?? (expected === null ? flow.tenant : null);
    if (tenantId === null || (expected !== null && tenantId.toLowerCase() !== expected.toLowerCase())) {
      throw new OtherTenantError();
    }
    return tenantId;
  }

  /**
   * After the Graph consent: one refresh token serves every consented resource, so try the Teams admin API
   * with it; Entra answers AADSTS65001 until the admin consents to that resource too.
   */
  async function teamsTokens(app: TokenApp, tenant: string, refreshToken: string): Promise<TokenSet | null> {
    try {
      return await app.oauth.refresh({ tenant, refreshToken, scope: scopeFor('teams') });
    } catch (error) {
      if (isConsentMissing(error)) return null;
      throw error;
    }
  }

  /** A device code for the admin's tenant; an unknown domain is the admin's typo, said in their words. */
  async function startOrExplain(
    app: TokenApp,
    base: Omit<ConsentFlow, 'etag' | 'device' | 'step' | 'expiresAt'>,
    step: ConsentStep,
    m365AdminEmail: string | null,
  ): Promise<Omit<ConsentFlow, 'etag'>> {
    try {
      return await deviceFlow(app, base, step);
    } catch (error) {
      if (!(error instanceof EntraOAuthError) || error.status >= 500) throw error;
      const unknownTenant = error.aadsts?.endsWith('90002') === true;
      throw new DomainError('unprocessable', {
        code: unknownTenant ? 'tenant_not_found' : 'device_code_refused',
        title: 'Microsoft refused to start the sign-in',
        detail: unknownTenant
          ? `No Microsoft 365 tenant has the domain of ${m365AdminEmail ?? 'this username'}. Enter your Microsoft 365 admin username, e.g. admin@contoso.onmicrosoft.com.`
          : failureText(error),
      });
    }
  }

  const fail = (flow: ConsentFlow, message: string, failureCode: ConsentRefusalCode | null = null) =>
    store.replace(flow, {
      ...withoutEtag(flow),
      status: 'failed',
      message,
      failureCode,
      device: null,
      sealedRefreshToken: null,
    });

  return {
    async startDeviceCode(subject, m365AdminEmail, browserKey) {
      const app = await options.tokenApp();
      if (!app.settings.deviceCode) {
        throw new DomainError('forbidden', {
          code: 'device_code_disabled',
          title: 'Sign-in with a code is not offered',
          detail: DEVICE_CODE_DISABLED,
        });
      }
      const id = newConsentFlowId();
      const at = now().toISOString();
      return store.create(
        await startOrExplain(
          app,
          {
            id,
            kind: 'device-code',
            subject,
            status: 'pending',
            message: null,
            m365AdminEmail,
            tenant: tenantHint(m365AdminEmail),
            browserKeyHash: hashBrowserKey(browserKey),
            signedIn: null,
            sealedVerifier: null,
            sealedRefreshToken: null,
            usedAt: null,
            createdAt: at,
          },
          'graph',
          m365AdminEmail,
        ),
      );
    },

    async pollDeviceCode(flowId, browserKey) {
      const flow = await devicePoll(flowId, browserKey);
      return flow === 'other-browser'
        ? { kind: 'other-browser' }
        : flow
          ? { kind: 'flow', flow }
          : { kind: 'unknown' };
    },

    async startSignIn(subject, loginHint, browserKey) {
      const app = await options.tokenApp();
      return signIn(app, subject, loginHint, tenantHint(loginHint), 'graph', hashBrowserKey(browserKey));
    },

    async createSignInLaunch(subject, loginHint) {
      const app = await options.tokenApp();
      const token = newLaunchToken();
      const at = now();
      const expiresAt = new Date(at.getTime() + SIGN_IN_LAUNCH_TTL_MS).toISOString();
      await options.launches.create({
        tokenHash: hashLaunchToken(token),
        subject,
        loginHint,
        usedAt: null,
        createdAt: at.toISOString(),
        expiresAt,
      });
      // On the callback's host, so the cookie the launch sets is the one Microsoft's redirect back carries.
      return {
        url: new URL(`/authenticate/launch/${token}`, app.settings.redirectUri).toString(),
        expiresAt,
      };
    },

    async launchSignIn(token, browserKey) {
      const found = LAUNCH_TOKEN_PATTERN.test(token)
        ? await options.launches.get(hashLaunchToken(token))
        : null;
      if (!found) return { kind: 'invalid', reason: 'unknown' };
      if (found.usedAt) return { kind: 'invalid', reason: 'used' };
      if (Date.parse(found.expiresAt) <= now().getTime()) return { kind: 'invalid', reason: 'expired' };
      // The claim: of two browsers opening the link at once, one starts the sign-in.
      try {
        const { etag: _etag, ...rest } = found;
        await options.launches.replace(found, { ...rest, usedAt: now().toISOString() });
      } catch (error) {
        if (error instanceof VersionConflictError) return { kind: 'invalid', reason: 'used' };
        throw error;
      }
      const app = await options.tokenApp();
      const { url } = await signIn(
        app,
        found.subject,
        found.loginHint,
        tenantHint(found.loginHint),
        'graph',
        hashBrowserKey(browserKey),
      );
      return { kind: 'redirect', url };
    },

    async handleCallback(query, browserKey) {
      const state = query.get('state') ?? '';
      const found = FLOW_ID_PATTERN.test(state) ? await store.get(state) : null;
      if (!found || found.kind !== 'sign-in') return { kind: 'invalid', reason: 'unknown', flow: null };
      if (found.usedAt) return { kind: 'invalid', reason: 'replayed', flow: found };
      let flow: ConsentFlow;
      try {
        flow = await store.replace(found, { ...withoutEtag(found), usedAt: now().toISOString() });
      } catch (error) {
        if (error instanceof VersionConflictError)
          return { kind: 'invalid', reason: 'replayed', flow: found };
        throw error;
      }
      // A Microsoft sign-in URL forwarded to someone else comes back in their browser: its code is never
      // redeemed, and the flow is spent (its state and code were seen elsewhere).
      if (!sameBrowser(flow, browserKey)) {
        return {
          kind: 'invalid',
          reason: 'other-browser',
          flow: await fail(flow, OTHER_BROWSER, 'consent_browser_mismatch'),
        };
      }
      if (Date.parse(flow.expiresAt) <= now().getTime()) {
        return { kind: 'invalid', reason: 'expired', flow: await fail(flow, 'The sign-in took too long.') };
      }
      // The invitation may have expired or been revoked while the admin was at Microsoft: nothing is stored then.
      const refusal = await options.sink.refusal(flow.subject);
      if (refusal) {
        return { kind: 'invalid', reason: 'refused', message: refusal, flow: await fail(flow, refusal) };
      }
      const error = query.get('error');
      if (error) {
        const message = callbackFailureMessage(error, query.get('error_description'));
        return {
          kind: 'failed',
          reason: error === 'access_denied' ? 'denied' : 'error',
          message,
          flow: await fail(flow, message),
        };
      }
      const code = query.get('code');
      if (!code || !flow.sealedVerifier) {
        const message = 'Microsoft did not return an authorization code.';
        return { kind: 'failed', reason: 'error', message, flow: await fail(flow, message) };
      }
      try {
        const app = await options.tokenApp();
        const tokens = await app.oauth.redeemCode({
          tenant: flow.tenant,
          code,
          codeVerifier: secretBox.open(flow.sealedVerifier, slot(flow.id, 'verifier')),
          redirectUri: app.settings.redirectUri,
          scope: scopeFor(flow.step),
        });
        if (!tokens.refreshToken) throw new Error('no refresh token');
        if (flow.step === 'teams')
          return { kind: 'complete', flow: await finish(flow, tokens, tokens.refreshToken) };
        const tenant = await tenantOf(flow, tokens);
        const teams = await teamsTokens(app, tenant, tokens.refreshToken);
        if (teams) {
          return {
            kind: 'complete',
            flow: await finish(flow, teams, teams.refreshToken ?? tokens.refreshToken),
          };
        }
        // The second consent: the same admin, now for the Skype and Teams Tenant Admin API.
        const loginHint = tokens.account?.username ?? flow.m365AdminEmail;
        const next = await signIn(app, flow.subject, loginHint, tenant, 'teams', flow.browserKeyHash);
        await store.replace(flow, { ...withoutEtag(flow), status: 'complete', message: null });
        return { kind: 'redirect', url: next.url };
      } catch (failure) {
        const message = failureText(failure);
        if (failure instanceof OtherTenantError) {
          return {
            kind: 'failed',
            reason: 'other-tenant',
            message,
            flow: await fail(flow, message, 'consent_tenant_mismatch'),
          };
        }
        return { kind: 'failed', reason: 'error', message, flow: await fail(flow, message) };
      }
    },
  };

  /** The device-code flow's poll; `other-browser` when the caller is not the browser that started it. */
  async function devicePoll(
    flowId: string,
    browserKey: string | null,
  ): Promise<ConsentFlow | 'other-browser' | null> {
    if (!FLOW_ID_PATTERN.test(flowId)) return null;
    const found = await store.get(flowId);
    if (!found || found.kind !== 'device-code') return null;
    // Checked before anything else: a stranger learns nothing of the flow, and Microsoft is not asked.
    if (!sameBrowser(found, browserKey)) return 'other-browser';
    if (found.status !== 'pending' || !found.device) return found;
    const at = now();
    if (Date.parse(found.device.expiresAt) <= at.getTime()) return fail(found, CODE_EXPIRED);
    const due = found.device.lastPolledAt
      ? Date.parse(found.device.lastPolledAt) + found.device.intervalSeconds * 1000
      : 0;
    if (due > at.getTime()) return found;
    // The claim: of two simultaneous polls only one asks Microsoft, so a code is never redeemed twice.
    let flow: ConsentFlow;
    try {
      flow = await store.replace(found, {
        ...withoutEtag(found),
        device: { ...found.device, lastPolledAt: at.toISOString() },
      });
    } catch (error) {
      if (error instanceof VersionConflictError) return store.get(found.id);
      throw error;
    }
    const device = flow.device!;
    const app = await options.tokenApp();
    const poll = await app.oauth.pollDeviceCode({
      tenant: flow.tenant,
      deviceCode: secretBox.open(device.sealedDeviceCode, slot(flow.id, 'device-code')),
      interval: device.intervalSeconds,
    });
    if (poll.status === 'pending') {
      if (poll.interval === device.intervalSeconds) return flow;
      return store.replace(flow, {
        ...withoutEtag(flow),
        device: { ...device, intervalSeconds: poll.interval },
      });
    }
    if (poll.status === 'failed') {
      return fail(
        flow,
        poll.error === 'authorization_declined'
          ? NOT_CONSENTED
          : poll.error === 'expired_token'
            ? CODE_EXPIRED
            : describeEntraFailure(poll.message).message,
      );
    }
    const { tokens } = poll;
    if (!tokens.refreshToken) return fail(flow, 'Microsoft did not return a refresh token; start again.');
    try {
      if (flow.step === 'teams') return await finish(flow, tokens, tokens.refreshToken);
      const tenant = await tenantOf(flow, tokens);
      const teams = await teamsTokens(app, tenant, tokens.refreshToken);
      if (teams) return await finish(flow, teams, teams.refreshToken ?? tokens.refreshToken);
      const next = await deviceFlow(
        app,
        {
          ...withoutEtag(flow),
          tenant,
          m365AdminEmail: tokens.account?.username ?? flow.m365AdminEmail,
          sealedRefreshToken: secretBox.seal(tokens.refreshToken, slot(flow.id, 'refresh-token')),
        },
        'teams',
      );
      return await store.replace(flow, next);
    } catch (error) {
      if (error instanceof VersionConflictError) throw error;
      return fail(
        flow,
        failureText(error),
        error instanceof OtherTenantError ? 'consent_tenant_mismatch' : null,
      );
    }
  }

  async function signIn(
    app: TokenApp,
    subject: ConsentSubject,
    loginHint: string | null,
    tenant: string,
    step: ConsentStep,
    browserKeyHash: string | null,
  ): Promise<{ flow: ConsentFlow; url: string }> {
    const id = newConsentFlowId();
    const pkce = createPkcePair();
    const at = now();
    const flow = await store.create({
      id,
      kind: 'sign-in',
      subject,
      step,
      status: 'pending',
      message: null,
      m365AdminEmail: loginHint,
      tenant,
      browserKeyHash,
      signedIn: null,
      device: null,
      sealedVerifier: secretBox.seal(pkce.verifier, slot(id, 'verifier')),
      sealedRefreshToken: null,
      usedAt: null,
      createdAt: at.toISOString(),
      expiresAt: new Date(at.getTime() + SIGN_IN_TTL_MS).toISOString(),
    });
    const url = app.oauth.authorizeUrl({
      tenant,
      redirectUri: app.settings.redirectUri,
      state: id,
      scope: scopeFor(step),
      codeChallenge: pkce.challenge,
      ...(loginHint ? { loginHint } : {}),
      ...(step === 'teams' ? { prompt: 'consent' as const } : {}),
    });
    return { flow, url };
  }
}

function withoutEtag(flow: ConsentFlow): Omit<ConsentFlow, 'etag'> {
  const { etag: _etag, ...rest } = flow;
  return rest;
}
