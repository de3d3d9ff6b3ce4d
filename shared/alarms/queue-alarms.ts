import { queueDepths } from '../ops/queue-depths.js';
import type { StorageEndpoints } from '../storage/storage-endpoints.js';
import type { AlarmService } from './alarm-service.js';
import { QUEUE_POISONED_ALARM, queueAlarmSource } from './alarm-kinds.js';

export interface PoisonCheckResult {
  /** Poison queues holding messages, with how many. */
  readonly poisoned: ReadonlyArray<{ readonly queue: string; readonly messages: number }>;
}

/**
 * Looks at every product queue's `<queue>-poison`: messages there raise "Queue messages poisoned" for it (with the
 * count); an empty poison queue clears it.
 */
export async function checkPoisonQueues(deps: {
  readonly storage: StorageEndpoints;
  readonly alarms: AlarmService;
}): Promise<PoisonCheckResult> {
  const poisoned: Array<{ queue: string; messages: number }> = [];
  // A timer's check: a connection dropped on the way is tried again, not an error until the next run.
  for (const depth of await queueDepths(deps.storage, { maxTries: 3 })) {
    const source = queueAlarmSource(depth.poisonQueue);
    if (depth.poisonMessages === 0) {
      await deps.alarms.clear(QUEUE_POISONED_ALARM, source);
      continue;
    }
    poisoned.push({ queue: depth.poisonQueue, messages: depth.poisonMessages });
    await deps.alarms.raise({
      name: QUEUE_POISONED_ALARM,
      severity: 'major',
      source,
      text:
        `${depth.poisonMessages} message(s) in ${depth.poisonQueue}: they failed on every delivery from ` +
        `${depth.name} and nothing will process them. Inspect them, fix the cause, then re-queue or delete them.`,
    });
  }
  return { poisoned };
}
