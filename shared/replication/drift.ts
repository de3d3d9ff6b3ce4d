import { z } from 'zod';
import type { CustomerSite } from '../onboarding/customer-site.js';
import { DEFAULT_SCRIPTS } from '../onboarding/customer-site.js';
import { siteTemplateContext } from '../onboarding/site-context.js';
import type { TeamsAdminClient, TeamsConfigObject } from '../teams/teams-admin-client.js';
import { TeamsCommandError, executeTeamsCommand } from '../teams/teams-commands-rest.js';
import { createTeamsOverlayClient } from '../teams/teams-overlay-client.js';
import type { RenderedScript } from '../templates/script-template-service.js';
import type { TemplateContext } from '../templates/template-context.js';
import { VOICE_KIND_SPECS, VoiceConfig } from '../voice/voice-change.js';
import type { DesiredVoiceObject } from '../voice/voice-change-store.js';
import { desiredDrift, type VoiceObjectDrift, voiceObjectDriftSchema } from '../voice/voice-desired.js';
import type { MirrorVoiceObject } from './mirror-store.js';

/**
 * Drift: does the customer's Teams routing still say what its onboarding made it say? Each onboarded site's M365
 * onboarding template (the wizard's choice, the Default M365 Onboarding script otherwise) is rendered for the site
 * and planned, command by command, against the mirrored voice objects — through the overlay client, so each command
 * sees what the ones before it would have done. A command that would change something is drift: what onboarding
 * would have to run again to put the routing back.
 */
export const driftItemSchema = z.object({
  siteName: z.string(),
  gatewayFqdn: z.string(),
  line: z.number().int(),
  /** The command as the PowerShell line a person would type. */
  powerShell: z.string(),
  action: z.string(),
  policyName: z.string().nullable(),
  identity: z.string().nullable(),
  /** The properties that differ, with the values onboarding sets. */
  changes: z.record(z.string(), z.unknown()),
  /** Set when the command cannot be planned at all (e.g. the object exists with other values). */
  message: z.string().nullable(),
});

export const driftReportSchema = z
  .object({
    customerId: z.string(),
    checkedAt: z.iso.datetime(),
    cycleId: z.string().nullable(),
    status: z.enum(['in-sync', 'drift', 'unknown']),
    /** `site`: the onboarding's site records; `gateway`: no site record, the gateway named after the Short Name. */
    basis: z.enum(['site', 'gateway', 'none']),
    sites: z.array(z.object({ siteName: z.string(), gatewayFqdn: z.string(), templateId: z.string() })),
    items: z.array(driftItemSchema),
    /** Desired state: the voice objects the product changed day two that Teams no longer matches. */
    objects: z.array(voiceObjectDriftSchema),
    /** How many voice objects the product holds a desired state for (0: it never changed any). */
    desiredObjects: z.number().int(),
    note: z.string().nullable(),
  })
  .meta({ id: 'DriftReport' });

export type DriftReport = Omit<z.output<typeof driftReportSchema>, 'objects'> & {
  readonly objects: readonly VoiceObjectDrift[];
};
type DriftItem = z.output<typeof driftItemSchema>;

export interface DriftDeps {
  customer(customerId: string): Promise<{ readonly shortName: string; readonly fullName: string } | null>;
  tenantId(customerId: string): Promise<string | null>;
  sites(customerId: string): Promise<CustomerSite[]>;
  render(templateId: string, context: TemplateContext): Promise<RenderedScript>;
  /** What the product's day-two changes left each voice object it changed (voice-change-store's desired state). */
  desired(customerId: string): Promise<readonly DesiredVoiceObject[]>;
}

interface OnboardedSite {
  readonly site: CustomerSite;
  readonly gatewayFqdn: string;
  readonly templateId: string;
}

/**
 * The report: the onboarding's drift (except the objects day two has changed since — their desired state is the
 * product's latest word on them) and the desired state's.
 */
export async function computeDrift(
  deps: DriftDeps,
  input: {
    readonly customerId: string;
    readonly voice: readonly MirrorVoiceObject[];
    readonly cycleId: string | null;
    readonly now: Date;
  },
): Promise<DriftReport> {
  const desired = await deps.desired(input.customerId);
  const config = new VoiceConfig(input.voice);
  const covered = new Set(desired.map((d) => coveredKey(VOICE_KIND_SPECS[d.kind].policyName, d.identity)));
  // Onboarding only adds usages: its usage list item is the day two's when every usage it adds is.
  const usages = new Set(
    desired.filter((d) => d.kind === 'pstn-usages').map((d) => d.identity.toLowerCase()),
  );
  const current = new Set(config.usages().map((u) => u.toLowerCase()));
  const ownedByDayTwo = (item: DriftItem) => {
    if (item.policyName === null || item.identity === null) return false;
    if (item.policyName === 'OnlinePstnUsages') {
      const list = Array.isArray(item.changes.Usage) ? (item.changes.Usage as unknown[]) : [];
      const added = list.filter((u): u is string => typeof u === 'string' && !current.has(u.toLowerCase()));
      return added.length > 0 && added.every((u) => usages.has(u.toLowerCase()));
    }
    return covered.has(coveredKey(item.policyName, item.identity));
  };
  const onboarding = await onboardingDrift(deps, input);
  return withDesired(
    { ...onboarding, items: onboarding.items.filter((item) => !ownedByDayTwo(item)) },
    { objects: desiredDrift(config, desired), count: desired.length },
  );
}

/**
 * The report with the desired state's drift as of now: the GET answers the onboarding's comparison of the last
 * cycle and the day-two objects compared with the mirror as it is (the cycle and the changes applied since), so a
 * restore or an adoption shows at once.
 */
