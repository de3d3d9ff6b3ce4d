import { randomUUID } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunningAzurite, startAzurite } from '../../dev/azurite.js';
import { type LogRecord, type RunningHost, startLocalHost } from '../../dev/host/index.js';
import { DEMO_MAIL } from '../../dev/sandbox/index.js';
import { createEmailOutboxFunctions, type EmailOutboxDeps } from '../../functions/email-outbox.js';
import type { EmailDelivery, EmailOutbox } from '../../shared/email/email-message.js';
import { createEmailSender } from '../../shared/email/email-sender-factory.js';
import { createEmailOutbox } from '../../shared/email/outbox.js';
import { EMAIL_SETTINGS_MISSING } from '../../shared/email/outbox-delivery.js';
import {
  createStorageOutboxQueue,
  EMAIL_OUTBOX_QUEUE,
  type OutboxQueue,
} from '../../shared/email/outbox-queue.js';
import { createTableOutboxStore, EMAIL_OUTBOX_TABLE } from '../../shared/email/table-outbox-store.js';
import { trustedCaCertificates } from '../../shared/net/trusted-ca.js';
import type {
  AcsEmailSettings,
  EmailSettings,
  SmtpEmailSettings,
} from '../../shared/provider/provider-settings.js';
import { type SandboxFixture, startFixture } from '../sandbox/fixtures.js';

/** Production retries every 60 s; the same code runs here with a 1 s delay. */
const RETRY_DELAY_MS = 1_000;
/** Longer than any test waits on the wall clock: an email is overdue only once a test moves the clock on. */
const STALL_AFTER_MS = 10_000;

let azurite: RunningAzurite;
let fixture: SandboxFixture;
let host: RunningHost;
let deps: EmailOutboxDeps;
let outbox: EmailOutbox;
let queues: QueueServiceClient;
const logs: LogRecord[] = [];
/** What the settings reader returns: the provider's Email Settings as the tests set them. */
let emailSettings: EmailSettings | null = null;
/**
 * How far the outbox's clock is ahead of the wall clock: a test moves it past a claim's lease or the stall time
 * instead of waiting them out. The queue's delays stay real.
 */
let clockAheadMs = 0;

const smtpSettingsOf = (): SmtpEmailSettings => ({
  transport: 'smtp',
  from: DEMO_MAIL.smtp.from,
  host: fixture.sandbox.smtp.host,
  port: fixture.sandbox.smtp.port,
  enableSsl: true,
  username: DEMO_MAIL.smtp.username,
  password: DEMO_MAIL.smtp.password,
});
const acsSettingsOf = (): AcsEmailSettings => ({
  transport: 'acs',
  endpoint: fixture.sandbox.url,
  senderAddress: DEMO_MAIL.acs.senderAddress,
  accessKey: DEMO_MAIL.acs.accessKey,
});

beforeAll(async () => {
  [azurite, fixture] = await Promise.all([startAzurite(), startFixture()]);
  const connection = azurite.connectionString;
  const senderDeps = {
    transport: fixture.transport,
    smtpCa: trustedCaCertificates(fixture.sandbox.caCertFile),
    acsPollIntervalMs: 20,
    acsMaxRetries: 0,
  };
  deps = {
    store: createTableOutboxStore(connection),
    queue: createStorageOutboxQueue(connection),
    emailSettings: async () => emailSettings,
    createSender: (settings) => createEmailSender(settings, senderDeps),
    timing: { retryDelayMs: RETRY_DELAY_MS, leaseMs: 20_000, stallAfterMs: STALL_AFTER_MS },
    now: () => new Date(Date.now() + clockAheadMs),
  };
  outbox = createEmailOutbox({ store: deps.store, queue: deps.queue });
  queues = QueueServiceClient.fromConnectionString(connection);
  host = await startLocalHost({
    // The safety-net timer runs every second here instead of every minute.
    registry: createEmailOutboxFunctions(async () => deps, { timerSchedule: '* * * * * *' }),
    port: 0,
    storageConnectionString: connection,
    queues: { pollIntervalMs: 100 },
    log: (record) => logs.push(record),
  });
});

afterAll(async () => {
  await host?.close();
  await fixture?.close();
  await azurite?.close();
});

beforeEach(() => {
  fixture.sandbox.reset();
  emailSettings = smtpSettingsOf();
  clockAheadMs = 0;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(50);
  }
}

