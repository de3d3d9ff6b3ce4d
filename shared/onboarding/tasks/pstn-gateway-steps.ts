import {
  createDomain,
  deleteDomain,
  deleteUserPermanently,
  ensureUser,
  findDeletedUser,
  getDomain,
  getUser,
  getVerificationTxt,
  verifyDomain,
} from '../../m365/graph-domains.js';
import { assignFirstFreeLicense } from '../../m365/graph-licenses.js';
import { PermanentTaskError, type TaskChange, TransientTaskError } from '../../tasks/task-definition.js';
import { isGatewayDomainNotActivated, type TeamsAdminClient } from '../../teams/teams-admin-client.js';
import type { TeamsCommand } from '../../teams/teams-command.js';
import { executeTeamsCommand } from '../../teams/teams-commands-rest.js';
import { createTeamsOverlayClient } from '../../teams/teams-overlay-client.js';
import { activationUpn, awaitActivation, logActivated } from './domain-activation.js';
import { gatewayCommandFor, renderM365, runCommands, teamsChange } from './m365-routing-steps.js';
import { DONE, NOTHING, type OnboardingJob, type SiteStep, siteStep, updateSite } from './onboarding-job.js';
import type { DnsRecordSetView } from '../../dns/azure-dns.js';
import type { CustomerSite } from '../customer-site.js';

/** The manual's "[Try: 1/3]": Microsoft is asked at most three times before the task gives up. */
export const VERIFY_TRIES = 3;
/** TTL of the records the product writes in the provider zone (the manual's external-host examples use 14400). */
export const RECORD_TTL_SECONDS = 3600;
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

/** What a site's records in the provider zone are marked with: the customer and the site that wrote them. */
export const dnsOwnerOf = (site: Pick<CustomerSite, 'customerId' | 'siteName'>) =>
  `${site.customerId.toLowerCase()}/${site.siteName.toLowerCase()}`;

/**
 * Whether the site may write, overwrite or delete a record set of its gateway. A marked one is the marked site's; an
 * unmarked or missing one (written before the marker, or by hand) is this site's only while no other customer's site
 * names the same gateway. Customers share the zone: one site must never remove or redirect another's records, nor
 * put a TXT record at another's name (which would verify that customer's domain in its own tenant).
 */
async function ownsRecord(job: OnboardingJob, record: DnsRecordSetView | null): Promise<boolean> {
  if (record?.owner) return record.owner === dnsOwnerOf(job.site);
  const fqdn = gatewayOf(job).toLowerCase();
  const customer = job.site.customerId.toLowerCase();
  return !(await job.sites.listAll()).some(
    ({ site }) => site.customerId.toLowerCase() !== customer && site.gatewayFqdn?.toLowerCase() === fqdn,
  );
}

function notOwned(type: string, name: string, zone: string): PermanentTaskError {
  return new PermanentTaskError(
    `The ${type} record ${name} in zone ${zone} belongs to another site; it is left as it is. Choose another Sbc Site Name.`,
  );
}

/** Step 1 of §3.4: the domain in the customer's tenant, and the TXT value Microsoft wants to see. */
const createDomainStep = siteStep({
  name: 'CreateDomain',
  async prepare(ctx, job) {
    if (!provisioned(job)) return NOTHING;
    const fqdn = gatewayOf(job);
    // Before the domain exists anywhere: a gateway another customer's site names stays that customer's.
    if (automatic(job) && !(await ownsRecord(job, null))) {
      throw new PermanentTaskError(
        `The gateway ${fqdn} and its DNS records belong to another site; nothing was changed. Choose another Sbc Site Name.`,
      );
    }
    const graph = await job.ports.graph(ctx.input.customerId);
    const existing = await getDomain(graph, fqdn);
    // Set on a dry run too: the later steps' descriptions read them as their real runs do.
    ctx.state.verified = existing?.isVerified ?? false;
    if (existing && !existing.isVerified) ctx.state.txtValue = (await getVerificationTxt(graph, fqdn)).text;
    const create: TaskChange = {
      kind: 'graph',
      description: `Create domain ${fqdn} in the customer's tenant`,
    };
    return {
      changes: existing ? [] : [create],
      async apply() {
        ctx.log('-- CreatePstnGateway task started --');
        ctx.log('-- Getting configuration... --');
        ctx.log('-- Tenant Manager Configured --');
        if (!existing) {
          await createDomain(graph, fqdn);
          ctx.applied(create);
          ctx.log('-- Domain created --');
          ctx.state.txtValue = (await getVerificationTxt(graph, fqdn)).text;
        } else {
          ctx.log('-- Domain exists --');
        }
        if (!ctx.state.verified) ctx.log(`-- TXT Record Name: ${fqdn} Value: ${ctx.state.txtValue ?? ''} --`);
        ctx.log('-- CreateDomain task completed --');
        return DONE;
      },
    };
  },
});