export function withDesired(
  report: Omit<DriftReport, 'objects' | 'desiredObjects' | 'status'>,
  desired: { readonly objects: readonly VoiceObjectDrift[]; readonly count: number },
): DriftReport {
  const drifted = report.items.length + desired.objects.length > 0;
  return {
    ...report,
    status: drifted ? 'drift' : report.basis === 'none' && desired.count === 0 ? 'unknown' : 'in-sync',
    objects: desired.objects,
    desiredObjects: desired.count,
  };
}

const coveredKey = (policyName: string, identity: string) =>
  `${policyName.toLowerCase()}~${identity.replace(/^tag:/i, '').toLowerCase()}`;

async function onboardingDrift(
  deps: DriftDeps,
  input: {
    readonly customerId: string;
    readonly voice: readonly MirrorVoiceObject[];
    readonly cycleId: string | null;
    readonly now: Date;
  },
): Promise<Omit<DriftReport, 'objects' | 'desiredObjects'>> {
  const base = { customerId: input.customerId, checkedAt: input.now.toISOString(), cycleId: input.cycleId };
  const customer = await deps.customer(input.customerId);
  if (!customer) {
    return {
      ...base,
      status: 'unknown',
      basis: 'none',
      sites: [],
      items: [],
      note: 'The customer does not exist.',
    };
  }
  let basis: DriftReport['basis'] = 'site';
  let onboarded: OnboardedSite[] = (await deps.sites(input.customerId)).flatMap((site) =>
    site.gatewayFqdn && site.gatewayCreated !== false
      ? [
          {
            site,
            gatewayFqdn: site.gatewayFqdn,
            templateId: site.m365Routing?.onboardingTemplateId ?? DEFAULT_SCRIPTS.m365Onboarding,
          },
        ]
      : [],
  );
  if (onboarded.length === 0) {
    // Customers onboarded before site records existed: their trunk is `<Short Name>.<region FQDN>` (the Sbc Site
    // Name defaults to the Short Name), so a mirrored gateway whose first label is the Short Name is theirs, routed
    // by the Default M365 Onboarding script.
    basis = 'gateway';
    onboarded = input.voice
      .filter(
        (o) =>
          o.policyName === 'OnlinePSTNGateway' &&
          o.identity.toLowerCase().split('.')[0] === customer.shortName.toLowerCase(),
      )
      .map((o) => ({
        site: syntheticSite(input.customerId, customer.shortName, o.identity.toLowerCase(), input.now),
        gatewayFqdn: o.identity.toLowerCase(),
        templateId: DEFAULT_SCRIPTS.m365Onboarding,
      }));
  }
  if (onboarded.length === 0) {
    return {
      ...base,
      status: 'unknown',
      basis: 'none',
      sites: [],
      items: [],
      note: 'No onboarded site with a PSTN gateway, and no mirrored gateway named after the Short Name: nothing to compare.',
    };
  }
  const tenantId = (await deps.tenantId(input.customerId)) ?? '';
  const items: DriftItem[] = [];
  for (const entry of onboarded) {
    const context = siteTemplateContext({
      customer,
      tenantId,
      site: entry.site,
      region: null,
      sbc: null,
      // M365 templates have no use for it; drift never renders secrets.
      carrierPassword: '',
      customVariables: entry.site.m365Routing?.customVariables ?? {},
    });
    const rendered = await deps.render(entry.templateId, context);
    const client = createTeamsOverlayClient(mirrorTeamsClient(input.voice));
    for (const { line, command, powerShell } of rendered.commands ?? []) {
      const item = { siteName: entry.site.siteName, gatewayFqdn: entry.gatewayFqdn, line, powerShell };
      try {
        const { changed, plan } = await executeTeamsCommand(client, command);
        if (!changed) continue;
        items.push({
          ...item,
          action: plan.action,
          policyName: plan.policyName,
          identity: plan.identity ?? null,
          changes: { ...plan.changes },
          message: null,
        });
      } catch (error) {
        if (!(error instanceof TeamsCommandError)) throw error;
        items.push({
          ...item,
          action: 'conflict',
          policyName: null,
          identity: null,
          changes: {},
          message: error.message,
        });
      }
    }
  }
  return {
    ...base,
    status: items.length > 0 ? 'drift' : 'in-sync',
    basis,
    sites: onboarded.map((o) => ({
      siteName: o.site.siteName,
      gatewayFqdn: o.gatewayFqdn,
      templateId: o.templateId,
    })),
    items,
    note: null,
  };
}

function syntheticSite(customerId: string, siteName: string, gatewayFqdn: string, now: Date): CustomerSite {
  return {
    customerId,
    siteName,
    gatewayFqdn,
    dns: null,
    m365Routing: null,
    sbc: null,
    prefixes: [],
    gatewayCreated: true,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
}

/** The mirrored voice objects as a read-only Teams admin client (the overlay above it keeps the plan's writes). */
function mirrorTeamsClient(voice: readonly MirrorVoiceObject[]): TeamsAdminClient {
  const list = (policyName: string): TeamsConfigObject[] =>
    voice
      .filter((o) => o.policyName.toLowerCase() === policyName.toLowerCase())
      .map((o) => ({ ...o.data, Identity: o.identity }));
  const readOnly = async (): Promise<never> => {
    throw new Error('Drift only plans against the mirror; it never writes.');
  };
  return {
    list: async (policyName) => list(policyName),
    get: async (policyName, identity) =>
      list(policyName).find((o) => o.Identity.toLowerCase() === identity.toLowerCase()),
    create: readOnly,
    update: readOnly,
    delete: readOnly,
    grantPolicy: readOnly,
    setEnterpriseVoice: readOnly,
    effectivePolicies: async () => undefined,
  };
}
