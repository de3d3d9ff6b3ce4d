import { createHash, createHmac, randomUUID } from 'node:crypto';
import { EmailClient, type EmailClientOptions, type EmailMessage } from '@azure/communication-email';
import { isRestError } from '@azure/core-rest-pipeline';
import nodemailer, { type NodemailerError, type SendMailOptions } from 'nodemailer';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_MAIL, type SandboxMail } from '../../dev/sandbox/index.js';
import { azureSdkOptions } from '../../shared/net/azure-sdk-options.js';
import { trustedCaCertificates } from '../../shared/net/trusted-ca.js';
import { type SandboxFixture, startFixture } from './fixtures.js';

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
const unique = (what: string) => `${what} ${randomUUID()}`;

describe('Azure Communication Services Email', () => {
  const client = (options: { key?: string; trust?: boolean; sdk?: EmailClientOptions } = {}) =>
    new EmailClient(`endpoint=${fixture.sandbox.url};accesskey=${options.key ?? DEMO_MAIL.acs.accessKey}`, {
      ...(options.trust === false ? {} : azureSdkOptions(fixture.transport)),
      retryOptions: { maxRetries: 0 },
      ...options.sdk,
    });
  const message = (overrides: Partial<EmailMessage> = {}): EmailMessage => ({
    senderAddress: DEMO_MAIL.acs.senderAddress,
    content: { subject: unique('Invitation'), plainText: 'Plain words', html: '<p>Rich words</p>' },
    recipients: { to: [{ address: 'admin@contoso.com', displayName: 'Contoso Admin' }] },
    ...overrides,
  });
  const fast = { updateIntervalInMs: 10 };

  it('accepts an email from the real EmailClient, reports it Running, then Succeeded, and delivers it', async () => {
    const sent = message();
    const poller = await client().beginSend(sent, fast);
    expect(poller.getOperationState().status).toBe('running');
    const result = await poller.pollUntilDone();
    expect(result.status).toBe('Succeeded');
    expect(mails()).toEqual([
      expect.objectContaining({
        transport: 'acs',
        from: DEMO_MAIL.acs.senderAddress,
        to: ['admin@contoso.com'],
        subject: sent.content.subject,
        text: 'Plain words',
        html: '<p>Rich words</p>',
        operationId: result.id,
      }),
    ]);
    // The SDK polled the operation (Running, then Succeeded) after the 202.
    const paths = fixture.sandbox.requests.list().map((r) => `${r.method} ${r.path} ${r.status}`);
    expect(paths).toEqual([
      'POST /emails:send 202',
      `GET /emails/operations/${result.id} 200`,
      `GET /emails/operations/${result.id} 200`,
    ]);
  });

  it('refuses a request signed with another key with 401 Denied, like the service', async () => {
    const wrongKey = Buffer.from('not the resource key').toString('base64');
    const failure = await client({ key: wrongKey })
      .beginSend(message(), fast)
      .catch((e: unknown) => e);
    expect(isRestError(failure) && failure.statusCode).toBe(401);
    expect(isRestError(failure) && failure.code).toBe('Denied');
    expect(mails()).toEqual([]);
  });

  it('treats a repeated Operation-Id as the same operation: one email', async () => {
    const operationId = randomUUID();
    const sent = message();
    const first = await (await client().beginSend(sent, { ...fast, operationId })).pollUntilDone();
    const second = await (await client().beginSend(sent, { ...fast, operationId })).pollUntilDone();
    expect(first).toMatchObject({ id: operationId, status: 'Succeeded' });
    expect(second).toMatchObject({ id: operationId, status: 'Succeeded' });
    expect(mails()).toHaveLength(1);
    // Without an Operation-Id every send is a new email.
    await (await client().beginSend(sent, fast)).pollUntilDone();
    expect(mails()).toHaveLength(2);
  });

  it('validates the message with 400 BadRequest and the sender domain with 400 DomainNotLinked', async () => {
    const badAddress = await client()
      .beginSend(message({ recipients: { to: [{ address: 'not an address' }] } }), fast)
      .catch((e: unknown) => e);
    expect(isRestError(badAddress) && [badAddress.statusCode, badAddress.code]).toEqual([400, 'BadRequest']);
    expect(isRestError(badAddress) && badAddress.message).toMatch(/recipients\.to/);

    const noRecipients = await client()
      .beginSend(message({ recipients: { to: [] } }), fast)
      .catch((e: unknown) => e);
    expect(isRestError(noRecipients) && noRecipients.statusCode).toBe(400);

    const otherDomain = await client()
      .beginSend(message({ senderAddress: 'DoNotReply@elsewhere.example' }), fast)
      .catch((e: unknown) => e);
    expect(isRestError(otherDomain) && [otherDomain.statusCode, otherDomain.code]).toEqual([
      400,
      'DomainNotLinked',
    ]);
    expect(mails()).toEqual([]);
  });

  it('ends the operation Failed for a suppressed recipient, with no email', async () => {
    const poller = await client().beginSend(
      message({ recipients: { to: [{ address: DEMO_MAIL.acs.undeliverableRecipient }] } }),
      fast,
    );
    await expect(poller.pollUntilDone()).rejects.toThrow(/EmailDroppedAllRecipientsSuppressed/);
    expect(mails()).toEqual([]);
  });

  it('is subject to the fault injector per route', async () => {
    fixture.sandbox.faults.add({
      method: 'POST',
      pathPattern: '^/emails:send$',
      kind: 'status',
      status: 503,
      times: 1,
    });
    const failure = await client()
      .beginSend(message(), fast)
      .catch((e: unknown) => e);
    expect(isRestError(failure) && [failure.statusCode, failure.code]).toEqual([503, 'ServiceUnavailable']);
    expect(mails()).toEqual([]);
    await (await client().beginSend(message(), fast)).pollUntilDone();
    expect(mails()).toHaveLength(1);
  });

  it('serves TLS that only a client trusting the sandbox CA accepts', async () => {
    const failure = await client({ trust: false })
      .beginSend(message(), fast)
      .catch((e: unknown) => e);
    expect(isRestError(failure) && failure.statusCode).toBe(undefined);
    expect(String(isRestError(failure) && failure.code)).toMatch(/CERT|SIGNED|VERIFY/);
    expect(mails()).toEqual([]);
  });

  describe('over raw HTTPS, signed as the SDK signs', () => {
    const signedSend = (apiVersion: string, body: unknown) => {
      const url = new URL(`${fixture.sandbox.url}/emails:send?api-version=${apiVersion}`);
      const text = JSON.stringify(body);
      const date = new Date().toUTCString();
      const hash = createHash('sha256').update(text).digest('base64');
      const signature = createHmac('sha256', Buffer.from(DEMO_MAIL.acs.accessKey, 'base64'))
        .update(`POST\n${url.pathname}${url.search}\n${date};${url.host};${hash}`)
        .digest('base64');
      return fixture.transport.fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-ms-date': date,
          'x-ms-content-sha256': hash,
          authorization: `HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=${signature}`,
        },
        body: text,
      });
    };

    it('accepts the GA api-version 2023-03-31 and names the operation in Operation-Location', async () => {
      const response = await signedSend('2023-03-31', message());
      expect(response.status).toBe(202);
      const body = (await response.json()) as { id: string; status: string };
      expect(body.status).toBe('Running');
      expect(response.headers.get('operation-location')).toBe(
        `${fixture.sandbox.url}/emails/operations/${body.id}?api-version=2023-03-31`,
      );
      expect(mails()).toHaveLength(1);
    });

    it('refuses an unknown api-version and a body whose hash does not match', async () => {
      const unknown = await signedSend('2019-01-01', message());
      expect(unknown.status).toBe(400);
      expect(await unknown.json()).toMatchObject({ error: { code: 'UnsupportedApiVersion' } });

      const url = `${fixture.sandbox.url}/emails:send?api-version=2025-09-01`;
      const tampered = await fixture.transport.fetch(url, {
        method: 'POST',
        headers: {
          'x-ms-date': new Date().toUTCString(),
          'x-ms-content-sha256': createHash('sha256').update('{}').digest('base64'),
          authorization: 'HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=AAAA',
        },
        body: JSON.stringify(message()),
      });
      expect(tampered.status).toBe(401);
      expect(mails()).toEqual([]);
    });
  });
});

