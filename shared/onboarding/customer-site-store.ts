import { VersionConflictError } from '../errors/domain-errors.js';
import type { SecretBox } from '../secrets/secret-box.js';
import type { ListOptions, Stored, Tables } from '../storage/versioned-table.js';
import { type CustomerSite, carrierPasswordSlot } from './customer-site.js';

export const CUSTOMER_SITES_TABLE = 'customersites';

export interface VersionedSite {
  readonly site: CustomerSite;
  readonly etag: string;
}

export interface CustomerSiteStore {
  get(customerId: string, siteName: string): Promise<VersionedSite | null>;
  list(customerId: string): Promise<VersionedSite[]>;
  /** Every customer's sites (the dial-plan sync of an SBC serves all of them). */
  listAll(): Promise<VersionedSite[]>;
  /** VersionConflictError when the customer has a site of that name (without regard to case). */
  create(site: CustomerSite): Promise<VersionedSite>;
  /** VersionConflictError when the site changed since `etag`. */
  replace(site: CustomerSite, etag: string): Promise<VersionedSite>;
  /** Idempotent. */
  delete(customerId: string, siteName: string): Promise<void>;
}

interface SiteEntity {
  partitionKey: string;
  rowKey: string;
  document: string;
}

const partitionOf = (customerId: string) => customerId.toLowerCase();
const rowOf = (siteName: string) => siteName.toLowerCase();

/** One partition per customer, one row per site; the record is JSON (it stays far below the 64 KiB property limit). */
export function createCustomerSiteStore(tables: Tables): CustomerSiteStore {
  const table = tables.table<SiteEntity>(CUSTOMER_SITES_TABLE);
  const toEntity = (site: CustomerSite): SiteEntity => ({
    partitionKey: partitionOf(site.customerId),
    rowKey: rowOf(site.siteName),
    document: JSON.stringify(site),
  });
  const fromStored = ({ value, etag }: Stored<SiteEntity>): VersionedSite => ({
    site: JSON.parse(value.document) as CustomerSite,
    etag,
  });
  const all = async (options: ListOptions) => {
    const sites: VersionedSite[] = [];
    for await (const row of table.list(options)) sites.push(fromStored(row));
    return sites;
  };

  return {
    async get(customerId, siteName) {
      const found = await table.get(partitionOf(customerId), rowOf(siteName));
      return found ? fromStored(found) : null;
    },
    list: (customerId) => all({ partitionKey: partitionOf(customerId) }),
    listAll: () => all({}),
    async create(site) {
      return { site, etag: await table.insert(toEntity(site)) };
    },
    async replace(site, etag) {
      return { site, etag: await table.replace(toEntity(site), etag) };
    },
    async delete(customerId, siteName) {
      await table.delete(partitionOf(customerId), rowOf(siteName));
    },
  };
}

/**
 * The site, its carrier registration password written back sealed with the current key when a retired key sealed
 * it. The onboarding reads its site through here, so every site it deploys or re-deploys drops the old key.
 */
export async function siteWithCurrentSeal(
  sites: Pick<CustomerSiteStore, 'get' | 'replace'>,
  secretBox: Pick<SecretBox, 'reseal'>,
  customerId: string,
  siteName: string,
): Promise<VersionedSite | null> {
  const found = await sites.get(customerId, siteName);
  const registration = found?.site.sbc?.carrierRegistration;
  if (!found?.site.sbc || !registration) return found;
  const resealed = secretBox.reseal(
    registration.passwordSealed,
    carrierPasswordSlot(found.site.customerId, found.site.siteName),
  );
  if (resealed === null) return found;
  const site: CustomerSite = {
    ...found.site,
    sbc: { ...found.site.sbc, carrierRegistration: { ...registration, passwordSealed: resealed } },
  };
  try {
    return await sites.replace(site, found.etag);
  } catch (error) {
    // Changed meanwhile (and sealed with the current key if its password was saved): the newer one.
    if (error instanceof VersionConflictError) return sites.get(customerId, siteName);
    throw error;
  }
}
