import { z } from 'zod';
import type { AccessStore } from '../../access/access-store.js';
import type { CustomerPurge } from '../customer-purge.js';
import type { Settings } from '../../config/settings.js';
import type { CredentialService } from '../../credentials/credential-service.js';
import type { CustomerService } from '../../customers/customer-service.js';
import type { Customer, LicenseType } from '../../customers/customer.js';
import { nullIfNotFound } from '../../errors/not-found.js';
import { withOptimisticRetry } from '../../storage/versioned-table.js';
import {
  PermanentTaskError,
  type PreparedStep,
  type PreparingStep,
  type StepContext,
} from '../../tasks/task-definition.js';
import type { SecretBox } from '../../secrets/secret-box.js';
import type { ScriptTemplateService } from '../../templates/script-template-service.js';
import { type CustomerSite, carrierPasswordSlot } from '../customer-site.js';
import { type CustomerSiteStore, siteWithCurrentSeal } from '../customer-site-store.js';
import type { OnboardingPorts } from '../onboarding-ports.js';
import type { KnownSbc, Region } from '../onboarding-settings.js';
import type { OnboardingSettingsService } from '../onboarding-settings-service.js';

/**
 * A task on one site of a customer. `preview` carries the customer and site of a wizard Submit that is only a dry
 * run: nothing is stored for it, so the steps read them from here.
 */
export const siteTaskInputSchema = z.strictObject({
  customerId: z.string().min(1).max(64),
  siteName: z.string().min(1).max(64),
  preview: z
    .strictObject({
      customer: z.strictObject({
        shortName: z.string(),
        fullName: z.string(),
        licenseType: z.string(),
      }),
      site: z.custom<CustomerSite>((value) => typeof value === 'object' && value !== null),
    })
    .optional(),
});
export type SiteTaskInput = z.output<typeof siteTaskInputSchema>;

/** What the site steps remember between steps (and across a crash): no secrets. */
export interface SiteTaskState extends Record<string, unknown> {
  /** The domain's verification TXT value (`MS=ms…`), public by nature. */
  txtValue: string;
  verified: boolean;
  /** The IP Group pre-check found the customer programmed on the SBC already. */
  sbcProgrammed: boolean;
  licensePlan: string;
  /** When Teams first refused the gateway because its domain was not activated yet (ISO); the wait counts from it. */
  activationWaitSince: string;
  /** The looks at the gateway while waiting for the activation, for the log's `[Try: n]`. */
  activationTries: number;
  /** The commands the SBC refused at the last partial application of a script, and why. */
  sbcRefused: Array<{ script: 'onboarding' | 'cleanup'; command: string; error: string }>;
}

/** What the onboarding and removal tasks' steps talk to. */
export interface OnboardingTaskPorts {
  readonly settings: Pick<Settings, 'onboarding'>;
  readonly customers: CustomerService;
  readonly credentials: Pick<CredentialService, 'get' | 'forget'>;
  readonly onboardingSettings: OnboardingSettingsService;
  readonly secretBox: SecretBox;
  readonly sites: CustomerSiteStore;
  readonly templates: ScriptTemplateService;
  readonly access: Pick<AccessStore, 'forgetCustomer'>;
  /** What removal deletes of the customer before its Short Name is released. */
  readonly customerData: CustomerPurge;
  /** Graph, Teams, DNS and the SBCs, each through its adapter. */
  readonly adapters: OnboardingPorts;
}

export type SiteStepContext = StepContext<SiteTaskInput, SiteTaskState, OnboardingTaskPorts>;
export type SiteStep = PreparingStep<SiteTaskInput, SiteTaskState, OnboardingTaskPorts>;

export interface OnboardingJob {
  readonly customer: Pick<Customer, 'shortName' | 'fullName'> & {
    readonly licenseType: LicenseType | string;
  };
  readonly site: CustomerSite;
  readonly ports: OnboardingPorts;
  readonly sites: CustomerSiteStore;
  readonly templates: ScriptTemplateService;
  /** The DNS page's region. */
  readonly dnsRegion: Region | null;
  /** The SBC page's region and its Known SBC. */
  readonly sbcRegion: Region | null;
  readonly sbcDevice: KnownSbc | null;
  readonly tenantId: string | null;
  openCarrierPassword(): string;
}

