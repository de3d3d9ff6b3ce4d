import type { DequeuedMessageItem, QueueServiceClient } from '@azure/storage-queue';
import type { QueueFunctionDefinition } from '../../shared/platform/function-definitions.js';
import { invoke } from './invocation.js';
import { describeError, type Loggers } from './log.js';

export interface QueueListenerOptions {
  readonly definition: QueueFunctionDefinition;
  readonly service: QueueServiceClient;
  readonly pollIntervalMs: number;
  readonly visibilityTimeoutMs: number;
  readonly maxDequeueCount: number;
  readonly batchSize: number;
  readonly loggers: Loggers;
}

export interface RunningQueueListener {
  /** Stops polling and waits for the messages being processed. */
  stop(): Promise<void>;
}

/** How long a received message stays hidden while its handler runs (Azure uses 10 minutes too). */
const PROCESSING_VISIBILITY_SECONDS = 10 * 60;
/** The first idle wait; it doubles up to pollIntervalMs, like Azure's backoff up to maxPollingInterval. */
const MIN_POLL_DELAY_MS = 50;

export async function startQueueListener(options: QueueListenerOptions): Promise<RunningQueueListener> {
  const { definition, service, loggers } = options;
  const queue = service.getQueueClient(definition.queueName);
  const poisonQueueName = `${definition.queueName}-poison`;
  const poison = service.getQueueClient(poisonQueueName);
  await queue.createIfNotExists();

  let stopped = false;
  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timeout = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timeout);
        resolve();
      };
    });

  /** A storage call whose failure is logged rather than thrown: the message then simply reappears later. */
  const attempt = async (what: string, call: () => Promise<unknown>): Promise<boolean> => {
    try {
      await call();
      return true;
    } catch (error) {
      loggers.host({
        level: 'error',
        functionName: definition.name,
        message: `Could not ${what}`,
        error: describeError(error),
      });
      return false;
    }
  };

  const moveToPoison = async (message: DequeuedMessageItem, reason: string) => {
    // The original text goes unchanged, so the poison message can be inspected or re-queued as it was sent.
    const moved =
      (await attempt(`create queue '${poisonQueueName}'`, () => poison.createIfNotExists())) &&
      (await attempt(`copy message ${message.messageId} to '${poisonQueueName}'`, () =>
        poison.sendMessage(message.messageText),
      ));
    if (!moved) return;
    await attempt(`delete message ${message.messageId}`, () =>
      queue.deleteMessage(message.messageId, message.popReceipt),
    );
    loggers.host({
      level: 'warning',
      functionName: definition.name,
      message: `Message ${message.messageId} moved to '${poisonQueueName}' after ${message.dequeueCount} dequeue(s): ${reason}`,
    });
  };

  const handleMessage = async (message: DequeuedMessageItem) => {
    if (message.dequeueCount > options.maxDequeueCount) {
      await moveToPoison(message, `more than ${options.maxDequeueCount} dequeues before processing`);
      return;
    }
    const decoded = decodeMessage(message.messageText);
    let failure: string | undefined;
    if (decoded.ok) {
      const result = await invoke(loggers, {
        functionName: definition.name,
        trigger: { type: 'queueTrigger', name: 'queueTrigger', queueName: definition.queueName },
        triggerMetadata: {
          id: message.messageId,
          queueTrigger: decoded.text,
          dequeueCount: message.dequeueCount,
          insertionTime: message.insertedOn.toISOString(),
          expirationTime: message.expiresOn.toISOString(),
          nextVisibleTime: message.nextVisibleOn.toISOString(),
          popReceipt: message.popReceipt,
        },
        run: (context) => definition.handler(decoded.value, context),
      });
      loggers.host({
        level: result.ok ? 'information' : 'error',
        functionName: definition.name,
        invocationId: result.invocationId,
        message: `Executed '${definition.name}' (${result.ok ? 'Succeeded' : 'Failed'}, message ${message.messageId}, dequeue ${message.dequeueCount}, ${result.durationMs} ms)`,
        outcome: result.ok ? 'succeeded' : 'failed',
        durationMs: result.durationMs,
        ...(result.ok ? {} : { error: describeError(result.error) }),
      });
      if (!result.ok) failure = 'the function failed';
    } else {
      failure = 'the message is not valid base64 (the default messageEncoding)';
      loggers.host({
        level: 'error',
        functionName: definition.name,
        outcome: 'failed',
        message: `Message ${message.messageId} (dequeue ${message.dequeueCount}) was not processed: ${failure}`,
      });
    }

    if (failure === undefined) {
      await attempt(`delete message ${message.messageId}`, () =>
        queue.deleteMessage(message.messageId, message.popReceipt),
      );
    } else if (message.dequeueCount >= options.maxDequeueCount) {
      await moveToPoison(message, failure);
    } else {
      // Visibility is whole seconds in the storage API; round up so a retry never comes early.
      const seconds = Math.ceil(options.visibilityTimeoutMs / 1000);
      await attempt(`release message ${message.messageId}`, () =>
        queue.updateMessage(message.messageId, message.popReceipt, undefined, seconds),
      );
    }
  };

  /** Messages being handled now; Azure fetches more once they drop to `newBatchThreshold` (half the batch). */
  const inFlight = new Set<Promise<void>>();
  const newBatchThreshold = Math.floor(options.batchSize / 2);

  const loop = async () => {
    let idleDelay = Math.min(MIN_POLL_DELAY_MS, options.pollIntervalMs);
    while (!stopped) {
      if (inFlight.size > newBatchThreshold) {
        await Promise.race(inFlight);
        continue;
      }
      let received: DequeuedMessageItem[] = [];
      try {
        const response = await queue.receiveMessages({
          numberOfMessages: options.batchSize - inFlight.size,
          visibilityTimeout: PROCESSING_VISIBILITY_SECONDS,
        });
        received = response.receivedMessageItems;
      } catch (error) {
        loggers.host({
          level: 'warning',
          functionName: definition.name,
          message: `Polling '${definition.queueName}' failed`,
          error: describeError(error),
        });
      }
      if (received.length > 0) {
        idleDelay = Math.min(MIN_POLL_DELAY_MS, options.pollIntervalMs);
        if (stopped) {
          // Received while stopping: hand them straight back instead of hiding them for ten minutes.
          await Promise.all(
            received.map((m) =>
              attempt(`release message ${m.messageId}`, () =>
                queue.updateMessage(m.messageId, m.popReceipt, undefined, 0),
              ),
            ),
          );
          break;
        }
        // Up to batchSize messages run at once, and a slow one does not hold up the next batch (as in Azure).
        for (const message of received) {
          const handled = handleMessage(message).finally(() => inFlight.delete(handled));
          inFlight.add(handled);
        }
        continue;
      }
      await sleep(idleDelay);
      idleDelay = Math.min(idleDelay * 2, options.pollIntervalMs);
    }
    await Promise.all(inFlight);
  };
  const running = loop();

  return {
    async stop() {
      stopped = true;
      wake?.();
      await running;
    },
  };
}

type Decoded = { readonly ok: true; readonly text: string; readonly value: unknown } | { readonly ok: false };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Base64 as .NET's Convert.FromBase64String reads it (whitespace ignored, strict otherwise), then JSON if it parses. */
export function decodeMessage(messageText: string): Decoded {
  const compact = messageText.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) return { ok: false };
  const text = Buffer.from(compact, 'base64').toString('utf8');
  try {
    return { ok: true, text, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: true, text, value: text };
  }
}
