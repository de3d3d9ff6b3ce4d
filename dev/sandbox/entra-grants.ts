import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { sameSecret } from './entra-client.js';
import { type DirectoryUser, findUser, SandboxStateError, type Tenant } from './directory-model.js';
import type { EntraGrantsSnapshot } from './snapshot-schema.js';

/** The tenants the grants look users up in (the sandbox state that holds the grants). */
export interface TenantLookup {
  tenant(idOrDomain: string): Tenant | undefined;
  requireTenant(idOrDomain: string): Tenant;
}

/** Entra ID's lifetime for authorization codes. */
const AUTHORIZATION_CODE_LIFETIME_MS = 10 * 60 * 1000;
/** How long a started browser flow (sign-in page to redirect) stays usable. */
const FLOW_LIFETIME_MS = 60 * 60 * 1000;
/** Letters and digits that cannot be mistaken for each other when typed from a screen (no 0/O, 1/I). */
const USER_CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

export interface PkceChallenge {
  readonly value: string;
  readonly method: 'S256' | 'plain';
}

/** A started sign-in in the browser: the validated request, and who signed in once they did. */
export interface InteractiveFlow {
  readonly id: string;
  readonly kind: 'authorize' | 'adminconsent' | 'device';
  /** Null for `common` / `organizations`: the signing-in user's home tenant decides. */
  readonly tenantId: string | null;
  readonly clientId: string;
  readonly scope: string;
  readonly redirectUri: string | null;
  readonly state: string | null;
  readonly challenge: PkceChallenge | null;
  readonly prompt: string | null;
  readonly loginHint: string | null;
  readonly userCode: string | null;
  readonly expiresAt: number;
  signedIn: SignedInUser | null;
  /** Set when the user may not consent (AADSTS90094); Cancel then reports that instead of a refusal. */
  needsAdminApproval: boolean;
}

export interface SignedInUser {
  readonly tenantId: string;
  readonly userId: string;
  readonly globalAdministrator: boolean;
}

export interface AuthorizationCode {
  readonly tenantId: string;
  readonly userId: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly scope: string;
  readonly challenge: PkceChallenge | null;
  readonly expiresAt: number;
  redeemed: boolean;
}

export interface RefreshGrant {
  readonly tenantId: string;
  readonly userId: string;
  readonly clientId: string;
  readonly scope: string;
  readonly issuedAt: Date;
  /** Issue order; a revocation invalidates every grant issued before it, whatever the clock says. */
  readonly sequence: number;
}

export type DeviceCodeOutcome =
  | { readonly status: 'pending' }
  | { readonly status: 'approved'; readonly tenantId: string; readonly userId: string }
  | { readonly status: 'declined' };

export interface DeviceCode {
  readonly deviceCode: string;
  readonly userCode: string;
  readonly tenantId: string | null;
  readonly clientId: string;
  readonly scope: string;
  readonly expiresAt: number;
  interval: number;
  lastPolledAt: number | null;
  outcome: DeviceCodeOutcome;
}

export interface DeviceCodeTiming {
  readonly expiresInSeconds: number;
  readonly intervalSeconds: number;
}

const DEFAULT_DEVICE_CODE_TIMING: DeviceCodeTiming = { expiresInSeconds: 900, intervalSeconds: 5 };

export type SignInResult =
  | {
      readonly ok: true;
      readonly tenant: Tenant;
      readonly user: DirectoryUser;
      readonly globalAdministrator: boolean;
    }
  | { readonly ok: false; readonly code: number; readonly message: string };

interface SignInCredential {
  readonly password: string;
  readonly globalAdministrator: boolean;
}

/**
 * What Entra ID remembers between the steps of the delegated (user) flows: users' sandbox passwords and admin
 * role, tenant-wide delegated consents, authorization codes, device codes and refresh tokens. Passwords are only
 * ever compared, never returned or logged.
 */
export class EntraGrants {
  private readonly credentials = new Map<string, SignInCredential>();
  /** tenantId → client appId → consented resource appIds. */
  private readonly consents = new Map<string, Map<string, Set<string>>>();
  private readonly codes = new Map<string, AuthorizationCode>();
  private readonly refreshTokens = new Map<string, RefreshGrant>();
  /** tenantId/userId → grants issued up to this sequence number are revoked, and when that happened. */
  private readonly revocations = new Map<string, { sequence: number; at: Date }>();
  private readonly deviceCodes = new Map<string, DeviceCode>();
  private readonly flows = new Map<string, InteractiveFlow>();
  private sequence = 0;
  private timing: DeviceCodeTiming = DEFAULT_DEVICE_CODE_TIMING;

