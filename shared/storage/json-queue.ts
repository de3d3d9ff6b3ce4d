import { lazy } from '../platform/lazy.js';
import { endpointsOf, type StorageSource } from './storage-endpoints.js';

/** A storage queue of JSON messages, base64-encoded as the Functions host decodes them by default. */
export interface JsonQueue<T> {
  send(message: T, options?: { readonly delayMs?: number }): Promise<void>;
}

export function createJsonQueue<T>(source: StorageSource, queueName: string): JsonQueue<T> {
  const endpoints = endpointsOf(source);
  const ready = lazy(async () => {
    const client = (await endpoints.queueService()).getQueueClient(queueName);
    await client.createIfNotExists();
    return client;
  });
  return {
    async send(message, options = {}) {
      const client = await ready();
      await client.sendMessage(Buffer.from(JSON.stringify(message), 'utf8').toString('base64'), {
        visibilityTimeout: Math.max(0, Math.ceil((options.delayMs ?? 0) / 1000)),
      });
    },
  };
}

/** Where the product's queues live: storage queues in production, memoryQueues() in the fast tests. */
export interface Queues {
  queue<T>(name: string): JsonQueue<T>;
}

export function storageQueues(source: StorageSource): Queues {
  const endpoints = endpointsOf(source);
  return { queue: (name) => createJsonQueue(endpoints, name) };
}
