import type { TokenCredential } from '@azure/identity';
import type { AlarmService } from '../alarms/alarm-service.js';
import { DomainError, domainErrors, isDomainError } from '../errors/domain-errors.js';
import { azureSdkOptions } from '../net/azure-sdk-options.js';
import { clientSecretCredential } from '../net/identity-credentials.js';
import type { TrustedTransport } from '../net/trusted-transport.js';
import { describeEntraFailure } from '../m365/aadsts.js';
import { createGraphClient, getOrganization, listApplicationSecrets } from '../m365/graph-client.js';
import type { SecretBox } from '../secrets/secret-box.js';
import {
  type AuthenticationMethod,
  type CustomerCredential,
  GRAPH_SCOPE,
  TEAMS_ADMIN_SCOPE,
  type VerificationStatus,
} from './credential.js';
import { VersionConflictError } from '../errors/domain-errors.js';
import { withOptimisticRetry } from '../storage/versioned-table.js';
import type { CredentialStore } from './credential-store.js';
import { missingPermissions, permissionsMissingError } from './app-permissions.js';

export interface AppRegistrationInput {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

/** A delegated grant from the token flows (device code or sign-in): the admin and a refresh token. */
export interface DelegatedGrant {
  readonly tenantId: string;
  /** The signed-in account's `preferred_username`. */
  readonly m365Email: string;
  /** The signed-in account's `oid`. */
  readonly objectId: string | null;
  readonly refreshToken: string;
}

/** Exchanges a customer's refresh token for an access token to one resource; returns the rotated refresh token. */
export interface DelegatedTokenSource {
  refresh(
    tenantId: string,
    refreshToken: string,
    scope: string,
  ): Promise<{ accessToken: string; refreshToken: string | null }>;
}

export interface AuthenticationStatusRow {
  readonly customerId: string;
  readonly m365Email: string | null;
  readonly authenticationMethod: AuthenticationMethod;
  readonly tenantId: string;
  readonly whenLastVerified: string | null;
  readonly lastVerificationStatus: VerificationStatus;
  readonly clientSecretDaysUntilExpire: number | null;
  readonly message: string | null;
}

/** A credential captured by an onboarding wizard session belongs to it until Submit (CustomerCredential). */
export interface CaptureOptions {
  readonly wizardSessionId?: string;
}

/** What became of a wizard's captured credential that was deleted: what the operator is told. */
export interface DiscardedCredential {
  readonly customerId: string;
  readonly method: AuthenticationMethod;
  readonly tenantId: string;
  /** Asks the operator to have the customer's admin revoke what was granted. */
  readonly message: string;
}

export interface CredentialService {
  /** Validates a customer's own app registration by getting tokens for both resources; stores it only if both work. */
  connectAppRegistration(
    customerId: string,
    input: AppRegistrationInput,
    options?: CaptureOptions,
  ): Promise<CustomerCredential>;
  /** Stores a delegated grant after checking it yields tokens for both resources. */
  connectDelegated(
    customerId: string,
    grant: DelegatedGrant,
    options?: CaptureOptions,
  ): Promise<CustomerCredential>;
  /** The wizard's Submit created the customer: its credential is the customer's now, and replication starts. */
  release(customerId: string, wizardSessionId: string): Promise<void>;
  /**
   * Deletes the customer's credential if (and only if) that wizard session still holds it; null when there was
   * none. Idempotent.
   */
  discardHeld(customerId: string, wizardSessionId: string): Promise<DiscardedCredential | null>;
  /**
   * The customer is removed: its credential goes (so no verification refreshes a removed customer's token, and a
   * later customer of the same Short Name inherits nothing), with what to tell the customer's admin; null when there
   * was none. Idempotent.
   */
  forget(customerId: string): Promise<DiscardedCredential | null>;
  /** The credentials wizard sessions hold: the sweep finds those whose session ended without Submit. */
  held(): Promise<Array<Pick<CustomerCredential, 'customerId' | 'heldByWizardSession'>>>;
  get(customerId: string): Promise<CustomerCredential | null>;
  /** Check Credentials: both resources, now; records the outcome. */
  verify(customerId: string): Promise<AuthenticationStatusRow>;
  status(): Promise<AuthenticationStatusRow[]>;
  /** A credential for Graph calls in the customer's tenant. */
  graphCredential(credential: CustomerCredential): TokenCredential;
}

export interface CredentialServiceOptions {
  readonly store: CredentialStore;
  readonly secretBox: SecretBox;
  readonly transport: TrustedTransport;
  readonly authorityHost: string;
  readonly graphBaseUrl: string;
  readonly delegated: DelegatedTokenSource;
  readonly alarms: AlarmService;
  readonly now?: () => Date;
  /** Called when a customer's credentials are verified (stored or checked successfully): replication starts. */
  readonly onVerified?: (customerId: string) => Promise<void>;
}

export const CREDENTIAL_ALARM = 'Customer credentials failed';
export const credentialAlarmSource = (customerId: string) => `customer:${customerId}`;

/** Entra says why it refused; everything else (network, 5xx) is ours to retry, not the customer's to fix. */
function entraMessage(error: unknown): { code: string | null; message: string } {
  const text =
    error instanceof Error
      ? `${error.message} ${JSON.stringify((error as { errorResponse?: unknown }).errorResponse ?? '')}`
      : String(error);
  return describeEntraFailure(text);
}

/**
 * Deleting our copy does not undo the grant in the customer's tenant: only their admin can. What to ask for
 * depends on what was granted.
 */
function revokeNotice(credential: CustomerCredential, why = 'deleted without being used'): string {
  const what =
    credential.method === 'app-registration'
      ? `delete the client secret given for app registration ${credential.clientId ?? ''} (or the app registration) if it is not used otherwise`
      : "remove the admin consent given to the provider's sign-in app (Enterprise applications in Microsoft Entra)";
  return (
    `The Microsoft 365 credentials captured for "${credential.customerId}" were ${why}. ` +
    `Ask the customer's admin (tenant ${credential.tenantId}) to ${what}.`
  );
}

export function createCredentialService(options: CredentialServiceOptions): CredentialService {
  const { store, secretBox, transport } = options;
  const now = options.now ?? (() => new Date());
  const slot = (customerId: string) => `credentials/${customerId.toLowerCase()}/secret`;

  function appCredential(tenantId: string, clientId: string, clientSecret: string): TokenCredential {
    return clientSecretCredential(tenantId, clientId, clientSecret, {
      authorityHost: options.authorityHost,
      disableInstanceDiscovery: true,
      ...azureSdkOptions(transport),
    });
  }

  /**
   * The customer's credential, its secret re-sealed with the current key (and written back) when a retired key
   * sealed it: every use of a credential goes through here, so the daily verification re-seals them all.
   */
  async function current(customerId: string): Promise<CustomerCredential | null> {
    const found = await store.get(customerId);
    const resealed = found ? secretBox.reseal(found.sealedSecret, slot(found.customerId)) : null;
    if (!found || resealed === null) return found;
    try {
      return await store.update(found, { sealedSecret: resealed });
    } catch (error) {
      // Someone wrote it meanwhile (with the current key): theirs is the newer.
      if (error instanceof VersionConflictError) return store.get(customerId);
      throw error;
    }
  }

  /** A TokenCredential over a delegated refresh token, persisting each rotated refresh token. */
  function delegatedCredential(credential: CustomerCredential): TokenCredential {
    let current = credential;
    return {
      async getToken(scopes) {
        const scope = Array.isArray(scopes) ? scopes.join(' ') : String(scopes);
        const refreshToken = secretBox.open(current.sealedSecret, slot(current.customerId));
        const result = await options.delegated.refresh(current.tenantId, refreshToken, scope);
        const latest = result.refreshToken ? result.refreshToken : refreshToken;
        // A token sealed with a retired key is re-sealed with the current one, so the old key can be dropped.
        if (latest !== refreshToken || !secretBox.isCurrent(current.sealedSecret)) {
          try {
            current = await store.update(current, {
              sealedSecret: secretBox.seal(latest, slot(current.customerId)),
            });
          } catch (error) {
            // Another invocation rotated it first; both refresh tokens stay valid, so keep going with ours.
            if (!(error instanceof VersionConflictError)) throw error;
          }
        }
        return { token: result.accessToken, expiresOnTimestamp: now().getTime() + 5 * 60 * 1000 };
      },
    };
  }

  function graphCredential(credential: CustomerCredential): TokenCredential {
    if (credential.method === 'app-registration' && credential.clientId) {
      return appCredential(
        credential.tenantId,
        credential.clientId,
        secretBox.open(credential.sealedSecret, slot(credential.customerId)),
      );
    }
    return delegatedCredential(credential);
  }

  async function tenantDetails(credential: TokenCredential) {
    const organization = await getOrganization(
      createGraphClient({ baseUrl: options.graphBaseUrl, credential, transport }),
    );
    return {
      initialDomain: organization.verifiedDomains.find((d) => d.isInitial)?.name ?? null,
      tenantDisplayName: organization.displayName,
    };
  }

  /**
   * The end date of the secret in use: Graph shows each secret's first characters (`hint`) and end date. Unknown
   * (null) when the app may not read its own registration, or Graph does not answer: it is information, not a
   * reason to refuse a working registration.
   */
  async function secretExpiry(
    credential: TokenCredential,
    clientId: string,
    clientSecret: string,
  ): Promise<string | null> {
    try {
      const secrets = await listApplicationSecrets(
        createGraphClient({ baseUrl: options.graphBaseUrl, credential, transport }),
        clientId,
      );
      const ends = secrets
        .filter((s) => s.hint && clientSecret.startsWith(s.hint) && s.endDateTime)
        .map((s) => s.endDateTime!)
        .sort();
      return ends.at(-1) ?? null;
    } catch {
      return null;
    }
  }

  /**
   * Verification stands on its own: a customer whose replication could not be queued here is found by its timer.
   * A credential a wizard holds has no customer yet: it replicates once Submit releases it.
   */
  const verified = async (credential: Pick<CustomerCredential, 'customerId' | 'heldByWizardSession'>) => {
    if (credential.heldByWizardSession) return;
    await options.onVerified?.(credential.customerId).catch(() => undefined);
  };

  const daysUntil = (iso: string | null) =>
    iso === null ? null : Math.floor((Date.parse(iso) - now().getTime()) / (24 * 60 * 60 * 1000));

  const row = (c: CustomerCredential): AuthenticationStatusRow => ({
    customerId: c.customerId,
    m365Email: c.m365Email,
    authenticationMethod: c.method,
    tenantId: c.tenantId,
    whenLastVerified: c.whenLastVerified,
    lastVerificationStatus: c.lastVerificationStatus,
    clientSecretDaysUntilExpire: c.method === 'app-registration' ? daysUntil(c.clientSecretExpiresAt) : null,
    message: c.lastVerificationMessage,
  });

  return {
    async connectAppRegistration(customerId, input, capture = {}) {
      const credential = appCredential(input.tenantId, input.clientId, input.clientSecret);
      try {
        await credential.getToken(GRAPH_SCOPE);
        await credential.getToken(TEAMS_ADMIN_SCOPE);
      } catch (error) {
        const { code, message } = entraMessage(error);
        throw new DomainError('unprocessable', {
          code: 'app_registration_invalid',
          title: 'The app registration does not work',
          detail: message,
          fields: [
            {
              field:
                code === 'AADSTS90002' || code === 'AADSTS900023'
                  ? 'tenantId'
                  : code === 'AADSTS700016'
                    ? 'clientId'
                    : 'clientSecret',
              in: 'body',
              code: code ?? 'entra_error',
              message,
            },
          ],
        });
      }
      // Tokens alone prove the secret, not the grants: without this a registration reports Successful and
      // replication then fails on its first read.
      const missing = await missingPermissions(
        createGraphClient({ baseUrl: options.graphBaseUrl, credential, transport }),
      );
      if (missing.length > 0) throw permissionsMissingError(missing);
      const details = await tenantDetails(credential);
      const clientSecretExpiresAt = await secretExpiry(credential, input.clientId, input.clientSecret);
      await options.alarms.clear(CREDENTIAL_ALARM, credentialAlarmSource(customerId));
      const stored = await store.put({
        customerId,
        method: 'app-registration',
        tenantId: input.tenantId,
        m365Email: null,
        m365AdminObjectId: null,
        ...details,
        clientId: input.clientId,
        clientSecretExpiresAt,
        sealedSecret: secretBox.seal(input.clientSecret, slot(customerId)),
        whenLastVerified: now().toISOString(),
        lastVerificationStatus: 'successful',
        lastVerificationMessage: null,
        heldByWizardSession: capture.wizardSessionId ?? null,
      });
      await verified(stored);
      return stored;
    },

    async connectDelegated(customerId, grant, capture = {}) {
      const draft: Omit<CustomerCredential, 'etag'> = {
        customerId,
        method: 'token',
        tenantId: grant.tenantId,
        m365Email: grant.m365Email,
        m365AdminObjectId: grant.objectId,
        initialDomain: null,
        tenantDisplayName: null,
        clientId: null,
        clientSecretExpiresAt: null,
        sealedSecret: secretBox.seal(grant.refreshToken, slot(customerId)),
        whenLastVerified: null,
        lastVerificationStatus: 'never-performed',
        lastVerificationMessage: null,
        heldByWizardSession: capture.wizardSessionId ?? null,
      };
      const stored = await store.put(draft);
      const credential = delegatedCredential(stored);
      await credential.getToken(TEAMS_ADMIN_SCOPE);
      const details = await tenantDetails(credential);
      const latest = (await store.get(customerId)) ?? stored;
      await options.alarms.clear(CREDENTIAL_ALARM, credentialAlarmSource(customerId));
      const updated = await store.update(latest, {
        ...details,
        whenLastVerified: now().toISOString(),
        lastVerificationStatus: 'successful',
      });
      await verified(updated);
      return updated;
    },

    async release(customerId, wizardSessionId) {
      await withOptimisticRetry(async () => {
        const credential = await store.get(customerId);
        if (credential?.heldByWizardSession !== wizardSessionId) return;
        const released = await store.update(credential, { heldByWizardSession: null });
        if (released.lastVerificationStatus === 'successful') await verified(released);
      });
    },

    async discardHeld(customerId, wizardSessionId) {
      return withOptimisticRetry(async () => {
        const credential = await store.get(customerId);
        if (!credential || credential.heldByWizardSession !== wizardSessionId) return null;
        await store.delete(credential);
        await options.alarms.clear(CREDENTIAL_ALARM, credentialAlarmSource(customerId));
        return {
          customerId: credential.customerId,
          method: credential.method,
          tenantId: credential.tenantId,
          message: revokeNotice(credential),
        };
      });
    },

    async forget(customerId) {
      return withOptimisticRetry(async () => {
        const credential = await store.get(customerId);
        if (!credential) return null;
        await store.delete(credential);
        await options.alarms.clear(CREDENTIAL_ALARM, credentialAlarmSource(customerId));
        return {
          customerId: credential.customerId,
          method: credential.method,
          tenantId: credential.tenantId,
          message: revokeNotice(credential, 'removed with the customer'),
        };
      });
    },

    async held() {
      const rows: Array<Pick<CustomerCredential, 'customerId' | 'heldByWizardSession'>> = [];
      for await (const c of store.list()) {
        if (c.heldByWizardSession)
          rows.push({ customerId: c.customerId, heldByWizardSession: c.heldByWizardSession });
      }
      return rows;
    },

    get: (customerId) => current(customerId),

    async verify(customerId) {
      const credential = await current(customerId);
      if (!credential) throw domainErrors.notFound(`"${customerId}" has no Microsoft 365 credentials yet.`);
      let status: VerificationStatus = 'successful';
      let message: string | null = null;
      let clientSecretExpiresAt = credential.clientSecretExpiresAt;
      try {
        const tokens = graphCredential(credential);
        await tokens.getToken(GRAPH_SCOPE);
        await tokens.getToken(TEAMS_ADMIN_SCOPE);
        if (credential.method === 'app-registration' && credential.clientId) {
          // A permission removed since the connect is what the next replication would fail on: say which.
          const missing = await missingPermissions(
            createGraphClient({ baseUrl: options.graphBaseUrl, credential: tokens, transport }),
          );
          if (missing.length > 0) throw permissionsMissingError(missing);
          const secret = secretBox.open(credential.sealedSecret, slot(credential.customerId));
          clientSecretExpiresAt =
            (await secretExpiry(tokens, credential.clientId, secret)) ?? clientSecretExpiresAt;
        }
      } catch (error) {
        status = 'failed';
        message = isDomainError(error) ? (error.detail ?? error.title) : entraMessage(error).message;
      }
      const latest = (await store.get(customerId)) ?? credential;
      const updated = await store.update(latest, {
        whenLastVerified: now().toISOString(),
        lastVerificationStatus: status,
        lastVerificationMessage: message,
        clientSecretExpiresAt,
      });
      if (message) {
        await options.alarms.raise({
          name: CREDENTIAL_ALARM,
          severity: 'major',
          source: credentialAlarmSource(customerId),
          text: `${customerId}: ${message}`,
        });
      } else {
        await options.alarms.clear(CREDENTIAL_ALARM, credentialAlarmSource(customerId));
        await verified(updated);
      }
      return row(updated);
    },

    async status() {
      const rows: AuthenticationStatusRow[] = [];
      for await (const credential of store.list()) rows.push(row(credential));
      return rows;
    },

    graphCredential,
  };
}
