import type { EmailSettings } from '../provider/provider-settings.js';
import { type EmailMessage, EmailSendError, type EmailSender } from './email-message.js';
import { isEmailId } from './email-id.js';
import { emailSecrets, redactSecrets } from './email-secrets.js';
import type { OutboxQueue } from './outbox-queue.js';
import { VersionConflictError } from '../errors/domain-errors.js';
import type { OutboxRecord, OutboxStore } from './outbox-store.js';

export interface OutboxTiming {
  /** Wait after a failed attempt: the manual's "the retry occurs per minute". */
  readonly retryDelayMs: number;
  /** How long an attempt's claim holds. Longer than any send (transports time out well within it). */
  readonly leaseMs: number;
  /** How far past due an email must be before the timer queues it again (its message was lost). */
  readonly stallAfterMs: number;
  /** Emails the timer queues per run at most. */
  readonly requeueBatch: number;
}

export const DEFAULT_OUTBOX_TIMING: OutboxTiming = {
  retryDelayMs: 60_000,
  leaseMs: 5 * 60_000,
  stallAfterMs: 2 * 60_000,
  requeueBatch: 100,
};

export const EMAIL_SETTINGS_MISSING = 'Email Settings are not configured';

export interface OutboxDeliveryDeps {
  readonly store: OutboxStore;
  readonly queue: OutboxQueue;
  /** The provider's Email Settings, read at every attempt so that fixing them helps the next retry. */
  readonly emailSettings: () => Promise<EmailSettings | null>;
  readonly createSender: (settings: EmailSettings) => EmailSender;
  readonly timing?: Partial<OutboxTiming>;
  readonly now?: () => Date;
}

/** What a delivery logs through; an Azure Functions `InvocationContext` is one. */
export interface OutboxLog {
  info(message: string): void;
  warn(message: string): void;
}

export type DeliveryOutcome =
  /** This delivery sent the email. */
  | 'sent'
  /** The attempt failed; the email is queued again after the retry delay. */
  | 'retry-scheduled'
  /** A duplicate message: the email went out before. */
  | 'already-sent'
  /** A duplicate message: another delivery holds the claim, or took it first. */
  | 'claimed-elsewhere'
  /** A duplicate message arriving before the email's next attempt is due; the message that is due comes later. */
  | 'not-due';

/** A queue message that no retry can make sense of; the host moves it to `email-outbox-poison`. */
export class CorruptOutboxMessageError extends Error {
  override readonly name = 'CorruptOutboxMessageError';
}

export interface OutboxDelivery {
  /** Handles one `email-outbox` message. Returns normally for every send failure: retries are queued, not thrown. */
  deliver(message: unknown, log: OutboxLog): Promise<DeliveryOutcome>;
  /** The timer's safety net: queues emails whose delivery is overdue (a lost message, a crashed sender). */
  requeueOverdue(log: OutboxLog): Promise<number>;
}

