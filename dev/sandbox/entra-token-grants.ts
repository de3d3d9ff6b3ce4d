import { createHash } from 'node:crypto';
import { authenticateClient, sameSecret } from './entra-client.js';
import {
  type Aadsts,
  entraError,
  missingParameter,
  noStore,
  tenantNotFound,
  unknownClientError,
} from './entra-errors.js';
import type { DeviceCode, PkceChallenge } from './entra-grants.js';
import { clientAllowedIn, delegatedScopes, grantedScopeText, parseScopes } from './entra-scopes.js';
import type { PeerRequest, Reply } from './router.js';
import type { Application, SandboxState, Tenant } from './state.js';
import { ACCESS_TOKEN_LIFETIME_SECONDS, type TokenIssuer } from './tokens.js';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const DELEGATED_GRANTS = new Set(['authorization_code', 'refresh_token', DEVICE_CODE_GRANT]);

const MULTI_TENANT_ALIASES = new Set(['common', 'organizations']);

/** Who the token is for, once the grant checked out. */
interface Redemption {
  readonly tenantId: string;
  readonly userId: string;
  /** The scope to issue for: the request's, or the one the grant was given for. */
  readonly scope: string;
  /** Refresh tokens are always renewed on refresh, whatever the scope says. */
  readonly alwaysRefreshToken: boolean;
}

const malformed: Aadsts = { code: 9002313, message: 'Invalid request. Request is malformed or invalid.' };

/**
 * The token endpoint's user grants: `authorization_code` (PKCE), the device code grant and `refresh_token`.
 * Each authenticates the client like client credentials, checks its grant, then issues a delegated access token
 * for one resource, an ID token when `openid` was asked for and a new refresh token when `offline_access` was.
 */
export function delegatedTokenGrant(
  deps: { readonly state: SandboxState; readonly issuer: TokenIssuer },
  request: PeerRequest,
  form: URLSearchParams,
): Promise<Reply> | Reply {
  const { state } = deps;
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
  const refused = authenticateClient(request, form, application, { allowPublicClient: true });
  if (refused) return refused;

  const grantType = form.get('grant_type');
  const redemption =
    grantType === 'authorization_code'
      ? redeemCode(state, request, form, application)
      : grantType === 'refresh_token'
        ? redeemRefreshToken(state, request, form, application)
        : redeemDeviceCode(state, request, form, application);
  if ('status' in redemption) return redemption;
  if (tenant && tenant.id !== redemption.tenantId) {
    return entraError(request, 400, 'invalid_grant', {
      code: 700005,
      message: 'Provided Authorization Code is intended to use against other tenant, thus rejected.',
    });
  }
  return issue(deps, request, application, redemption);
}

function redeemCode(
  state: SandboxState,
  request: PeerRequest,
  form: URLSearchParams,
  application: Application,
): Redemption | Reply {
  const value = form.get('code');
  if (!value) return missingParameter(request, 'code');
  const redirectUri = form.get('redirect_uri');
  if (!redirectUri) return missingParameter(request, 'redirect_uri');
  const code = state.entra.authorizationCode(value);
  const invalidGrant = (aadsts: Aadsts) => entraError(request, 400, 'invalid_grant', aadsts);
  if (!code || code.clientId !== application.appId) return invalidGrant(malformed);
  if (code.redeemed) {
    return invalidGrant({
      code: 54005,
      message:
        'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
    });
  }
  if (code.expiresAt <= Date.now()) {
    return invalidGrant({
      code: 70008,
      message:
        'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive ' +
        'authorization request for this user and resource.',
    });
  }
  if (code.redirectUri !== redirectUri) {
    return invalidGrant({
      code: 500112,
      message: `The reply address '${redirectUri}' does not match the reply address '${code.redirectUri}' provided when requesting Authorization code.`,
    });
  }
  const pkce = checkVerifier(code.challenge, form.get('code_verifier'));
  if (pkce) return invalidGrant(pkce);
  code.redeemed = true;
  return {
    tenantId: code.tenantId,
    userId: code.userId,
    scope: form.get('scope') ?? code.scope,
    alwaysRefreshToken: false,
  };
}

function checkVerifier(challenge: PkceChallenge | null, verifier: string | null): Aadsts | null {
  if (!challenge) return null;
  if (!verifier) {
    return {
      code: 50148,
      message:
        'The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.',
    };
  }
  const computed =
    challenge.method === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
  return sameSecret(challenge.value, computed)
    ? null
    : {
        code: 501481,
        message: 'The Code_Verifier does not match the code_challenge supplied in the authorization request.',
      };
}

function redeemRefreshToken(
  state: SandboxState,
  request: PeerRequest,
  form: URLSearchParams,
  application: Application,
): Redemption | Reply {
  const token = form.get('refresh_token');
  if (!token) return missingParameter(request, 'refresh_token');
  const grant = state.entra.refreshGrant(token);
  if (!grant || grant.clientId !== application.appId)
    return entraError(request, 400, 'invalid_grant', malformed);
  const revokedAt = state.entra.revokedSince(grant);
  if (revokedAt) {
    return entraError(
      request,
      400,
      'invalid_grant',
      {
        code: 50173,
        message:
          'The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have ' +
          `changed or reset their password. The grant was issued on '${grant.issuedAt.toISOString()}' and the ` +
          `TokensValidFrom date (before which tokens are not valid) for this user is '${revokedAt.toISOString()}'.`,
      },
      { suberror: 'bad_token' },
    );
  }
  return {
    tenantId: grant.tenantId,
    userId: grant.userId,
    scope: form.get('scope') ?? grant.scope,
    alwaysRefreshToken: true,
  };
}