describe('SMTP sink', () => {
  const ca = () => trustedCaCertificates(fixture.sandbox.caCertFile);
  const transporter = (
    options: { user?: string; pass?: string; trust?: boolean; auth?: boolean; requireTLS?: boolean } = {},
  ) =>
    nodemailer.createTransport({
      host: fixture.sandbox.smtp.host,
      port: fixture.sandbox.smtp.port,
      secure: false,
      requireTLS: options.requireTLS ?? true,
      tls: options.trust === false ? {} : { ca: ca() },
      ...(options.auth === false
        ? {}
        : {
            auth: {
              user: options.user ?? DEMO_MAIL.smtp.username,
              pass: options.pass ?? DEMO_MAIL.smtp.password,
            },
          }),
    });
  const send = async (options: Parameters<typeof transporter>[0], mail: SendMailOptions) => {
    const t = transporter(options);
    try {
      return await t.sendMail(mail);
    } finally {
      t.close();
    }
  };
  const smtpFailure = (error: unknown) => error as NodemailerError;

  it('takes an email over STARTTLS with AUTH and decodes its quoted-printable and base64 parts', async () => {
    const subject = `Einladung für Contoso — ${randomUUID()}`;
    // Mostly ASCII with a few accents: nodemailer picks quoted-printable, and soft-wraps the long line.
    const text = `Grüße aus Zürich! ${'Bitte klicken Sie auf den Link, um die Zustimmung zu erteilen. '.repeat(4)}\nZweite Zeile.`;
    // Mostly non-ASCII: nodemailer picks base64.
    const html = '<p>招待状：リンクをクリックして同意してください。ありがとうございます。</p>';
    const messageId = `<${randomUUID()}@northwindvoice.example>`;
    const info = await send(
      {},
      { from: DEMO_MAIL.smtp.from, to: 'admin@contoso.com', subject, text, html, messageId },
    );
    expect(info.accepted).toEqual(['admin@contoso.com']);

    const [mail] = mails();
    expect(mails()).toHaveLength(1);
    expect(mail).toMatchObject({
      transport: 'smtp',
      from: DEMO_MAIL.smtp.username,
      to: ['admin@contoso.com'],
      subject,
      text,
      html,
      messageId,
      username: DEMO_MAIL.smtp.username,
    } satisfies Partial<SandboxMail>);
    // The parts really were encoded, so the decoding above was exercised.
    expect(mail?.raw).toMatch(/Content-Transfer-Encoding: quoted-printable/i);
    expect(mail?.raw).toMatch(/Content-Transfer-Encoding: base64/i);
    expect(mail?.raw).not.toContain('Grüße');
  });

  it('rejects a wrong password with 535 and keeps nothing', async () => {
    const failure = await send(
      { pass: 'wrong password' },
      { from: DEMO_MAIL.smtp.from, to: 'a@contoso.com', text: 'x' },
    ).catch(smtpFailure);
    expect(failure.code).toBe('EAUTH');
    expect(failure.responseCode).toBe(535);
    expect(mails()).toEqual([]);
  });

  it('requires authentication for every email (530)', async () => {
    const failure = await send(
      { auth: false },
      { from: DEMO_MAIL.smtp.from, to: 'a@contoso.com', text: 'x' },
    ).catch(smtpFailure);
    expect(failure.responseCode).toBe(530);
    expect(mails()).toEqual([]);
  });

  it('offers AUTH only after STARTTLS', async () => {
    // ignoreTLS: stay in clear text; the sink must not take credentials over it.
    const t = nodemailer.createTransport({
      host: fixture.sandbox.smtp.host,
      port: fixture.sandbox.smtp.port,
      secure: false,
      ignoreTLS: true,
      auth: { user: DEMO_MAIL.smtp.username, pass: DEMO_MAIL.smtp.password },
    });
    const failure = await t
      .sendMail({ from: DEMO_MAIL.smtp.from, to: 'a@contoso.com', text: 'x' })
      .catch(smtpFailure);
    t.close();
    expect(failure.responseCode).toBe(538);
    expect(mails()).toEqual([]);
  });

  it('presents a certificate that only a client trusting the sandbox CA accepts', async () => {
    const failure = await send(
      { trust: false },
      { from: DEMO_MAIL.smtp.from, to: 'a@contoso.com', text: 'x' },
    ).catch(smtpFailure);
    expect(`${failure.originalCode ?? ''} ${failure.message}`).toMatch(/certificate|CERT/i);
    expect(mails()).toEqual([]);
  });

  it('refuses with 421 while failing, then takes the email once recovered', async () => {
    fixture.sandbox.mail.failSmtp(1);
    const mail = { from: DEMO_MAIL.smtp.from, to: 'a@contoso.com', subject: 'Retry me', text: 'x' };
    const failure = await send({}, mail).catch(smtpFailure);
    expect(failure.responseCode).toBe(421);
    expect(failure.message).toMatch(/Service not available/);
    expect(mails()).toEqual([]);
    await send({}, mail);
    expect(mails().map((m) => m.subject)).toEqual(['Retry me']);
  });

  it('has an HTTP fault switch: always 451 until switched off', async () => {
    const control = (method: string, path: string, body?: unknown) =>
      fixture.transport.fetch(`${fixture.sandbox.url}/_sandbox/mail${path}`, {
        method,
        ...(body === undefined
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
    expect((await control('PUT', '/smtp-fault', { fail: 'sometimes' })).status).toBe(400);
    const on = await control('PUT', '/smtp-fault', { fail: 'always', reply: 451 });
    expect(await on.json()).toEqual({ fail: 'always', reply: 451, refused: 0 });

    const mail = { from: DEMO_MAIL.smtp.from, to: 'a@contoso.com', subject: 'Later', text: 'x' };
    for (let i = 0; i < 2; i++) expect((await send({}, mail).catch(smtpFailure)).responseCode).toBe(451);
    expect(await (await control('GET', '/smtp-fault')).json()).toEqual({
      fail: 'always',
      reply: 451,
      refused: 2,
    });

    await control('PUT', '/smtp-fault', { fail: false });
    await send({}, mail);
    expect(mails()).toHaveLength(1);
  });
});

describe('mailbox inspection', () => {
  it('lists both transports newest last over HTTPS, and DELETE empties it', async () => {
    const acs = new EmailClient(
      fixture.sandbox.url,
      { key: DEMO_MAIL.acs.accessKey },
      azureSdkOptions(fixture.transport),
    );
    await (
      await acs.beginSend(
        {
          senderAddress: DEMO_MAIL.acs.senderAddress,
          content: { subject: 'first', plainText: 'one' },
          recipients: { to: [{ address: 'a@contoso.com' }] },
        },
        { updateIntervalInMs: 10 },
      )
    ).pollUntilDone();
    const t = nodemailer.createTransport({
      host: fixture.sandbox.smtp.host,
      port: fixture.sandbox.smtp.port,
      requireTLS: true,
      tls: { ca: trustedCaCertificates(fixture.sandbox.caCertFile) },
      auth: { user: DEMO_MAIL.smtp.username, pass: DEMO_MAIL.smtp.password },
    });
    await t.sendMail({ from: DEMO_MAIL.smtp.from, to: 'b@contoso.com', subject: 'second', text: 'two' });
    t.close();

    const url = `${fixture.sandbox.url}/_sandbox/mail`;
    const listed = (await (await fixture.transport.fetch(url)).json()) as { value: SandboxMail[] };
    expect(listed.value.map((m) => [m.transport, m.subject, m.to])).toEqual([
      ['acs', 'first', ['a@contoso.com']],
      ['smtp', 'second', ['b@contoso.com']],
    ]);
    // Inspection is not part of what the services received.
    expect(fixture.sandbox.requests.list().some((r) => r.path.startsWith('/_sandbox'))).toBe(false);

    expect((await fixture.transport.fetch(url, { method: 'DELETE' })).status).toBe(204);
    expect(mails()).toEqual([]);
  });
});
