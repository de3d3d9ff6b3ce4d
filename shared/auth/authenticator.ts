import type { errors as JoseErrors, JSONWebKeySet } from 'jose';
import type { Role } from './roles.js';
import { DomainError, domainErrors } from '../errors/domain-errors.js';
import { lazy } from '../platform/lazy.js';

/** Loaded on the first token verified, not at start-up (timers and queues never need it). */
const jose = lazy(() => import('jose'));

/** Who is calling, as proven by their bearer token. */
export interface Principal {
  readonly subject: string;
  readonly name?: string;
  readonly tenantId?: string;
  readonly roles: readonly string[];
  /**
   * `customer`: signed in to a customer's own tenant (issue 14 item 7). Such a caller is a customer admin and nothing
   * else, whatever its token's `roles` say (that tenant's admins assign them), and reaches only customers of that
   * tenant. Absent: the provider's tenant, whose app roles are the provider's.
   */
  readonly home?: 'customer';
  /** The signed-in account's name (`preferred_username`, v1 `upn`), when the token has one. */
  readonly username?: string;
}

export interface Authenticator {
  /** Verifies an `Authorization` header value; throws a 401 problem when it does not prove a caller. */
  authenticate(authorization: string | null): Promise<Principal>;
}

export type JwtAuthenticatorOptions = {
  /** The provider tenant's accepted issuers (v2.0 and v1.0 tokens have different ones), or one. */
  readonly issuer: string | readonly string[];
  readonly audience: string | readonly string[];
  /**
   * Tokens of customers' own tenants: their issuers (`{tenantId}` for the tenant id) and whether a tenant is a
   * customer's. Absent: only the provider's issuer is accepted.
   */
  readonly customerTenants?: {
    readonly issuers: readonly string[];
    isCustomerTenant(tenantId: string): Promise<boolean>;
  };
  /**
   * The client applications (their Application (client) IDs) whose tokens are accepted: the token's `azp` (v2) or
   * `appid` (v1). Empty: any client the tenant let obtain a token for the API.
   */
  readonly allowedClientIds?: readonly string[];
  /** Milliseconds since the epoch; tests move it past a token's expiry. */
  readonly now?: () => number;
} & (
  | { readonly jwksUri: string; readonly fetch: typeof globalThis.fetch }
  /** Keys held in process: in-process tests sign their own tokens and reach no key endpoint. */
  | { readonly jwks: JSONWebKeySet }
);

const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** How many verified tokens are remembered: a portal's callers each reuse one for an hour. */
const VERIFIED_TOKENS = 1000;

interface VerifiedToken {
  readonly principal: Principal;
  /** `exp` and `nbf`, seconds since the epoch: all of the token that can change from one request to the next. */
  readonly expiresAt: number;
  readonly notBefore: number;
}

/**
 * Entra ID access tokens, validated against the configured issuer, audience and signing keys. A token verified once
 * is remembered until it expires: its signature, issuer and audience cannot change, and checking the signature was
 * most of the edge's work for a single read (docs/decisions.md, 41).
 */