async function loadJob(ctx: SiteStepContext): Promise<OnboardingJob> {
  const ports = ctx.ports;
  const sites = ports.sites;
  let customer: OnboardingJob['customer'];
  let site: CustomerSite;
  if (ctx.input.preview) {
    customer = ctx.input.preview.customer;
    site = ctx.input.preview.site;
  } else {
    // Only "no such customer" fails the task; a storage outage is thrown on, and the engine retries the step.
    const stored = await nullIfNotFound(ports.customers.get(ctx.input.customerId));
    if (!stored) throw new PermanentTaskError(`There is no customer "${ctx.input.customerId}".`);
    const versioned = ctx.dryRun
      ? await sites.get(ctx.input.customerId, ctx.input.siteName)
      : await siteWithCurrentSeal(sites, ports.secretBox, ctx.input.customerId, ctx.input.siteName);
    if (!versioned) {
      throw new PermanentTaskError(
        `Customer "${ctx.input.customerId}" has no SBC site "${ctx.input.siteName}".`,
      );
    }
    customer = stored;
    site = versioned.site;
  }
  const settings = ports.onboardingSettings;
  const dnsRegion = site.dns?.regionId ? await settings.region(site.dns.regionId) : null;
  if (site.dns?.regionId && !dnsRegion) {
    throw new PermanentTaskError(`The region "${site.dns.regionId}" no longer exists.`);
  }
  const sbcRegion = site.sbc ? await settings.region(site.sbc.regionId) : null;
  if (site.sbc && !sbcRegion)
    throw new PermanentTaskError(`The region "${site.sbc.regionId}" no longer exists.`);
  const sbcDevice = sbcRegion ? await settings.sbc(sbcRegion.sbcId) : null;
  if (sbcRegion && !sbcDevice) {
    throw new PermanentTaskError(`The region "${sbcRegion.name}" names an unknown SBC "${sbcRegion.sbcId}".`);
  }
  const credential = await ports.credentials.get(ctx.input.customerId);
  return {
    customer,
    site,
    ports: ports.adapters,
    sites,
    templates: ports.templates,
    dnsRegion,
    sbcRegion,
    sbcDevice,
    tenantId: credential?.tenantId ?? null,
    openCarrierPassword() {
      const sealed = site.sbc?.carrierRegistration?.passwordSealed;
      if (!sealed || ctx.dryRun) return '********';
      const password = ports.secretBox.open(sealed, carrierPasswordSlot(site.customerId, site.siteName));
      ctx.secret(password);
      return password;
    },
  };
}

/** Saves a change to the site (e.g. the gateway now exists), re-reading it if it changed meanwhile. */
export async function updateSite(
  job: OnboardingJob,
  change: (site: CustomerSite) => CustomerSite,
): Promise<void> {
  await withOptimisticRetry(async () => {
    const current = await job.sites.get(job.site.customerId, job.site.siteName);
    if (!current) return;
    await job.sites.replace({ ...change(current.site), updatedAt: new Date().toISOString() }, current.etag);
  });
}

/** A step's outcome when it is done; most steps' `apply` ends so. */
export const DONE = { done: true } as const;

/** A step with nothing to change: a dry run lists nothing, a real run only logs. */
export const NOTHING: PreparedStep = { changes: [], apply: async () => DONE };

/**
 * A site step: the job is loaded once per run of the step and handed to `prepare`, which reads what the step
 * needs and describes its changes once for the dry run and the real run.
 */
export function siteStep(spec: {
  readonly name: string;
  readonly maxAttempts?: number;
  prepare(ctx: SiteStepContext, job: OnboardingJob): Promise<PreparedStep>;
}): SiteStep {
  return {
    name: spec.name,
    ...(spec.maxAttempts !== undefined ? { maxAttempts: spec.maxAttempts } : {}),
    prepare: async (ctx) => spec.prepare(ctx, await loadJob(ctx)),
  };
}
