import { z } from 'zod';
import { packText, unpackText } from '../replication/table-text.js';
import { deleteListed, type Tables } from '../storage/versioned-table.js';
import { DEFAULT_FACTORS, type LicenseFactorSwitches, type LicenseUsage } from './license-usage.js';

// The storage table keeps its first (British) name: it is internal, and infra/main.bicep declares it.
export const LICENSE_TABLE = 'licences';

export const factorSwitchesSchema = z.strictObject({
  byTemplate: z.boolean({ error: 'byTemplate is true or false.' }),
  byUserInterface: z.boolean({ error: 'byUserInterface is true or false.' }),
  serviceNumbers: z.boolean({ error: 'serviceNumbers is true or false.' }),
});

const percent = (label: string) =>
  z
    .number({ error: `${label} is a number of percent.` })
    .int(`${label} is a whole number of percent.`)
    .min(1, `${label} is at least 1 %.`)
    .max(100, `${label} is at most 100 %.`);

export const licenseSettingsSchema = z
  .strictObject({
    warningLimitPercent: percent('Warning Limit'),
    graceIntervalPercent: percent('Grace Interval').or(z.literal(0)),
    factors: factorSwitchesSchema,
  })
  .meta({ id: 'LicenseSettings' });
export type LicenseSettings = z.output<typeof licenseSettingsSchema>;

export const DEFAULT_LICENSE_SETTINGS: LicenseSettings = {
  warningLimitPercent: 90,
  graceIntervalPercent: 10,
  factors: DEFAULT_FACTORS,
};

/** One calculation ("License Calculation Time" and its figures): the customer's history row. */
export interface LicenseSnapshot extends LicenseUsage {
  readonly customerId: string;
  readonly calculatedAt: string;
  readonly factorsSource: 'global' | 'customer';
}

export interface LicenseStore {
  settings(): Promise<LicenseSettings>;
  putSettings(settings: LicenseSettings): Promise<void>;
  /** null: the customer follows the global factors. */
  customerFactors(customerId: string): Promise<LicenseFactorSwitches | null>;
  putCustomerFactors(customerId: string, factors: LicenseFactorSwitches | null): Promise<void>;
  /**
   * When the customer first took a grace license (went over its Licensed Users) since it was last within them;
   * null when it is within them. The license gate's grace period runs from it.
   */
  graceStartedAt(customerId: string): Promise<string | null>;
  putGraceStartedAt(customerId: string, at: string | null): Promise<void>;
  addSnapshot(snapshot: LicenseSnapshot): Promise<void>;
  /** The customer's factors, grace and usage history, for its removal; returns the rows deleted. */
  forgetCustomer(customerId: string): Promise<number>;
  /** Newest first, back to `since`. */
  history(customerId: string, since: string): Promise<LicenseSnapshot[]>;
}

type Row = { partitionKey: string; rowKey: string } & Record<string, unknown>;

const inverted = (iso: string) => String(9_999_999_999_999 - Date.parse(iso)).padStart(13, '0');

export function createLicenseStore(tables: Tables): LicenseStore {
  const table = tables.table<Row>(LICENSE_TABLE);
  const get = async (pk: string, rk: string): Promise<Row | null> => (await table.get(pk, rk))?.value ?? null;
  return {
    async settings() {
      const row = await get('settings', 'global');
      return row ? licenseSettingsSchema.parse(JSON.parse(unpackText(row))) : DEFAULT_LICENSE_SETTINGS;
    },
    async putSettings(settings) {
      await table.upsert({
        partitionKey: 'settings',
        rowKey: 'global',
        ...packText(JSON.stringify(settings)),
      });
    },
    async customerFactors(customerId) {
      const row = await get('factors', customerId.toLowerCase());
      return row ? factorSwitchesSchema.parse(JSON.parse(unpackText(row))) : null;
    },
    async putCustomerFactors(customerId, factors) {
      if (factors === null) {
        await table.delete('factors', customerId.toLowerCase());
        return;
      }
      await table.upsert({
        partitionKey: 'factors',
        rowKey: customerId.toLowerCase(),
        ...packText(JSON.stringify(factors)),
      });
    },
    async graceStartedAt(customerId) {
      const row = await get('grace', customerId.toLowerCase());
      return typeof row?.startedAt === 'string' ? row.startedAt : null;
    },
    async putGraceStartedAt(customerId, at) {
      if (at === null) {
        await table.delete('grace', customerId.toLowerCase());
        return;
      }
      await table.upsert({ partitionKey: 'grace', rowKey: customerId.toLowerCase(), startedAt: at });
    },
    async addSnapshot(snapshot) {
      await table.upsert({
        partitionKey: `usage~${snapshot.customerId.toLowerCase()}`,
        rowKey: inverted(snapshot.calculatedAt),
        ...packText(JSON.stringify(snapshot)),
      });
    },
    async forgetCustomer(customerId) {
      const key = customerId.toLowerCase();
      let deleted = 0;
      for (const partition of ['factors', 'grace']) if (await table.delete(partition, key)) deleted++;
      return deleted + (await deleteListed(table, { partitionKey: `usage~${key}` }));
    },
    async history(customerId, since) {
      const rows: LicenseSnapshot[] = [];
      const found = table.list({
        partitionKey: `usage~${customerId.toLowerCase()}`,
        rowKey: { le: inverted(since) },
      });
      for await (const { value } of found) rows.push(JSON.parse(unpackText(value)) as LicenseSnapshot);
      return rows;
    },
  };
}
