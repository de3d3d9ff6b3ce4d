import {
  createDomain,
  deleteDomain,
  deleteUser,
  ensureUser,
  getDomain,
  getUser,
  getVerificationTxt,
  verifyDomain,
} from '../../m365/graph-domains.js';
import {
  assignFirstFreeLicence,
  NO_LICENCE_MESSAGE,
  NoLicenceAvailableError,
} from '../../m365/graph-licences.js';
import { PermanentTaskError, type TaskChange, TransientTaskError } from '../../tasks/task-definition.js';
import type { TeamsAdminClient } from '../../teams/teams-admin-client.js';
import type { TeamsCommand } from '../../teams/teams-command.js';
import { executeTeamsCommand } from '../../teams/teams-commands-rest.js';
import {
  dryRunTenant,
  gatewayCommandFor,
  renderM365,
  runCommands,
  teamsChange,
} from './m365-routing-steps.js';
import { loadJob, mapped, type OnboardingJob, type SiteStep, updateSite } from './onboarding-job.js';

/** The manual's "[Try: 1/3]": Microsoft is asked at most three times before the task gives up. */
export const VERIFY_TRIES = 3;
/** TTL of the records the product writes in the provider zone (the manual's external-host examples use 14400). */
export const RECORD_TTL_SECONDS = 3600;
/** The domain activation user ("licensed temporary user trick"), one per gateway domain. */
export const ACTIVATION_USER = 'dnsactivation';
export const ACTIVATION_DISPLAY_NAME = 'Direct Routing Hub DNS activation';
const DEFAULT_USAGE_LOCATION = 'US';

const automatic = (job: OnboardingJob) => job.site.dns?.method === 'automatic';
const provisioned = (job: OnboardingJob) =>
  job.site.dns?.method === 'automatic' || job.site.dns?.method === 'two-step';

function gatewayOf(job: OnboardingJob): string {
  if (!job.site.gatewayFqdn)
    throw new PermanentTaskError(`Site ${job.site.siteName} has no Online PSTN Gateway.`);
  return job.site.gatewayFqdn;
}

export const activationUpn = (fqdn: string) => `${ACTIVATION_USER}@${fqdn}`;

/** Step 1 of §3.4: the domain in the customer's tenant, and the TXT value Microsoft wants to see. */
const createDomainStep: SiteStep = {
  name: 'CreateDomain',
  async plan(ctx) {
    const job = await loadJob(ctx);
    if (!provisioned(job)) return [];
    const fqdn = gatewayOf(job);
    const exists = await mapped(async () => getDomain(await job.ports.graph(ctx.input.customerId), fqdn));
    return exists ? [] : [{ kind: 'graph', description: `Create domain ${fqdn} in the customer's tenant` }];
  },
  async run(ctx) {
    const job = await loadJob(ctx);
    if (!provisioned(job)) return { done: true };
    const fqdn = gatewayOf(job);
    ctx.log('-- CreatePstnGateway task started --');
    ctx.log('-- Getting configuration... --');
    const graph = await mapped(() => job.ports.graph(ctx.input.customerId));
    ctx.log('-- Tenant Manager Configured --');
    const existing = await mapped(() => getDomain(graph, fqdn));
    if (!existing) {
      await mapped(() => createDomain(graph, fqdn));
      ctx.applied({ kind: 'graph', description: `Create domain ${fqdn} in the customer's tenant` });
      ctx.log('-- Domain created --');
    } else {
      ctx.log('-- Domain exists --');
    }
    ctx.state.verified = existing?.isVerified ?? false;
    if (!ctx.state.verified) {
      const txt = await mapped(() => getVerificationTxt(graph, fqdn));
      ctx.state.txtValue = txt.text;
      ctx.log(`-- TXT Record Name: ${fqdn} Value: ${txt.text} --`);
    }
    ctx.log('-- CreateDomain task completed --');
    return { done: true };
  },
};