export function createOutboxDelivery(deps: OutboxDeliveryDeps): OutboxDelivery {
  const timing = { ...DEFAULT_OUTBOX_TIMING, ...deps.timing };
  const now = deps.now ?? (() => new Date());
  // Queue visibility and our clock differ a little; a message within this of its due time is the due one.
  const earlyTolerance = Math.min(5_000, timing.retryDelayMs / 2);
  const later = (ms: number) => new Date(now().getTime() + ms).toISOString();

  async function deliver(message: unknown, log: OutboxLog): Promise<DeliveryOutcome> {
    const emailId = emailIdOf(message);
    const found = await deps.store.get(emailId);
    if (!found) throw new CorruptOutboxMessageError(`The outbox has no email ${emailId}.`);
    const { record } = found;
    const at = now();
    if (record.status === 'sent') {
      log.info(`Email ${emailId} was sent at ${record.sentAt}; duplicate message ignored.`);
      return 'already-sent';
    }
    if (record.status === 'sending' && Date.parse(record.leaseUntil ?? '') > at.getTime()) {
      log.info(`Email ${emailId} is being sent by another delivery; duplicate message ignored.`);
      return 'claimed-elsewhere';
    }
    if (record.status === 'pending' && Date.parse(record.nextAttemptAt) - at.getTime() > earlyTolerance) {
      log.info(`Email ${emailId} is due at ${record.nextAttemptAt}; early duplicate message ignored.`);
      return 'not-due';
    }

    // The claim: only the delivery whose conditional write wins may send.
    const leaseUntil = later(timing.leaseMs);
    const claimed: OutboxRecord = {
      ...record,
      status: 'sending',
      attempts: record.attempts + 1,
      leaseUntil,
      nextAttemptAt: leaseUntil,
      lastAttemptAt: at.toISOString(),
    };
    let etag: string;
    try {
      etag = await deps.store.replace(claimed, found.etag);
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error;
      log.info(`Email ${emailId} was claimed by another delivery first; duplicate message ignored.`);
      return 'claimed-elsewhere';
    }

    const failure = await attempt(claimed);
    if (failure === undefined) {
      await finish(
        {
          ...claimed,
          message: withoutLinks(claimed.message),
          status: 'sent',
          sentAt: now().toISOString(),
          leaseUntil: null,
          lastError: null,
        },
        etag,
        log,
      );
      log.info(`Email ${emailId} sent (attempt ${claimed.attempts}).`);
      return 'sent';
    }

    const retryAt = later(timing.retryDelayMs);
    const kept = await finish(
      { ...claimed, status: 'pending', leaseUntil: null, nextAttemptAt: retryAt, lastError: failure.message },
      etag,
      log,
    );
    if (!kept) return 'claimed-elsewhere';
    try {
      await deps.queue.send(emailId, timing.retryDelayMs);
    } catch (error) {
      // The record says when the retry is due; the timer queues it once it is overdue.
      log.warn(`Email ${emailId}: could not queue the retry (the outbox timer will): ${errorText(error)}`);
    }
    log.warn(
      `Email ${emailId}: attempt ${claimed.attempts} failed${failure.transient ? '' : ' (not transient)'}: ${failure.message}. Next attempt at ${retryAt}.`,
    );
    return 'retry-scheduled';
  }

  /** Sends once; a failure comes back as a secret-free description, never as an exception. */
  async function attempt(record: OutboxRecord): Promise<{ message: string; transient: boolean } | undefined> {
    let settings: EmailSettings | null = null;
    try {
      settings = await deps.emailSettings();
      if (!settings) return { message: EMAIL_SETTINGS_MISSING, transient: false };
      await deps.createSender(settings).send(record.message, { idempotencyKey: record.emailId });
      return undefined;
    } catch (error) {
      const message = redactSecrets(errorText(error), emailSecrets(settings)).slice(0, 1000);
      return { message, transient: !(error instanceof EmailSendError) || error.transient };
    }
  }

  /** Writes the attempt's outcome under its claim; false when the claim was lost (it outlived its lease). */
  async function finish(record: OutboxRecord, etag: string, log: OutboxLog): Promise<boolean> {
    try {
      await deps.store.replace(record, etag);
      return true;
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error;
      log.warn(
        `Email ${record.emailId}: attempt ${record.attempts} outlived its claim and another delivery took over; its outcome (${record.status}) is not recorded.`,
      );
      return false;
    }
  }

  async function requeueOverdue(log: OutboxLog): Promise<number> {
    const cutoff = new Date(now().getTime() - timing.stallAfterMs).toISOString();
    const overdue = await deps.store.listOverdue(cutoff, timing.requeueBatch);
    let queued = 0;
    for (const { record, etag } of overdue) {
      // Marked due now first, so that the next timer run leaves it alone unless this message is lost too.
      try {
        await deps.store.replace({ ...record, nextAttemptAt: now().toISOString() }, etag);
      } catch (error) {
        if (error instanceof VersionConflictError) continue;
        throw error;
      }
      try {
        await deps.queue.send(record.emailId, 0);
        queued++;
        log.warn(
          `Email ${record.emailId} (${record.status}, due ${record.nextAttemptAt}) had no delivery under way; queued it again.`,
        );
      } catch (error) {
        log.warn(`Email ${record.emailId}: could not queue it again: ${errorText(error)}`);
      }
    }
    return queued;
  }

  return { deliver, requeueOverdue };
}

function emailIdOf(message: unknown): string {
  const emailId =
    typeof message === 'object' && message !== null ? Reflect.get(message, 'emailId') : undefined;
  if (!isEmailId(emailId)) {
    throw new CorruptOutboxMessageError('An email-outbox message is { "emailId": "<uuid>" }.');
  }
  return emailId;
}

function errorText(error: unknown): string {
  if (error instanceof EmailSendError) return error.message;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** What a link keeps once its email is sent: the host, so that a reader still sees where it pointed. */
export const SENT_LINK = '[link removed after sending]';
// Linear: a match starts only at `http`, and the host and the rest stop at the first character a link cannot hold.
const LINK = /\b(https?:\/\/[^\s"'<>/?#]+)[^\s"'<>]*/gi;

/**
 * The copy of a sent email the outbox keeps: every link cut to its host. An invitation's link is a bearer
 * credential (whoever holds it may sign in a tenant for the customer); once sent, anyone who can read the table
 * must not be able to use it.
 */
export function withoutLinks(message: EmailMessage): EmailMessage {
  const cut = (body: string) => body.replace(LINK, `$1/${SENT_LINK}`);
  return { ...message, text: cut(message.text), html: cut(message.html) };
}