/** Step 3: the TXT record in the provider's zone (automatic DNS only). */
const addTxtStep = siteStep({
  name: 'AddTxtRecord',
  async prepare(ctx, job) {
    if (!automatic(job) || ctx.state.verified) return NOTHING;
    const fqdn = gatewayOf(job);
    const value = ctx.state.txtValue;
    if (!value && !ctx.dryRun) {
      throw new PermanentTaskError('The domain has no verification TXT value; re-run the task.');
    }
    const zone = await job.ports.dnsZone();
    const name = zone.relativeNameOf(fqdn);
    // A dry run meets a domain it has only described creating, whose value it cannot know: the record is to be added.
    const current = value ? await zone.getRecordSet('TXT', name) : null;
    if (!(await ownsRecord(job, current))) throw notOwned('TXT', name, zone.zone);
    const add: TaskChange = {
      kind: 'dns',
      description: `Add TXT record ${name} to zone ${zone.zone}`,
      ...(value ? { detail: { value } } : {}),
    };
    const needed = !value || !current?.values.includes(value);
    return {
      changes: needed ? [add] : [],
      async apply() {
        ctx.log('-- Getting configuration... --');
        ctx.log('-- Tenant Manager Configured --');
        ctx.log('-- ConfigurePSTN Gateway task started --');
        if (needed && value) {
          await zone.upsertTxt(name, [value], RECORD_TTL_SECONDS, { owner: dnsOwnerOf(job.site) });
          ctx.applied(add);
        }
        ctx.log('-- TXT Record added to service provider DNS --');
        return DONE;
      },
    };
  },
});

/** Step 4: Microsoft verifies the domain, at most three tries (automatic DNS). */
const verifyStep = siteStep({
  name: 'VerifyDomain',
  maxAttempts: VERIFY_TRIES,
  async prepare(ctx, job) {
    if (!automatic(job) || ctx.state.verified) return NOTHING;
    const fqdn = gatewayOf(job);
    const verify: TaskChange = { kind: 'graph', description: `Verify domain ${fqdn}` };
    return {
      changes: [verify],
      async apply() {
        ctx.log(`-- Verifying domain [Try: ${Math.min(ctx.attempt, VERIFY_TRIES)}/${VERIFY_TRIES}]... --`);
        const graph = await job.ports.graph(ctx.input.customerId);
        const outcome = await verifyDomain(graph, fqdn);
        if (!outcome.verified) {
          const why = `Domain ${fqdn} could not be verified: Microsoft does not see the TXT record ${ctx.state.txtValue ?? ''} yet.`;
          if (ctx.attempt >= VERIFY_TRIES) {
            throw new PermanentTaskError(
              `${why} Gave up after ${VERIFY_TRIES} tries; re-run the task to try again.`,
            );
          }
          throw new TransientTaskError(why, ctx.ports.settings.onboarding.verifyRetrySeconds * 1000);
        }
        ctx.applied(verify);
        ctx.state.verified = true;
        ctx.log('-- Domain verified --');
        return DONE;
      },
    };
  },
});

/**
 * Two-step DNS: the operator (or the customer) creates the TXT record at their own DNS host, then presses "Verify
 * And Configure Domain" (the task's resume). Until Microsoft sees it, the task waits with a clear answer.
 */
