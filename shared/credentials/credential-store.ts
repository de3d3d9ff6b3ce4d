import { shortNameKey } from '../customers/short-name.js';
import { azureTables } from '../storage/azure-tables.js';
import type { Stored, Tables } from '../storage/versioned-table.js';
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
  m365AdminObjectId?: string;
  initialDomain?: string;
  tenantDisplayName?: string;
  clientId?: string;
  clientSecretExpiresAt?: string;
  sealedSecret: string;
  whenLastVerified?: string;
  lastVerificationStatus: string;
  lastVerificationMessage?: string;
  heldByWizardSession?: string;
};

export interface CredentialStore {
  get(customerId: string): Promise<CustomerCredential | null>;
  list(): AsyncIterable<CustomerCredential>;
  /** Stores a newly obtained credential, replacing any earlier one of the customer. */
  put(credential: Omit<CustomerCredential, 'etag'>): Promise<CustomerCredential>;
  /** Changes a credential if nobody changed it since it was read, else VersionConflictError. */
  update(
    current: CustomerCredential,
    changes: Partial<Omit<CustomerCredential, 'etag' | 'customerId'>>,
  ): Promise<CustomerCredential>;
  /** Deletes the credential if nobody changed it since it was read, else VersionConflictError; gone already is fine. */
  delete(current: CustomerCredential): Promise<void>;
}

export function createTableCredentialStore(connectionString: string): CredentialStore {
  return createCredentialStore(azureTables(connectionString));
}

export function createCredentialStore(tables: Tables): CredentialStore {
  const table = tables.table<CredentialEntity>(CREDENTIALS_TABLE);
  const toEntity = (c: Omit<CustomerCredential, 'etag'>): CredentialEntity => ({
    partitionKey: PARTITION,
    rowKey: shortNameKey(c.customerId),
    customerId: c.customerId,
    method: c.method,
    tenantId: c.tenantId,
    ...(c.m365Email ? { m365Email: c.m365Email } : {}),
    ...(c.m365AdminObjectId ? { m365AdminObjectId: c.m365AdminObjectId } : {}),
    ...(c.initialDomain ? { initialDomain: c.initialDomain } : {}),
    ...(c.tenantDisplayName ? { tenantDisplayName: c.tenantDisplayName } : {}),
    ...(c.clientId ? { clientId: c.clientId } : {}),
    ...(c.clientSecretExpiresAt ? { clientSecretExpiresAt: c.clientSecretExpiresAt } : {}),
    sealedSecret: c.sealedSecret,
    ...(c.whenLastVerified ? { whenLastVerified: c.whenLastVerified } : {}),
    lastVerificationStatus: c.lastVerificationStatus,
    ...(c.lastVerificationMessage ? { lastVerificationMessage: c.lastVerificationMessage } : {}),
    ...(c.heldByWizardSession ? { heldByWizardSession: c.heldByWizardSession } : {}),
  });
  return {
    async get(customerId) {
      const found = await table.get(PARTITION, shortNameKey(customerId));
      return found ? fromEntity(found) : null;
    },
    async *list() {
      for await (const row of table.list({ partitionKey: PARTITION })) yield fromEntity(row);
    },
    async put(credential) {
      return { ...credential, etag: await table.upsert(toEntity(credential)) };
    },
    async update(current, changes) {
      const next = { ...current, ...changes };
      return { ...next, etag: await table.replace(toEntity(next), current.etag) };
    },
    async delete(current) {
      await table.delete(PARTITION, shortNameKey(current.customerId), current.etag);
    },
  };
}

function fromEntity({ value: e, etag }: Stored<CredentialEntity>): CustomerCredential {
  const status = VERIFICATION_STATUSES.find((s) => s === e.lastVerificationStatus) ?? 'never-performed';
  return {
    customerId: e.customerId,
    method: e.method as AuthenticationMethod,
    tenantId: e.tenantId,
    m365Email: e.m365Email ?? null,
    m365AdminObjectId: e.m365AdminObjectId ?? null,
    initialDomain: e.initialDomain ?? null,
    tenantDisplayName: e.tenantDisplayName ?? null,
    clientId: e.clientId ?? null,
    clientSecretExpiresAt: e.clientSecretExpiresAt ?? null,
    sealedSecret: e.sealedSecret,
    whenLastVerified: e.whenLastVerified ?? null,
    lastVerificationStatus: status,
    lastVerificationMessage: e.lastVerificationMessage ?? null,
    heldByWizardSession: e.heldByWizardSession ?? null,
    etag,
  };
}