const newMessage = () => {
  const to = `admin-${randomUUID().slice(0, 8)}@contoso.com`;
  return { to, subject: `Invitation for ${to}`, text: `Hello ${to}`, html: `<p>Hello ${to}</p>` };
};
const mailsTo = (to: string) => fixture.sandbox.mail.messages().filter((m) => m.to.includes(to));
const delivery = async (emailId: string): Promise<EmailDelivery> => {
  const found = await outbox.delivery(emailId);
  if (!found) throw new Error(`no email ${emailId}`);
  return found;
};
const waitUntilSent = (emailId: string) =>
  waitFor(`email ${emailId} to be sent`, async () => {
    const current = await delivery(emailId);
    return current.sent ? current : undefined;
  });
const waitForAttempts = (emailId: string, attempts: number) =>
  waitFor(`${attempts} attempts of email ${emailId}`, async () => {
    const current = await delivery(emailId);
    return current.attempts >= attempts ? current : undefined;
  });
/**
 * Until the outbox queue holds no message, visible or not (Azure counts both): no delivery of any email is then
 * pending, and only the timer could queue one again, for an email still unsent.
 */
const queueDrained = () =>
  waitFor('the outbox queue to drain', async () => {
    const { approximateMessagesCount } = await queues.getQueueClient(EMAIL_OUTBOX_QUEUE).getProperties();
    return approximateMessagesCount === 0 ? true : undefined;
  });
/** Until the safety-net timer has run `runs` more times than it had when called. */
async function timerRuns(runs: number): Promise<void> {
  const executed = () =>
    logs.filter((l) => l.functionName === 'email-outbox-requeue' && l.message.startsWith('Executed')).length;
  const target = executed() + runs;
  await waitFor(`${runs} runs of the outbox timer`, async () => (executed() >= target ? true : undefined));
}
const functionLogs = (emailId: string) =>
  logs.filter((l) => l.category === 'function' && l.message.includes(emailId)).map((l) => l.message);
/** A queue that loses every message: the email is stored, its delivery never queued. */
const lostQueue: OutboxQueue = { send: async () => {} };
const sendRawMessage = (body: unknown) =>
  queues.getQueueClient(EMAIL_OUTBOX_QUEUE).sendMessage(Buffer.from(JSON.stringify(body)).toString('base64'));

