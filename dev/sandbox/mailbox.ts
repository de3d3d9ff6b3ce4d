/** One email a sandbox mail service accepted. */
export interface SandboxMail {
  /** Arrival order across both transports. */
  readonly seq: number;
  readonly transport: 'acs' | 'smtp';
  readonly receivedAt: string;
  /** SMTP: the envelope's MAIL FROM; ACS: `senderAddress`. */
  readonly from: string;
  /** Every recipient: SMTP's RCPT TO; ACS's to, cc and bcc. */
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string | null;
  readonly html: string | null;
  /** SMTP: the Message-ID header as sent; null for ACS, which sets its own. */
  readonly messageId: string | null;
  /** ACS: the send operation's id (the Operation-Id the client chose, if any). */
  readonly operationId: string | null;
  /** SMTP: the user that authenticated. */
  readonly username: string | null;
  /** SMTP: the message as received (headers and MIME body). */
  readonly raw: string | null;
}

/** Bounded so that a long local run does not grow without limit. */
const CAPACITY = 1_000;

/** What the sandbox's mail services received, for tests and the control API; newest last. */
export class Mailbox {
  private mails: SandboxMail[] = [];
  private seq = 0;

  /** `onChange` hears of mail that arrives outside an HTTPS request (the SMTP sink), for persistence. */
  constructor(private readonly onChange: () => void = () => {}) {}

  snapshot(): { seq: number; messages: SandboxMail[] } {
    return { seq: this.seq, messages: this.mails.map((m) => ({ ...m, to: [...m.to] })) };
  }

  restore(snapshot: { readonly seq: number; readonly messages: readonly SandboxMail[] }): void {
    this.seq = snapshot.seq;
    this.mails = snapshot.messages.map((m) => ({ ...m, to: [...m.to] }));
  }

  add(mail: Omit<SandboxMail, 'seq' | 'receivedAt'>): SandboxMail {
    const stored: SandboxMail = { seq: ++this.seq, receivedAt: new Date().toISOString(), ...mail };
    this.mails.push(stored);
    if (this.mails.length > CAPACITY) this.mails.splice(0, this.mails.length - CAPACITY);
    this.onChange();
    return stored;
  }

  messages(): readonly SandboxMail[] {
    return this.mails;
  }

  clear(): void {
    this.mails = [];
    this.onChange();
  }
}
