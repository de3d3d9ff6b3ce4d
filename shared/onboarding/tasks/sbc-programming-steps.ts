import { customerIpGroupsPresent, parseSbcIni } from '../../sbc/sbc-config.js';
import type { SbcRefusedCommand } from '../../sbc/sbc-client.js';
import { PermanentTaskError, type TaskChange, TransientTaskError } from '../../tasks/task-definition.js';
import { sbcChoiceErrors, sbcChoicesReader } from '../sbc-choices.js';
import { siteTemplateContext } from '../site-context.js';
import {
  DONE,
  NOTHING,
  type OnboardingJob,
  type SiteStep,
  type SiteStepContext,
  siteStep,
} from './onboarding-job.js';

async function ipGroupsPresent(job: OnboardingJob): Promise<{ device: string; present: string[] }> {
  const sbcId = job.sbcRegion?.sbcId ?? '';
  const { device, client } = await job.ports.sbc(sbcId);
  const config = parseSbcIni(await client.getIni());
  return { device: device.name, present: customerIpGroupsPresent(config, job.customer.shortName) };
}

async function renderSbc(
  job: OnboardingJob,
  which: 'onboarding' | 'cleanup',
  password: string,
): Promise<string> {
  const sbc = job.site.sbc;
  if (!sbc) return '';
  const templateId = which === 'onboarding' ? sbc.onboardingTemplateId : sbc.cleanupTemplateId;
  const rendered = await job.templates.render(
    templateId,
    siteTemplateContext({
      customer: job.customer,
      tenantId: job.tenantId,
      site: job.site,
      region: job.sbcRegion,
      sbc: job.sbcDevice,
      carrierPassword: password,
      customVariables: sbc.customVariables,
    }),
  );
  return rendered.text;
}

const scriptChange = (job: OnboardingJob, which: 'onboarding' | 'cleanup', script: string): TaskChange => ({
  kind: 'sbc',
  description: `Run SBC ${which} script ${
    which === 'onboarding' ? job.site.sbc?.onboardingTemplateId : job.site.sbc?.cleanupTemplateId
  } on ${job.sbcDevice?.name ?? ''}`,
  detail: { script },
});

/**
 * Before anything is created: the carrier, CAC profile and dial plans the site names are on its SBC now, so a site
 * the SBC would refuse at ProgramSbc fails here with no domain, DNS record, user or gateway made for it. A customer
 * whose IP Groups exist is programmed already: ProgramSbc leaves the SBC as it is, so there is nothing to check.
 */
export const validateSiteStep = siteStep({
  name: 'ValidateSite',
  async prepare(ctx, job) {
    const sbc = job.site.sbc;
    if (!sbc || !job.sbcDevice) return NOTHING;
    const choices = await sbcChoicesReader(job.ports)(job.sbcDevice.id, job.customer.shortName);
    if (!ctx.ports.settings.onboarding.skipIpGroupCheck && choices.programmed.length > 0) {
      return {
        changes: [],
        async apply() {
          ctx.log(`SBC IP Group ${choices.programmed.join(', ')} found; the SBC is programmed already.`);
          return DONE;
        },
      };
    }
    const errors = sbcChoiceErrors(
      choices,
      { carrier: sbc.carrier, cacProfile: sbc.cacProfile, prefixes: job.site.prefixes },
      { carrier: 'sbc.carrier', cacProfile: 'sbc.cacProfile', prefixes: 'prefixes' },
    );
    if (errors.length > 0) {
      const site = `/api/v1/customers/${encodeURIComponent(job.site.customerId)}/sites/${encodeURIComponent(job.site.siteName)}`;
      throw new PermanentTaskError(
        `${errors.map((e) => e.message).join(' ')} Nothing was created: fix the site (PATCH ${site}) and deploy it again.`,
      );
    }
    return {
      changes: [],
      async apply() {
        ctx.log(`Carrier, CAC profile and dial plans found on ${choices.sbc}.`);
        return DONE;
      },
    };
  },
});

/** "Checking SBC IP Group Programming.": a customer whose IP Groups exist is programmed already. */
const checkStep = siteStep({
  name: 'CheckSbcIpGroup',
  async prepare(ctx, job) {
    if (!job.site.sbc) return NOTHING;
    return {
      changes: [],
      async apply() {
        ctx.log('Checking SBC IP Group Programming.');
        if (ctx.ports.settings.onboarding.skipIpGroupCheck) {
          ctx.state.sbcProgrammed = false;
          ctx.log('IP Group pre-check skipped (SBC_SKIP_IP_GROUP_CHECK).');
          return DONE;
        }
        const { present } = await ipGroupsPresent(job);
        ctx.state.sbcProgrammed = present.length > 0;
        ctx.log(
          ctx.state.sbcProgrammed ? `SBC IP Group ${present.join(', ')} found.` : 'SBC not programmed yet.',
        );
        return DONE;
      },
    };
  },
});

