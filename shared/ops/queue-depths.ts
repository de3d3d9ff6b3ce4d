import type { QueueServiceClient } from '@azure/storage-queue';
import type { StorageEndpoints } from '../storage/storage-endpoints.js';
import { poisonQueueOf, PRODUCT_QUEUES } from './product-queues.js';

export interface QueueDepth {
  readonly name: string;
  /** Approximate, as Storage reports it; 0 for a queue not created yet. */
  readonly messages: number;
  readonly poisonQueue: string;
  readonly poisonMessages: number;
}

/**
 * A queue client with the caller's time limit a try: one try fails fast (a health probe); a job that runs on a
 * schedule rides out a dropped connection with a few.
 */
export function queueServiceFor(
  storage: StorageEndpoints,
  timeoutMs: number,
  maxTries = 1,
): Promise<QueueServiceClient> {
  return storage.queueService({
    retryOptions: { maxTries, tryTimeoutInMs: timeoutMs },
  });
}

/** The queue's approximate message count; a queue that does not exist (yet) holds nothing. */
export async function approximateCount(
  service: QueueServiceClient,
  queue: string,
  timeoutMs: number,
): Promise<number> {
  try {
    const properties = await service
      .getQueueClient(queue)
      .getProperties({ abortSignal: AbortSignal.timeout(timeoutMs) });
    return properties.approximateMessagesCount ?? 0;
  } catch (error) {
    if (statusOf(error) === 404) return 0;
    throw error;
  }
}

/** Every product queue's depth and its poison queue's, read in parallel. */
export async function queueDepths(
  storage: StorageEndpoints,
  options: { readonly timeoutMs?: number; readonly maxTries?: number } = {},
): Promise<QueueDepth[]> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const service = await queueServiceFor(storage, timeoutMs, options.maxTries);
  return Promise.all(
    PRODUCT_QUEUES.map(async (name) => {
      const poisonQueue = poisonQueueOf(name);
      const [messages, poisonMessages] = await Promise.all([
        approximateCount(service, name, timeoutMs),
        approximateCount(service, poisonQueue, timeoutMs),
      ]);
      return { name, messages, poisonQueue, poisonMessages };
    }),
  );
}

/** The HTTP status of a storage error (the queue SDK's RestError may come from its own copy of core-rest-pipeline). */
function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}
