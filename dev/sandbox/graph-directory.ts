import { createHash } from 'node:crypto';
import type { DnsZones } from './dns-zones.js';
import {
  type DirectoryUser,
  SandboxStateError,
  stableGuid,
  type Tenant,
  type VerifiedDomain,
} from './directory-model.js';
import type { GraphDirectorySnapshot } from './snapshot-schema.js';

/** The tenants whose domains and licenses the directory keeps (the sandbox state that holds it). */
export interface DirectoryTenants {
  tenants(): Tenant[];
  requireTenant(idOrDomain: string): Tenant;
  addVerifiedDomain(tenantId: string, name: string): VerifiedDomain;
  removeVerifiedDomain(tenantId: string, name: string): void;
}

/** A refusal in Graph's words: the peer turns it into `{ error: { code, message } }` with this status. */
export class GraphFailure extends Error {
  override readonly name = 'GraphFailure';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A domain as Graph v1.0 shows it (`microsoft.graph.domain`). */
export interface GraphDomain {
  readonly id: string;
  readonly authenticationType: 'Managed';
  readonly availabilityStatus: null;
  readonly isAdminManaged: boolean;
  readonly isDefault: boolean;
  readonly isInitial: boolean;
  readonly isRoot: boolean;
  readonly isVerified: boolean;
  readonly passwordNotificationWindowInDays: null;
  readonly passwordValidityPeriodInDays: null;
  readonly supportedServices: readonly string[];
  readonly state: null;
}

export interface ServicePlan {
  readonly servicePlanId: string;
  readonly servicePlanName: string;
}

/** A SKU the sandbox knows, with Microsoft's real ids. */
export interface SkuDefinition {
  readonly skuId: string;
  readonly skuPartNumber: string;
  readonly servicePlans: readonly ServicePlan[];
}

const PLAN = {
  EXCHANGE_S_STANDARD: {
    servicePlanId: '9aaf7827-d63c-4b61-89c3-182f06f82e5c',
    servicePlanName: 'EXCHANGE_S_STANDARD',
  },
  EXCHANGE_S_ENTERPRISE: {
    servicePlanId: 'efb87545-963c-4e0d-99df-69c6916d9eb0',
    servicePlanName: 'EXCHANGE_S_ENTERPRISE',
  },
  MCOSTANDARD: { servicePlanId: '0feaeb32-d00e-4d66-bd5a-43b5b83db82c', servicePlanName: 'MCOSTANDARD' },
  MCOEV: { servicePlanId: '4828c8ec-dc2e-4779-b502-87ac9ce28ab7', servicePlanName: 'MCOEV' },
  TEAMS1: { servicePlanId: '57ff2da0-773e-42df-b2af-ffb7a2317929', servicePlanName: 'TEAMS1' },
} as const satisfies Record<string, ServicePlan>;

/** Office 365 E1/E3/E5 and Microsoft Teams Phone Standard; E5 includes Phone System (MCOEV), E1/E3 do not. */
export const SKU_CATALOGUE: readonly SkuDefinition[] = [
  {
    skuId: '18181a46-0d4e-45cd-891e-60aabd171b4e',
    skuPartNumber: 'STANDARDPACK',
    servicePlans: [PLAN.EXCHANGE_S_STANDARD, PLAN.MCOSTANDARD, PLAN.TEAMS1],
  },
  {
    skuId: '6fd2c87f-b296-42f0-b197-1e91e994b900',
    skuPartNumber: 'ENTERPRISEPACK',
    servicePlans: [PLAN.EXCHANGE_S_ENTERPRISE, PLAN.MCOSTANDARD, PLAN.TEAMS1],
  },
  {
    skuId: 'c7df2760-2c81-4ef7-b578-5b5392b571df',
    skuPartNumber: 'ENTERPRISEPREMIUM',
    servicePlans: [PLAN.EXCHANGE_S_ENTERPRISE, PLAN.MCOSTANDARD, PLAN.MCOEV, PLAN.TEAMS1],
  },
  { skuId: 'e43b5b99-8dfb-405f-9987-dc307f34bcbd', skuPartNumber: 'MCOEV', servicePlans: [PLAN.MCOEV] },
];

export interface AssignedLicense {
  readonly skuId: string;
  readonly disabledPlans: readonly string[];
}

/**
 * How long a deleted user stays in `/directory/deletedItems`, restorable, before Entra ID removes it for good
 * (learn.microsoft.com/graph/api/resources/directory: "Deleted items remain available to restore for up to 30 days").
 */
export const DELETED_ITEM_RETENTION_MS = 30 * 24 * 3600 * 1000;

/** A soft-deleted user: its UPN and properties as they were, and when it was deleted. */
export interface DeletedUser {
  readonly user: DirectoryUser;
  readonly deletedDateTime: string;
}

interface TenantSku {
  readonly definition: SkuDefinition;
  enabled: number;
}

interface TenantDirectory {
  /** Domains added through Graph and not verified yet, by lower-case name. */
  readonly pendingDomains: Map<string, string>;
  readonly skus: TenantSku[];
  /** By user id. */
  readonly licenses: Map<string, AssignedLicense[]>;
  /** Soft-deleted users by id (`/directory/deletedItems`). */
  readonly deletedUsers: Map<string, DeletedUser>;
}

/** What Graph keeps beyond the basic directory (state.ts): unverified domains, subscriptions and licenses. */
export class GraphDirectory {
  private readonly byTenant = new Map<string, TenantDirectory>();
  /**
   * When a domain was verified and a user first licensed in this run (epoch ms, keyed `{tenantId}/{domain or user
   * id}`): the reality profile's Teams domain activation counts from them. Not kept across restarts, where a
   * restored domain counts as activated long ago.
   */
  private readonly since = new Map<string, number>();