export function createJwtAuthenticator(options: JwtAuthenticatorOptions): Authenticator {
  const now = options.now ?? Date.now;
  const providerIssuers = typeof options.issuer === 'string' ? [options.issuer] : options.issuer;
  const allowedClients = new Set((options.allowedClientIds ?? []).map((id) => id.toLowerCase()));
  const verified = new Map<string, VerifiedToken>();

  function remembered(token: string): Principal | null {
    const found = verified.get(token);
    if (!found) return null;
    const seconds = Math.floor(now() / 1000);
    if (seconds < found.expiresAt && seconds >= found.notBefore) return found.principal;
    // Expired (or not yet valid): verified afresh, which says why it is refused.
    verified.delete(token);
    return null;
  }

  function remember(token: string, principal: Principal, exp: unknown, nbf: unknown): void {
    if (typeof exp !== 'number') return;
    if (verified.size >= VERIFIED_TOKENS) {
      const oldest = verified.keys().next();
      if (!oldest.done) verified.delete(oldest.value);
    }
    verified.set(token, { principal, expiresAt: exp, notBefore: typeof nbf === 'number' ? nbf : 0 });
  }

  const keys = lazy(async () => {
    const { createLocalJWKSet, createRemoteJWKSet, customFetch } = await jose();
    return 'jwks' in options
      ? createLocalJWKSet(options.jwks)
      : createRemoteJWKSet(new URL(options.jwksUri), {
          [customFetch]: (url: string, init: RequestInit) => options.fetch(url, init),
        });
  });
  /** Whose tenant issued the token: the provider's, a customer's (a tenant of a live customer), or none we accept. */
  async function homeOf(iss: unknown, tid: unknown): Promise<'provider' | 'customer'> {
    const issued = sameIssuer(String(iss));
    if (providerIssuers.some(issued)) return 'provider';
    const customers = options.customerTenants;
    if (customers && typeof tid === 'string' && TENANT_ID.test(tid)) {
      const issuers = customers.issuers.map((template) => template.replace('{tenantId}', tid));
      if (issuers.some(issued) && (await customers.isCustomerTenant(tid.toLowerCase()))) return 'customer';
    }
    throw domainErrors.unauthenticated("The access token's iss claim is not accepted.");
  }

  return {
    async authenticate(authorization) {
      const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
      if (!match?.[1])
        throw domainErrors.unauthenticated(
          'Send an Entra ID access token as "Authorization: Bearer <token>".',
        );
      const token = match[1];
      const known = remembered(token);
      if (known) return known;
      try {
        const { jwtVerify } = await jose();
        const { payload } = await jwtVerify(token, await keys(), {
          audience: typeof options.audience === 'string' ? options.audience : [...options.audience],
          algorithms: ['RS256'],
          currentDate: new Date(now()),
          // A token without `exp` would be good forever: Entra always sets it, so its absence means a forgery.
          requiredClaims: ['exp', 'iss'],
        });
        const home = await homeOf(payload.iss, payload.tid);
        if (allowedClients.size > 0) {
          const client = typeof payload.azp === 'string' ? payload.azp : payload.appid;
          if (typeof client !== 'string' || !allowedClients.has(client.toLowerCase())) {
            throw domainErrors.unauthenticated(
              'The access token was issued to a client application this API does not accept.',
            );
          }
        }
        const roles =
          home === 'customer'
            ? ['customer-admin']
            : Array.isArray(payload.roles)
              ? payload.roles.filter((r) => typeof r === 'string')
              : [];
        const username = [payload.preferred_username, payload.upn, payload.unique_name].find(
          (claim): claim is string => typeof claim === 'string' && claim !== '',
        );
        const principal: Principal = {
          subject: String(payload.oid ?? payload.sub ?? ''),
          ...(typeof payload.name === 'string' ? { name: payload.name } : {}),
          ...(typeof payload.tid === 'string' ? { tenantId: payload.tid } : {}),
          roles,
          ...(home === 'customer' ? { home } : {}),
          ...(username ? { username } : {}),
        };
        remember(token, principal, payload.exp, payload.nbf);
        return principal;
      } catch (error) {
        if (error instanceof DomainError) throw error;
        // Not a JOSEError (jose itself could not load, say): the keys are unavailable, as for a timeout.
        const { errors } = await jose().catch(() => ({ errors: null }));
        if (!errors || !(error instanceof errors.JOSEError) || error.code === 'ERR_JWKS_TIMEOUT') {
          throw new DomainError('transient', {
            code: 'signing_keys_unavailable',
            title: 'Signing keys unavailable',
            detail: 'The token signing keys could not be fetched; try again shortly.',
            retryAfterSeconds: 5,
          });
        }
        throw domainErrors.unauthenticated(describeTokenFailure(errors, error));
      }
    },
  };
}

/**
 * Whether a configured issuer is the token's `iss`: exactly, but for a trailing slash, which v1.0 issuers have
 * (`https://sts.windows.net/{tenant}/`) and a URL setting may have lost.
 */
const sameIssuer = (iss: string) => (configured: string) =>
  iss === configured || iss.replace(/\/$/, '') === configured.replace(/\/$/, '');

function describeTokenFailure(errors: typeof JoseErrors, error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'The access token has expired.';
  if (error instanceof errors.JWTClaimValidationFailed)
    return `The access token's ${error.claim} claim is not accepted.`;
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWSSignatureVerificationFailed)
    return 'The access token is not signed by the expected issuer.';
  return 'The access token is not valid.';
}

export function requireRole(principal: Principal, roles: readonly Role[]): void {
  if (!roles.some((role) => principal.roles.includes(role))) {
    throw domainErrors.forbidden(`This operation needs the role ${roles.map((r) => `"${r}"`).join(' or ')}.`);
  }
}