const awaitTxtStep = siteStep({
  name: 'AwaitTxtRecord',
  async prepare(ctx, job) {
    if (job.site.dns?.method !== 'two-step' || ctx.state.verified) return NOTHING;
    const fqdn = gatewayOf(job);
    const verify: TaskChange = { kind: 'graph', description: `Verify domain ${fqdn}` };
    return {
      changes: [verify],
      async apply() {
        const record = `Create the TXT record ${fqdn} with the value ${ctx.state.txtValue ?? ''} at your DNS host, then press Verify And Configure Domain.`;
        if (!ctx.resumedByOperator) {
          return { wait: { reason: record, resumeOn: 'operator' } };
        }
        ctx.log('-- Verify and Configure Domain task started --');
        ctx.log(`-- Verifying domain [Try: 1/1]... --`);
        const graph = await job.ports.graph(ctx.input.customerId);
        const outcome = await verifyDomain(graph, fqdn);
        if (!outcome.verified) {
          ctx.log('-- Domain not verified yet --');
          return {
            wait: {
              reason: `Microsoft does not see the TXT record of ${fqdn} yet (DNS changes can take a while to show). ${record}`,
              resumeOn: 'operator',
            },
          };
        }
        ctx.applied(verify);
        ctx.state.verified = true;
        ctx.log('-- Domain verified --');
        return DONE;
      },
    };
  },
});

/** Step 5: the TXT record goes once the domain is verified. */
const deleteTxtStep = siteStep({
  name: 'DeleteTxtRecord',
  async prepare(ctx, job) {
    if (!automatic(job)) return NOTHING;
    const zone = await job.ports.dnsZone();
    const name = zone.relativeNameOf(gatewayOf(job));
    // A dry run only listed the record AddTxtRecord adds: the real run finds it here.
    const addedByDryRun = ctx.dryRun && !ctx.state.verified;
    const current = await zone.getRecordSet('TXT', name);
    const present = addedByDryRun || (current !== null && (await ownsRecord(job, current)));
    const remove: TaskChange = {
      kind: 'dns',
      description: `Delete TXT record ${name} from zone ${zone.zone}`,
    };
    return {
      changes: present ? [remove] : [],
      async apply() {
        if (present) {
          await zone.deleteRecord('TXT', name);
          ctx.applied(remove);
        }
        ctx.log('-- TXT Record deleted from service provider DNS --');
        return DONE;
      },
    };
  },
});

/** Step 6: the A record to the region SBC's address (automatic); two-step asks for it at the external host. */
const aRecordStep = siteStep({
  name: 'AddARecord',
  async prepare(ctx, job) {
    const region = job.dnsRegion;
    if (!region || !provisioned(job)) return NOTHING;
    const fqdn = gatewayOf(job);
    if (!automatic(job)) {
      return {
        changes: [],
        async apply() {
          ctx.log(
            `-- Configure an A record ${fqdn} → ${region.ipAddress} on your DNS hosting platform (it replaces the TXT record) --`,
          );
          return DONE;
        },
      };
    }
    const zone = await job.ports.dnsZone();
    const name = zone.relativeNameOf(fqdn);
    const current = await zone.getRecordSet('A', name);
    if (!(await ownsRecord(job, current))) throw notOwned('A', name, zone.zone);
    const needed = !sameAddress(current?.values, region.ipAddress) || current?.owner === null;
    const add: TaskChange = {
      kind: 'dns',
      description: `Add A record ${name} → ${region.ipAddress} to zone ${zone.zone}`,
    };
    return {
      changes: needed ? [add] : [],
      async apply() {
        if (needed) {
          await zone.upsertA(name, [region.ipAddress], RECORD_TTL_SECONDS, { owner: dnsOwnerOf(job.site) });
          ctx.applied(add);
        }
        ctx.log('-- A Record added to service provider DNS --');
        return DONE;
      },
    };
  },
});

