import { z } from 'zod';
import { DomainError } from '../../errors/domain-errors.js';
import {
  defineTask,
  type PreparedStep,
  type PreparingStep,
  type StepContext,
  type TaskChange,
  type TaskStep,
} from '../../tasks/task-definition.js';
import { m365CleanupStep, m365RoutingStep } from './m365-routing-steps.js';
import {
  DONE,
  type OnboardingTaskPorts,
  type SiteStep,
  type SiteStepContext,
  siteStep,
  type SiteTaskInput,
  siteTaskInputSchema,
  type SiteTaskState,
} from './onboarding-job.js';
import { classifyPeerError } from './peer-task-errors.js';
import { PSTN_GATEWAY_REMOVAL_STEPS, PSTN_GATEWAY_STEPS } from './pstn-gateway-steps.js';
import { SBC_PROGRAMMING_STEPS, sbcCleanupStep, validateSiteStep } from './sbc-programming-steps.js';

const saveSiteLocation = siteStep({
  name: 'SaveSiteLocation',
  async prepare(ctx) {
    return {
      changes: [],
      async apply() {
        ctx.log('Site location information saved.');
        return DONE;
      },
    };
  },
});

/** The deployment steps of one site, in the manual's order: domain and DNS, M365 routing, the SBC; checks first. */
const SITE_STEPS: readonly SiteStep[] = [
  validateSiteStep,
  ...PSTN_GATEWAY_STEPS,
  m365RoutingStep,
  ...SBC_PROGRAMMING_STEPS,
  saveSiteLocation,
];

/** "Customer created." with an SBC; without one, "Customer saved and queued for installation." */
function finishStep(name: string, title: string): SiteStep {
  return siteStep({
    name,
    async prepare(ctx, job) {
      return {
        changes: [],
        async apply() {
          const deployedSomething = Boolean(job.site.sbc || job.site.m365Routing || job.site.dns);
          if (deployedSomething) await ctx.ports.customers.setState(ctx.input.customerId, 'deployed');
          else await ctx.ports.customers.setState(ctx.input.customerId, 'ready-for-deployment');
          ctx.log(job.site.sbc ? 'Customer created.' : 'Customer saved and queued for installation.');
          ctx.log(`-- ${title} task completed --`);
          return DONE;
        },
      };
    },
  });
}

function startStep(title: string): SiteStep {
  return siteStep({
    name: 'Start',
    async prepare(ctx) {
      return {
        changes: [],
        async apply() {
          ctx.log(`-- ${title} task started --`);
          await ctx.ports.customers.setState(ctx.input.customerId, 'deploying');
          return DONE;
        },
      };
    },
  });
}

/** The wizard's Submit: the customer's first site, from its domain to the SBC, with the customer's State. */
export const createCustomerTask = defineTask<SiteTaskInput, SiteTaskState, OnboardingTaskPorts>({
  type: 'CreateCustomer',
  input: siteTaskInputSchema,
  steps: [startStep('CreateCustomer'), ...SITE_STEPS, finishStep('Finish', 'CreateCustomer')],
  classifyError: classifyPeerError,
});

/** Add SBC Site, and a re-run of a site's onboarding: the same steps for one more (or the same) site. */
export const addSbcSiteTask = defineTask<SiteTaskInput, SiteTaskState, OnboardingTaskPorts>({
  type: 'SBCInit',
  input: siteTaskInputSchema,
  steps: [startStep('SBCInit'), ...SITE_STEPS, finishStep('Finish', 'SBCInit')],
  classifyError: classifyPeerError,
});

export const removalInputSchema = z.strictObject({ customerId: z.string().min(1).max(64) });
export type RemovalInput = z.output<typeof removalInputSchema>;
type RemovalStep = TaskStep<RemovalInput, SiteTaskState, OnboardingTaskPorts>;
type RemovalContext = StepContext<RemovalInput, SiteTaskState, OnboardingTaskPorts>;

/** The site step's context for one site: everything as the task's, but the input names the site. */
function forSite(ctx: RemovalContext, siteName: string): SiteStepContext {
  return Object.create(ctx, {
    input: { value: { customerId: ctx.input.customerId, siteName }, enumerable: true },
  }) as SiteStepContext;
}

async function siteNames(ctx: RemovalContext): Promise<string[]> {
  return (await ctx.ports.sites.list(ctx.input.customerId)).map((s) => s.site.siteName);
}

