import { z } from 'zod';
import type { StorageEndpoints } from '../storage/storage-endpoints.js';
import { poisonQueueOf, PRODUCT_QUEUES } from './product-queues.js';
import { approximateCount, queueServiceFor } from './queue-depths.js';

const checkSchema = z.object({
  status: z.enum(['ok', 'failed']),
  durationMs: z.number().int(),
  error: z
    .string()
    .nullable()
    .meta({ description: 'Why the check failed: the storage error code or reason.' }),
});

export const healthReportSchema = z
  .object({
    status: z.enum(['ok', 'failed']).meta({ description: 'ok when every check is ok.' }),
    checkedAt: z.iso.datetime(),
    checks: z.object({ tableStorage: checkSchema, queueStorage: checkSchema }),
    queues: z
      .array(
        z.object({
          name: z.string(),
          messages: z.number().int().nullable().meta({ description: 'Approximate; null when unreadable.' }),
          poisonQueue: z.string(),
          poisonMessages: z.number().int().nullable(),
        }),
      )
      .meta({ description: "Every queue the product uses and its poison queue's depth." }),
  })
  .meta({ id: 'HealthReport' });

/**
 * What anyone (an Azure health probe, a load balancer) gets: the process answers. It reads no storage, so it says
 * nothing an outsider could use, costs nothing per probe, and a storage outage does not take every instance out of
 * rotation at once (the detailed report and the alarms say what is down).
 */
export const livenessSchema = z
  .strictObject({ status: z.literal('ok').meta({ description: 'The process is up and answering.' }) })
  .meta({ id: 'Liveness' });

export type HealthReport = z.output<typeof healthReportSchema>;
type Check = z.output<typeof checkSchema>;

export interface HealthOptions {
  readonly storage: StorageEndpoints;
  /** Per storage call; a storage that does not answer within it fails the check. Default 5 s. */
  readonly timeoutMs?: number;
  readonly now?: () => Date;
}

/** A short, non-sensitive reason: the storage error code or the kind of failure, never a URL or a key. */
function reason(error: unknown): string {
  const e = error as { code?: unknown; statusCode?: unknown; name?: unknown } | null;
  if (e && (e.name === 'AbortError' || e.name === 'TimeoutError')) return 'timed out';
  if (e && typeof e.code === 'string' && e.code !== '') return e.code;
  if (e && typeof e.statusCode === 'number') return `HTTP ${e.statusCode}`;
  return error instanceof Error ? error.name : 'failed';
}

async function timed(run: () => Promise<unknown>): Promise<Check> {
  const started = performance.now();
  try {
    await run();
    return { status: 'ok', durationMs: Math.round(performance.now() - started), error: null };
  } catch (error) {
    return { status: 'failed', durationMs: Math.round(performance.now() - started), error: reason(error) };
  }
}

/** Table and Queue storage answer a cheap call in time, and how deep each product queue and its poison queue are. */
export async function checkHealth(options: HealthOptions): Promise<HealthReport> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const now = options.now ?? (() => new Date());
  const { storage } = options;
  // Made (their SDKs loaded) before the clock of either check starts.
  const [tables, service] = await Promise.all([
    storage.tableService({ retryOptions: { maxRetries: 0 } }),
    queueServiceFor(storage, timeoutMs),
  ]);

  const depths: Array<{ name: string; messages: number | null; poisonMessages: number | null }> = [];
  const [tableStorage, queueStorage] = await Promise.all([
    timed(() => tables.getProperties({ abortSignal: AbortSignal.timeout(timeoutMs) })),
    timed(async () => {
      await service.getProperties({ abortSignal: AbortSignal.timeout(timeoutMs) });
      const failures: unknown[] = [];
      const count = (queue: string) =>
        approximateCount(service, queue, timeoutMs).catch((error: unknown) => {
          failures.push(error);
          return null;
        });
      await Promise.all(
        PRODUCT_QUEUES.map(async (name) => {
          const [messages, poisonMessages] = await Promise.all([count(name), count(poisonQueueOf(name))]);
          depths.push({ name, messages, poisonMessages });
        }),
      );
      if (failures.length > 0) throw failures[0];
    }),
  ]);
  const byName = new Map(depths.map((d) => [d.name, d]));
  return {
    status: tableStorage.status === 'ok' && queueStorage.status === 'ok' ? 'ok' : 'failed',
    checkedAt: now().toISOString(),
    checks: { tableStorage, queueStorage },
    queues: PRODUCT_QUEUES.map((name) => ({
      name,
      messages: byName.get(name)?.messages ?? null,
      poisonQueue: poisonQueueOf(name),
      poisonMessages: byName.get(name)?.poisonMessages ?? null,
    })),
  };
}
