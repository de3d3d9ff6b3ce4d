import { z } from 'zod';
import type { SmtpFaultSwitch } from './mail-faults.js';
import { smtpFaultSchema } from './mail-faults.js';
import type { Mailbox } from './mailbox.js';
import type { Peer, Reply } from './router.js';

/**
 * `/_sandbox/mail`: the mailbox of both mail services and the SMTP fault switch. Registered before the control
 * peer (whose `/_sandbox` prefix would otherwise take these paths) and, like it, never logged nor faulted.
 */
export function mailControlPeer(deps: {
  readonly mailbox: Mailbox;
  readonly smtpFaults: SmtpFaultSwitch;
}): Peer {
  const { mailbox, smtpFaults } = deps;
  return {
    name: 'mail-control',
    prefix: '/_sandbox/mail',
    error: (status, message) => controlError(status, status === 404 ? 'NotFound' : 'Error', message),
    routes: [
      { method: 'GET', path: '/', handle: () => ({ status: 200, body: { value: mailbox.messages() } }) },
      {
        method: 'DELETE',
        path: '/',
        handle: () => {
          mailbox.clear();
          return { status: 204 };
        },
      },
      { method: 'GET', path: '/smtp-fault', handle: () => ({ status: 200, body: smtpFaults.describe() }) },
      {
        method: 'PUT',
        path: '/smtp-fault',
        handle: (request) => {
          let input: unknown;
          try {
            input = JSON.parse(request.body.toString('utf8') || '{}');
          } catch (error) {
            return controlError(400, 'InvalidJson', error instanceof Error ? error.message : String(error));
          }
          const parsed = smtpFaultSchema.safeParse(input);
          if (!parsed.success) return controlError(400, 'InvalidRequest', z.prettifyError(parsed.error));
          smtpFaults.set(parsed.data.fail, parsed.data.reply);
          return { status: 200, body: smtpFaults.describe() };
        },
      },
    ],
  };
}

function controlError(status: number, code: string, message: string): Reply {
  return { status, body: { error: { code, message } } };
}