/** Step 3: the TXT record in the provider's zone (automatic DNS only). */
const addTxtStep: SiteStep = {
  name: 'AddTxtRecord',
  async plan(ctx) {
    const job = await loadJob(ctx);
    if (!automatic(job)) return [];
    const fqdn = gatewayOf(job);
    const domain = await mapped(async () => getDomain(await job.ports.graph(ctx.input.customerId), fqdn));
    if (domain?.isVerified) return [];
    const zone = await mapped(() => job.ports.dnsZone());
    return [{ kind: 'dns', description: `Add TXT record ${zone.relativeNameOf(fqdn)} to zone ${zone.zone}` }];
  },
  async run(ctx) {
    const job = await loadJob(ctx);
    if (!automatic(job) || ctx.state.verified) return { done: true };
    const fqdn = gatewayOf(job);
    const value = ctx.state.txtValue;
    if (!value) throw new PermanentTaskError('The domain has no verification TXT value; re-run the task.');
    ctx.log('-- Getting configuration... --');
    ctx.log('-- Tenant Manager Configured --');
    ctx.log('-- ConfigurePSTN Gateway task started --');
    const zone = await mapped(() => job.ports.dnsZone());
    const name = zone.relativeNameOf(fqdn);
    const current = await mapped(() => zone.getRecordSet('TXT', name));
    if (!current?.values.includes(value)) {
      await mapped(() => zone.upsertTxt(name, [value], RECORD_TTL_SECONDS));
      ctx.applied({
        kind: 'dns',
        description: `Add TXT record ${name} to zone ${zone.zone}`,
        detail: { value },
      });
    }
    ctx.log('-- TXT Record added to service provider DNS --');
    return { done: true };
  },
};

/** Step 4: Microsoft verifies the domain, at most three tries (automatic DNS). */
const verifyStep: SiteStep = {
  name: 'VerifyDomain',
  maxAttempts: VERIFY_TRIES,
  async plan(ctx) {
    const job = await loadJob(ctx);
    if (!automatic(job)) return [];
    const fqdn = gatewayOf(job);
    const domain = await mapped(async () => getDomain(await job.ports.graph(ctx.input.customerId), fqdn));
    if (domain?.isVerified) return [];
    return [{ kind: 'graph', description: `Verify domain ${fqdn}` }];
  },
  async run(ctx) {
    const job = await loadJob(ctx);
    if (!automatic(job) || ctx.state.verified) return { done: true };
    const fqdn = gatewayOf(job);
    ctx.log(`-- Verifying domain [Try: ${Math.min(ctx.attempt, VERIFY_TRIES)}/${VERIFY_TRIES}]... --`);
    const graph = await mapped(() => job.ports.graph(ctx.input.customerId));
    const outcome = await mapped(() => verifyDomain(graph, fqdn));
    if (!outcome.verified) {
      const why = `Domain ${fqdn} could not be verified: Microsoft does not see the TXT record ${ctx.state.txtValue ?? ''} yet.`;
      if (ctx.attempt >= VERIFY_TRIES) {
        throw new PermanentTaskError(
          `${why} Gave up after ${VERIFY_TRIES} tries; re-run the task to try again.`,
        );
      }
      throw new TransientTaskError(why, ctx.ports.settings.onboarding.verifyRetrySeconds * 1000);
    }
    ctx.applied({ kind: 'graph', description: `Verify domain ${fqdn}` });
    ctx.state.verified = true;
    ctx.log('-- Domain verified --');
    return { done: true };
  },
};

/**
 * Two-step DNS: the operator (or the customer) creates the TXT record at their own DNS host, then presses "Verify
 * And Configure Domain" (the task's resume). Until Microsoft sees it, the task waits with a clear answer.
 */
const awaitTxtStep: SiteStep = {
  name: 'AwaitTxtRecord',
  async plan(ctx) {
    const job = await loadJob(ctx);
    if (job.site.dns?.method !== 'two-step') return [];
    const fqdn = gatewayOf(job);
    const domain = await mapped(async () => getDomain(await job.ports.graph(ctx.input.customerId), fqdn));
    if (domain?.isVerified) return [];
    return [{ kind: 'graph', description: `Verify domain ${fqdn}` }];
  },
  async run(ctx) {
    const job = await loadJob(ctx);
    if (job.site.dns?.method !== 'two-step' || ctx.state.verified) return { done: true };
    const fqdn = gatewayOf(job);
    const record = `Create the TXT record ${fqdn} with the value ${ctx.state.txtValue ?? ''} at your DNS host, then press Verify And Configure Domain.`;
    if (!ctx.resumedByOperator) {
      return { wait: { reason: record, resumeOn: 'operator' } };
    }
    ctx.log('-- Verify and Configure Domain task started --');
    ctx.log(`-- Verifying domain [Try: 1/1]... --`);
    const graph = await mapped(() => job.ports.graph(ctx.input.customerId));
    const outcome = await mapped(() => verifyDomain(graph, fqdn));
    if (!outcome.verified) {
      ctx.log('-- Domain not verified yet --');
      return {
        wait: {
          reason: `Microsoft does not see the TXT record of ${fqdn} yet (DNS changes can take a while to show). ${record}`,
          resumeOn: 'operator',
        },
      };
    }
    ctx.applied({ kind: 'graph', description: `Verify domain ${fqdn}` });
    ctx.state.verified = true;
    ctx.log('-- Domain verified --');
    return { done: true };
  },
};