function sameAddress(values: readonly string[] | undefined, ip: string): boolean {
  return values?.length === 1 && values[0] === ip;
}

/** Step 7: a user on the new domain with a free eligible license activates the domain for Teams. */
const activationUserStep = siteStep({
  name: 'CreateActivationUser',
  async prepare(ctx, job) {
    if (!provisioned(job)) return NOTHING;
    const upn = activationUpn(gatewayOf(job));
    const graph = await job.ports.graph(ctx.input.customerId);
    const existing = await getUser(graph, upn);
    const create: TaskChange = { kind: 'graph', description: `Create user ${upn}` };
    const assign: TaskChange = { kind: 'graph', description: `Assign a license to ${upn}` };
    const changes: TaskChange[] = [];
    if (!existing) changes.push(create);
    if (!existing?.assignedLicenses?.length) changes.push(assign);
    return {
      changes,
      async apply() {
        const plans = await ctx.ports.onboardingSettings.licensePlans();
        const chosen = job.site.dns?.licensePlan;
        const eligible = chosen ? plans.filter((p) => p.name === chosen) : plans;
        const { user, created } = await ensureUser(graph, {
          userPrincipalName: upn,
          displayName: ACTIVATION_DISPLAY_NAME,
          usageLocation: DEFAULT_USAGE_LOCATION,
        });
        if (created) ctx.applied(create);
        const hadLicense = (user.assignedLicenses ?? []).length > 0;
        const plan = await assignFirstFreeLicense(graph, user.id, eligible);
        if (!hadLicense) ctx.applied(assign);
        ctx.state.licensePlan = plan.name;
        ctx.log(`-- User created with ${plan.name.toUpperCase()} license--`);
        return DONE;
      },
    };
  },
});

