import { describe, expect, it } from 'vitest';
import type { EmailMessage } from '../../shared/email/email-message.js';
import { createEmailOutbox } from '../../shared/email/outbox.js';
import { createOutboxDelivery, SENT_LINK } from '../../shared/email/outbox-delivery.js';
import { createOutboxStore } from '../../shared/email/table-outbox-store.js';
import { memoryTables } from '../../shared/storage/memory-tables.js';

const LINK = 'https://drh.example.net/authenticate/Q2xpY2sgbWUgdG8gc2lnbiBpbg?x=1';
const log = { info: () => undefined, warn: () => undefined };

describe('the outbox after sending', () => {
  it('keeps no invitation link a reader of the table could use, though the recipient got it whole', async () => {
    const store = createOutboxStore(memoryTables());
    const queued: string[] = [];
    const sent: EmailMessage[] = [];
    const queue = { send: async (emailId: string) => void queued.push(emailId) };
    const outbox = createEmailOutbox({ store, queue });
    const delivery = createOutboxDelivery({
      store,
      queue,
      emailSettings: async () => ({
        transport: 'smtp',
        from: 'noreply@provider.example',
        host: 'smtp.provider.example',
        port: 587,
        enableSsl: true,
      }),
      createSender: () => ({ send: async (message) => void sent.push(message) }),
    });

    const emailId = await outbox.enqueue({
      to: 'admin@contoso.example',
      subject: 'Authenticate Contoso',
      text: `Open ${LINK} to sign in.`,
      html: `<p><a href="${LINK}">Sign in</a> or paste ${LINK}</p>`,
    });
    // Before sending, the outbox must keep the link: a retry sends it.
    expect(JSON.stringify((await store.get(emailId))?.record.message)).toContain(
      'Q2xpY2sgbWUgdG8gc2lnbiBpbg',
    );

    expect(await delivery.deliver({ emailId }, log)).toBe('sent');
    expect(sent[0]?.text).toContain(LINK);

    const stored = (await store.get(emailId))?.record;
    expect(stored?.status).toBe('sent');
    expect(JSON.stringify(stored)).not.toContain('Q2xpY2sgbWUgdG8gc2lnbiBpbg');
    expect(JSON.stringify(stored)).not.toContain('/authenticate/');
    expect(stored?.message).toMatchObject({
      to: 'admin@contoso.example',
      subject: 'Authenticate Contoso',
      text: `Open https://drh.example.net/${SENT_LINK} to sign in.`,
    });
    expect(await outbox.delivery(emailId)).toMatchObject({ sent: true, attempts: 1 });
  });
});