  constructor(private readonly directory: TenantLookup) {}

  clear(): void {
    this.credentials.clear();
    this.consents.clear();
    this.codes.clear();
    this.refreshTokens.clear();
    this.revocations.clear();
    this.deviceCodes.clear();
    this.flows.clear();
    this.timing = DEFAULT_DEVICE_CODE_TIMING;
  }

  /**
   * What Entra ID keeps across its own restarts: passwords, consents, authorization codes, refresh tokens and
   * revocations. Device codes and half-finished browser flows are left out: a user starts those again.
   */
  snapshot(skipTenant: (tenantId: string) => boolean = () => false): EntraGrantsSnapshot {
    const keep = (tenantId: string) => !skipTenant(tenantId);
    // Credentials and revocations are keyed `tenantId/userId`.
    const keepKey = (key: string) => keep(key.split('/')[0] ?? '');
    return {
      credentials: [...this.credentials].filter(([key]) => keepKey(key)).map(([key, c]) => ({ key, ...c })),
      consents: [...this.consents]
        .filter(([tenantId]) => keep(tenantId))
        .flatMap(([tenantId, byClient]) =>
          [...byClient].map(([clientId, resources]) => ({
            tenantId,
            clientId,
            resourceAppIds: [...resources],
          })),
        ),
      authorizationCodes: [...this.codes]
        .filter(([, c]) => keep(c.tenantId))
        .map(([code, c]) => ({ code, ...c, challenge: c.challenge ? { ...c.challenge } : null })),
      refreshTokens: [...this.refreshTokens]
        .filter(([, g]) => keep(g.tenantId))
        .map(([token, g]) => ({ token, ...g, issuedAt: g.issuedAt.toISOString() })),
      revocations: [...this.revocations]
        .filter(([key]) => keepKey(key))
        .map(([key, r]) => ({ key, sequence: r.sequence, at: r.at.toISOString() })),
      sequence: this.sequence,
    };
  }

  restore(snapshot: EntraGrantsSnapshot): void {
    this.clear();
    for (const { key, ...credential } of snapshot.credentials) this.credentials.set(key, credential);
    for (const { tenantId, clientId, resourceAppIds } of snapshot.consents) {
      const byClient = this.consents.get(tenantId) ?? new Map<string, Set<string>>();
      this.consents.set(tenantId, byClient);
      byClient.set(clientId, new Set(resourceAppIds));
    }
    for (const { code, ...rest } of snapshot.authorizationCodes) this.codes.set(code, rest);
    for (const { token, issuedAt, ...rest } of snapshot.refreshTokens) {
      this.refreshTokens.set(token, { ...rest, issuedAt: new Date(issuedAt) });
    }
    for (const { key, sequence, at } of snapshot.revocations) {
      this.revocations.set(key, { sequence, at: new Date(at) });
    }
    this.sequence = snapshot.sequence;
  }

  /** Gives an existing user a sandbox password and, optionally, the Global Administrator role. */
  setCredentials(
    tenantIdOrDomain: string,
    userPrincipalName: string,
    credential: { readonly password: string; readonly globalAdministrator?: boolean },
  ): void {
    const { tenant, user } = this.requireUser(tenantIdOrDomain, userPrincipalName);
    this.credentials.set(`${tenant.id}/${user.id}`, {
      password: credential.password,
      globalAdministrator: credential.globalAdministrator ?? false,
    });
  }

  isGlobalAdministrator(tenantId: string, userId: string): boolean {
    return this.credentials.get(`${tenantId}/${userId}`)?.globalAdministrator ?? false;
  }

