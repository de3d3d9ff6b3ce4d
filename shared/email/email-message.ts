/** One email the product sends; the outbox keeps it until it is sent. */
export interface EmailMessage {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** What an operator sees of an email's delivery: the manual's "Email Sent" and "Email Invitation Sent Count". */
export interface EmailDelivery {
  readonly emailId: string;
  readonly sent: boolean;
  /** Delivery attempts so far, the failed ones included. */
  readonly attempts: number;
  readonly sentAt: string | null;
  readonly lastError: string | null;
}

export class EmailSendError extends Error {
  override readonly name = 'EmailSendError';
  constructor(
    message: string,
    /** `false` when retrying cannot help (a rejected address, say); the outbox still retries until told otherwise. */
    readonly transient: boolean,
  ) {
    super(message);
  }
}

/** One transport (ACS or SMTP), built from the provider's Email Settings. */
export interface EmailSender {
  send(message: EmailMessage, options: { readonly idempotencyKey: string }): Promise<void>;
}

/** The outbox: emails are written first, then delivered by a queue-triggered function that retries every minute. */
export interface EmailOutbox {
  /** Stores the email and queues its delivery; returns the email's id. */
  enqueue(message: EmailMessage): Promise<string>;
  delivery(emailId: string): Promise<EmailDelivery | null>;
  /** The deliveries of these emails, in one query whatever their number (a list's page reads no email twice). */
  deliveries(emailIds: readonly string[]): Promise<Map<string, EmailDelivery>>;
}
