import { shortNameKey } from '../customers/short-name.js';
import { lazyTable, restStatus } from '../storage/table-client.js';
import { type AuthenticationMethod, type CustomerCredential, VERIFICATION_STATUSES } from './credential.js';

export const CREDENTIALS_TABLE = 'credentials';
const PARTITION = 'provider';

type CredentialEntity = {
  partitionKey: string;
  rowKey: string;
  customerId: string;
  method: string;
  tenantId: string;
  m365Email?: string;
  initialDomain?: string;
  tenantDisplayName?: string;
  clientId?: string;
  clientSecretExpiresAt?: string;
  sealedSecret: string;
  whenLastVerified?: string;
  lastVerificationStatus: string;
  lastVerificationMessage?: string;
};

export class CredentialChangedError extends Error {
  override readonly name = 'CredentialChangedError';
}

export interface CredentialStore {
  get(customerId: string): Promise<CustomerCredential | null>;
  list(): AsyncIterable<CustomerCredential>;
  /** Stores a newly obtained credential, replacing any earlier one of the customer. */
  put(credential: Omit<CustomerCredential, 'etag'>): Promise<CustomerCredential>;
  /** Changes a credential if nobody changed it since it was read. */
  update(
    current: CustomerCredential,
    changes: Partial<Omit<CustomerCredential, 'etag' | 'customerId'>>,
  ): Promise<CustomerCredential>;
}

export function createTableCredentialStore(connectionString: string): CredentialStore {
  const table = lazyTable(connectionString, CREDENTIALS_TABLE);
  const toEntity = (c: Omit<CustomerCredential, 'etag'>): CredentialEntity => ({
    partitionKey: PARTITION,
    rowKey: shortNameKey(c.customerId),
    customerId: c.customerId,
    method: c.method,
    tenantId: c.tenantId,
    ...(c.m365Email ? { m365Email: c.m365Email } : {}),
    ...(c.initialDomain ? { initialDomain: c.initialDomain } : {}),
    ...(c.tenantDisplayName ? { tenantDisplayName: c.tenantDisplayName } : {}),
    ...(c.clientId ? { clientId: c.clientId } : {}),
    ...(c.clientSecretExpiresAt ? { clientSecretExpiresAt: c.clientSecretExpiresAt } : {}),
    sealedSecret: c.sealedSecret,
    ...(c.whenLastVerified ? { whenLastVerified: c.whenLastVerified } : {}),
    lastVerificationStatus: c.lastVerificationStatus,
    ...(c.lastVerificationMessage ? { lastVerificationMessage: c.lastVerificationMessage } : {}),
  });
  return {
    async get(customerId) {
      const client = await table();
      try {
        return fromEntity(await client.getEntity<CredentialEntity>(PARTITION, shortNameKey(customerId)));
      } catch (error) {
        if (restStatus(error) === 404) return null;
        throw error;
      }
    },
    async *list() {
      const client = await table();
      for await (const e of client.listEntities<CredentialEntity>({
        queryOptions: { filter: `PartitionKey eq '${PARTITION}'` },
      })) {
        yield fromEntity(e);
      }
    },
    async put(credential) {
      const client = await table();
      const response = await client.upsertEntity(toEntity(credential), 'Replace');
      return { ...credential, etag: response.etag ?? '' };
    },
    async update(current, changes) {
      const client = await table();
      const next = { ...current, ...changes };
      try {
        const response = await client.updateEntity(toEntity(next), 'Replace', { etag: current.etag });
        return { ...next, etag: response.etag ?? '' };
      } catch (error) {
        if (restStatus(error) === 412 || restStatus(error) === 404) throw new CredentialChangedError();
        throw error;
      }
    },
  };
}

function fromEntity(e: CredentialEntity & { etag: string }): CustomerCredential {
  const status = VERIFICATION_STATUSES.find((s) => s === e.lastVerificationStatus) ?? 'Never Performed';
  return {
    customerId: e.customerId,
    method: e.method as AuthenticationMethod,
    tenantId: e.tenantId,
    m365Email: e.m365Email ?? null,
    initialDomain: e.initialDomain ?? null,
    tenantDisplayName: e.tenantDisplayName ?? null,
    clientId: e.clientId ?? null,
    clientSecretExpiresAt: e.clientSecretExpiresAt ?? null,
    sealedSecret: e.sealedSecret,
    whenLastVerified: e.whenLastVerified ?? null,
    lastVerificationStatus: status,
    lastVerificationMessage: e.lastVerificationMessage ?? null,
    etag: e.etag,
  };
}