  /**
   * The password check of the sign-in page. `tenantId` is the tenant the request named, or null for the
   * multi-tenant aliases, where the user's home tenant (found by the UPN's domain) is used.
   */
  signIn(tenantId: string | null, username: string, password: string): SignInResult {
    const domain = username.split('@')[1] ?? '';
    const home = domain ? this.directory.tenant(domain) : undefined;
    const user = home ? findUser(home, username) : undefined;
    if (!home || !user) {
      const directory = tenantId
        ? (this.directory.tenant(tenantId)?.displayName ?? tenantId)
        : domain || 'the';
      return {
        ok: false,
        code: 50034,
        message:
          `The user account ${username} does not exist in the ${directory} directory. To sign into this ` +
          'application, the account must be added to the directory.',
      };
    }
    if (tenantId && home.id !== tenantId) {
      const tenant = this.directory.tenant(tenantId);
      return {
        ok: false,
        code: 50020,
        message:
          `User account '${user.userPrincipalName}' from identity provider 'https://sts.windows.net/${home.id}/' ` +
          `does not exist in tenant '${tenant?.displayName ?? tenantId}' and cannot access the application in ` +
          'that tenant. The account needs to be added as an external user in the tenant first.',
      };
    }
    const credential = this.credentials.get(`${home.id}/${user.id}`);
    if (!credential || !sameSecret(credential.password, password)) {
      return {
        ok: false,
        code: 50126,
        message: 'Error validating credentials due to invalid username or password.',
      };
    }
    if (!user.accountEnabled) return { ok: false, code: 50057, message: 'The user account is disabled.' };
    return { ok: true, tenant: home, user, globalAdministrator: credential.globalAdministrator };
  }

  hasDelegatedConsent(tenantId: string, clientId: string, resourceAppId: string): boolean {
    return (
      this.consents.get(tenantId)?.get(clientId.toLowerCase())?.has(resourceAppId.toLowerCase()) ?? false
    );
  }

  /** Tenant-wide delegated consent ("Grant admin consent for {tenant}") of a client for resources. */
  grantDelegatedConsent(tenantIdOrDomain: string, clientId: string, resourceAppIds: readonly string[]): void {
    const tenant = this.directory.requireTenant(tenantIdOrDomain);
    const byClient = this.consents.get(tenant.id) ?? new Map<string, Set<string>>();
    this.consents.set(tenant.id, byClient);
    const resources = byClient.get(clientId.toLowerCase()) ?? new Set<string>();
    byClient.set(clientId.toLowerCase(), resources);
    for (const appId of resourceAppIds) resources.add(appId.toLowerCase());
  }

  /** Removes one resource from a client's delegated consent; false when there was none. */
  removeDelegatedConsent(tenantIdOrDomain: string, clientId: string, resourceAppId: string): boolean {
    const tenant = this.directory.requireTenant(tenantIdOrDomain);
    return (
      this.consents.get(tenant.id)?.get(clientId.toLowerCase())?.delete(resourceAppId.toLowerCase()) ?? false
    );
  }

  delegatedConsents(tenantIdOrDomain: string): Array<{ clientId: string; resourceAppIds: string[] }> {
    const tenant = this.directory.requireTenant(tenantIdOrDomain);
    return [...(this.consents.get(tenant.id) ?? new Map<string, Set<string>>()).entries()]
      .filter(([, resources]) => resources.size > 0)
      .map(([clientId, resources]) => ({ clientId, resourceAppIds: [...resources] }));
  }

  issueAuthorizationCode(code: Omit<AuthorizationCode, 'expiresAt' | 'redeemed'>): string {
    const value = `1.${randomBytes(48).toString('base64url')}`;
    this.codes.set(value, {
      ...code,
      expiresAt: Date.now() + AUTHORIZATION_CODE_LIFETIME_MS,
      redeemed: false,
    });
    return value;
  }

  authorizationCode(code: string): AuthorizationCode | undefined {
    return this.codes.get(code);
  }

  /** Test hook: ages a code past its lifetime. */
  expireAuthorizationCode(code: string): void {
    const found = this.codes.get(code);
    if (found) this.codes.set(code, { ...found, expiresAt: 0 });
  }

  /** A new opaque refresh token; earlier ones of the same user stay valid until revoked, as in Entra ID. */
  issueRefreshToken(grant: Omit<RefreshGrant, 'issuedAt' | 'sequence'>): string {
    const token = `1.${randomBytes(64).toString('base64url')}`;
    this.refreshTokens.set(token, { ...grant, issuedAt: new Date(), sequence: ++this.sequence });
    return token;
  }

  /** Every refresh token issued since the last reset, for tests that prove none leaked into logs or storage. */
  issuedRefreshTokens(): string[] {
    return [...this.refreshTokens.keys()];
  }

  refreshGrant(token: string): RefreshGrant | undefined {
    return this.refreshTokens.get(token);
  }