/** The gateway object, unless the M365 script creates it itself (the LBR scripts do, with their own settings). */
const gatewayStep = siteStep({
  name: 'CreatePstnGateway',
  async prepare(ctx, job) {
    const routing = job.site.m365Routing;
    const finish = async () => {
      if (job.site.gatewayFqdn && !job.site.gatewayCreated && routing) {
        await updateSite(job, (site) => ({ ...site, gatewayCreated: true }));
      }
      if (provisioned(job)) ctx.log('-- Verify and Configure Domain task completed --');
      return DONE;
    };
    const command = routing ? gatewayCommandFor(job, await renderM365(job, 'onboarding')) : null;
    if (!command) return { changes: [], apply: finish };
    const teams = await job.ports.teams(ctx.input.customerId);
    const create = teamsChange(command);
    const needed = (await runCommands(createTeamsOverlayClient(teams), [command])).length > 0;
    return {
      changes: needed ? [create] : [],
      async apply() {
        let result: Awaited<ReturnType<typeof executeTeamsCommand>>;
        try {
          result = await executeTeamsCommand(teams, command);
        } catch (error) {
          if (!isGatewayDomainNotActivated(error)) throw error;
          return awaitActivation(ctx, gatewayOf(job), error.message);
        }
        if (result.changed) ctx.applied(create);
        logActivated(ctx, gatewayOf(job));
        ctx.log(`-- PSTN Gateway ${gatewayOf(job)} ${result.changed ? 'created' : 'exists'} --`);
        return finish();
      },
    };
  },
});

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
  siteStep({
    name: 'RemovePstnGateway',
    async prepare(ctx, job) {
      const command = removeGatewayCommand(job);
      if (!command) return NOTHING;
      const teams = await job.ports.teams(ctx.input.customerId);
      // The tenant as this step finds it: after the cleanup script (which a dry run only described).
      const tenant = createTeamsOverlayClient(teams);
      await runCommands(tenant, await renderM365(job, 'cleanup'));
      const stillRouted = await gatewayStillRouted(tenant, job);
      const remove = teamsChange(command);
      const needed = !stillRouted && (await runCommands(tenant, [command])).length > 0;
      return {
        changes: needed ? [remove] : [],
        async apply() {
          if (stillRouted) {
            ctx.log(`PSTN Gateway ${job.site.gatewayFqdn ?? ''} is still used by a voice route; it stays.`);
            return DONE;
          }
          const result = await executeTeamsCommand(teams, command);
          if (result.changed) ctx.applied(remove);
          ctx.log(`PSTN Gateway ${job.site.gatewayFqdn ?? ''} removed.`);
          return DONE;
        },
      };
    },
  }),
  siteStep({
    name: 'RemoveActivationUser',
    async prepare(ctx, job) {
      if (!provisioned(job)) return NOTHING;
      const upn = activationUpn(gatewayOf(job));
      const graph = await job.ports.graph(ctx.input.customerId);
      // Permanently: a user in deleted items keeps its UPN, and with it the domain RemoveDomain deletes next. Also
      // one a previous run (or an admin) only deleted, which is why deleted items are looked at too.
      const remove: TaskChange = { kind: 'graph', description: `Delete user ${upn} permanently` };
      if (!(await getUser(graph, upn)) && !(await findDeletedUser(graph, upn))) return NOTHING;
      return {
        changes: [remove],
        async apply() {
          if (await deleteUserPermanently(graph, upn)) ctx.applied(remove);
          ctx.log(`Domain activation user ${upn} deleted.`);
          return DONE;
        },
      };
    },
  }),
  siteStep({
    name: 'RemoveDomain',
    async prepare(ctx, job) {
      if (!provisioned(job)) return NOTHING;
      const fqdn = gatewayOf(job);
      const graph = await job.ports.graph(ctx.input.customerId);
      const remove: TaskChange = {
        kind: 'graph',
        description: `Delete domain ${fqdn} from the customer's tenant`,
      };
      if (!(await getDomain(graph, fqdn))) return NOTHING;
      return {
        changes: [remove],
        async apply() {
          await deleteDomain(graph, fqdn);
          ctx.applied(remove);
          ctx.log(`Domain ${fqdn} deleted from the customer's tenant.`);
          return DONE;
        },
      };
    },
  }),
  siteStep({
    name: 'RemoveDnsRecords',
    async prepare(ctx, job) {
      if (!automatic(job)) return NOTHING;
      const zone = await job.ports.dnsZone();
      const name = zone.relativeNameOf(gatewayOf(job));
      const removals: Array<{ type: 'A' | 'TXT'; change: TaskChange }> = [];
      const kept: string[] = [];
      for (const type of ['A', 'TXT'] as const) {
        const record = await zone.getRecordSet(type, name);
        if (record && !(await ownsRecord(job, record))) kept.push(type);
        else if (record) {
          removals.push({
            type,
            change: { kind: 'dns', description: `Delete ${type} record ${name} from zone ${zone.zone}` },
          });
        }
      }
      return {
        changes: removals.map((r) => r.change),
        async apply() {
          for (const { type, change } of removals) {
            await zone.deleteRecord(type, name);
            ctx.applied(change);
            ctx.log(`${type} Record deleted from service provider DNS.`);
          }
          for (const type of kept) {
            ctx.log(`${type} Record ${name} belongs to another site; it stays in the service provider DNS.`);
          }
          return DONE;
        },
      };
    },
  }),
];

function removeGatewayCommand(job: OnboardingJob): TeamsCommand | null {
  if (!job.site.gatewayFqdn || !job.site.gatewayCreated) return null;
  return { cmdlet: 'Remove-CsOnlinePSTNGateway', params: { Identity: job.site.gatewayFqdn } };
}

/** Shared objects stay: a route (of another site, or the customer's own) that still lists the gateway keeps it. */
async function gatewayStillRouted(teams: TeamsAdminClient, job: OnboardingJob): Promise<boolean> {
  const fqdn = (job.site.gatewayFqdn ?? '').toLowerCase();
  const routes = await teams.list('OnlineVoiceRoute');
  return routes.some((route) =>
    (Array.isArray(route.OnlinePstnGatewayList) ? route.OnlinePstnGatewayList : []).some(
      (g: unknown) => String(g).toLowerCase() === fqdn,
    ),
  );
}