function redeemDeviceCode(
  state: SandboxState,
  request: PeerRequest,
  form: URLSearchParams,
  application: Application,
): Redemption | Reply {
  const value = form.get('device_code');
  if (!value) return missingParameter(request, 'device_code');
  const code = state.entra.deviceCode(value);
  if (!code || code.clientId !== application.appId) {
    return entraError(request, 400, 'bad_verification_code', {
      code: 9002313,
      message: "Invalid request. The provided value for the input parameter 'device_code' is not valid.",
    });
  }
  const waiting = deviceCodeState(code, Date.now());
  if (waiting) return entraError(request, 400, waiting.error, waiting.aadsts);
  if (code.outcome.status !== 'approved') return entraError(request, 400, 'invalid_grant', malformed);
  state.entra.deleteDeviceCode(code.deviceCode);
  return {
    tenantId: code.outcome.tenantId,
    userId: code.outcome.userId,
    scope: code.scope,
    alwaysRefreshToken: false,
  };
}

/**
 * What a poll sees before tokens: expiry first, then the user's refusal, then (still pending) slow_down when
 * the client polls sooner than `interval` after its last poll (RFC 8628 3.5; the interval grows by 5 s).
 */
function deviceCodeState(code: DeviceCode, now: number): { error: string; aadsts: Aadsts } | null {
  if (code.expiresAt <= now) {
    return {
      error: 'expired_token',
      aadsts: {
        code: 70020,
        message:
          "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
      },
    };
  }
  if (code.outcome.status === 'declined') {
    return {
      error: 'authorization_declined',
      aadsts: { code: 70000, message: 'The user declined to sign in to the application.' },
    };
  }
  if (code.outcome.status === 'approved') return null;
  const tooSoon = code.lastPolledAt !== null && now - code.lastPolledAt < code.interval * 1000;
  code.lastPolledAt = now;
  if (tooSoon) {
    code.interval += 5;
    return {
      error: 'slow_down',
      aadsts: { code: 70016, message: 'OAuth 2.0 device flow error. Polling too frequently; slow down.' },
    };
  }
  return {
    error: 'authorization_pending',
    aadsts: {
      code: 70016,
      message: 'OAuth 2.0 device flow error. Authorization is pending. Continue polling.',
    },
  };
}

async function issue(
  deps: { readonly state: SandboxState; readonly issuer: TokenIssuer },
  request: PeerRequest,
  application: Application,
  redemption: Redemption,
): Promise<Reply> {
  const { state, issuer } = deps;
  const tenant = state.tenant(redemption.tenantId);
  const user = tenant?.users.get(redemption.userId);
  if (!tenant || !user) return entraError(request, 400, 'invalid_grant', malformed);
  if (!user.accountEnabled) {
    return entraError(request, 400, 'invalid_grant', {
      code: 50057,
      message: 'The user account is disabled.',
    });
  }
  const parsed = parseScopes(state, redemption.scope, { tenant });
  if (!parsed.ok) return entraError(request, 400, parsed.error, parsed.aadsts);
  const requested = parsed.scopes.resources[0];
  if (!requested) return entraError(request, 400, 'invalid_scope', malformed);
  const consentError = missingConsent(state, tenant, application, requested.resource.appId);
  if (consentError)
    return entraError(request, 400, 'invalid_grant', consentError, { suberror: 'consent_required' });

  const scopes = delegatedScopes(application, requested);
  const subject = { tenant, user, clientId: application.appId };
  const withRefreshToken = redemption.alwaysRefreshToken || parsed.scopes.offlineAccess;
  return {
    status: 200,
    headers: noStore,
    body: {
      token_type: 'Bearer',
      scope: grantedScopeText(requested.resource, scopes, parsed.scopes.oidc),
      expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
      ext_expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
      access_token: await issuer.userToken(subject, requested.resource, scopes),
      ...(withRefreshToken
        ? {
            refresh_token: state.entra.issueRefreshToken({
              tenantId: tenant.id,
              userId: user.id,
              clientId: application.appId,
              scope: redemption.scope,
            }),
          }
        : {}),
      ...(parsed.scopes.openid ? { id_token: await issuer.idToken(subject) } : {}),
    },
  };
}

function missingConsent(
  state: SandboxState,
  tenant: Tenant,
  application: Application,
  resourceAppId: string,
): Aadsts | null {
  if (state.entra.hasDelegatedConsent(tenant.id, application.appId, resourceAppId)) return null;
  return {
    code: 65001,
    message:
      `The user or administrator has not consented to use the application with ID '${application.appId}' named ` +
      `'${application.displayName}'. Send an interactive authorization request for this user and resource.`,
  };
}