  constructor(
    private readonly state: DirectoryTenants,
    private readonly dns: DnsZones,
  ) {}

  clear(): void {
    this.byTenant.clear();
    this.since.clear();
  }

  /** When `verifyDomain` verified the domain in this run (epoch ms); undefined for seeded or restored domains. */
  domainVerifiedAt(tenant: Tenant, name: string): number | undefined {
    return this.since.get(`${tenant.id}/domain/${name.toLowerCase()}`);
  }

  /** When the user first got a license in this run (epoch ms); undefined for seeded or restored licenses. */
  userLicensedAt(tenant: Tenant, userId: string): number | undefined {
    return this.since.get(`${tenant.id}/user/${userId}`);
  }

  snapshot(skipTenant: (tenantId: string) => boolean = () => false): GraphDirectorySnapshot {
    return [...this.byTenant]
      .filter(([tenantId]) => !skipTenant(tenantId))
      .map(([tenantId, directory]) => ({
        tenantId,
        pendingDomains: [...directory.pendingDomains.values()],
        skus: directory.skus.map((s) => ({ skuId: s.definition.skuId, enabled: s.enabled })),
        licenses: [...directory.licenses].map(([userId, licenses]) => ({
          userId,
          licenses: licenses.map((l) => ({ skuId: l.skuId, disabledPlans: [...l.disabledPlans] })),
        })),
        deletedUsers: [...directory.deletedUsers.values()].map((d) => ({
          user: { ...d.user, businessPhones: [...d.user.businessPhones] },
          deletedDateTime: d.deletedDateTime,
        })),
      }));
  }

