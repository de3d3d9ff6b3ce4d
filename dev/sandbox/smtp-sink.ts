import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerError } from 'smtp-server';
import type { KeyPairPem } from './certificates.js';
import type { SmtpFaultSwitch } from './mail-faults.js';
import { parseMail } from './mail-mime.js';
import type { Mailbox } from './mailbox.js';

export interface SmtpSinkOptions {
  /** The sandbox's CA-signed `localhost` certificate, offered through STARTTLS. */
  readonly tls: KeyPairPem;
  /** 0 lets the OS choose. */
  readonly port: number;
  readonly credentials: { readonly username: string; readonly password: string };
  readonly mailbox: Mailbox;
  readonly faults: SmtpFaultSwitch;
}

export interface RunningSmtpSink {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

/**
 * A submission server like the ones providers configure in Email Settings: STARTTLS with the sandbox's
 * certificate, AUTH PLAIN/LOGIN only once TLS is up, every email authenticated. Accepted emails land in the
 * mailbox; the fault switch refuses MAIL FROM with 421/451.
 */
export async function startSmtpSink(options: SmtpSinkOptions): Promise<RunningSmtpSink> {
  const { mailbox, faults, credentials } = options;
  const server = new SMTPServer({
    name: 'localhost',
    banner: 'Direct Routing Hub sandbox SMTP',
    key: options.tls.keyPem,
    cert: options.tls.certPem,
    secure: false,
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: false,
    allowInsecureAuth: false,
    size: MAX_MESSAGE_BYTES,
    disableReverseLookup: true,
    closeTimeout: 1_000,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === credentials.username && auth.password === credentials.password) {
        callback(null, { user: auth.username });
        return;
      }
      callback(smtpError(535, 'Authentication credentials invalid'));
    },
    onMailFrom(_address, _session, callback) {
      const fault = faults.take();
      callback(fault ? smtpError(fault.code, fault.message) : null);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (error: Error) => callback(error));
      stream.on('end', () => {
        if (stream.sizeExceeded) {
          callback(smtpError(552, 'Message exceeds the maximum size'));
          return;
        }
        const raw = Buffer.concat(chunks);
        const parsed = parseMail(raw);
        const mail = mailbox.add({
          transport: 'smtp',
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          subject: parsed.subject,
          text: parsed.text,
          html: parsed.html,
          messageId: parsed.messageId,
          operationId: null,
          username: typeof session.user === 'string' ? session.user : null,
          raw: raw.toString('utf8'),
        });
        callback(null, `Message queued as ${mail.seq}`);
      });
    },
  });
  // Client resets and the like are reported here; without a listener they would crash the sandbox.
  server.on('error', () => {});
  // Where `localhost` resolves, like the HTTPS server, so the certificate's name matches the address used.
  server.listen(options.port, 'localhost');
  await once(server.server, 'listening');
  const { port } = server.server.address() as AddressInfo;
  return {
    host: 'localhost',
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function smtpError(responseCode: number, message: string): SMTPServerError {
  return Object.assign(new Error(message), { responseCode });
}
