import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  errors,
  type JSONWebKeySet,
  jwtVerify,
} from 'jose';
import type { Role } from './roles.js';
import { DomainError, domainErrors } from '../errors/domain-errors.js';

/** Who is calling, as proven by their bearer token. */
export interface Principal {
  readonly subject: string;
  readonly name?: string;
  readonly tenantId?: string;
  readonly roles: readonly string[];
}

export interface Authenticator {
  /** Verifies an `Authorization` header value; throws a 401 problem when it does not prove a caller. */
  authenticate(authorization: string | null): Promise<Principal>;
}

export type JwtAuthenticatorOptions = {
  readonly issuer: string;
  readonly audience: string;
} & (
  | { readonly jwksUri: string; readonly fetch: typeof globalThis.fetch }
  /** Keys held in process: in-process tests sign their own tokens and reach no key endpoint. */
  | { readonly jwks: JSONWebKeySet }
);

/** Entra ID access tokens, validated against the configured issuer, audience and signing keys. */
export function createJwtAuthenticator(options: JwtAuthenticatorOptions): Authenticator {
  const keys =
    'jwks' in options
      ? createLocalJWKSet(options.jwks)
      : createRemoteJWKSet(new URL(options.jwksUri), {
          [customFetch]: (url, init) => options.fetch(url, init),
        });
  return {
    async authenticate(authorization) {
      const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
      if (!match?.[1])
        throw domainErrors.unauthenticated(
          'Send an Entra ID access token as "Authorization: Bearer <token>".',
        );
      try {
        const { payload } = await jwtVerify(match[1], keys, {
          issuer: options.issuer,
          audience: options.audience,
          algorithms: ['RS256'],
        });
        const roles = Array.isArray(payload.roles) ? payload.roles.filter((r) => typeof r === 'string') : [];
        return {
          subject: String(payload.oid ?? payload.sub ?? ''),
          ...(typeof payload.name === 'string' ? { name: payload.name } : {}),
          ...(typeof payload.tid === 'string' ? { tenantId: payload.tid } : {}),
          roles,
        };
      } catch (error) {
        if (!(error instanceof errors.JOSEError) || error.code === 'ERR_JWKS_TIMEOUT') {
          throw new DomainError('transient', {
            code: 'signing_keys_unavailable',
            title: 'Signing keys unavailable',
            detail: 'The token signing keys could not be fetched; try again shortly.',
            retryAfterSeconds: 5,
          });
        }
        throw domainErrors.unauthenticated(describeTokenFailure(error));
      }
    },
  };
}

function describeTokenFailure(error: unknown): string {
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