  /** When the grant's user had their grants revoked after it was issued: the revocation time. */
  revokedSince(grant: RefreshGrant): Date | null {
    const revocation = this.revocations.get(`${grant.tenantId}/${grant.userId}`);
    return revocation && grant.sequence <= revocation.sequence ? revocation.at : null;
  }

  /**
   * Invalidates the refresh tokens of one user (or every user) of a tenant, as a password reset or
   * `revokeSignInSessions` does; tokens issued later work again. Returns how many users were affected.
   */
  revokeGrants(tenantIdOrDomain: string, userPrincipalName?: string): number {
    const tenant = this.directory.requireTenant(tenantIdOrDomain);
    const users = userPrincipalName
      ? [this.requireUser(tenant.id, userPrincipalName).user]
      : [...tenant.users.values()];
    const revocation = { sequence: this.sequence, at: new Date() };
    for (const user of users) this.revocations.set(`${tenant.id}/${user.id}`, revocation);
    return users.length;
  }

  deviceCodeTiming(): DeviceCodeTiming {
    return this.timing;
  }

  /** Shortens (or restores) device code lifetime and polling interval, for tests of expiry and slow_down. */
  setDeviceCodeTiming(timing: Partial<DeviceCodeTiming>): DeviceCodeTiming {
    this.timing = { ...this.timing, ...timing };
    return this.timing;
  }

  createDeviceCode(request: { tenantId: string | null; clientId: string; scope: string }): DeviceCode {
    let userCode: string;
    do {
      userCode = Array.from(
        { length: 9 },
        () => USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)],
      ).join('');
    } while (this.deviceCodeByUserCode(userCode));
    const code: DeviceCode = {
      ...request,
      deviceCode: `DAQABIQEAAAB${randomBytes(96).toString('base64url')}`,
      userCode,
      expiresAt: Date.now() + this.timing.expiresInSeconds * 1000,
      interval: this.timing.intervalSeconds,
      lastPolledAt: null,
      outcome: { status: 'pending' },
    };
    this.deviceCodes.set(code.deviceCode, code);
    return code;
  }

  deviceCode(deviceCode: string): DeviceCode | undefined {
    return this.deviceCodes.get(deviceCode);
  }

  /** Case-insensitive and ignoring spaces and dashes, like the "Enter code" page. */
  deviceCodeByUserCode(userCode: string): DeviceCode | undefined {
    const key = userCode.replace(/[\s-]/g, '').toUpperCase();
    return [...this.deviceCodes.values()].find((code) => code.userCode === key);
  }

  /** Records the user's answer on the device code's pages; the next poll sees it. */
  settleDeviceCode(userCode: string, outcome: Exclude<DeviceCodeOutcome, { status: 'pending' }>): DeviceCode {
    const code = this.deviceCodeByUserCode(userCode);
    if (!code) throw new SandboxStateError(404, `No device code with user code '${userCode}'.`);
    if (code.outcome.status !== 'pending') {
      throw new SandboxStateError(409, `Device code '${code.userCode}' was already ${code.outcome.status}.`);
    }
    if (code.expiresAt <= Date.now())
      throw new SandboxStateError(409, `Device code '${code.userCode}' has expired.`);
    code.outcome = outcome;
    return code;
  }

  /** After a successful redemption the device code is spent. */
  deleteDeviceCode(deviceCode: string): void {
    this.deviceCodes.delete(deviceCode);
  }

  startFlow(
    flow: Omit<InteractiveFlow, 'id' | 'expiresAt' | 'signedIn' | 'needsAdminApproval'>,
  ): InteractiveFlow {
    const started: InteractiveFlow = {
      ...flow,
      id: randomUUID(),
      expiresAt: Date.now() + FLOW_LIFETIME_MS,
      signedIn: null,
      needsAdminApproval: false,
    };
    this.flows.set(started.id, started);
    return started;
  }

  flow(id: string): InteractiveFlow | undefined {
    const flow = this.flows.get(id);
    return flow && flow.expiresAt > Date.now() ? flow : undefined;
  }

  endFlow(id: string): void {
    this.flows.delete(id);
  }

  requireUser(tenantIdOrDomain: string, userPrincipalName: string): { tenant: Tenant; user: DirectoryUser } {
    const tenant = this.directory.requireTenant(tenantIdOrDomain);
    const user = findUser(tenant, userPrincipalName);
    if (!user)
      throw new SandboxStateError(404, `User '${userPrincipalName}' does not exist in '${tenant.id}'.`);
    return { tenant, user };
  }
}
