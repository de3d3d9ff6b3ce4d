import { randomBytes } from 'node:crypto';
import { errors, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { DEMO } from './demo-data.js';
import type { SigningKey } from './signing-key.js';
import {
  type DirectoryUser,
  type Resource,
  type SandboxState,
  type ServicePrincipal,
  stableGuid,
  type Tenant,
} from './state.js';

/** Entra ID's usual lifetime for app-only access tokens. */
export const ACCESS_TOKEN_LIFETIME_SECONDS = 3599;

export const callerTokenRequestSchema = z.strictObject({
  /** A tenant id or one of its verified domains. */
  tenantId: z.string().min(1),
  audience: z.string().min(1),
  roles: z.array(z.string().min(1)).optional(),
  /** The caller's object id (`oid` and `sub`); a fixed id per tenant when omitted. */
  subject: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
  upn: z.string().min(1).optional(),
  /** Negative for a token that has already expired. */
  expiresInSeconds: z.number().int().optional(),
  /**
   * Entra's access token format: v1.0 is what a tenant issues for an API whose manifest does not ask for v2 (a
   * customer's admin signing in to the provider's API from their own tenant), with its issuer, `appid` and `upn`.
   */
  version: z.enum(['1.0', '2.0']).optional(),
});

/** A token for a caller of the product's own API, as the portal would obtain one for a signed-in user. */
export type CallerTokenRequest = z.input<typeof callerTokenRequestSchema>;

/** Thrown when a token cannot be issued because the request names something the directory lacks. */
export class TokenRequestError extends Error {
  override readonly name = 'TokenRequestError';
}

/** Thrown by `verify`; the message says why, in the words a resource server would use. */
export class TokenRejectedError extends Error {
  override readonly name = 'TokenRejectedError';
  constructor(
    readonly reason: 'malformed' | 'signature' | 'expired' | 'audience' | 'issuer',
    message: string,
  ) {
    super(message);
  }
}

/** Who a delegated token is for and which client asked. */
export interface DelegatedSubject {
  readonly tenant: Tenant;
  readonly user: DirectoryUser;
  readonly clientId: string;
}

export interface VerifiedToken {
  readonly claims: JWTPayload & { readonly tid: string };
  readonly tenant: Tenant;
}

/** Signs every token the sandbox hands out, and verifies them for the sandbox's resource servers (Graph). */
export class TokenIssuer {
  constructor(
    private readonly key: SigningKey,
    private readonly state: SandboxState,
    private readonly origin: string,
  ) {}

  /** The v2.0 issuer of a tenant, as in its openid-configuration. */
  issuer(tenantId: string): string {
    return `${this.origin}/entra/${tenantId}/v2.0`;
  }

  /** The v1.0 issuer of a tenant: Entra's is `https://sts.windows.net/{tenant}/`, here under the authority host. */
  v1Issuer(tenantId: string): string {
    return `${this.origin}/entra/${tenantId}/`;
  }

  /**
   * The claims that differ between Entra ID's two access token formats (learn.microsoft.com/entra/identity-platform/
   * access-token-claims-reference): v1.0 has the `sts.windows.net`-style issuer and names the client `appid`;
   * v2.0 has the `/v2.0` issuer and names it `azp`. The resource's manifest decides which (Resource.tokenVersion).
   */
  private formatClaims(resource: Pick<Resource, 'tokenVersion'>, tenantId: string, clientId: string) {
    return resource.tokenVersion === '1.0'
      ? { iss: this.v1Issuer(tenantId), appid: clientId, appidacr: '1', ver: '1.0' }
      : { iss: this.issuer(tenantId), azp: clientId, azpacr: '1', ver: '2.0' };
  }

  /** An app-only token from the client credentials grant, in the resource's token format. */
  appToken(tenant: Tenant, client: ServicePrincipal, resource: Resource): Promise<string> {
    const roles = client.appRoleGrants[resource.appId] ?? [];
    const now = Math.floor(Date.now() / 1000);
    const { ver, ...format } = this.formatClaims(resource, tenant.id, client.appId);
    return this.sign({
      aud: resource.audience,
      ...format,
      iat: now,
      nbf: now,
      exp: now + ACCESS_TOKEN_LIFETIME_SECONDS,
      // Both formats name the client `appid` in app-only tokens (`idtyp: app` tells them from user tokens).
      appid: client.appId,
      idtyp: 'app',
      oid: client.id,
      sub: client.id,
      tid: tenant.id,
      ...(roles.length > 0 ? { roles: [...roles] } : {}),
      uti: randomBytes(16).toString('base64url'),
      ver,
    });
  }

  /** A delegated (user) access token from the authorization code, device code or refresh token grants. */
  userToken(subject: DelegatedSubject, resource: Resource, scopes: readonly string[]): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const v1 = resource.tokenVersion === '1.0';
    const { ver, ...format } = this.formatClaims(resource, subject.tenant.id, subject.clientId);
    return this.sign({
      aud: resource.audience,
      ...format,
      iat: now,
      nbf: now,
      exp: now + ACCESS_TOKEN_LIFETIME_SECONDS,
      name: subject.user.displayName,
      oid: subject.user.id,
      // v1.0 names the account `upn` and `unique_name`; v2.0 `preferred_username` (and `upn` when it has one).
      ...(v1
        ? { unique_name: subject.user.userPrincipalName }
        : { preferred_username: subject.user.userPrincipalName }),
      upn: subject.user.userPrincipalName,
      scp: scopes.join(' '),
      sub: pairwiseSubject(subject),
      tid: subject.tenant.id,
      uti: randomBytes(16).toString('base64url'),
      ver,
    });
  }

  /** The OpenID Connect ID token for the client: who signed in, with the client as audience. */
  idToken(subject: DelegatedSubject): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return this.sign({
      aud: subject.clientId,
      iss: this.issuer(subject.tenant.id),
      iat: now,
      nbf: now,
      exp: now + 3600,
      name: subject.user.displayName,
      oid: subject.user.id,
      preferred_username: subject.user.userPrincipalName,
      sub: pairwiseSubject(subject),
      tid: subject.tenant.id,
      ver: '2.0',
    });
  }

  /** A delegated-style token for the product's API, shaped like what the portal's users would present. */
  callerToken(input: CallerTokenRequest): Promise<string> {
    const request = callerTokenRequestSchema.parse(input);
    const tenant = this.state.tenant(request.tenantId);
    if (!tenant) throw new TokenRequestError(`Tenant '${request.tenantId}' does not exist.`);
    const now = Math.floor(Date.now() / 1000);
    const exp = now + (request.expiresInSeconds ?? ACCESS_TOKEN_LIFETIME_SECONDS);
    // An already expired token must still look issued in the past, not in the future.
    const iat = Math.min(now, exp - 3600);
    const subject = request.subject ?? stableGuid(`${tenant.id}/caller`);
    // Unless the caller asks for one: the format the API's manifest asks for, as Entra ID would issue (v2.0 for an
    // audience the sandbox does not know, as before manifests had a say).
    const version = request.version ?? this.state.findResource(request.audience)?.tokenVersion ?? '2.0';
    const v1 = version === '1.0';
    return this.sign({
      aud: request.audience,
      iss: v1 ? this.v1Issuer(tenant.id) : this.issuer(tenant.id),
      iat,
      nbf: iat,
      exp,
      ...(v1
        ? { appid: DEMO.provider.portal.clientId, appidacr: '1' }
        : { azp: DEMO.provider.portal.clientId, azpacr: '1' }),
      oid: subject,
      sub: subject,
      tid: tenant.id,
      ...(request.name ? { name: request.name } : {}),
      ...(request.upn ? { preferred_username: request.upn, upn: request.upn } : {}),
      ...(request.roles && request.roles.length > 0 ? { roles: request.roles } : {}),
      scp: 'access_as_user',
      uti: randomBytes(16).toString('base64url'),
      ver: v1 ? '1.0' : '2.0',
    });
  }

  /** Checks signature, lifetime, audience and that the issuer is the token's own tenant in this sandbox. */
  async verify(token: string, audiences: readonly string[]): Promise<VerifiedToken> {
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, this.key.publicKey, { algorithms: ['RS256'] }));
    } catch (error) {
      if (error instanceof errors.JWTExpired)
        throw new TokenRejectedError('expired', 'The token is expired.');
      if (error instanceof errors.JWSSignatureVerificationFailed) {
        throw new TokenRejectedError('signature', 'The token signature is invalid.');
      }
      throw new TokenRejectedError('malformed', 'The token is not a well-formed signed JWT.');
    }
    const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!audience.some((aud) => aud !== undefined && audiences.includes(aud))) {
      throw new TokenRejectedError('audience', 'The token audience is not accepted.');
    }
    const tenant = typeof claims.tid === 'string' ? this.state.tenant(claims.tid) : undefined;
    if (!tenant || (claims.iss !== this.issuer(tenant.id) && claims.iss !== this.v1Issuer(tenant.id))) {
      throw new TokenRejectedError('issuer', 'The token issuer is not accepted.');
    }
    return { claims: { ...claims, tid: tenant.id }, tenant };
  }

  private sign(claims: JWTPayload): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.key.kid })
      .sign(this.key.privateKey);
  }
}

/** Entra ID's `sub` is pairwise: the same user has a different subject for each client. */
function pairwiseSubject(subject: DelegatedSubject): string {
  return stableGuid(`${subject.user.id}/${subject.clientId}`);
}
