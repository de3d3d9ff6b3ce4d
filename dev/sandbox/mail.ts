import type { KeyPairPem } from './certificates.js';
import { type SmtpFault, SmtpFaultSwitch, type SmtpFaultReply } from './mail-faults.js';
import { mailControlPeer } from './mail-control.js';
import { DEMO_MAIL } from './mail-demo.js';
import { Mailbox, type SandboxMail } from './mailbox.js';
import { acsEmailService } from './peers/email-acs.js';
import type { Peer } from './router.js';
import type { MailSnapshot } from './snapshot-schema.js';
import { startSmtpSink } from './smtp-sink.js';

/** The sandbox's mail services as tests see them in process. */
export interface SandboxMailHandle {
  /** What both services accepted (ACS and SMTP), newest last. */
  messages(): readonly SandboxMail[];
  clear(): void;
  /**
   * Makes the SMTP sink refuse the next `count` emails, every email (`'always'`), or none again (`false`), with
   * `421 Service not available` (default) or `451`.
   */
  failSmtp(fail: SmtpFault['fail'], reply?: SmtpFaultReply): void;
}

export interface MailServices {
  readonly handle: SandboxMailHandle;
  readonly smtp: { readonly host: string; readonly port: number };
  /** The ACS peers (faultable, logged) go with the other services. */
  readonly servicePeers: readonly Peer[];
  /** `/_sandbox/mail`: list before the control peer, and exempt from faults and logging. */
  readonly controlPeer: Peer;
  reset(): void;
  /** The mailbox and ACS's send operations; SMTP faults are a test's switch and are not kept. */
  snapshot(): MailSnapshot;
  restore(snapshot: MailSnapshot): void;
  close(): Promise<void>;
}

/** Starts the SMTP sink and builds the ACS and mailbox peers around one mailbox. */
export async function startMailServices(options: {
  tls: KeyPairPem;
  smtpPort: number;
  /** Told when mail arrives over SMTP, which is not an HTTPS request the sandbox notices by itself. */
  onChange?: () => void;
}): Promise<MailServices> {
  const mailbox = new Mailbox(options.onChange);
  const smtpFaults = new SmtpFaultSwitch();
  const acs = acsEmailService({ mailbox });
  const sink = await startSmtpSink({
    tls: options.tls,
    port: options.smtpPort,
    credentials: DEMO_MAIL.smtp,
    mailbox,
    faults: smtpFaults,
  });
  return {
    handle: {
      messages: () => mailbox.messages(),
      clear: () => mailbox.clear(),
      failSmtp: (fail, reply) => smtpFaults.set(fail, reply),
    },
    smtp: { host: sink.host, port: sink.port },
    servicePeers: acs.peers,
    controlPeer: mailControlPeer({ mailbox, smtpFaults }),
    reset() {
      mailbox.clear();
      smtpFaults.clear();
      acs.reset();
    },
    snapshot: () => ({ ...mailbox.snapshot(), acsOperations: acs.snapshot() }),
    restore(snapshot) {
      mailbox.restore(snapshot);
      acs.restore(snapshot.acsOperations);
    },
    close: () => sink.close(),
  };
}
