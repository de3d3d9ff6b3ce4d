import type { TaskChange } from '../../tasks/task-definition.js';
import { renderPowerShell } from '../../teams/powershell.js';
import type { TeamsAdminClient } from '../../teams/teams-admin-client.js';
import type { TeamsCommand } from '../../teams/teams-command.js';
import { executeTeamsCommand } from '../../teams/teams-commands-rest.js';
import { createTeamsOverlayClient } from '../../teams/teams-overlay-client.js';
import { siteTemplateContext } from '../site-context.js';
import { loadJob, mapped, type OnboardingJob, type SiteStep } from './onboarding-job.js';

/** The site's M365 onboarding or cleanup script, rendered to Teams commands. */
export async function renderM365(
  job: OnboardingJob,
  which: 'onboarding' | 'cleanup',
): Promise<TeamsCommand[]> {
  const routing = job.site.m365Routing;
  if (!routing) return [];
  const templateId = which === 'onboarding' ? routing.onboardingTemplateId : routing.cleanupTemplateId;
  const rendered = await mapped(() =>
    job.templates.render(
      templateId,
      siteTemplateContext({
        customer: job.customer,
        tenantId: job.tenantId,
        site: job.site,
        region: job.dnsRegion,
        sbc: job.sbcDevice,
        carrierPassword: '',
        customVariables: routing.customVariables,
      }),
    ),
  );
  return (rendered.commands ?? []).map((c) => c.command);
}

/** The gateway object when the onboarding script does not create one itself (the LBR scripts do). */
export function gatewayCommand(fqdn: string): TeamsCommand {
  return {
    cmdlet: 'New-CsOnlinePSTNGateway',
    params: {
      Fqdn: fqdn,
      SipSignalingPort: 5061,
      Enabled: true,
      ForwardCallHistory: true,
      ForwardPai: true,
      MaxConcurrentSessions: 100,
    },
  };
}

export async function gatewayCommandFor(job: OnboardingJob): Promise<TeamsCommand | null> {
  if (!job.site.gatewayFqdn || !job.site.m365Routing) return null;
  const script = await renderM365(job, 'onboarding');
  const own = script.some((c) => c.cmdlet.toLowerCase() === 'new-csonlinepstngateway');
  return own ? null : gatewayCommand(job.site.gatewayFqdn);
}

export function teamsChange(command: TeamsCommand): TaskChange {
  return { kind: 'teams', description: renderPowerShell(command) };
}

/**
 * Executes commands in order against `client` and returns the ones that changed something. A dry run passes an
 * overlay client, so later commands see what earlier ones would have done.
 */
export async function runCommands(
  client: TeamsAdminClient,
  commands: readonly TeamsCommand[],
  onCommand?: (command: TeamsCommand, changed: boolean) => void,
): Promise<TeamsCommand[]> {
  const changed: TeamsCommand[] = [];
  for (const command of commands) {
    const result = await mapped(() => executeTeamsCommand(client, command));
    if (result.changed) changed.push(command);
    onCommand?.(command, result.changed);
  }
  return changed;
}

/** What the tenant would look like to the step: an overlay on the real tenant that keeps its writes to itself. */
export async function dryRunTenant(job: OnboardingJob, customerId: string): Promise<TeamsAdminClient> {
  return createTeamsOverlayClient(await mapped(() => job.ports.teams(customerId)));
}

/** "Configure M365 default routing": the selected onboarding script, command by command, each logged as PowerShell. */
export const m365RoutingStep: SiteStep = {
  name: 'ConfigureM365Routing',
  async plan(ctx) {
    const job = await loadJob(ctx);
    if (!job.site.m365Routing) return [];
    const tenant = await dryRunTenant(job, ctx.input.customerId);
    const gateway = await gatewayCommandFor(job);
    if (gateway) await runCommands(tenant, [gateway]);
    return (await runCommands(tenant, await renderM365(job, 'onboarding'))).map(teamsChange);
  },
  async run(ctx) {
    const job = await loadJob(ctx);
    if (!job.site.m365Routing) return { done: true };
    ctx.log(`-- M365 onboarding script ${job.site.m365Routing.onboardingTemplateId} started --`);
    const teams = await mapped(() => job.ports.teams(ctx.input.customerId));
    await runCommands(teams, await renderM365(job, 'onboarding'), (command, changed) => {
      ctx.log(`${renderPowerShell(command)}${changed ? '' : '  # already configured'}`);
      if (changed) ctx.applied(teamsChange(command));
    });
    ctx.log('-- M365 onboarding script completed --');
    return { done: true };
  },
};

/** The paired cleanup script: the gateway leaves every route the script names; routes left empty go. */
export const m365CleanupStep: SiteStep = {
  name: 'CleanupM365',
  async plan(ctx) {
    const job = await loadJob(ctx);
    if (!job.site.m365Routing) return [];
    const tenant = await dryRunTenant(job, ctx.input.customerId);
    return (await runCommands(tenant, await renderM365(job, 'cleanup'))).map(teamsChange);
  },
  async run(ctx) {
    const job = await loadJob(ctx);
    if (!job.site.m365Routing) return { done: true };
    ctx.log(`-- M365 cleanup script ${job.site.m365Routing.cleanupTemplateId} started --`);
    const teams = await mapped(() => job.ports.teams(ctx.input.customerId));
    await runCommands(teams, await renderM365(job, 'cleanup'), (command, changed) => {
      ctx.log(`${renderPowerShell(command)}${changed ? '' : '  # nothing to do'}`);
      if (changed) ctx.applied(teamsChange(command));
    });
    ctx.log('-- M365 cleanup script completed --');
    return { done: true };
  },
};
