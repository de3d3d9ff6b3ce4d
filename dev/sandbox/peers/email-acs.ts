import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { DEMO_MAIL } from '../mail-demo.js';
import { acsSignatureProblem } from '../mail-hmac.js';
import type { Mailbox } from '../mailbox.js';
import type { Peer, PeerRequest, Reply } from '../router.js';
import type { MailSnapshot } from '../snapshot-schema.js';

/** The GA version of the contract, and the one @azure/communication-email 1.1 sends. */
export const ACS_EMAIL_API_VERSIONS: readonly string[] = ['2023-03-31', '2025-09-01'];
const MAX_RECIPIENTS = 50;
/** Bounded so that a long local run does not grow without limit. */
const MAX_OPERATIONS = 10_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const address = z.object({ address: z.email(), displayName: z.string().optional() });
const emailMessageSchema = z
  .object({
    senderAddress: z.email(),
    recipients: z.object({
      to: z.array(address).min(1),
      cc: z.array(address).optional(),
      bcc: z.array(address).optional(),
    }),
    content: z
      .object({ subject: z.string().min(1), plainText: z.string().optional(), html: z.string().optional() })
      .refine((c) => c.plainText !== undefined || c.html !== undefined, 'needs plainText or html'),
    headers: z.record(z.string(), z.string()).optional(),
    replyTo: z.array(address).optional(),
    attachments: z.array(z.unknown()).optional(),
    userEngagementTrackingDisabled: z.boolean().optional(),
  })
  .refine(
    (m) =>
      m.recipients.to.length + (m.recipients.cc?.length ?? 0) + (m.recipients.bcc?.length ?? 0) <=
      MAX_RECIPIENTS,
    `at most ${MAX_RECIPIENTS} recipients`,
  );

type FinalStatus = 'Succeeded' | 'Failed';
interface Operation {
  readonly id: string;
  readonly outcome: FinalStatus;
  readonly error?: { readonly code: string; readonly message: string };
  /** The first status read answers Running, as a real send takes a moment; later ones the outcome. */
  polled: boolean;
}

export interface AcsEmailService {
  /**
   * ACS serves `/emails:send` and `/emails/operations/{id}` at the resource's root, and `EmailClient` refuses an
   * endpoint with a path, so the service sits at the sandbox's root: one peer per prefix.
   */
  readonly peers: readonly Peer[];
  reset(): void;
  snapshot(): MailSnapshot['acsOperations'];
  restore(operations: MailSnapshot['acsOperations']): void;
}

/**
 * Azure Communication Services Email (`POST /emails:send`, `GET /emails/operations/{id}`): HMAC-SHA256 access-key
 * authentication, the message contract, and `Operation-Id` idempotency (a repeated id is the same operation and
 * sends nothing more). Accepted emails land in the shared mailbox.
 */
