import { createHash } from 'node:crypto';
import { z } from 'zod';
import { lazyTable, restStatus } from '../storage/table-client.js';

export const ALARMS_TABLE = 'alarms';
const PARTITION = 'provider';

export const ALARM_SEVERITIES = ['critical', 'major', 'minor', 'warning'] as const;
export type AlarmSeverity = (typeof ALARM_SEVERITIES)[number];

/** One alarm per name and source: raising it again updates it, its cause going away clears it. */
export interface Alarm {
  readonly name: string;
  readonly severity: AlarmSeverity;
  /** What it is about, e.g. `customer:Contoso`. */
  readonly source: string;
  readonly text: string;
  readonly raisedAt: string;
  readonly clearedAt: string | null;
}

export const alarmViewSchema = z.object({
  name: z.string(),
  severity: z.enum(ALARM_SEVERITIES),
  source: z.string(),
  text: z.string(),
  raisedAt: z.iso.datetime(),
  clearedAt: z.iso.datetime().nullable(),
});

export interface AlarmService {
  raise(alarm: Omit<Alarm, 'raisedAt' | 'clearedAt'>): Promise<void>;
  clear(name: string, source: string): Promise<void>;
  list(options?: { readonly activeOnly?: boolean }): Promise<Alarm[]>;
}

type AlarmEntity = Omit<Alarm, 'clearedAt'> & { partitionKey: string; rowKey: string; clearedAt?: string };

export function createAlarmService(
  connectionString: string,
  now: () => Date = () => new Date(),
): AlarmService {
  const table = lazyTable(connectionString, ALARMS_TABLE);
  const rowKey = (name: string, source: string) =>
    createHash('sha256').update(`${name}\n${source}`).digest('hex');
  return {
    async raise(alarm) {
      const client = await table();
      const key = rowKey(alarm.name, alarm.source);
      let raisedAt = now().toISOString();
      try {
        const existing = await client.getEntity<AlarmEntity>(PARTITION, key);
        // Still the same occurrence: keep when it started.
        if (!existing.clearedAt) raisedAt = existing.raisedAt;
      } catch (error) {
        if (restStatus(error) !== 404) throw error;
      }
      await client.upsertEntity({ partitionKey: PARTITION, rowKey: key, ...alarm, raisedAt }, 'Replace');
    },
    async clear(name, source) {
      const client = await table();
      try {
        const existing = await client.getEntity<AlarmEntity>(PARTITION, rowKey(name, source));
        if (existing.clearedAt) return;
        await client.updateEntity(
          { partitionKey: PARTITION, rowKey: existing.rowKey, clearedAt: now().toISOString() },
          'Merge',
          { etag: existing.etag },
        );
      } catch (error) {
        if (restStatus(error) !== 404 && restStatus(error) !== 412) throw error;
      }
    },
    async list({ activeOnly = false } = {}) {
      const client = await table();
      const result: Alarm[] = [];
      for await (const e of client.listEntities<AlarmEntity>({
        queryOptions: { filter: `PartitionKey eq '${PARTITION}'` },
      })) {
        if (activeOnly && e.clearedAt) continue;
        result.push({
          name: e.name,
          severity: e.severity,
          source: e.source,
          text: e.text,
          raisedAt: e.raisedAt,
          clearedAt: e.clearedAt ?? null,
        });
      }
      return result.sort((a, b) => b.raisedAt.localeCompare(a.raisedAt));
    },
  };
}
