import type { EmailDelivery, EmailMessage, EmailOutbox } from './email-message.js';
import { isEmailId, newEmailId } from './email-id.js';
import type { OutboxQueue } from './outbox-queue.js';
import type { OutboxRecord, OutboxStore } from './outbox-store.js';

/** Table Storage holds at most 64 KiB (32 K UTF-16 characters) per string property. */
export const MAX_EMAIL_BODY_LENGTH = 32_000;

export interface EmailOutboxOptions {
  readonly store: OutboxStore;
  readonly queue: OutboxQueue;
  readonly now?: () => Date;
  /**
   * Told when the queue did not take a new email's delivery. The email is stored all the same and the outbox
   * timer queues it once overdue, so enqueue does not fail (a caller retrying would send it twice).
   * Default: a console warning.
   */
  readonly onQueueError?: (emailId: string, error: unknown) => void;
}

/** Writes emails and queues their delivery; the `email-outbox` function delivers them (outbox-delivery.ts). */
export function createEmailOutbox(options: EmailOutboxOptions): EmailOutbox {
  const now = options.now ?? (() => new Date());
  const onQueueError =
    options.onQueueError ??
    ((emailId: string, error: unknown) =>
      console.warn(
        `Email ${emailId} is stored but its delivery was not queued (the outbox timer will): ${error instanceof Error ? error.message : String(error)}`,
      ));
  return {
    async enqueue(message) {
      checkMessage(message);
      const emailId = newEmailId();
      const at = now().toISOString();
      const record: OutboxRecord = {
        emailId,
        // A subject is one header line; a template's stray line break must not become a header injection.
        message: {
          to: message.to.trim(),
          subject: message.subject.replace(/\s*[\r\n]+\s*/g, ' '),
          text: message.text,
          html: message.html,
        },
        status: 'pending',
        attempts: 0,
        createdAt: at,
        nextAttemptAt: at,
        leaseUntil: null,
        lastAttemptAt: null,
        lastError: null,
        sentAt: null,
      };
      await options.store.create(record);
      try {
        await options.queue.send(emailId, 0);
      } catch (error) {
        onQueueError(emailId, error);
      }
      return emailId;
    },

    async delivery(emailId) {
      if (!isEmailId(emailId)) return null;
      const found = await options.store.get(emailId);
      return found ? deliveryOf(found.record) : null;
    },
    async deliveries(emailIds) {
      const records = await options.store.getMany(new Set(emailIds.filter(isEmailId)));
      return new Map(records.map((record) => [record.emailId, deliveryOf(record)]));
    },
  };
}

export function deliveryOf(record: OutboxRecord): EmailDelivery {
  return {
    emailId: record.emailId,
    sent: record.status === 'sent',
    attempts: record.attempts,
    sentAt: record.sentAt,
    lastError: record.lastError,
  };
}

function checkMessage(message: EmailMessage): void {
  if (!message.to.trim() || /[\r\n]/.test(message.to)) {
    throw new RangeError('An email needs one recipient address.');
  }
  for (const [name, value] of [
    ['subject', message.subject],
    ['text', message.text],
    ['html', message.html],
  ] as const) {
    if (value.length > MAX_EMAIL_BODY_LENGTH) {
      throw new RangeError(`The email's ${name} is longer than ${MAX_EMAIL_BODY_LENGTH} characters.`);
    }
  }
}
