import { z } from 'zod';

export const SMTP_FAULT_REPLIES = {
  421: 'Service not available, closing transmission channel',
  451: 'Requested action aborted: local error in processing',
} as const;

export type SmtpFaultReply = keyof typeof SMTP_FAULT_REPLIES;

/** `fail`: how many emails to refuse, `'always'`, or `false` to accept again. */
export const smtpFaultSchema = z.strictObject({
  fail: z.union([z.number().int().min(0), z.literal('always'), z.literal(false)]),
  reply: z.union([z.literal(421), z.literal(451)]).optional(),
});

export type SmtpFault = z.output<typeof smtpFaultSchema>;

/**
 * The SMTP sink's fault switch: refuses MAIL FROM with a 4xx reply, as a mail server that is down or overloaded
 * does, so that tests can make delivery fail and then recover.
 */
export class SmtpFaultSwitch {
  private remaining: number | 'always' = 0;
  private reply: SmtpFaultReply = 421;
  private refused = 0;

  set(fail: SmtpFault['fail'], reply: SmtpFaultReply = 421): void {
    this.remaining = fail === false ? 0 : fail;
    this.reply = reply;
  }

  /** Called for each email (MAIL FROM): the reply to refuse it with, if the switch is on. */
  take(): { readonly code: SmtpFaultReply; readonly message: string } | undefined {
    if (this.remaining === 0) return undefined;
    if (this.remaining !== 'always') this.remaining--;
    this.refused++;
    return { code: this.reply, message: SMTP_FAULT_REPLIES[this.reply] };
  }

  describe(): { fail: number | 'always' | false; reply: SmtpFaultReply; refused: number } {
    return { fail: this.remaining === 0 ? false : this.remaining, reply: this.reply, refused: this.refused };
  }

  clear(): void {
    this.remaining = 0;
    this.reply = 421;
    this.refused = 0;
  }
}