/** Step 5: the TXT record goes once the domain is verified. */
const deleteTxtStep: SiteStep = {
  name: 'DeleteTxtRecord',
  async plan(ctx) {
    const job = await loadJob(ctx);
    if (!automatic(job)) return [];
    const fqdn = gatewayOf(job);
    const zone = await mapped(() => job.ports.dnsZone());
    const name = zone.relativeNameOf(fqdn);
    const txtWillBeThere = !(
      await mapped(async () => getDomain(await job.ports.graph(ctx.input.customerId), fqdn))
    )?.isVerified;
    const exists = await mapped(() => zone.getRecordSet('TXT', name));
    return txtWillBeThere || exists
      ? [{ kind: 'dns', description: `Delete TXT record ${name} from zone ${zone.zone}` }]
      : [];
  },
  async run(ctx) {
    const job = await loadJob(ctx);
    if (!automatic(job)) return { done: true };
    const zone = await mapped(() => job.ports.dnsZone());
    const name = zone.relativeNameOf(gatewayOf(job));
    const exists = await mapped(() => zone.getRecordSet('TXT', name));
    if (exists) {
      await mapped(() => zone.deleteRecord('TXT', name));
      ctx.applied({ kind: 'dns', description: `Delete TXT record ${name} from zone ${zone.zone}` });
    }
    ctx.log('-- TXT Record deleted from service provider DNS --');
    return { done: true };
  },
};

/** Step 6: the A record to the region SBC's address (automatic); two-step asks for it at the external host. */
const aRecordStep: SiteStep = {
  name: 'AddARecord',
  async plan(ctx) {
    const job = await loadJob(ctx);
    if (!automatic(job) || !job.dnsRegion) return [];
    const zone = await mapped(() => job.ports.dnsZone());
    const name = zone.relativeNameOf(gatewayOf(job));
    const current = await mapped(() => zone.getRecordSet('A', name));
    return sameAddress(current?.values, job.dnsRegion.ipAddress)
      ? []
      : [
          {
            kind: 'dns',
            description: `Add A record ${name} → ${job.dnsRegion.ipAddress} to zone ${zone.zone}`,
          },
        ];
  },
  async run(ctx) {
    const job = await loadJob(ctx);
    if (!job.dnsRegion || !provisioned(job)) return { done: true };
    const fqdn = gatewayOf(job);
    if (!automatic(job)) {
      ctx.log(
        `-- Configure an A record ${fqdn} → ${job.dnsRegion.ipAddress} on your DNS hosting platform (it replaces the TXT record) --`,
      );
      return { done: true };
    }
    const zone = await mapped(() => job.ports.dnsZone());
    const name = zone.relativeNameOf(fqdn);
    const current = await mapped(() => zone.getRecordSet('A', name));
    if (!sameAddress(current?.values, job.dnsRegion.ipAddress)) {
      await mapped(() => zone.upsertA(name, [job.dnsRegion?.ipAddress ?? ''], RECORD_TTL_SECONDS));
      ctx.applied({
        kind: 'dns',
        description: `Add A record ${name} → ${job.dnsRegion.ipAddress} to zone ${zone.zone}`,
      });
    }
    ctx.log('-- A Record added to service provider DNS --');
    return { done: true };
  },
};

function sameAddress(values: readonly string[] | undefined, ip: string): boolean {
  return values?.length === 1 && values[0] === ip;
}