describe('email outbox', () => {
  it('sends a queued email once over SMTP and reports it sent after one attempt', async () => {
    const message = newMessage();
    const emailId = await outbox.enqueue(message);
    expect(await delivery(emailId)).toEqual({
      emailId,
      sent: false,
      attempts: 0,
      sentAt: null,
      lastError: null,
    });
    const sent = await waitUntilSent(emailId);
    expect(sent).toEqual({ emailId, sent: true, attempts: 1, sentAt: expect.any(String), lastError: null });
    await queueDrained();
    expect(mailsTo(message.to)).toEqual([
      expect.objectContaining({
        transport: 'smtp',
        subject: message.subject,
        text: message.text,
        html: message.html,
        messageId: `<${emailId}@northwindvoice.example>`,
      }),
    ]);
  });

  it('sends over ACS when the Email Settings say so', async () => {
    emailSettings = acsSettingsOf();
    const message = newMessage();
    const emailId = await outbox.enqueue(message);
    expect(await waitUntilSent(emailId)).toMatchObject({ sent: true, attempts: 1 });
    expect(mailsTo(message.to)).toEqual([
      expect.objectContaining({ transport: 'acs', operationId: emailId }),
    ]);
  });

  it('retries every retry delay while the SMTP server refuses, counting attempts, then sends exactly once', async () => {
    fixture.sandbox.mail.failSmtp('always');
    const message = newMessage();
    const emailId = await outbox.enqueue(message);
    const attemptTimes = new Map<number, number>();
    await waitFor('three failed attempts', async () => {
      const found = await deps.store.get(emailId);
      if (found?.record.lastAttemptAt) {
        attemptTimes.set(found.record.attempts, Date.parse(found.record.lastAttemptAt));
      }
      return (found?.record.attempts ?? 0) >= 3 && found?.record.status === 'pending' ? true : undefined;
    });
    const failing = await delivery(emailId);
    expect(failing).toMatchObject({
      sent: false,
      sentAt: null,
      lastError: expect.stringMatching(/^SMTP 421/),
    });
    // The retries are paced by the retry delay, not immediate.
    const [first, second, third] = [1, 2, 3].map((n) => attemptTimes.get(n));
    expect(first && second && third).toBeTruthy();
    expect((second ?? 0) - (first ?? 0)).toBeGreaterThanOrEqual(RETRY_DELAY_MS - 100);
    expect((third ?? 0) - (second ?? 0)).toBeGreaterThanOrEqual(RETRY_DELAY_MS - 100);
    expect(mailsTo(message.to)).toEqual([]);

    fixture.sandbox.mail.failSmtp(false);
    const sent = await waitUntilSent(emailId);
    const refused = (await (
      await fixture.transport.fetch(`${fixture.sandbox.url}/_sandbox/mail/smtp-fault`)
    ).json()) as { refused: number };
    // Every refusal was one counted attempt, and the one that went through is the last.
    expect(sent).toMatchObject({ sent: true, attempts: refused.refused + 1, lastError: null });
    expect(sent.attempts).toBeGreaterThanOrEqual(4);
    await queueDrained();
    expect(mailsTo(message.to)).toHaveLength(1);
    expect((await delivery(emailId)).attempts).toBe(sent.attempts);
  });

  it('retries while ACS answers 503, then sends exactly once', async () => {
    emailSettings = acsSettingsOf();
    const fault = fixture.sandbox.faults.add({ pathPattern: '^/emails:send$', kind: 'status', status: 503 });
    const message = newMessage();
    const emailId = await outbox.enqueue(message);
    const failing = await waitForAttempts(emailId, 2);
    expect(failing).toMatchObject({ sent: false, lastError: expect.stringMatching(/^ACS Email: 503/) });
    expect(mailsTo(message.to)).toEqual([]);

    fixture.sandbox.faults.remove(fault.id);
    const sent = await waitUntilSent(emailId);
    // The attempt claimed just before the fault went away may be the one that succeeds.
    expect(sent.attempts).toBeGreaterThanOrEqual(failing.attempts);
    expect(sent.attempts).toBeGreaterThanOrEqual(2);
    await queueDrained();
    expect(mailsTo(message.to)).toHaveLength(1);
  });

  it('sends once when the same queue message is delivered several times at once, and ignores later copies', async () => {
    const message = newMessage();
    const emailId = await createEmailOutbox({ store: deps.store, queue: lostQueue }).enqueue(message);
    await Promise.all(Array.from({ length: 5 }, () => sendRawMessage({ emailId })));
    expect(await waitUntilSent(emailId)).toMatchObject({ attempts: 1 });
    await waitFor('every copy to be handled', async () =>
      functionLogs(emailId).filter((l) => l.includes('ignored')).length >= 4 ? true : undefined,
    );
    expect(functionLogs(emailId).filter((l) => l.includes(' sent (attempt'))).toHaveLength(1);

    await sendRawMessage({ emailId });
    await waitFor('the late copy to be handled', async () =>
      functionLogs(emailId).some((l) => l.includes('duplicate message ignored') && l.includes('was sent at'))
        ? true
        : undefined,
    );
    expect(mailsTo(message.to)).toHaveLength(1);
    expect((await delivery(emailId)).attempts).toBe(1);
  });

  it('counts failed attempts while the Email Settings are missing, and sends once they are set', async () => {
    emailSettings = null;
    const message = newMessage();
    const emailId = await outbox.enqueue(message);
    const failing = await waitForAttempts(emailId, 2);
    expect(failing).toMatchObject({ sent: false, lastError: EMAIL_SETTINGS_MISSING });
    expect(mailsTo(message.to)).toEqual([]);

    emailSettings = smtpSettingsOf();
    const sent = await waitUntilSent(emailId);
    // The attempt claimed just before the fault went away may be the one that succeeds.
    expect(sent.attempts).toBeGreaterThanOrEqual(failing.attempts);
    expect(sent.attempts).toBeGreaterThanOrEqual(2);
    expect(sent.lastError).toBeNull();
    expect(mailsTo(message.to)).toHaveLength(1);
  });

  it('has the timer queue an email whose queue message was lost', async () => {
    const message = newMessage();
    const emailId = await createEmailOutbox({ store: deps.store, queue: lostQueue }).enqueue(message);
    // Nothing delivers it until it is overdue by the stall time: the timer runs and leaves it alone.
    await timerRuns(2);
    expect(await delivery(emailId)).toMatchObject({ sent: false, attempts: 0 });
    clockAheadMs = STALL_AFTER_MS;
    expect(await waitUntilSent(emailId)).toMatchObject({ attempts: 1 });
    expect(functionLogs(emailId).some((l) => l.includes('queued it again'))).toBe(true);
    expect(mailsTo(message.to)).toHaveLength(1);
  });

  it("leaves a live claim alone and takes over once a crashed sender's claim has expired", async () => {
    const message = newMessage();
    const emailId = await createEmailOutbox({ store: deps.store, queue: lostQueue }).enqueue(message);
    // A sender claimed it and crashed before writing the outcome.
    const found = await deps.store.get(emailId);
    if (!found) throw new Error('not stored');
    const LEASE_MS = 1_500;
    const leaseUntil = new Date(Date.now() + LEASE_MS).toISOString();
    await deps.store.replace(
      { ...found.record, status: 'sending', attempts: 1, leaseUntil, nextAttemptAt: leaseUntil },
      found.etag,
    );
    await sendRawMessage({ emailId });
    await waitFor('the duplicate to be ignored', async () =>
      functionLogs(emailId).some((l) => l.includes('being sent by another delivery')) ? true : undefined,
    );
    expect(mailsTo(message.to)).toEqual([]);

    // The sender never comes back: once its lease has run out and the email is overdue, the timer queues it again.
    clockAheadMs = LEASE_MS + STALL_AFTER_MS;
    const sent = await waitUntilSent(emailId);
    expect(sent.attempts).toBe(2);
    expect(mailsTo(message.to)).toHaveLength(1);
  });

  it('moves a corrupt message or one for an unknown email to the poison queue', async () => {
    const poison = queues.getQueueClient(`${EMAIL_OUTBOX_QUEUE}-poison`);
    const unknownId = randomUUID();
    await sendRawMessage({ emailId: 'not-an-id' });
    await sendRawMessage({ emailId: unknownId });
    const texts = await waitFor('two poison messages', async () => {
      if (!(await poison.exists())) return undefined;
      const { peekedMessageItems } = await poison.peekMessages({ numberOfMessages: 32 });
      const decoded = peekedMessageItems.map((m) => Buffer.from(m.messageText, 'base64').toString('utf8'));
      return decoded.length >= 2 ? decoded : undefined;
    });
    expect(texts.sort()).toEqual(
      [JSON.stringify({ emailId: unknownId }), JSON.stringify({ emailId: 'not-an-id' })].sort(),
    );
    expect(await outbox.delivery(unknownId)).toBeNull();
    expect(await outbox.delivery('not-an-id')).toBeNull();
  });

  it('never stores or logs the SMTP password or the ACS access key, even when they are refused', async () => {
    const wrongPassword = 'wrong-smtp-password-that-is-secret';
    emailSettings = { ...smtpSettingsOf(), password: wrongPassword };
    const smtpMessage = newMessage();
    const smtpId = await outbox.enqueue(smtpMessage);
    expect(await waitForAttempts(smtpId, 2)).toMatchObject({ lastError: expect.stringMatching(/^SMTP 535/) });

    const wrongKey = Buffer.from('a wrong but secret access key').toString('base64');
    emailSettings = { ...acsSettingsOf(), accessKey: wrongKey };
    const acsId = await outbox.enqueue(newMessage());
    expect(await waitForAttempts(acsId, 2)).toMatchObject({
      lastError: expect.stringMatching(/^ACS Email: 401/),
    });

    emailSettings = smtpSettingsOf();
    await Promise.all([waitUntilSent(smtpId), waitUntilSent(acsId)]);

    const table = TableClient.fromConnectionString(azurite.connectionString, EMAIL_OUTBOX_TABLE, {
      allowInsecureConnection: true,
    });
    const stored: unknown[] = [];
    for await (const entity of table.listEntities()) stored.push(entity);
    expect(stored.length).toBeGreaterThan(5);
    const everything = JSON.stringify({ stored, logs });
    expect(everything).toContain(smtpId);
    expect(everything).toContain('535');
    const base64 = (text: string) => Buffer.from(text).toString('base64');
    for (const secret of [
      DEMO_MAIL.smtp.password,
      wrongPassword,
      base64(DEMO_MAIL.smtp.password),
      base64(wrongPassword),
      base64(`\0${DEMO_MAIL.smtp.username}\0${DEMO_MAIL.smtp.password}`),
      base64(`\0${DEMO_MAIL.smtp.username}\0${wrongPassword}`),
      DEMO_MAIL.acs.accessKey,
      wrongKey,
    ]) {
      expect(everything).not.toContain(secret);
    }
  });
});
