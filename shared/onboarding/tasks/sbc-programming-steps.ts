import { parseSbcIni } from '../../sbc/sbc-config.js';
import type { TaskChange } from '../../tasks/task-definition.js';
import { siteTemplateContext } from '../site-context.js';
import { loadJob, mapped, type OnboardingJob, type SiteStep } from './onboarding-job.js';

/** The customer's IP Groups as `sbc-scenario7` names them: `<CustomerId>-c` (carrier) and `<CustomerId>-t` (Teams). */
export function customerIpGroups(customerId: string): readonly [string, string] {
  return [`${customerId}-c`, `${customerId}-t`];
}

async function ipGroupsPresent(job: OnboardingJob): Promise<{ device: string; present: string[] }> {
  const sbcId = job.sbcRegion?.sbcId ?? '';
  const { device, client } = await mapped(() => job.ports.sbc(sbcId));
  const config = parseSbcIni(await mapped(() => client.getIni()));
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
  const rendered = await mapped(() =>
    job.templates.render(
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
    ),
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
const checkStep: SiteStep = {
  name: 'CheckSbcIpGroup',
  async run(ctx) {
    const job = await loadJob(ctx);
    if (!job.site.sbc) return { done: true };
    ctx.log('Checking SBC IP Group Programming.');
    if (ctx.ports.settings.onboarding.skipIpGroupCheck) {
      ctx.state.sbcProgrammed = false;
      ctx.log('IP Group pre-check skipped (SBC_SKIP_IP_GROUP_CHECK).');
      return { done: true };
    }
    const { present } = await ipGroupsPresent(job);
    ctx.state.sbcProgrammed = present.length > 0;
    ctx.log(
      ctx.state.sbcProgrammed ? `SBC IP Group ${present.join(', ')} found.` : 'SBC not programmed yet.',
    );
    return { done: true };
  },
};

/** "Starting SBC Programming.": the onboarding script, rendered for the site, sent as an incremental CLI script. */
const programStep: SiteStep = {
  name: 'ProgramSbc',
  async plan(ctx) {
    const job = await loadJob(ctx);
    if (!job.site.sbc) return [];
    if (!ctx.ports.settings.onboarding.skipIpGroupCheck) {
      if ((await ipGroupsPresent(job)).present.length > 0) return [];
    }
    return [scriptChange(job, 'onboarding', await renderSbc(job, 'onboarding', '********'))];
  },
  async run(ctx) {
    const job = await loadJob(ctx);
    if (!job.site.sbc) return { done: true };
    // Checked again: after a crash between sending the script and saving the step, the groups are there already.
    const programmed =
      ctx.state.sbcProgrammed ||
      (!ctx.ports.settings.onboarding.skipIpGroupCheck && (await ipGroupsPresent(job)).present.length > 0);
    if (!programmed) {
      ctx.log('Starting SBC Programming.');
      const script = await renderSbc(job, 'onboarding', job.openCarrierPassword());
      const { client } = await mapped(() => job.ports.sbc(job.sbcRegion?.sbcId ?? ''));
      await mapped(() => client.runCliScript(script));
      ctx.applied(scriptChange(job, 'onboarding', script));
      ctx.state.sbcProgrammed = true;
    }
    ctx.log('Sbc is programmed');
    return { done: true };
  },
};

export const SBC_PROGRAMMING_STEPS: readonly SiteStep[] = [checkStep, programStep];

/** Removal: the paired cleanup script, when the customer's IP Groups are still on the SBC. */
export const sbcCleanupStep: SiteStep = {
  name: 'CleanupSbc',
  async plan(ctx) {
    const job = await loadJob(ctx);
    if (!job.site.sbc) return [];
    if ((await ipGroupsPresent(job)).present.length === 0) return [];
    return [scriptChange(job, 'cleanup', await renderSbc(job, 'cleanup', '********'))];
  },
  async run(ctx) {
    const job = await loadJob(ctx);
    if (!job.site.sbc) return { done: true };
    const { present, device } = await ipGroupsPresent(job);
    if (present.length === 0) {
      ctx.log(`SBC ${device} has no IP Group of ${job.customer.shortName}; nothing to clean up.`);
      return { done: true };
    }
    ctx.log('Starting SBC cleanup.');
    const script = await renderSbc(job, 'cleanup', job.openCarrierPassword());
    const { client } = await mapped(() => job.ports.sbc(job.sbcRegion?.sbcId ?? ''));
    await mapped(() => client.runCliScript(script));
    ctx.applied(scriptChange(job, 'cleanup', script));
    ctx.log('Sbc is cleaned up');
    return { done: true };
  },
};
