import type { PreparedStep, TaskChange } from '../../tasks/task-definition.js';
import { renderPowerShell } from '../../teams/powershell.js';
import { isGatewayDomainNotActivated, type TeamsAdminClient } from '../../teams/teams-admin-client.js';
import type { TeamsCommand } from '../../teams/teams-command.js';
import { executeTeamsCommand } from '../../teams/teams-commands-rest.js';
import { createTeamsOverlayClient } from '../../teams/teams-overlay-client.js';
import { siteTemplateContext } from '../site-context.js';
import { awaitActivation, logActivated } from './domain-activation.js';
import { DONE, NOTHING, type OnboardingJob, type SiteStepContext, siteStep } from './onboarding-job.js';

/** The site's M365 onboarding or cleanup script, rendered to Teams commands. */
export async function renderM365(
  job: OnboardingJob,
  which: 'onboarding' | 'cleanup',
): Promise<TeamsCommand[]> {
  const routing = job.site.m365Routing;
  if (!routing) return [];
  const templateId = which === 'onboarding' ? routing.onboardingTemplateId : routing.cleanupTemplateId;
  const rendered = await job.templates.render(
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
  );
  return (rendered.commands ?? []).map((c) => c.command);
}

const isGatewayCommand = (command: TeamsCommand) =>
  command.cmdlet.toLowerCase() === 'new-csonlinepstngateway';
const gatewayFqdn = (command: TeamsCommand) => String(command.params.Fqdn ?? command.params.Identity ?? '');

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

/** The gateway command the site needs besides its onboarding `script`, if any. */
export function gatewayCommandFor(job: OnboardingJob, script: readonly TeamsCommand[]): TeamsCommand | null {
  if (!job.site.gatewayFqdn) return null;
  const own = script.some(isGatewayCommand);
  return own ? null : gatewayCommand(job.site.gatewayFqdn);
}

export function teamsChange(command: TeamsCommand): TaskChange {
  return { kind: 'teams', description: renderPowerShell(command) };
}

/**
 * Executes commands in order against `client` and returns the ones that changed something. A step's description
 * passes an overlay client, so later commands see what earlier ones would have done.
 */
export async function runCommands(
  client: TeamsAdminClient,
  commands: readonly TeamsCommand[],
  onCommand?: (command: TeamsCommand, changed: boolean) => void,
): Promise<TeamsCommand[]> {
  const changed: TeamsCommand[] = [];
  for (const command of commands) {
    const result = await executeTeamsCommand(client, command);
    if (result.changed) changed.push(command);
    onCommand?.(command, result.changed);
  }
  return changed;
}

/**
 * A script run command by command on the real tenant, each logged as PowerShell: described first on an overlay of
 * the tenant (after `before`, the commands an earlier step of a dry run only described), so each command that
 * changes something is recorded from its description.
 */
async function scriptStep(
  ctx: SiteStepContext,
  teams: TeamsAdminClient,
  script: readonly TeamsCommand[],
  before: readonly TeamsCommand[],
  log: { readonly started: string; readonly unchanged: string; readonly completed: string },
): Promise<PreparedStep> {
  const tenant = createTeamsOverlayClient(teams);
  await runCommands(tenant, before);
  const described = new Map((await runCommands(tenant, script)).map((c) => [c, teamsChange(c)]));
  return {
    changes: [...described.values()],
    async apply() {
      ctx.log(log.started);
      try {
        await runCommands(teams, script, (command, changed) => {
          if (isGatewayCommand(command)) logActivated(ctx, gatewayFqdn(command));
          ctx.log(`${renderPowerShell(command)}${changed ? '' : `  # ${log.unchanged}`}`);
          // A command the description found done and the tenant did not (changed meanwhile) is refused by the
          // engine: the step's retry describes the tenant anew.
          if (changed) ctx.applied(described.get(command) ?? teamsChange(command));
        });
      } catch (error) {
        // A script that creates the gateway itself (the LBR ones) waits for the domain's activation as
        // CreatePstnGateway does; the next look runs the script again, finding the commands before it done.
        const gateway = script.find(isGatewayCommand);
        if (!gateway || !isGatewayDomainNotActivated(error)) throw error;
        return awaitActivation(ctx, gatewayFqdn(gateway), error.message);
      }
      ctx.log(log.completed);
      return DONE;
    },
  };
}

/** "Configure M365 default routing": the selected onboarding script, command by command, each logged as PowerShell. */
export const m365RoutingStep = siteStep({
  name: 'ConfigureM365Routing',
  async prepare(ctx, job) {
    const routing = job.site.m365Routing;
    if (!routing) return NOTHING;
    const script = await renderM365(job, 'onboarding');
    const gateway = gatewayCommandFor(job, script);
    return scriptStep(ctx, await job.ports.teams(ctx.input.customerId), script, gateway ? [gateway] : [], {
      started: `-- M365 onboarding script ${routing.onboardingTemplateId} started --`,
      unchanged: 'already configured',
      completed: '-- M365 onboarding script completed --',
    });
  },
});

/** The paired cleanup script: the gateway leaves every route the script names; routes left empty go. */
export const m365CleanupStep = siteStep({
  name: 'CleanupM365',
  async prepare(ctx, job) {
    const routing = job.site.m365Routing;
    if (!routing) return NOTHING;
    const script = await renderM365(job, 'cleanup');
    return scriptStep(ctx, await job.ports.teams(ctx.input.customerId), script, [], {
      started: `-- M365 cleanup script ${routing.cleanupTemplateId} started --`,
      unchanged: 'nothing to do',
      completed: '-- M365 cleanup script completed --',
    });
  },
});