/** "Starting SBC Programming.": the onboarding script, rendered for the site, sent as an incremental CLI script. */
const programStep = siteStep({
  name: 'ProgramSbc',
  async prepare(ctx, job) {
    if (!job.site.sbc) return NOTHING;
    // Checked again: after a crash between sending the script and saving the step, the groups are there already.
    // A dry run, whose check step read nothing, reads them here.
    const programmed =
      ctx.state.sbcProgrammed ||
      (!ctx.ports.settings.onboarding.skipIpGroupCheck && (await ipGroupsPresent(job)).present.length > 0);
    if (programmed) {
      return {
        changes: [],
        async apply() {
          ctx.log('Sbc is programmed');
          return DONE;
        },
      };
    }
    const script = await renderSbc(job, 'onboarding', job.openCarrierPassword());
    const program = scriptChange(job, 'onboarding', script);
    return {
      changes: [program],
      async apply() {
        ctx.log('Starting SBC Programming.');
        const { client } = await job.ports.sbc(job.sbcRegion?.sbcId ?? '');
        const result = await client.runCliScript(script);
        if (result.refused.length > 0) {
          refusedBySbc(ctx, 'onboarding', result.refused);
          // The next try must start from a clean SBC: the cleanup script removes what did apply, by name.
          const rollback = await client.runCliScript(
            await renderSbc(job, 'cleanup', job.openCarrierPassword()),
          );
          ctx.log(
            rollback.refused.length > 0
              ? `The cleanup script could not undo everything: ${describeRefused(rollback.refused)}.`
              : 'What did apply was removed with the cleanup script; the onboarding script is sent again.',
          );
          throw new TransientTaskError(
            `The SBC applied the onboarding script partially and refused: ${describeRefused(result.refused)}.`,
          );
        }
        ctx.applied(program);
        ctx.state.sbcProgrammed = true;
        ctx.log('Sbc is programmed');
        return DONE;
      },
    };
  },
});

/**
 * A script the SBC applied only in part (it answers 200 and lists the refused commands in its output): recorded in
 * the task's state and log, command by command, so the operator sees which lines failed.
 */
function refusedBySbc(
  ctx: SiteStepContext,
  which: 'onboarding' | 'cleanup',
  refused: readonly SbcRefusedCommand[],
): void {
  ctx.state.sbcRefused = refused.map((r) => ({ script: which, command: r.command, error: r.error }));
  ctx.log(`SBC refused ${refused.length} command(s) of the ${which} script:`);
  for (const r of refused) ctx.log(`  ${r.command || '(no command)'}: ${r.error}`);
}

function describeRefused(refused: readonly SbcRefusedCommand[]): string {
  return refused.map((r) => `${r.command || '(no command)'} (${r.error})`).join('; ');
}

export const SBC_PROGRAMMING_STEPS: readonly SiteStep[] = [checkStep, programStep];

/** Removal: the paired cleanup script, when the customer's IP Groups are still on the SBC. */
export const sbcCleanupStep = siteStep({
  name: 'CleanupSbc',
  async prepare(ctx, job) {
    if (!job.site.sbc) return NOTHING;
    const { present, device } = await ipGroupsPresent(job);
    if (present.length === 0) {
      return {
        changes: [],
        async apply() {
          ctx.log(`SBC ${device} has no IP Group of ${job.customer.shortName}; nothing to clean up.`);
          return DONE;
        },
      };
    }
    const script = await renderSbc(job, 'cleanup', job.openCarrierPassword());
    const cleanup = scriptChange(job, 'cleanup', script);
    return {
      changes: [cleanup],
      async apply() {
        ctx.log('Starting SBC cleanup.');
        const { client } = await job.ports.sbc(job.sbcRegion?.sbcId ?? '');
        const result = await client.runCliScript(script);
        if (result.refused.length > 0) {
          // Sent again whole: its removals select by name, so what went already is "No matching" next time.
          refusedBySbc(ctx, 'cleanup', result.refused);
          throw new TransientTaskError(
            `The SBC applied the cleanup script partially and refused: ${describeRefused(result.refused)}.`,
          );
        }
        ctx.applied(cleanup);
        ctx.log('Sbc is cleaned up');
        return DONE;
      },
    };
  },
});