export function acsEmailService(deps: {
  readonly mailbox: Mailbox;
  readonly accessKey?: string;
}): AcsEmailService {
  const accessKey = deps.accessKey ?? DEMO_MAIL.acs.accessKey;
  const operations = new Map<string, Operation>();

  /** Authentication first, then the api-version, as the service checks them. */
  const admit = (request: PeerRequest): Reply | undefined => {
    const problem = acsSignatureProblem(request, accessKey);
    if (problem) return acsError(401, 'Denied', `Denied by the resource provider. ${problem}`);
    const version = request.url.searchParams.get('api-version');
    if (!version) {
      return acsError(400, 'MissingApiVersionParameter', 'The api-version query parameter is required.');
    }
    if (!ACS_EMAIL_API_VERSIONS.includes(version)) {
      return acsError(
        400,
        'UnsupportedApiVersion',
        `The api-version '${version}' is not supported; use one of ${ACS_EMAIL_API_VERSIONS.join(', ')}.`,
      );
    }
    return undefined;
  };

  const accepted = (request: PeerRequest, operation: Operation): Reply => ({
    status: 202,
    headers: {
      'operation-location': `${request.origin}/emails/operations/${operation.id}?api-version=${request.url.searchParams.get('api-version')}`,
      'x-ms-request-id': randomUUID(),
      // The spec gives a non-terminal status a retry-after (whole seconds); the sandbox's sends are ready at once.
      'retry-after': '0',
    },
    body: { id: operation.id, status: 'Running' },
  });

  const send = (request: PeerRequest): Reply => {
    const refused = admit(request);
    if (refused) return refused;
    const requestedId = header(request, 'operation-id') ?? header(request, 'repeatability-request-id');
    if (requestedId !== undefined && !UUID.test(requestedId)) {
      return acsError(400, 'BadRequest', 'Operation-Id must be a UUID.');
    }
    const existing = requestedId ? operations.get(requestedId.toLowerCase()) : undefined;
    if (existing) return accepted(request, existing);

    let body: unknown;
    try {
      body = JSON.parse(request.body.toString('utf8'));
    } catch {
      return acsError(400, 'BadRequest', 'The request body is not valid JSON.');
    }
    const parsed = emailMessageSchema.safeParse(body);
    if (!parsed.success) return acsError(400, 'BadRequest', z.prettifyError(parsed.error));
    const message = parsed.data;
    const domain = message.senderAddress.split('@')[1]?.toLowerCase();
    if (domain !== DEMO_MAIL.acs.senderDomain) {
      return acsError(400, 'DomainNotLinked', 'The specified sender domain has not been linked.');
    }

    const recipients = [
      ...message.recipients.to,
      ...(message.recipients.cc ?? []),
      ...(message.recipients.bcc ?? []),
    ].map((r) => r.address);
    const id = requestedId?.toLowerCase() ?? randomUUID();
    const deliverable = recipients.filter((r) => r.toLowerCase() !== DEMO_MAIL.acs.undeliverableRecipient);
    const operation: Operation =
      deliverable.length > 0
        ? { id, outcome: 'Succeeded', polled: false }
        : {
            id,
            outcome: 'Failed',
            polled: false,
            error: {
              code: 'EmailDroppedAllRecipientsSuppressed',
              message: 'Message was dropped because all recipients were suppressed.',
            },
          };
    if (operations.size >= MAX_OPERATIONS) {
      const oldest = operations.keys().next().value;
      if (oldest !== undefined) operations.delete(oldest);
    }
    operations.set(id, operation);
    if (operation.outcome === 'Succeeded') {
      deps.mailbox.add({
        transport: 'acs',
        from: message.senderAddress,
        to: deliverable,
        subject: message.content.subject,
        text: message.content.plainText ?? null,
        html: message.content.html ?? null,
        messageId: null,
        operationId: id,
        username: null,
        raw: null,
      });
    }
    return accepted(request, operation);
  };

  const status = (request: PeerRequest): Reply => {
    const refused = admit(request);
    if (refused) return refused;
    const operation = operations.get((request.params.id ?? '').toLowerCase());
    if (!operation) return acsError(404, 'NotFound', `No send operation '${request.params.id}'.`);
    const current = operation.polled ? operation.outcome : 'Running';
    operation.polled = true;
    return {
      status: 200,
      headers: { 'x-ms-request-id': randomUUID(), ...(current === 'Running' ? { 'retry-after': '0' } : {}) },
      body: {
        id: operation.id,
        status: current,
        ...(current === 'Failed' && operation.error ? { error: operation.error } : {}),
      },
    };
  };

  const error = (status: number, message: string): Reply => acsError(status, codeByStatus(status), message);
  return {
    peers: [
      {
        name: 'acs-email-send',
        prefix: '/emails:send',
        error,
        routes: [{ method: 'POST', path: '/', handle: send }],
      },
      {
        name: 'acs-email-operations',
        prefix: '/emails',
        error,
        routes: [{ method: 'GET', path: '/operations/:id', handle: status }],
      },
    ],
    reset: () => operations.clear(),
    snapshot: () => [...operations.values()].map((o) => structuredClone(o)),
    restore: (restored) => {
      operations.clear();
      for (const { error, ...operation } of restored) {
        operations.set(operation.id, error ? { ...operation, error } : operation);
      }
    },
  };
}

function acsError(status: number, code: string, message: string): Reply {
  return { status, headers: { 'x-ms-error-code': code }, body: { error: { code, message } } };
}

function codeByStatus(status: number): string {
  const codes: Record<number, string> = {
    400: 'BadRequest',
    401: 'Denied',
    403: 'Forbidden',
    404: 'NotFound',
    405: 'MethodNotAllowed',
    408: 'RequestTimeout',
    429: 'TooManyRequests',
    500: 'InternalServerError',
    502: 'BadGateway',
    503: 'ServiceUnavailable',
    504: 'GatewayTimeout',
  };
  return codes[status] ?? (status >= 500 ? 'InternalServerError' : 'BadRequest');
}

function header(request: PeerRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
