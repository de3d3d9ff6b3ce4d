import type { NodemailerError, SMTPTransportOptions } from 'nodemailer';
import { EmailSendError, type EmailSender } from './email-message.js';
import { redactSecrets, smtpSecrets } from './email-secrets.js';
import { lazy } from '../platform/lazy.js';

/** Loaded on the first email sent over SMTP, not at start-up. */
const nodemailer = lazy(async () => (await import('nodemailer')).default);

/** The manual's Email Settings for SMTP: From, Host, Port, EnableSsl, Username, Password. */
export interface SmtpEmailSenderOptions {
  readonly from: string;
  readonly host: string;
  readonly port: number;
  readonly enableSsl: boolean;
  readonly username?: string;
  readonly password?: string;
  /**
   * The CA list TLS trusts (`trustedCaCertificates(TRUSTED_CA_CERT_FILE)`); Node's public roots when undefined.
   * Certificate checks always stay on.
   */
  readonly ca?: readonly string[];
  readonly timeouts?: {
    readonly connectionMs?: number;
    readonly greetingMs?: number;
    readonly socketMs?: number;
  };
}

/** Well inside the outbox's lease, so a hung server cannot make two senders overlap. */
const DEFAULT_TIMEOUTS = { connectionMs: 30_000, greetingMs: 30_000, socketMs: 60_000 };
/** Node's TLS verification failures: retrying cannot fix an untrusted or mismatched certificate. */
const TLS_FAILURE = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS/;
/** Failures of the connection itself (the server or the network being down), worth trying again. */
const NETWORK_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ETLS']);

/**
 * Sends over SMTP with nodemailer. EnableSsl on port 465 means implicit TLS; on any other port it means STARTTLS,
 * required, so that the credentials never cross in clear text. One connection per email: the outbox sends rarely.
 */
export function createSmtpEmailSender(options: SmtpEmailSenderOptions): EmailSender {
  const implicitTls = options.enableSsl && options.port === 465;
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const transportOptions: SMTPTransportOptions = {
    host: options.host,
    port: options.port,
    secure: implicitTls,
    requireTLS: options.enableSsl && !implicitTls,
    connectionTimeout: timeouts.connectionMs,
    greetingTimeout: timeouts.greetingMs,
    socketTimeout: timeouts.socketMs,
    tls: { minVersion: 'TLSv1.2', ...(options.ca ? { ca: [...options.ca] } : {}) },
    ...(options.username ? { auth: { user: options.username, pass: options.password ?? '' } } : {}),
    logger: false,
  };
  const secrets = smtpSecrets(options.username, options.password);
  const domain = senderDomain(options.from);

  return {
    async send(message, { idempotencyKey }) {
      const transporter = (await nodemailer()).createTransport(transportOptions);
      try {
        await transporter.sendMail({
          from: options.from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          html: message.html,
          // The same key gives the same Message-ID, so a resend after a lost reply is recognisable downstream.
          messageId: messageIdFor(idempotencyKey, domain),
        });
      } catch (error) {
        throw toSendError(error, secrets);
      } finally {
        transporter.close();
      }
    },
  };
}

/** `<key@domain-of-From>`: stable per idempotency key, unique per email. */
export function messageIdFor(idempotencyKey: string, domain: string): string {
  const local = idempotencyKey.replace(/[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]/g, '-');
  return `<${local}@${domain}>`;
}

function senderDomain(from: string): string {
  const match = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from.trim());
  return match?.[1]?.toLowerCase() ?? 'localhost';
}

function toSendError(error: unknown, secrets: readonly string[]): EmailSendError {
  const text = (value: string) => redactSecrets(value, secrets);
  if (!(error instanceof Error)) return new EmailSendError(text(`SMTP: ${String(error)}`), true);
  const failure = error as NodemailerError;
  const responseCode = failure.responseCode;
  if (responseCode !== undefined) {
    const reply = failure.response ?? failure.message;
    // 4xx (421 service not available, 451 local error, 452 storage) clear up; 5xx (535 credentials, 550
    // mailbox) need someone to change something. 503 is a wrong command sequence: a new session may pass.
    const transient = responseCode < 500 || responseCode === 503;
    return new EmailSendError(text(`SMTP ${responseCode}: ${reply}`), transient);
  }
  const detail = [failure.originalCode, failure.code, failure.message].filter(Boolean).join(' ');
  if (TLS_FAILURE.test(detail)) {
    return new EmailSendError(text(`SMTP: TLS failure: ${failure.message}`), false);
  }
  const code = failure.code ?? '';
  return new EmailSendError(
    text(`SMTP${code ? ` ${code}` : ''}: ${failure.message}`),
    NETWORK_CODES.has(code) || (failure.originalCode?.startsWith('ECONN') ?? false),
  );
}
