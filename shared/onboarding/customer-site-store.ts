import { lazyTable, restStatus } from '../storage/table-client.js';
import type { CustomerSite } from './customer-site.js';

export const CUSTOMER_SITES_TABLE = 'customersites';

/** The site exists already (create), or changed since it was read (replace). */
export class SiteConflictError extends Error {
  override readonly name = 'SiteConflictError';
}

export interface VersionedSite {
  readonly site: CustomerSite;
  readonly etag: string;
}

export interface CustomerSiteStore {
  get(customerId: string, siteName: string): Promise<VersionedSite | null>;
  list(customerId: string): Promise<VersionedSite[]>;
  /** Every customer's sites (the dial-plan sync of an SBC serves all of them). */
  listAll(): Promise<VersionedSite[]>;
  /** SiteConflictError when the customer has a site of that name (without regard to case). */
  create(site: CustomerSite): Promise<VersionedSite>;
  /** SiteConflictError when the site changed since `etag`. */
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
export function createTableCustomerSiteStore(connectionString: string): CustomerSiteStore {
  const table = lazyTable(connectionString, CUSTOMER_SITES_TABLE);
  const toEntity = (site: CustomerSite): SiteEntity => ({
    partitionKey: partitionOf(site.customerId),
    rowKey: rowOf(site.siteName),
    document: JSON.stringify(site),
  });
  const fromEntity = (entity: SiteEntity & { etag?: string }): VersionedSite => ({
    site: JSON.parse(entity.document) as CustomerSite,
    etag: entity.etag ?? '',
  });

  return {
    async get(customerId, siteName) {
      const client = await table();
      try {
        return fromEntity(await client.getEntity<SiteEntity>(partitionOf(customerId), rowOf(siteName)));
      } catch (error) {
        if (restStatus(error) === 404) return null;
        throw error;
      }
    },

    async list(customerId) {
      const client = await table();
      const sites: VersionedSite[] = [];
      const filter = `PartitionKey eq '${partitionOf(customerId).replace(/'/g, "''")}'`;
      for await (const entity of client.listEntities<SiteEntity>({ queryOptions: { filter } })) {
        sites.push(fromEntity(entity));
      }
      return sites;
    },

    async listAll() {
      const client = await table();
      const sites: VersionedSite[] = [];
      for await (const entity of client.listEntities<SiteEntity>()) sites.push(fromEntity(entity));
      return sites;
    },

    async create(site) {
      const client = await table();
      try {
        const response = await client.createEntity(toEntity(site));
        return { site, etag: response.etag ?? '' };
      } catch (error) {
        if (restStatus(error) === 409) {
          throw new SiteConflictError(`Customer ${site.customerId} has a site named ${site.siteName}.`);
        }
        throw error;
      }
    },

    async replace(site, etag) {
      const client = await table();
      try {
        const response = await client.updateEntity(toEntity(site), 'Replace', { etag });
        return { site, etag: response.etag ?? '' };
      } catch (error) {
        if (restStatus(error) === 412 || restStatus(error) === 404) {
          throw new SiteConflictError(`Site ${site.siteName} of ${site.customerId} changed meanwhile.`);
        }
        throw error;
      }
    },

    async delete(customerId, siteName) {
      const client = await table();
      try {
        await client.deleteEntity(partitionOf(customerId), rowOf(siteName));
      } catch (error) {
        if (restStatus(error) !== 404) throw error;
      }
    },
  };
}