  /** Throws for a SKU the catalogue no longer knows: the file then describes another sandbox. */
  restore(snapshot: GraphDirectorySnapshot): void {
    this.clear();
    for (const entry of snapshot) {
      this.byTenant.set(entry.tenantId, {
        pendingDomains: new Map(entry.pendingDomains.map((name) => [name, name])),
        skus: entry.skus.map(({ skuId, enabled }) => {
          const definition = SKU_CATALOGUE.find((s) => s.skuId === skuId);
          if (!definition) throw new Error(`SKU '${skuId}' is not in the sandbox's catalogue.`);
          return { definition, enabled };
        }),
        licenses: new Map(entry.licenses.map((l) => [l.userId, l.licenses])),
        deletedUsers: new Map(entry.deletedUsers.map((d) => [d.user.id, d])),
      });
    }
  }

  private of(tenant: Tenant): TenantDirectory {
    let directory = this.byTenant.get(tenant.id);
    if (!directory) {
      directory = { pendingDomains: new Map(), skus: [], licenses: new Map(), deletedUsers: new Map() };
      this.byTenant.set(tenant.id, directory);
    }
    return directory;
  }

  // ---- domains ----

  domains(tenant: Tenant): GraphDomain[] {
    const verified = tenant.verifiedDomains.map((d) =>
      this.view(tenant, d.name, {
        isVerified: true,
        isDefault: d.isDefault,
        isInitial: d.isInitial,
        supportedServices: d.capabilities === 'None' ? [] : d.capabilities.split(',').map((s) => s.trim()),
      }),
    );
    const pending = [...this.of(tenant).pendingDomains.values()].map((name) =>
      this.view(tenant, name, {
        isVerified: false,
        isDefault: false,
        isInitial: false,
        supportedServices: [],
      }),
    );
    return [...verified, ...pending];
  }

  domain(tenant: Tenant, name: string): GraphDomain | undefined {
    return this.domains(tenant).find((d) => d.id.toLowerCase() === name.toLowerCase());
  }

  requireDomain(tenant: Tenant, name: string): GraphDomain {
    const domain = this.domain(tenant, name);
    if (!domain) {
      throw new GraphFailure(
        404,
        'Request_ResourceNotFound',
        `Resource '${name}' does not exist or one of its queried reference-property objects are not present.`,
      );
    }
    return domain;
  }

  addDomain(tenant: Tenant, id: unknown): GraphDomain {
    if (typeof id !== 'string' || !isDomainName(id)) {
      throw new GraphFailure(400, 'Request_BadRequest', `Invalid domain name '${String(id)}'.`);
    }
    const name = id.toLowerCase();
    if (name.endsWith('.onmicrosoft.com')) {
      throw new GraphFailure(
        400,
        'Request_BadRequest',
        `Domains under 'onmicrosoft.com' are reserved for initial domains: '${id}'.`,
      );
    }
    if (this.domain(tenant, name)) {
      // What Entra ID answers for a duplicate key in the directory; the docs list no specific code.
      throw new GraphFailure(
        400,
        'Request_BadRequest',
        'A conflicting object with one or more of the specified property values is present in the directory.',
      );
    }
    const owner = this.state
      .tenants()
      .find((t) => t.id !== tenant.id && t.verifiedDomains.some((d) => d.name.toLowerCase() === name));
    if (owner) {
      throw new GraphFailure(
        409,
        'Request_MultipleObjectsWithSameKeyValue',
        `Domain '${id}' is already verified in another organization.`,
      );
    }
    this.of(tenant).pendingDomains.set(name, name);
    return this.requireDomain(tenant, name);
  }

  /** The TXT value Microsoft asks for: `MS=ms` and eight digits, stable for a tenant and domain. */
  verificationCode(tenant: Tenant, name: string): string {
    const hex = createHash('sha256').update(`${tenant.id}/${name.toLowerCase()}`).digest('hex');
    const digits = (Number.parseInt(hex.slice(0, 12), 16) % 100_000_000).toString().padStart(8, '0');
    return `MS=ms${digits}`;
  }

