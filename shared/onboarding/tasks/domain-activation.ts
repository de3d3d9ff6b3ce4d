import type { Settings } from '../../config/settings.js';
import { PermanentTaskError, type StepContext, type StepOutcome } from '../../tasks/task-definition.js';
import type { SiteTaskState } from './onboarding-job.js';

/** The domain activation user ("licensed temporary user trick"), one per gateway domain. */
export const ACTIVATION_USER = 'dnsactivation';

export const activationUpn = (fqdn: string) => `${ACTIVATION_USER}@${fqdn}`;

/**
 * How long Teams may take to activate a new gateway domain: Learn says up to 24 hours after the domain is verified
 * and a licensed user on it exists (Activating the Customer Domain in the manual says the same). Past it, the task
 * fails with what to check; a re-run (Deploy) is a new task and waits again.
 */
export const ACTIVATION_MAX_WAIT_MS = 24 * 60 * 60 * 1000;

/** What the wait needs of a step: its clock, the task's state (the wait's start survives restarts), the log. */
export type ActivationWaitContext = Pick<
  StepContext<unknown, Pick<SiteTaskState, 'activationWaitSince' | 'activationTries'>, unknown>,
  'clock' | 'state' | 'log'
> & { readonly ports: { readonly settings: Pick<Settings, 'onboarding'> } };

/**
 * Teams does not accept the gateway yet because it has not activated the new domain: the step looks again every
 * `DOMAIN_ACTIVATION_POLL_SECONDS` (the task stays queued, saying why) instead of failing on the first refusal.
 * Both places that create the gateway wait so: CreatePstnGateway, and an M365 onboarding script that creates it
 * itself (the LBR ones), whose commands before the gateway are found done on the next look.
 */
export function awaitActivation(ctx: ActivationWaitContext, fqdn: string, refusal: string): StepOutcome {
  const now = ctx.clock.now();
  const since = ctx.state.activationWaitSince ? Date.parse(ctx.state.activationWaitSince) : now.getTime();
  ctx.state.activationWaitSince ??= now.toISOString();
  ctx.state.activationTries = (ctx.state.activationTries ?? 0) + 1;
  if (now.getTime() - since >= ACTIVATION_MAX_WAIT_MS) {
    throw new PermanentTaskError(
      `Teams has not activated the domain ${fqdn} after 24 hours (${refusal}). Check that the user ` +
        `${activationUpn(fqdn)} exists with a Phone System license (Office 365 E5, or E1/E3 with Teams Phone ` +
        'Standard), then run the site again (Deploy).',
    );
  }
  const seconds = ctx.ports.settings.onboarding.activationPollSeconds;
  ctx.log(
    `-- Waiting for domain activation [Try: ${ctx.state.activationTries}]: Teams does not accept ${fqdn} yet; ` +
      `next look in ${seconds} seconds --`,
  );
  return {
    wait: {
      reason:
        `Teams has not activated the domain ${fqdn} yet (${refusal}); Microsoft takes minutes and up to 24 hours ` +
        `after the licensed user ${activationUpn(fqdn)} exists. The task looks again every ${seconds} seconds.`,
      resumeOn: { afterMs: seconds * 1000 },
    },
  };
}

/** Teams took the gateway after the step waited for it: the log says the wait is over. */
export function logActivated(ctx: ActivationWaitContext, fqdn: string): void {
  if (ctx.state.activationWaitSince) ctx.log(`-- Domain ${fqdn} activated --`);
}
