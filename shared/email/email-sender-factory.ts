import type { TrustedTransport } from '../net/trusted-transport.js';
import type { EmailSettings } from '../provider/provider-settings.js';
import { createAcsEmailSender } from './acs-email-sender.js';
import type { EmailSender } from './email-message.js';
import { createSmtpEmailSender } from './smtp-email-sender.js';

export interface EmailSenderDeps {
  /** The product's HTTPS trust, for ACS. */
  readonly transport: TrustedTransport;
  /** What SMTP's TLS trusts: `trustedCaCertificates(settings.trustedCaCertFile)`; Node's roots when undefined. */
  readonly smtpCa?: readonly string[];
  /** ACS status-poll interval; the SDK's default when omitted. Tests shorten it. */
  readonly acsPollIntervalMs?: number;
  /** Retries of one ACS request inside the SDK; its default when omitted. The outbox retries every minute anyway. */
  readonly acsMaxRetries?: number;
}

/** The transport the provider's Email Settings choose, built for one delivery attempt. */
export function createEmailSender(settings: EmailSettings, deps: EmailSenderDeps): EmailSender {
  if (settings.transport === 'acs') {
    return createAcsEmailSender({
      connection: { endpoint: settings.endpoint, accessKey: settings.accessKey },
      senderAddress: settings.senderAddress,
      transport: deps.transport,
      pollIntervalMs: deps.acsPollIntervalMs,
      maxRetries: deps.acsMaxRetries,
    });
  }
  return createSmtpEmailSender({
    from: settings.from,
    host: settings.host,
    port: settings.port,
    enableSsl: settings.enableSsl,
    username: settings.username,
    password: settings.password,
    ca: deps.smtpCa,
  });
}
