import type { JsonQueue, Queues } from './json-queue.js';

/** A message as the queue holds it. */
export interface QueuedMessage {
  readonly message: unknown;
  /** Epoch milliseconds from which a consumer may receive it. */
  readonly visibleAt: number;
  /** Deliveries so far; a consumer that fails puts it back with one more. */
  readonly dequeueCount: number;
}

export interface MemoryQueues extends Queues {
  /** Removes and returns the messages of the queue that are visible now, oldest first. */
  take(name: string): QueuedMessage[];
  /** Puts a message back (a retry) or onto another queue (a poison queue), as it is. */
  put(name: string, queued: QueuedMessage): void;
  /** Every message the queue holds, visible or not, left in place. */
  peek(name: string): readonly QueuedMessage[];
}

/**
 * The queues in memory, for fast tests: the same contract as storageQueues() (messages travel as JSON, so what a
 * consumer gets is a copy; a delay is rounded up to whole seconds, as the service counts visibility).
 */
export function memoryQueues(now: () => number = () => Date.now()): MemoryQueues {
  const queues = new Map<string, QueuedMessage[]>();
  const held = (name: string) => {
    let messages = queues.get(name);
    if (!messages) {
      messages = [];
      queues.set(name, messages);
    }
    return messages;
  };
  return {
    queue<T>(name: string): JsonQueue<T> {
      return {
        async send(message, options = {}) {
          held(name).push({
            message: JSON.parse(JSON.stringify(message)) as unknown,
            visibleAt: now() + Math.max(0, Math.ceil((options.delayMs ?? 0) / 1000)) * 1000,
            dequeueCount: 0,
          });
        },
      };
    },
    take(name) {
      const messages = held(name);
      const at = now();
      const visible = messages.filter((m) => m.visibleAt <= at);
      queues.set(
        name,
        messages.filter((m) => m.visibleAt > at),
      );
      return visible;
    },
    put(name, queued) {
      held(name).push(queued);
    },
    peek(name) {
      return [...held(name)];
    },
  };
}
