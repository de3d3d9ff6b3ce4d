import { createOutboxDelivery, type OutboxDeliveryDeps } from '../shared/email/outbox-delivery.js';
import { productLogger } from '../shared/platform/product-log.js';
import { EMAIL_OUTBOX_QUEUE } from '../shared/email/outbox-queue.js';
import { defineQueueHandler, defineTimer } from '../shared/platform/background.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';

/** The outbox's store and queue, the provider's Email Settings reader and the transport factory. */
export type EmailOutboxDeps = OutboxDeliveryDeps;

export interface EmailOutboxFunctionOptions {
  /** NCRONTAB of the safety-net timer; every minute by default. Tests run it more often. */
  readonly timerSchedule?: string;
}

/**
 * Delivers queued emails (`email-outbox`, retried every minute until sent) and, every minute, queues again the
 * emails whose delivery is overdue because a queue message was lost or a sender crashed.
 */
export function createEmailOutboxFunctions(
  deps: () => Promise<EmailOutboxDeps>,
  options: EmailOutboxFunctionOptions = {},
): FunctionDefinition[] {
  return [
    defineQueueHandler({
      name: 'email-outbox-deliver',
      queueName: EMAIL_OUTBOX_QUEUE,
      // The outbox reads its own messages: one naming no email of the outbox is corrupt, not just malformed.
      run: async (message, context) => {
        await createOutboxDelivery(await deps()).deliver(message, productLogger(context));
      },
    }),
    defineTimer({
      name: 'email-outbox-requeue',
      schedule: options.timerSchedule ?? '0 * * * * *',
      run: async (context) => {
        await createOutboxDelivery(await deps()).requeueOverdue(productLogger(context));
      },
    }),
  ];
}
