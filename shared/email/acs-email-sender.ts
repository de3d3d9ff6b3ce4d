import { createHash } from 'node:crypto';
import type { EmailClient } from '@azure/communication-email';
import { isRestError } from '../net/rest-error.js';
import { azureSdkOptions } from '../net/azure-sdk-options.js';
import type { TrustedTransport } from '../net/trusted-transport.js';
import { lazy } from '../platform/lazy.js';
import { EmailSendError, type EmailSender } from './email-message.js';
import { redactSecrets } from './email-secrets.js';

/** The resource's endpoint and access key, or its connection string `endpoint=https://…;accesskey=…`. */
export type AcsConnection =
  { readonly endpoint: string; readonly accessKey: string } | { readonly connectionString: string };

export interface AcsEmailSenderOptions {
  readonly connection: AcsConnection;
  /** The `DoNotReply@<verified domain>` address the resource may send from. */
  readonly senderAddress: string;
  /** The product's TLS trust (the sandbox CA locally); the SDK's requests go through its agent. */
  readonly transport: TrustedTransport;
  /** Wait between status polls; the SDK's default (2 s) when omitted. */
  readonly pollIntervalMs?: number;
  /** Retries of one request inside the SDK (429 with Retry-After, 5xx, network); its default (3) when omitted. */
  readonly maxRetries?: number;
  /** The whole send, polling included, is given up after this (default 2 min), well inside the outbox's lease. */
  readonly timeoutMs?: number;
}

/** Loaded on the first email sent through ACS: most deployments send over SMTP, or only now and then. */
const acsEmail = lazy(() => import('@azure/communication-email'));

const DEFAULT_TIMEOUT_MS = 2 * 60 * 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Node's TLS verification failures: retrying cannot fix an untrusted or mismatched certificate. */
const TLS_FAILURE = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS/;

/**
 * Sends through Azure Communication Services Email with the real `EmailClient`. The idempotency key becomes the
 * `Operation-Id` header of `POST /emails:send`: the service answers a repeated id with the operation it already
 * has, so a retry after a lost response does not send a second email.
 */
export function createAcsEmailSender(options: AcsEmailSenderOptions): EmailSender {
  const { endpoint, accessKey } = resolveConnection(options.connection);
  const secrets = [accessKey];
  // A key credential is `{ key }` (what AzureKeyCredential implements); @azure/core-auth is not a direct dependency.
  const client = lazy(
    async () =>
      new (await acsEmail()).EmailClient(
        endpoint,
        { key: accessKey },
        {
          ...azureSdkOptions(options.transport),
          ...(options.maxRetries !== undefined ? { retryOptions: { maxRetries: options.maxRetries } } : {}),
        },
      ),
  );

  return {
    async send(message, { idempotencyKey }) {
      const abortSignal = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      let poller: Awaited<ReturnType<EmailClient['beginSend']>> | undefined;
      try {
        poller = await (
          await client()
        ).beginSend(
          {
            senderAddress: options.senderAddress,
            content: { subject: message.subject, plainText: message.text, html: message.html },
            recipients: { to: [{ address: message.to }] },
          },
          {
            operationId: operationIdFor(idempotencyKey),
            abortSignal,
            ...(options.pollIntervalMs !== undefined ? { updateIntervalInMs: options.pollIntervalMs } : {}),
          },
        );
        const result = await poller.pollUntilDone({ abortSignal });
        if (result.status !== 'Succeeded') {
          throw new EmailSendError(`ACS Email: the send operation ended ${result.status}.`, true);
        }
      } catch (error) {
        if (error instanceof EmailSendError) throw error;
        throw toSendError(error, poller?.getOperationState().status === 'failed', secrets);
      }
    },
  };
}

/** ACS takes a UUID as Operation-Id; other keys map to a stable UUID so that the same key stays idempotent. */
export function operationIdFor(idempotencyKey: string): string {
  if (UUID.test(idempotencyKey)) return idempotencyKey.toLowerCase();
  const hex = createHash('sha256').update(idempotencyKey).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function resolveConnection(connection: AcsConnection): { endpoint: string; accessKey: string } {
  let endpoint: string | undefined;
  let accessKey: string | undefined;
  if ('connectionString' in connection) {
    // Parsed here rather than by the SDK, whose parse error would quote the whole string, key included.
    for (const part of connection.connectionString.split(';')) {
      const at = part.indexOf('=');
      const name = part.slice(0, at).trim().toLowerCase();
      if (name === 'endpoint') endpoint = part.slice(at + 1).trim();
      if (name === 'accesskey') accessKey = part.slice(at + 1).trim();
    }
  } else {
    ({ endpoint, accessKey } = connection);
  }
  if (!endpoint || !accessKey) {
    throw new EmailSendError('ACS Email: the connection needs an endpoint and an access key.', false);
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new EmailSendError('ACS Email: the endpoint is not a URL.', false);
  }
  // The SDK refuses an endpoint with a path; say why in the product's words.
  if (url.protocol !== 'https:' || (url.pathname !== '/' && url.pathname !== '') || url.search) {
    throw new EmailSendError(
      `ACS Email: the endpoint must be the resource's https root URL (https://<resource>.communication.azure.com), not ${url.origin}${url.pathname}.`,
      false,
    );
  }
  return { endpoint: url.origin, accessKey };
}

function toSendError(error: unknown, operationFailed: boolean, secrets: readonly string[]): EmailSendError {
  const text = (value: string) => redactSecrets(value, secrets);
  if (operationFailed) {
    // The service accepted the email, then could not deliver it (suppressed or invalid recipients, say).
    return new EmailSendError(text(`ACS Email: ${errorMessage(error)}`), false);
  }
  if (isRestError(error)) {
    const status = error.statusCode;
    if (status === undefined) {
      const certificate = TLS_FAILURE.test(`${error.code ?? ''} ${error.message}`);
      return new EmailSendError(
        text(`ACS Email: ${certificate ? 'TLS' : 'network'} failure: ${error.code ?? error.message}.`),
        !certificate,
      );
    }
    const code = serviceErrorCode(error.details) ?? error.code ?? '';
    return new EmailSendError(
      text(`ACS Email: ${status}${code ? ` ${code}` : ''}: ${error.message}`),
      status === 408 || status === 429 || status >= 500,
    );
  }
  if (error instanceof Error && error.name === 'AbortError') {
    return new EmailSendError('ACS Email: the send timed out.', true);
  }
  return new EmailSendError(text(`ACS Email: ${errorMessage(error)}`), true);
}

function serviceErrorCode(details: unknown): string | undefined {
  if (typeof details !== 'object' || details === null) return undefined;
  const error = (details as { error?: { code?: unknown } }).error;
  return typeof error?.code === 'string' ? error.code : undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