  /** Graph's `verificationDnsRecords`: the TXT record and the MX alternative, with stable ids. */
  verificationDnsRecords(tenant: Tenant, name: string): Record<string, unknown>[] {
    const domain = this.requireDomain(tenant, name);
    const code = this.verificationCode(tenant, domain.id);
    // `supportedService` is not nullable in the v1.0 CSDL; Graph's documented verification records say Email.
    const common = { isOptional: false, label: domain.id, supportedService: 'Email', ttl: 3600 };
    return [
      {
        '@odata.type': '#microsoft.graph.domainDnsTxtRecord',
        id: stableGuid(`${tenant.id}/${domain.id}/txt`),
        ...common,
        recordType: 'Txt',
        text: code,
      },
      {
        '@odata.type': '#microsoft.graph.domainDnsMxRecord',
        id: stableGuid(`${tenant.id}/${domain.id}/mx`),
        ...common,
        recordType: 'Mx',
        mailExchange: `${code.slice(3)}.msv1.invalid`,
        preference: 32767,
      },
    ];
  }

  /** Verifies when the TXT record is visible at the domain name; then the domain is one of the tenant's verified domains. */
  verifyDomain(tenant: Tenant, name: string): GraphDomain {
    const domain = this.requireDomain(tenant, name);
    if (domain.isVerified) return domain;
    const code = this.verificationCode(tenant, domain.id);
    if (!this.dns.txtAt(domain.id).includes(code)) {
      throw new GraphFailure(
        400,
        'Request_BadRequest',
        `Domain verification failed. The DNS record '${code}' was not found for '${domain.id}'; DNS changes can take time to be visible.`,
      );
    }
    const elsewhere = this.state
      .tenants()
      .find((t) => t.id !== tenant.id && t.verifiedDomains.some((d) => d.name.toLowerCase() === domain.id));
    if (elsewhere) {
      throw new GraphFailure(
        400,
        'Request_BadRequest',
        `Domain verification failed. '${domain.id}' is already verified in another organization.`,
      );
    }
    this.of(tenant).pendingDomains.delete(domain.id);
    this.state.addVerifiedDomain(tenant.id, domain.id);
    this.since.set(`${tenant.id}/domain/${domain.id.toLowerCase()}`, Date.now());
    return this.requireDomain(tenant, domain.id);
  }

  deleteDomain(tenant: Tenant, name: string): void {
    const domain = this.requireDomain(tenant, name);
    if (domain.isInitial || domain.isDefault) {
      throw new GraphFailure(
        400,
        'Request_BadRequest',
        `The ${domain.isInitial ? 'initial' : 'default'} domain '${domain.id}' cannot be deleted.`,
      );
    }
    // A soft-deleted user still holds its UPN, so it still references the domain until it is deleted for good.
    const referencing = [
      ...this.domainNameReferences(tenant, domain.id),
      ...this.deletedUsers(tenant).filter((d) => onDomain(d.user, domain.id)),
    ];
    if (referencing.length > 0) {
      throw new GraphFailure(
        400,
        'Request_BadRequest',
        `Unable to delete domain '${domain.id}': ${referencing.length} object(s) still reference it, deleted users among them. Use domainNameReferences to find them and remove the references first.`,
      );
    }
    if (domain.isVerified) this.state.removeVerifiedDomain(tenant.id, domain.id);
    else this.of(tenant).pendingDomains.delete(domain.id);
  }

  /** The live users whose UPN is on the domain (`GET /domains/{id}/domainNameReferences`). */
  domainNameReferences(tenant: Tenant, name: string): DirectoryUser[] {
    return [...tenant.users.values()].filter((u) => onDomain(u, name));
  }

  // ---- deleted items ----

  /** The tenant's soft-deleted users, oldest first; those past the retention period are gone for good. */
  deletedUsers(tenant: Tenant): DeletedUser[] {
    const deleted = this.of(tenant).deletedUsers;
    const cutoff = Date.now() - DELETED_ITEM_RETENTION_MS;
    for (const [id, entry] of deleted) {
      if (Date.parse(entry.deletedDateTime) < cutoff) deleted.delete(id);
    }
    return [...deleted.values()];
  }

