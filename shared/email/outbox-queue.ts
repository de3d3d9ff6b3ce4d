import { QueueServiceClient } from '@azure/storage-queue';

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
  const client = QueueServiceClient.fromConnectionString(connectionString).getQueueClient(queueName);
  let ready: Promise<unknown> | undefined;
  return {
    async send(emailId, delayMs) {
      ready ??= client.createIfNotExists().catch((error: unknown) => {
        ready = undefined;
        throw error;
      });
      await ready;
      const body: OutboxQueueMessage = { emailId };
      await client.sendMessage(Buffer.from(JSON.stringify(body), 'utf8').toString('base64'), {
        visibilityTimeout: Math.max(0, Math.ceil(delayMs / 1000)),
      });
    },
  };
}