/** Step 7: a user on the new domain with a free eligible licence activates the domain for Teams. */
const activationUserStep: SiteStep = {
  name: 'CreateActivationUser',
  async plan(ctx) {
    const job = await loadJob(ctx);
    if (!provisioned(job)) return [];
    const upn = activationUpn(gatewayOf(job));
    const user = await mapped(async () => getUser(await job.ports.graph(ctx.input.customerId), upn));
    const changes: TaskChange[] = [];
    if (!user) changes.push({ kind: 'graph', description: `Create user ${upn}` });
    if (!user?.assignedLicenses?.length)
      changes.push({ kind: 'graph', description: `Assign a licence to ${upn}` });
    return changes;
  },
  async run(ctx) {
    const job = await loadJob(ctx);
    if (!provisioned(job)) return { done: true };
    const upn = activationUpn(gatewayOf(job));
    const graph = await mapped(() => job.ports.graph(ctx.input.customerId));
    const plans = await ctx.ports.onboardingSettings.licencePlans();
    const chosen = job.site.dns?.licencePlan;
    const eligible = chosen ? plans.filter((p) => p.name === chosen) : plans;
    const { user, created } = await mapped(() =>
      ensureUser(graph, {
        userPrincipalName: upn,
        displayName: ACTIVATION_DISPLAY_NAME,
        usageLocation: DEFAULT_USAGE_LOCATION,
      }),
    );
    if (created) ctx.applied({ kind: 'graph', description: `Create user ${upn}` });
    const hadLicence = (user.assignedLicenses ?? []).length > 0;
    let plan;
    try {
      plan = await mapped(() => assignFirstFreeLicence(graph, user.id, eligible));
    } catch (error) {
      if (error instanceof NoLicenceAvailableError) throw new PermanentTaskError(NO_LICENCE_MESSAGE);
      throw error;
    }
    if (!hadLicence)
      ctx.applied({ kind: 'graph', description: `Assign a licence to ${upn}`, detail: { plan: plan.name } });
    ctx.state.licencePlan = plan.name;
    ctx.log(`-- User created with ${plan.name.toUpperCase()} license--`);
    return { done: true };
  },
};

/** The gateway object, unless the M365 script creates it itself (the LBR scripts do, with their own settings). */
const gatewayStep: SiteStep = {
  name: 'CreatePstnGateway',
  async plan(ctx) {
    const job = await loadJob(ctx);
    const command = await gatewayCommandFor(job);
    if (!command) return [];
    const tenant = await dryRunTenant(job, ctx.input.customerId);
    return (await runCommands(tenant, [command])).map(teamsChange);
  },
  async run(ctx) {
    const job = await loadJob(ctx);
    const command = await gatewayCommandFor(job);
    if (command) {
      const teams = await mapped(() => job.ports.teams(ctx.input.customerId));
      const result = await mapped(() => executeTeamsCommand(teams, command));
      if (result.changed) ctx.applied(teamsChange(command));
      ctx.log(`-- PSTN Gateway ${gatewayOf(job)} ${result.changed ? 'created' : 'exists'} --`);
    }
    if (job.site.gatewayFqdn && !job.site.gatewayCreated && (command || job.site.m365Routing)) {
      await updateSite(job, (site) => ({ ...site, gatewayCreated: true }));
    }
    if (provisioned(job)) ctx.log('-- Verify and Configure Domain task completed --');
    return { done: true };
  },
};

export const PSTN_GATEWAY_STEPS: readonly SiteStep[] = [
  createDomainStep,
  addTxtStep,
  verifyStep,
  awaitTxtStep,
  deleteTxtStep,
  aRecordStep,
  activationUserStep,
  gatewayStep,
];

