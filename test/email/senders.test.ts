import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_MAIL } from '../../dev/sandbox/index.js';
import { createAcsEmailSender, operationIdFor } from '../../shared/email/acs-email-sender.js';
import { EmailSendError, type EmailMessage, type EmailSender } from '../../shared/email/email-message.js';
import { createEmailSender } from '../../shared/email/email-sender-factory.js';
import { createSmtpEmailSender } from '../../shared/email/smtp-email-sender.js';
import { trustedCaCertificates } from '../../shared/net/trusted-ca.js';
import { freePort } from '../../dev/host/free-port.js';
import { type SandboxFixture, startFixture } from '../sandbox/fixtures.js';

let fixture: SandboxFixture;

beforeAll(async () => {
  fixture = await startFixture();
});

afterAll(async () => {
  await fixture?.close();
});

beforeEach(() => {
  fixture.sandbox.reset();
});

const mails = () => fixture.sandbox.mail.messages();
const message = (): EmailMessage => ({
  to: 'admin@contoso.com',
  subject: `Invitation ${randomUUID()}`,
  text: 'Please consent: https://portal.example/authenticate/abc',
  html: '<p>Please <a href="https://portal.example/authenticate/abc">consent</a>.</p>',
});
const failureOf = async (sender: EmailSender, key = randomUUID()): Promise<EmailSendError> => {
  const error: unknown = await sender.send(message(), { idempotencyKey: key }).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof EmailSendError)) throw new Error(`expected an EmailSendError, got ${String(error)}`);
  return error;
};

