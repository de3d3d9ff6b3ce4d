import { createJsonQueue, type JsonQueue } from '../storage/json-queue.js';

export const EMAIL_OUTBOX_QUEUE = 'email-outbox';

/** The queue message the outbox function is triggered by. */
export interface OutboxQueueMessage {
  readonly emailId: string;
}

export interface OutboxQueue {
  /** Queues a delivery of the email, visible after `delayMs` (rounded up to whole seconds, as the service counts). */
  send(emailId: string, delayMs: number): Promise<void>;
}

/** The `email-outbox` storage queue, messages base64-encoded JSON as the Functions host decodes them by default. */
export function createStorageOutboxQueue(
  connectionString: string,
  queueName: string = EMAIL_OUTBOX_QUEUE,
): OutboxQueue {
  return createOutboxQueue(createJsonQueue<OutboxQueueMessage>(connectionString, queueName));
}

export function createOutboxQueue(queue: JsonQueue<OutboxQueueMessage>): OutboxQueue {
  return { send: (emailId, delayMs) => queue.send({ emailId }, { delayMs }) };
}