  deletedUser(tenant: Tenant, id: string): DeletedUser {
    const found = this.deletedUsers(tenant).find((d) => d.user.id === id.toLowerCase());
    if (!found) {
      throw new GraphFailure(
        404,
        'Request_ResourceNotFound',
        `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
      );
    }
    return found;
  }

  /** `DELETE /users/{id}`: the user moves to deleted items with its UPN; its licenses go back to the pool. */
  softDeleteUser(tenant: Tenant, user: DirectoryUser): void {
    this.of(tenant).licenses.delete(user.id);
    this.of(tenant).deletedUsers.set(user.id, { user, deletedDateTime: new Date().toISOString() });
  }

  /** `DELETE /directory/deletedItems/{id}`: gone for good; its UPN no longer references its domain. */
  purgeDeletedUser(tenant: Tenant, id: string): void {
    this.of(tenant).deletedUsers.delete(this.deletedUser(tenant, id).user.id);
  }

  /** `POST /directory/deletedItems/{id}/restore`: refused while a live user holds the same UPN. */
  takeDeletedUser(tenant: Tenant, id: string): DirectoryUser {
    const { user } = this.deletedUser(tenant, id);
    const upn = user.userPrincipalName.toLowerCase();
    if ([...tenant.users.values()].some((u) => u.userPrincipalName.toLowerCase() === upn)) {
      throw new GraphFailure(
        400,
        'Request_BadRequest',
        'Another object with the same value for property userPrincipalName already exists.',
      );
    }
    this.of(tenant).deletedUsers.delete(user.id);
    return user;
  }

  private view(
    tenant: Tenant,
    name: string,
    flags: Pick<GraphDomain, 'isVerified' | 'isDefault' | 'isInitial' | 'supportedServices'>,
  ): GraphDomain {
    const lower = name.toLowerCase();
    const hasParent = tenant.verifiedDomains.some((d) => lower.endsWith(`.${d.name.toLowerCase()}`));
    return {
      id: name,
      authenticationType: 'Managed',
      availabilityStatus: null,
      isAdminManaged: true,
      isDefault: flags.isDefault,
      isInitial: flags.isInitial,
      isRoot: !hasParent,
      isVerified: flags.isVerified,
      passwordNotificationWindowInDays: null,
      passwordValidityPeriodInDays: null,
      supportedServices: flags.supportedServices,
      state: null,
    };
  }

  // ---- subscriptions and licenses ----

  /** Adds a subscription of a catalogue SKU (by part number or id), or sets its units if the tenant has it. */
  setSku(tenantId: string, sku: string, enabled: number): TenantSku {
    const tenant = this.state.requireTenant(tenantId);
    if (!Number.isInteger(enabled) || enabled < 0) {
      throw new SandboxStateError(400, 'Enabled units must be a non-negative integer.');
    }
    const definition = findSku(sku);
    if (!definition) {
      throw new SandboxStateError(
        404,
        `Unknown SKU '${sku}'; the sandbox knows ${SKU_CATALOGUE.map((s) => s.skuPartNumber).join(', ')}.`,
      );
    }
    const skus = this.of(tenant).skus;
    const existing = skus.find((s) => s.definition.skuId === definition.skuId);
    if (existing) {
      existing.enabled = enabled;
      return existing;
    }
    const added = { definition, enabled };
    skus.push(added);
    return added;
  }

  /** Graph's `subscribedSku` objects; `consumedUnits` counts the licenses assigned to users. */
  subscribedSkus(tenant: Tenant): Record<string, unknown>[] {
    return this.of(tenant).skus.map(({ definition, enabled }) => ({
      accountId: tenant.id,
      accountName: tenant.displayName,
      appliesTo: 'User',
      capabilityStatus: 'Enabled',
      consumedUnits: this.consumed(tenant, definition.skuId),
      id: `${tenant.id}_${definition.skuId}`,
      skuId: definition.skuId,
      skuPartNumber: definition.skuPartNumber,
      subscriptionIds: [stableGuid(`${tenant.id}/subscription/${definition.skuId}`)],
      prepaidUnits: { enabled, suspended: 0, warning: 0, lockedOut: 0 },
      servicePlans: definition.servicePlans.map((plan) => ({
        ...plan,
        provisioningStatus: 'Success',
        appliesTo: 'User',
      })),
    }));
  }

  assignedLicenses(tenant: Tenant, userId: string): readonly AssignedLicense[] {
    return this.of(tenant).licenses.get(userId) ?? [];
  }

  /** `assignLicense`, checked like Graph: usage location, known SKUs, free units; all or nothing. */
  assignLicense(
    tenant: Tenant,
    userId: string,
    add: readonly AssignedLicense[],
    remove: readonly string[],
  ): readonly AssignedLicense[] {
    const user = tenant.users.get(userId);
    if (!user)
      throw new GraphFailure(404, 'Request_ResourceNotFound', `Resource '${userId}' does not exist.`);
    const directory = this.of(tenant);
    const current = directory.licenses.get(userId) ?? [];
    for (const skuId of [...add.map((l) => l.skuId), ...remove]) {
      if (!directory.skus.some((s) => s.definition.skuId === skuId.toLowerCase())) {
        throw new GraphFailure(
          400,
          'Request_BadRequest',
          `License ${skuId} does not correspond to a valid company License.`,
        );
      }
    }
    if (add.length > 0 && !user.usageLocation) {
      throw new GraphFailure(
        400,
        'Request_BadRequest',
        'License assignment cannot be done for user with invalid usage location.',
      );
    }
    for (const license of add) {
      const skuId = license.skuId.toLowerCase();
      if (current.some((l) => l.skuId === skuId)) continue;
      const sku = directory.skus.find((s) => s.definition.skuId === skuId);
      if (sku && this.consumed(tenant, skuId) >= sku.enabled) {
        throw new GraphFailure(
          400,
          'Request_BadRequest',
          `Subscription with SKU ${skuId} does not have any available licenses.`,
        );
      }
    }
    const removed = new Set(remove.map((s) => s.toLowerCase()));
    const next = current.filter((l) => !removed.has(l.skuId));
    for (const license of add) {
      const skuId = license.skuId.toLowerCase();
      const entry = { skuId, disabledPlans: [...license.disabledPlans] };
      const index = next.findIndex((l) => l.skuId === skuId);
      if (index >= 0) next[index] = entry;
      else next.push(entry);
    }
    directory.licenses.set(userId, next);
    const licensed = `${tenant.id}/user/${userId}`;
    if (next.length > 0 && !this.since.has(licensed)) this.since.set(licensed, Date.now());
    return next;
  }

  private consumed(tenant: Tenant, skuId: string): number {
    let count = 0;
    for (const licenses of this.of(tenant).licenses.values()) {
      if (licenses.some((l) => l.skuId === skuId)) count++;
    }
    return count;
  }
}

function onDomain(user: DirectoryUser, domain: string): boolean {
  return user.userPrincipalName.toLowerCase().endsWith(`@${domain.toLowerCase()}`);
}

function findSku(idOrPartNumber: string): SkuDefinition | undefined {
  const key = idOrPartNumber.toLowerCase();
  return SKU_CATALOGUE.find((s) => s.skuId === key || s.skuPartNumber.toLowerCase() === key);
}

/** Two or more DNS labels of letters, digits and inner hyphens, a letter TLD, at most 253 characters. */
function isDomainName(name: string): boolean {
  if (name.length > 253) return false;
  const labels = name.split('.');
  if (labels.length < 2) return false;
  if (!/^[a-z]{2,63}$/i.test(labels.at(-1) ?? '')) return false;
  return labels.every((label) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i.test(label));
}
