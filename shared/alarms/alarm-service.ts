import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type Stored, type Tables, withOptimisticRetry } from '../storage/versioned-table.js';

export const ALARMS_TABLE = 'alarms';
const PARTITION = 'provider';

export const ALARM_SEVERITIES = ['critical', 'major', 'minor', 'warning'] as const;
export type AlarmSeverity = (typeof ALARM_SEVERITIES)[number];

/** An alarm's id: the same for every occurrence of one name and source (the row key). */
export const ALARM_ID_PATTERN = /^[0-9a-f]{64}$/;

/** One alarm per name and source: raising it again updates it, its cause going away clears it. */
export interface Alarm {
  /** Stable per name and source; what acknowledge takes. */
  readonly id: string;
  readonly name: string;
  readonly severity: AlarmSeverity;
  /** What it is about, e.g. `customer:Contoso`. */
  readonly source: string;
  readonly text: string;
  readonly raisedAt: string;
  readonly clearedAt: string | null;
  /** When an operator acknowledged this occurrence; one raised again after it cleared starts unacknowledged. */
  readonly acknowledgedAt: string | null;
  /** Who acknowledged it: the caller's subject. */
  readonly acknowledgedBy: string | null;
}

export const alarmViewSchema = z
  .object({
    id: z.string().meta({ description: "Stable for the alarm's name and source; acknowledge takes it." }),
    name: z.string(),
    severity: z.enum(ALARM_SEVERITIES).meta({ id: 'AlarmSeverity' }),
    source: z.string(),
    text: z.string(),
    raisedAt: z.iso.datetime(),
    clearedAt: z.iso.datetime().nullable(),
    acknowledgedAt: z.iso.datetime().nullable(),
    acknowledgedBy: z.string().nullable(),
  })
  .meta({ id: 'Alarm' });

export type RaisedAlarm = Pick<Alarm, 'name' | 'severity' | 'source' | 'text'>;

export interface AlarmService {
  /** Raises the alarm, or updates it while still active (same occurrence: same raisedAt and acknowledgement). */
  raise(alarm: RaisedAlarm): Promise<void>;
  clear(name: string, source: string): Promise<void>;
  list(options?: { readonly activeOnly?: boolean; readonly name?: string }): Promise<Alarm[]>;
  /** Records who acknowledged the current occurrence (the first acknowledgement stays); null for an unknown id. */
  acknowledge(id: string, by: string): Promise<Alarm | null>;
}

interface AlarmEntity {
  partitionKey: string;
  rowKey: string;
  name: string;
  severity: AlarmSeverity;
  source: string;
  text: string;
  raisedAt: string;
  clearedAt?: string;
  acknowledgedAt?: string;
  acknowledgedBy?: string;
}

/**
 * An alarm says what failed and where in a sentence; the details (an SBC's CLI transcript, a stack) stay in the
 * task log or the function log. docs/decisions.md has why 200.
 */
export const MAX_ALARM_TEXT_CHARS = 200;
/** A concurrent raise, clear or acknowledge makes a write read again; a few tries win. */
const RETRY = { attempts: 10, baseDelayMs: 20, maxDelayMs: 200 } as const;

/** One line (a multi-line cause would paste a transcript into the list), cut at the bound with an ellipsis. */
export function boundedAlarmText(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= MAX_ALARM_TEXT_CHARS ? line : `${line.slice(0, MAX_ALARM_TEXT_CHARS - 1).trimEnd()}…`;
}

export function alarmId(name: string, source: string): string {
  return createHash('sha256').update(`${name}\n${source}`).digest('hex');
}

function toAlarm(e: AlarmEntity): Alarm {
  return {
    id: e.rowKey,
    name: e.name,
    severity: e.severity,
    source: e.source,
    text: e.text,
    raisedAt: e.raisedAt,
    clearedAt: e.clearedAt ?? null,
    acknowledgedAt: e.acknowledgedAt ?? null,
    acknowledgedBy: e.acknowledgedBy ?? null,
  };
}

export function createAlarmServiceOn(tables: Tables, now: () => Date = () => new Date()): AlarmService {
  const table = tables.table<AlarmEntity>(ALARMS_TABLE);
  const read = (key: string): Promise<Stored<AlarmEntity> | null> => table.get(PARTITION, key);

  return {
    async raise(alarm) {
      const key = alarmId(alarm.name, alarm.source);
      const fields = {
        name: alarm.name,
        severity: alarm.severity,
        source: alarm.source,
        text: boundedAlarmText(alarm.text),
      };
      await withOptimisticRetry(async () => {
        const found = await read(key);
        if (!found) {
          await table.insert({
            partitionKey: PARTITION,
            rowKey: key,
            ...fields,
            raisedAt: now().toISOString(),
          });
          return;
        }
        const existing = found.value;
        const active = !existing.clearedAt;
        // The same occurrence with nothing new to say: a timer's every check writes nothing.
        if (active && existing.severity === fields.severity && existing.text === fields.text) return;
        const next: AlarmEntity = {
          partitionKey: PARTITION,
          rowKey: key,
          ...fields,
          // Still active: the same occurrence keeps when it started and who acknowledged it. Else a new one.
          raisedAt: active ? existing.raisedAt : now().toISOString(),
          ...(active && existing.acknowledgedAt
            ? { acknowledgedAt: existing.acknowledgedAt, acknowledgedBy: existing.acknowledgedBy ?? '' }
            : {}),
        };
        await table.replace(next, found.etag);
      }, RETRY);
    },

    async clear(name, source) {
      const key = alarmId(name, source);
      await withOptimisticRetry(async () => {
        const found = await read(key);
        if (!found || found.value.clearedAt) return;
        await table.replace({ ...found.value, clearedAt: now().toISOString() }, found.etag);
      }, RETRY);
    },

    async list({ activeOnly = false, name } = {}) {
      const result: Alarm[] = [];
      for await (const { value } of table.list({ partitionKey: PARTITION })) {
        if (activeOnly && value.clearedAt) continue;
        if (name !== undefined && value.name !== name) continue;
        result.push(toAlarm(value));
      }
      return result.sort((a, b) => b.raisedAt.localeCompare(a.raisedAt));
    },

    async acknowledge(id, by) {
      if (!ALARM_ID_PATTERN.test(id)) return null;
      return withOptimisticRetry(async () => {
        const found = await read(id);
        if (!found) return null;
        if (found.value.acknowledgedAt) return toAlarm(found.value);
        const next = { ...found.value, acknowledgedAt: now().toISOString(), acknowledgedBy: by };
        await table.replace(next, found.etag);
        return toAlarm(next);
      }, RETRY);
    },
  };
}
