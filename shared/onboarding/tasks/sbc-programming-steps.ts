import { parseSbcIni } from '../../sbc/sbc-config.js';
import type { TaskChange } from '../../tasks/task-definition.js';
import { siteTemplateContext } from '../site-context.js';
import { DONE, NOTHING, type OnboardingJob, type SiteStep, siteStep } from './onboarding-job.js';

/** The customer's IP Groups as `sbc-scenario7` names them: `<CustomerId>-c` (carrier) and `<CustomerId>-t` (Teams). */
export function customerIpGroups(customerId: string): readonly [string, string] {
  return [`${customerId}-c`, `${customerId}-t`];
}

async function ipGroupsPresent(job: OnboardingJob): Promise<{ device: string; present: string[] }> {
  const sbcId = job.sbcRegion?.sbcId ?? '';
  const { device, client } = await job.ports.sbc(sbcId);
  const config = parseSbcIni(await client.getIni());
  const wanted = customerIpGroups(job.customer.shortName).map((n) => n.toLowerCase());
  const present = config.ipGroups.map((g) => g.name).filter((n) => wanted.includes(n.toLowerCase()));
  return { device: device.name, present };
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
        await client.runCliScript(script);
        ctx.applied(program);
        ctx.state.sbcProgrammed = true;
        ctx.log('Sbc is programmed');
        return DONE;
      },
    };
  },
});

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
        await client.runCliScript(script);
        ctx.applied(cleanup);
        ctx.log('Sbc is cleaned up');
        return DONE;
      },
    };
  },
});