describe('ACS sender', () => {
  const acs = (overrides: { accessKey?: string; endpoint?: string } = {}) =>
    createAcsEmailSender({
      connection: {
        endpoint: overrides.endpoint ?? fixture.sandbox.url,
        accessKey: overrides.accessKey ?? DEMO_MAIL.acs.accessKey,
      },
      senderAddress: DEMO_MAIL.acs.senderAddress,
      transport: fixture.transport,
      pollIntervalMs: 10,
      maxRetries: 0,
    });

  it('sends through the real EmailClient and waits for the operation to succeed', async () => {
    const sent = message();
    await acs().send(sent, { idempotencyKey: randomUUID() });
    expect(mails()).toEqual([
      expect.objectContaining({
        transport: 'acs',
        from: DEMO_MAIL.acs.senderAddress,
        to: [sent.to],
        subject: sent.subject,
        text: sent.text,
        html: sent.html,
      }),
    ]);
  });

  it('sends the idempotency key as Operation-Id, so a resend is the same operation and one email', async () => {
    const key = randomUUID();
    const sent = message();
    await acs().send(sent, { idempotencyKey: key });
    await acs().send(sent, { idempotencyKey: key });
    expect(mails()).toHaveLength(1);
    expect(mails()[0]?.operationId).toBe(key);
    // A key that is not a UUID maps to a stable one.
    expect(operationIdFor('invitation-42')).toBe(operationIdFor('invitation-42'));
    expect(operationIdFor('invitation-42')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    await acs().send(sent, { idempotencyKey: 'invitation-42' });
    await acs().send(sent, { idempotencyKey: 'invitation-42' });
    expect(mails()).toHaveLength(2);
  });

  it('also takes the connection string form', async () => {
    const sender = createAcsEmailSender({
      connection: {
        connectionString: `endpoint=${fixture.sandbox.url}/;accesskey=${DEMO_MAIL.acs.accessKey}`,
      },
      senderAddress: DEMO_MAIL.acs.senderAddress,
      transport: fixture.transport,
      pollIntervalMs: 10,
    });
    await sender.send(message(), { idempotencyKey: randomUUID() });
    expect(mails()).toHaveLength(1);
  });

  it('maps 503 and 429 to transient failures', async () => {
    fixture.sandbox.faults.add({ pathPattern: '^/emails:send$', kind: 'status', status: 503, times: 1 });
    const unavailable = await failureOf(acs());
    expect(unavailable.transient).toBe(true);
    expect(unavailable.message).toMatch(/^ACS Email: 503 ServiceUnavailable/);

    fixture.sandbox.faults.add({ pathPattern: '^/emails:send$', kind: 'status', status: 429, times: 1 });
    const throttled = await failureOf(acs());
    expect([throttled.transient, throttled.message]).toEqual([
      true,
      expect.stringMatching(/^ACS Email: 429/),
    ]);
    expect(mails()).toEqual([]);
  });

  it('maps a failure while polling to a transient failure', async () => {
    fixture.sandbox.faults.add({
      method: 'GET',
      pathPattern: '^/emails/operations/',
      kind: 'status',
      status: 500,
    });
    const failure = await failureOf(acs());
    expect([failure.transient, failure.message]).toEqual([true, expect.stringMatching(/^ACS Email: 500/)]);
  });

  it('maps a refused key, a rejected recipient and a failed operation to permanent failures', async () => {
    const wrongKey = Buffer.from('another resource key').toString('base64');
    const denied = await failureOf(acs({ accessKey: wrongKey }));
    expect([denied.transient, denied.message]).toEqual([
      false,
      expect.stringMatching(/^ACS Email: 401 Denied/),
    ]);
    expect(denied.message).not.toContain(wrongKey);

    const invalid = await acs()
      .send({ ...message(), to: 'not an address' }, { idempotencyKey: randomUUID() })
      .catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(EmailSendError);
    expect((invalid as EmailSendError).transient).toBe(false);
    expect((invalid as EmailSendError).message).toMatch(/^ACS Email: 400 BadRequest/);

    const suppressed = await acs()
      .send({ ...message(), to: DEMO_MAIL.acs.undeliverableRecipient }, { idempotencyKey: randomUUID() })
      .catch((e: unknown) => e);
    expect((suppressed as EmailSendError).transient).toBe(false);
    expect((suppressed as EmailSendError).message).toMatch(/EmailDroppedAllRecipientsSuppressed/);
    expect(mails()).toEqual([]);
  });

  it('maps an unreachable endpoint to a transient failure', async () => {
    const port = await freePort();
    const failure = await failureOf(acs({ endpoint: `https://localhost:${port}` }));
    expect([failure.transient, failure.message]).toEqual([true, expect.stringMatching(/network failure/)]);
  });

  it('refuses an endpoint with a path before sending, without quoting the key', () => {
    let thrown: unknown;
    try {
      acs({ endpoint: `${fixture.sandbox.url}/acs` });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(EmailSendError);
    expect((thrown as EmailSendError).transient).toBe(false);
    expect((thrown as EmailSendError).message).toMatch(/root URL/);
    expect((thrown as EmailSendError).message).not.toContain(DEMO_MAIL.acs.accessKey);
  });
});

describe('SMTP sender', () => {
  const smtp = (overrides: { password?: string; port?: number; trust?: boolean } = {}) =>
    createSmtpEmailSender({
      from: DEMO_MAIL.smtp.from,
      host: fixture.sandbox.smtp.host,
      port: overrides.port ?? fixture.sandbox.smtp.port,
      enableSsl: true,
      username: DEMO_MAIL.smtp.username,
      password: overrides.password ?? DEMO_MAIL.smtp.password,
      ...(overrides.trust === false ? {} : { ca: trustedCaCertificates(fixture.sandbox.caCertFile) }),
      timeouts: { connectionMs: 2_000, greetingMs: 2_000, socketMs: 2_000 },
    });

  it('sends over STARTTLS with a Message-ID made from the idempotency key', async () => {
    const key = randomUUID();
    const sent = message();
    await smtp().send(sent, { idempotencyKey: key });
    expect(mails()).toEqual([
      expect.objectContaining({
        transport: 'smtp',
        to: [sent.to],
        subject: sent.subject,
        text: sent.text,
        html: sent.html,
        messageId: `<${key}@northwindvoice.example>`,
      }),
    ]);
  });

  it('maps 421 and 451 to transient failures', async () => {
    fixture.sandbox.mail.failSmtp(1);
    const unavailable = await failureOf(smtp());
    expect([unavailable.transient, unavailable.message]).toEqual([true, expect.stringMatching(/^SMTP 421/)]);
    fixture.sandbox.mail.failSmtp(1, 451);
    const local = await failureOf(smtp());
    expect([local.transient, local.message]).toEqual([true, expect.stringMatching(/^SMTP 451/)]);
    expect(mails()).toEqual([]);
  });

  it('maps rejected credentials (535) to a permanent failure that does not quote the password', async () => {
    const password = 'a-wrong-but-secret-password';
    const failure = await failureOf(smtp({ password }));
    expect([failure.transient, failure.message]).toEqual([false, expect.stringMatching(/^SMTP 535/)]);
    expect(failure.message).not.toContain(password);
    expect(failure.message).not.toContain(Buffer.from(password).toString('base64'));
  });

  it('maps a refused connection to a transient failure', async () => {
    const failure = await failureOf(smtp({ port: await freePort() }));
    expect(failure.transient).toBe(true);
    expect(failure.message).toMatch(/^SMTP/);
  });

  it('fails, not transiently, when the server certificate is not trusted', async () => {
    const failure = await failureOf(smtp({ trust: false }));
    expect([failure.transient, failure.message]).toEqual([false, expect.stringMatching(/TLS failure/)]);
    expect(mails()).toEqual([]);
  });
});

describe('createEmailSender', () => {
  it('builds the transport the Email Settings choose', async () => {
    const deps = {
      transport: fixture.transport,
      smtpCa: trustedCaCertificates(fixture.sandbox.caCertFile),
      acsPollIntervalMs: 10,
    };
    await createEmailSender(
      {
        transport: 'acs',
        endpoint: fixture.sandbox.url,
        senderAddress: DEMO_MAIL.acs.senderAddress,
        accessKey: DEMO_MAIL.acs.accessKey,
      },
      deps,
    ).send(message(), { idempotencyKey: randomUUID() });
    await createEmailSender(
      {
        transport: 'smtp',
        from: DEMO_MAIL.smtp.from,
        host: fixture.sandbox.smtp.host,
        port: fixture.sandbox.smtp.port,
        enableSsl: true,
        username: DEMO_MAIL.smtp.username,
        password: DEMO_MAIL.smtp.password,
      },
      deps,
    ).send(message(), { idempotencyKey: randomUUID() });
    expect(mails().map((m) => m.transport)).toEqual(['acs', 'smtp']);
  });
});