/** A site step for every site of the customer: all described first, then applied in turn. */
function eachSite(step: SiteStep): PreparingStep<RemovalInput, SiteTaskState, OnboardingTaskPorts> {
  return {
    name: step.name,
    ...(step.maxAttempts !== undefined ? { maxAttempts: step.maxAttempts } : {}),
    async prepare(ctx) {
      const prepared: PreparedStep[] = [];
      for (const name of await siteNames(ctx)) prepared.push(await step.prepare(forSite(ctx, name)));
      return {
        changes: prepared.flatMap((site) => site.changes),
        async apply() {
          for (const site of prepared) {
            const outcome = await site.apply();
            if (!('done' in outcome)) return outcome;
          }
          return DONE;
        },
      };
    },
  };
}

const removeStartStep: RemovalStep = {
  name: 'Start',
  async run(ctx) {
    const customer = await ctx.ports.customers.get(ctx.input.customerId);
    ctx.log('-- TenantRemove task started --');
    ctx.log(`Removing customer ${customer.shortName}.`);
    return DONE;
  },
};

/** How long the purge waits for a replication cycle of the customer to end before it looks again. */
const CYCLE_WAIT_MS = 30_000;

/**
 * Deletes what is kept under the Short Name, while the customer still exists so that no customer of the name can be
 * created meanwhile (docs/decisions.md, 69). Idempotent: a re-run after a crash deletes what is left.
 */
const forgetDataStep: RemovalStep = {
  name: 'ForgetCustomerData',
  async prepare(ctx) {
    const forget: TaskChange = {
      kind: 'store',
      description: `Delete the data kept for customer ${ctx.input.customerId}`,
    };
    return {
      changes: [forget],
      async apply() {
        const data = ctx.ports.customerData;
        if (!(await data.holdReplication(ctx.input.customerId))) {
          ctx.log('A replication of the customer is running; waiting for it to end.');
          return {
            wait: {
              reason: 'A replication cycle of the customer is running.',
              resumeOn: { afterMs: CYCLE_WAIT_MS },
            },
          };
        }
        ctx.log('Deleting customer data...');
        for (const part of data.parts) {
          const rows = await part.forget(ctx.input.customerId);
          ctx.log(rows > 0 ? `${part.what}: ${rows} deleted.` : `${part.what}: deleted.`);
        }
        ctx.applied(forget);
        ctx.log('Customer data deleted.');
        return DONE;
      },
    };
  },
};

const removeFinishStep: RemovalStep = {
  name: 'Finish',
  async prepare(ctx) {
    const remove: TaskChange = { kind: 'store', description: `Remove customer ${ctx.input.customerId}` };
    return {
      changes: [remove],
      async apply() {
        const sites = ctx.ports.sites;
        for (const name of await siteNames(ctx)) await sites.delete(ctx.input.customerId, name);
        await ctx.ports.access.forgetCustomer(ctx.input.customerId);
        // Before the customer goes: a later customer of the same Short Name must not inherit its tenant.
        const forgotten = await ctx.ports.credentials.forget(ctx.input.customerId);
        if (forgotten) ctx.log(forgotten.message);
        const customer = await present(ctx.ports.customers.get(ctx.input.customerId));
        // Before the customer goes: from then on the Short Name's next customer sees none of its tasks and audit.
        if (customer) {
          const { uid, shortName, fullName, createdAt } = customer;
          await ctx.ports.customerData.removed.record(
            { uid, shortName, fullName, createdAt },
            ctx.clock.now().toISOString(),
          );
        }
        await ctx.ports.customers.completeRemoval(ctx.input.customerId);
        await ctx.ports.customerData.releaseReplication(ctx.input.customerId);
        ctx.applied(remove);
        ctx.log('Customer removed.');
        ctx.log('-- TenantRemove task completed --');
        return DONE;
      },
    };
  },
};

/**
 * Delete: the paired SBC and M365 cleanup scripts, then what onboarding made in the tenant and the provider zone;
 * the customer's licenses return to the pool once everything is gone.
 */
export const removeCustomerTask = defineTask<RemovalInput, SiteTaskState, OnboardingTaskPorts>({
  type: 'TenantRemove',
  input: removalInputSchema,
  steps: [
    removeStartStep,
    eachSite(sbcCleanupStep),
    eachSite(m365CleanupStep),
    ...PSTN_GATEWAY_REMOVAL_STEPS.map(eachSite),
    forgetDataStep,
    removeFinishStep,
  ],
  classifyError: classifyPeerError,
});

/** The customer, or null once it is gone (a re-run of Finish after the customer was removed). */
async function present<T>(read: Promise<T>): Promise<T | null> {
  try {
    return await read;
  } catch (error) {
    if (error instanceof DomainError && error.kind === 'not_found') return null;
    throw error;
  }
}

export const ONBOARDING_TASKS = [createCustomerTask, addSbcSiteTask, removeCustomerTask] as const;