/** Removal: the gateway object, the activation user, the domain and the A record, each only if onboarding made it. */
export const PSTN_GATEWAY_REMOVAL_STEPS: readonly SiteStep[] = [
  {
    name: 'RemovePstnGateway',
    async plan(ctx) {
      const job = await loadJob(ctx);
      const command = removeGatewayCommand(job);
      if (!command) return [];
      // As the real run will find the tenant: after the cleanup script.
      const tenant = await dryRunTenant(job, ctx.input.customerId);
      await runCommands(tenant, await renderM365(job, 'cleanup'));
      if (await gatewayStillRouted(tenant, job)) return [];
      return (await runCommands(tenant, [command])).map(teamsChange);
    },
    async run(ctx) {
      const job = await loadJob(ctx);
      const command = removeGatewayCommand(job);
      if (!command) return { done: true };
      const teams = await mapped(() => job.ports.teams(ctx.input.customerId));
      if (await gatewayStillRouted(teams, job)) {
        ctx.log(`PSTN Gateway ${job.site.gatewayFqdn ?? ''} is still used by a voice route; it stays.`);
        return { done: true };
      }
      const result = await mapped(() => executeTeamsCommand(teams, command));
      if (result.changed) ctx.applied(teamsChange(command));
      ctx.log(`PSTN Gateway ${job.site.gatewayFqdn ?? ''} removed.`);
      return { done: true };
    },
  },
  {
    name: 'RemoveActivationUser',
    async plan(ctx) {
      const job = await loadJob(ctx);
      if (!provisioned(job)) return [];
      const upn = activationUpn(gatewayOf(job));
      const user = await mapped(async () => getUser(await job.ports.graph(ctx.input.customerId), upn));
      return user ? [{ kind: 'graph', description: `Delete user ${upn}` }] : [];
    },
    async run(ctx) {
      const job = await loadJob(ctx);
      if (!provisioned(job)) return { done: true };
      const upn = activationUpn(gatewayOf(job));
      const graph = await mapped(() => job.ports.graph(ctx.input.customerId));
      if (await mapped(() => getUser(graph, upn))) {
        await mapped(() => deleteUser(graph, upn));
        ctx.applied({ kind: 'graph', description: `Delete user ${upn}` });
        ctx.log(`Domain activation user ${upn} deleted.`);
      }
      return { done: true };
    },
  },
  {
    name: 'RemoveDomain',
    async plan(ctx) {
      const job = await loadJob(ctx);
      if (!provisioned(job)) return [];
      const fqdn = gatewayOf(job);
      const domain = await mapped(async () => getDomain(await job.ports.graph(ctx.input.customerId), fqdn));
      return domain
        ? [{ kind: 'graph', description: `Delete domain ${fqdn} from the customer's tenant` }]
        : [];
    },
    async run(ctx) {
      const job = await loadJob(ctx);
      if (!provisioned(job)) return { done: true };
      const fqdn = gatewayOf(job);
      const graph = await mapped(() => job.ports.graph(ctx.input.customerId));
      if (await mapped(() => getDomain(graph, fqdn))) {
        await mapped(() => deleteDomain(graph, fqdn));
        ctx.applied({ kind: 'graph', description: `Delete domain ${fqdn} from the customer's tenant` });
        ctx.log(`Domain ${fqdn} deleted from the customer's tenant.`);
      }
      return { done: true };
    },
  },
  {
    name: 'RemoveDnsRecords',
    async plan(ctx) {
      const job = await loadJob(ctx);
      if (!automatic(job)) return [];
      const zone = await mapped(() => job.ports.dnsZone());
      const name = zone.relativeNameOf(gatewayOf(job));
      const changes: TaskChange[] = [];
      for (const type of ['A', 'TXT'] as const) {
        if (await mapped(() => zone.getRecordSet(type, name))) {
          changes.push({ kind: 'dns', description: `Delete ${type} record ${name} from zone ${zone.zone}` });
        }
      }
      return changes;
    },
    async run(ctx) {
      const job = await loadJob(ctx);
      if (!automatic(job)) return { done: true };
      const zone = await mapped(() => job.ports.dnsZone());
      const name = zone.relativeNameOf(gatewayOf(job));
      for (const type of ['A', 'TXT'] as const) {
        if (await mapped(() => zone.getRecordSet(type, name))) {
          await mapped(() => zone.deleteRecord(type, name));
          ctx.applied({ kind: 'dns', description: `Delete ${type} record ${name} from zone ${zone.zone}` });
          ctx.log(`${type} Record deleted from service provider DNS.`);
        }
      }
      return { done: true };
    },
  },
];

function removeGatewayCommand(job: OnboardingJob): TeamsCommand | null {
  if (!job.site.gatewayFqdn || !job.site.gatewayCreated) return null;
  return { cmdlet: 'Remove-CsOnlinePSTNGateway', params: { Identity: job.site.gatewayFqdn } };
}

/** Shared objects stay: a route (of another site, or the customer's own) that still lists the gateway keeps it. */
async function gatewayStillRouted(teams: TeamsAdminClient, job: OnboardingJob): Promise<boolean> {
  const fqdn = (job.site.gatewayFqdn ?? '').toLowerCase();
  const routes = await mapped(() => teams.list('OnlineVoiceRoute'));
  return routes.some((route) =>
    (Array.isArray(route.OnlinePstnGatewayList) ? route.OnlinePstnGatewayList : []).some(
      (g: unknown) => String(g).toLowerCase() === fqdn,
    ),
  );
}
