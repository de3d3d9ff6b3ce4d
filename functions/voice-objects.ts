import { z } from 'zod';
import type { Principal } from '../shared/auth/authenticator.js';
import { type ApiEdge, type ApiResult, defineApiRoute } from '../shared/http/api-route.js';
import { customerParams, describedDryRunQuery, ifMatchOf } from '../shared/http/route-kit.js';
import { nextLinkOf, pageOf, pageSchema, pagingQuery } from '../shared/paging/paging.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import type { TaskRecord } from '../shared/tasks/task-record.js';
import { domainErrors } from '../shared/errors/domain-errors.js';
import {
  actionOf,
  fieldChanges,
  stateOf,
  VOICE_KINDS,
  type VoiceConfig,
  voiceEtag,
  type VoiceKind,
  type VoiceObjectChange,
  type VoiceState,
} from '../shared/voice/voice-change.js';
import { gatewayWarnings } from '../shared/voice/voice-change-rules.js';
import type { VoiceChangeService, VoicePlan } from '../shared/voice/voice-change-service.js';
import { voiceObjectDriftSchema } from '../shared/voice/voice-desired.js';
import {
  emergencyNumberSchema,
  normalizationRuleSchema,
  voiceValueSchema,
  VOICE_AUDIT_ENTRY_ID,
  VOICE_AUDIT_STATUSES,
  type VoiceAuditEntry,
} from '../shared/voice/voice-change-store.js';
import { taskViewSchema, toTaskView } from './tasks.js';

/**
 * Day two's Online Voice Routing (issue 13, manual-part-D §1.12–1.16, §3.9): a customer's PSTN usages, voice routes,
 * online voice routing policies, tenant dial plans and PSTN gateways, and location-based routing's network regions, sites, subnets,
 * trusted IPs and emergency policies (§1.9–1.11), read from the mirror and changed through queued Teams commands, each with a
 * dry run, the voice audit and rollback. Granting a policy to a user is a user change (PATCH …/users/{userId}); to a
 * group, voice-group-assignments.ts.
 */

const TAGS = ['Voice routing'];
/** The Customer portal's Online Voice Routing menu (Hosted Essentials + and Hosted Pro): customer admins too. */
const ROLES = ['provider-admin', 'customer-admin'] as const;
const BASE = 'api/v1/customers/{customerId}/voice';

/** A Teams object name: what the cmdlets' -Identity takes, without a path separator or a control character. */
export const objectName = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .regex(/^[^/\\?#\p{Cc}]+$/u, 'A name has no /, \\, ?, # or control character.');

const names = z.array(objectName).max(64);

const usageParams = customerParams.extend({ usage: objectName.meta({ description: 'The PSTN usage.' }) });
const entryParams = customerParams.extend({
  voiceEntryId: z
    .string()
    .regex(VOICE_AUDIT_ENTRY_ID, 'voiceEntryId is a voice audit entry id.')
    .meta({ description: "The entry's `id` in the voice audit." }),
});

const dryRun = describedDryRunQuery('Only answer the commands and the changes per property; queue nothing.');

const usageView = z
  .object({
    name: z.string(),
    routes: z.array(z.string()).meta({ description: 'The voice routes that list the usage.' }),
    policies: z.array(z.string()).meta({ description: 'The voice routing policies that list it.' }),
  })
  .meta({ id: 'PstnUsage' });

const routeView = z
  .object({
    identity: z.string(),
    description: z.string().nullable(),
    numberPattern: z.string().nullable(),
    priority: z.number().int(),
    gateways: z.array(z.string()),
    usages: z.array(z.string()),
    etag: z.string(),
  })
  .meta({ id: 'VoiceRoute' });

const policyView = z
  .object({
    identity: z.string(),
    description: z.string().nullable(),
    usages: z.array(z.string()).meta({ description: 'Tried in this order.' }),
    etag: z.string(),
  })
  .meta({ id: 'VoiceRoutingPolicy' });

const ruleView = normalizationRuleSchema.meta({ id: 'NormalizationRule' });

const dialPlanView = z
  .object({
    identity: z.string(),
    description: z.string().nullable(),
    simpleName: z.string().nullable(),
    externalAccessPrefix: z.string().nullable(),
    normalizationRules: z.array(ruleView).meta({ description: 'Tried top to bottom; the first match wins.' }),
    etag: z.string(),
  })
  .meta({ id: 'TenantDialPlan' });

const ruleBody = z.strictObject({
  name: objectName,
  pattern: z
    .string()
    .min(1)
    .max(1024)
    .meta({ description: 'A .NET regular expression of the dialed digits.', example: '^0(\\d{10})$' }),
  translation: z
    .string()
    .max(1024)
    .meta({ description: 'The normalized number, with $1 … for the groups.', example: '+44$1' }),
  isInternalExtension: z.boolean().default(false),
  description: z.string().max(1024).default(''),
});
const dialPlanFields = {
  description: z.string().max(1024).default(''),
  simpleName: z.string().max(256).nullable().default(null),
  externalAccessPrefix: z
    .string()
    .regex(/^[0-9*#]{1,4}$/, 'An external access prefix is up to four digits, * or #.')
    .nullable()
    .default(null),
  normalizationRules: z.array(ruleBody).max(50).meta({ description: 'In the order Teams tries them.' }),
};
const dialPlanCreate = z.strictObject({ identity: objectName, ...dialPlanFields });
const dialPlanUpdate = z.strictObject(dialPlanFields);

const routeFields = {
  description: z.string().max(1024).default(''),
  numberPattern: z.string().min(1).max(1024).meta({
    description: 'A regular expression of the dialed number (E.164 after normalization).',
    example: '^\\+1(\\d{10})$',
  }),
  priority: z.number().int().min(0).max(2_147_483_647),
  gateways: names.meta({ description: 'The PSTN gateways (their FQDN), tried in order.' }),
  usages: names.meta({ description: 'The PSTN usages the route belongs to.' }),
};
const routeCreate = z.strictObject({ identity: objectName, ...routeFields });
const routeUpdate = z.strictObject(routeFields);
const routeReorder = z.strictObject({
  routes: names.min(1).meta({
    description:
      "Every voice route's Identity, first tried first: their priorities become 0, 1, 2 … in this order.",
  }),
});

const policyFields = {
  description: z.string().max(1024).default(''),
  usages: names.meta({ description: 'The PSTN usages, tried in this order.' }),
};
const policyCreate = z.strictObject({ identity: objectName, ...policyFields });
const policyUpdate = z.strictObject(policyFields);
const usageCreate = z.strictObject({ name: objectName });

/*
 * Location-based routing (manual-part-D §1.9–1.11: Network Topology > Network sites, Manage Regions, Trusted IPs) and
 * the emergency policies a network site names. The manual's field names in the descriptions: "Site Name", "Network
 * Region", "Location based routing", "Network roaming policy", "Emergency calling policy", "Emergency call routing
 * policy", "Subnet", "Network Range", "Trusted IP". Parameters from New-CsTenantNetworkSite, New-CsTenantNetworkSubnet,
 * New-CsTenantTrustedIPAddress, New-CsTeamsEmergencyCallingPolicy, New-CsTeamsEmergencyCallRoutingPolicy and
 * New-CsTeamsEmergencyNumber (learn.microsoft.com/powershell/module/microsoftteams).
 */
const siteName = objectName.meta({
  description: 'A network site (its NetworkSiteID, the manual\'s "Site Name").',
});
const policyRef = (what: string) =>
  z
    .string()
    .trim()
    .max(128)
    .nullable()
    .default(null)
    .meta({ description: `The ${what} (its name); null or Global: "Global (Org-wide default)".` });
const maskBits = z.number().int().min(0).max(128).meta({
  description: 'The "Network Range": the prefix length, 0–32 for IPv4, 0–128 for IPv6.',
  example: 24,
});
const ipIdentity = (what: string) =>
  objectName.meta({ description: `The ${what}: an IPv4 or IPv6 address.`, example: '192.168.1.0' });

const regionView = z
  .object({
    identity: z.string().meta({ description: "The NetworkRegionID (the region's name)." }),
    description: z.string().nullable(),
    centralSite: z.string().nullable(),
    etag: z.string(),
  })
  .meta({ id: 'NetworkRegion' });
const regionFields = {
  description: z.string().max(1024).default(''),
  centralSite: z.string().max(128).nullable().default(null),
};

const siteView = z
  .object({
    identity: z.string().meta({ description: 'The NetworkSiteID ("Site Name").' }),
    description: z.string().nullable(),
    networkRegionId: z.string().nullable(),
    enableLocationBasedRouting: z.boolean(),
    networkRoamingPolicy: z.string().nullable(),
    emergencyCallingPolicy: z.string().nullable(),
    emergencyCallRoutingPolicy: z.string().nullable(),
    etag: z.string(),
  })
  .meta({ id: 'NetworkSite' });
const siteFields = {
  description: z.string().max(1024).default(''),
  networkRegionId: objectName.meta({
    description: 'The "Network Region": each network site is associated with one (create it first).',
  }),
  enableLocationBasedRouting: z.boolean().default(false).meta({ description: '"Location based routing".' }),
  networkRoamingPolicy: policyRef('network roaming policy'),
  emergencyCallingPolicy: policyRef('emergency calling policy'),
  emergencyCallRoutingPolicy: policyRef('emergency call routing policy'),
};

const subnetView = z
  .object({
    identity: z.string().meta({ description: 'The SubnetID ("Subnet"): its network address.' }),
    description: z.string().nullable(),
    maskBits: z.number().int().nullable(),
    networkSiteId: z.string().nullable(),
    etag: z.string(),
  })
  .meta({ id: 'NetworkSubnet' });
const subnetFields = { description: z.string().max(1024).default(''), maskBits, networkSiteId: siteName };

const trustedIpView = z
  .object({
    identity: z.string().meta({ description: 'The "Trusted IP": a public IPv4 or IPv6 address.' }),
    description: z.string().nullable(),
    maskBits: z.number().int().nullable(),
    etag: z.string(),
  })
  .meta({ id: 'TrustedIpAddress' });
const trustedIpFields = { description: z.string().max(1024).default(''), maskBits };

const NOTIFICATION_MODES = ['notification-only', 'conference-muted', 'conference-unmuted'] as const;
const LOOKUP_MODES = ['disabled', 'enabled'] as const;
const emergencyCallingView = z
  .object({
    identity: z.string(),
    description: z.string().nullable(),
    notificationGroup: z.string().nullable(),
    notificationMode: z.enum(NOTIFICATION_MODES).nullable(),
    notificationDialOutNumber: z.string().nullable(),
    externalLocationLookupMode: z.enum(LOOKUP_MODES).nullable(),
    etag: z.string(),
  })
  .meta({ id: 'EmergencyCallingPolicy' });
const emergencyCallingFields = {
  description: z.string().max(1024).default(''),
  notificationGroup: z
    .string()
    .regex(
      /^[^\s;@]+@[^\s;@]+(;[^\s;@]+@[^\s;@]+)*$/,
      'The notification group is e-mail addresses separated by ;.',
    )
    .max(1024)
    .nullable()
    .default(null)
    .meta({
      description: 'Users and groups to notify of an emergency call, e-mail addresses separated by ;.',
    }),
  notificationMode: z.enum(NOTIFICATION_MODES).default('notification-only').meta({
    description: "The security desk's experience: NotificationOnly, ConferenceMuted, ConferenceUnMuted.",
  }),
  notificationDialOutNumber: z
    .string()
    .regex(/^\+?[0-9]{1,15}$/, 'The dial-out number is a PSTN number: digits with an optional +.')
    .nullable()
    .default(null)
    .meta({
      description: 'A PSTN number conferenced in when the mode is a Conference one.',
      example: '+14255551234',
    }),
  externalLocationLookupMode: z
    .enum(LOOKUP_MODES)
    .default('disabled')
    .meta({ description: 'Whether users may set emergency addresses for remote locations.' }),
};

const emergencyNumberView = emergencyNumberSchema.meta({ id: 'EmergencyNumber' });
const emergencyNumberBody = z.strictObject({
  emergencyDialString: z
    .string()
    .regex(/^\+?[0-9]{1,15}$/, 'An emergency dial string is digits with an optional +.')
    .meta({ description: 'The emergency number.', example: '911' }),
  emergencyDialMask: z
    .string()
    .regex(/^([0-9]{1,10}(;[0-9]{1,10})*)?$/, 'Dial masks are numbers of 1 to 10 digits separated by ;.')
    .default('')
    .meta({ description: 'Numbers dialled as this emergency number, separated by ;.', example: '933' }),
  onlinePstnUsage: objectName.meta({ description: 'The PSTN usage whose voice routes carry the call.' }),
});
const emergencyRoutingView = z
  .object({
    identity: z.string(),
    description: z.string().nullable(),
    allowEnhancedEmergencyServices: z.boolean(),
    emergencyNumbers: z.array(emergencyNumberView),
    etag: z.string(),
  })
  .meta({ id: 'EmergencyCallRoutingPolicy' });
const emergencyRoutingFields = {
  description: z.string().max(1024).default(''),
  allowEnhancedEmergencyServices: z.boolean().default(false),
  emergencyNumbers: z.array(emergencyNumberBody).max(50),
};
/** The API's BypassMode values (kebab-case) for Teams' None, Always and OnlyForLocalUsers. */
const BYPASS_MODES = ['none', 'always', 'only-for-local-users'] as const;

const gatewayView = z
  .object({
    identity: z.string().meta({ description: "The SBC's FQDN (Teams' Identity and Fqdn)." }),
    description: z.string().nullable(),
    sipSignalingPort: z.number().int().nullable(),
    maxConcurrentSessions: z.number().int().nullable(),
    enabled: z.boolean().nullable(),
    forwardCallHistory: z.boolean().nullable(),
    forwardPai: z.boolean().nullable(),
    sendSipOptions: z.boolean().nullable(),
    mediaBypass: z.boolean().nullable(),
    bypassMode: z.string().nullable().meta({ description: '`none`, `always` or `only-for-local-users`.' }),
    failoverTimeSeconds: z.number().int().nullable(),
    failoverResponseCodes: z.string().nullable(),
    gatewaySiteId: z.string().nullable(),
    gatewaySiteLbrEnabled: z.boolean().nullable(),
    gatewayLbrEnabledUserOverride: z.boolean().nullable(),
    pidfLoSupported: z.boolean().nullable(),
    mediaRelayRoutingLocationOverride: z.string().nullable(),
    proxySbc: z.string().nullable(),
    etag: z.string(),
  })
  .meta({ id: 'PstnGateway' });

/**
 * New-CsOnlinePSTNGateway's parameters with its documented defaults (learn.microsoft.com/powershell/module/teams/
 * new-csonlinepstngateway); the ranges and references are checked by voice-change-rules.ts (`gatewayErrors`), so
 * that each refusal has its own code. A PUT sets every field: one left out goes back to its default.
 */
const gatewayFields = {
  description: z.string().max(1024).default(''),
  sipSignalingPort: z.number().int().meta({
    description: 'The TLS port the SBC listens on for Direct Routing, 1–65535.',
    example: 5061,
  }),
  maxConcurrentSessions: z.number().int().nullable().default(null).meta({
    description: 'Alerts at 90% of it; null: no alerts.',
  }),
  enabled: z.boolean().default(false).meta({ description: 'False drains the SBC: no new outbound calls.' }),
  forwardCallHistory: z.boolean().default(false),
  forwardPai: z.boolean().default(false),
  sendSipOptions: z.boolean().default(true),
  mediaBypass: z.boolean().default(false),
  bypassMode: z.enum(BYPASS_MODES).default('none'),
  failoverTimeSeconds: z.number().int().default(10),
  failoverResponseCodes: z.string().max(256).default('408, 503, 504').meta({
    description: 'SIP response codes on which Direct Routing tries the next SBC, comma-separated.',
  }),
  gatewaySiteId: z.string().max(256).default('').meta({
    description: 'The network site of the SBC (Location-Based Routing); empty for none.',
  }),
  gatewaySiteLbrEnabled: z.boolean().default(false),
  gatewayLbrEnabledUserOverride: z.boolean().default(false),
  pidfLoSupported: z.boolean().default(false),
  mediaRelayRoutingLocationOverride: z.string().max(64).nullable().default(null),
  proxySbc: z.string().max(253).nullable().default(null).meta({
    description: 'The proxy SBC (Local Media Optimization), by FQDN.',
  }),
};
const gatewayCreate = z.strictObject({
  identity: objectName.toLowerCase().meta({
    description: "The SBC's FQDN, in a domain registered in the tenant (not *.onmicrosoft.com).",
    example: 'sbc2.contoso.com',
  }),
  ...gatewayFields,
});
const gatewayUpdate = z.strictObject(gatewayFields);

/** The kinds edited as whole objects (a usage is only a name in the Global list: its routes are its own). */
type ObjectKind = Exclude<VoiceKind, 'pstn-usages'>;

interface ObjectRouteSpec {
  readonly kind: ObjectKind;
  /** The operationId prefix: `{operation}-list`, `-get`, `-create`, `-update`, `-delete`. */
  readonly operation: string;
  /** The path segment under `…/voice/`. */
  readonly segment: string;
  readonly label: string;
  readonly idParam: string;
  readonly idDescription: string;
  readonly view: z.ZodObject;
  readonly create: z.ZodType<{ readonly identity: string } & VoiceState>;
  readonly update: z.ZodType<VoiceState>;
  readonly summaries: {
    readonly list: string;
    readonly create: string;
    readonly update: string;
    readonly delete: string;
  };
  /** The list's order when it is not by identity. */
  readonly orderedBy?: (view: { readonly identity: string } & VoiceState) => string;
  /** What the operator should know about a change Teams accepts, answered with its plan. */
  readonly warnings?: (config: VoiceConfig, change: VoiceObjectChange) => string[];
}

/**
 * One row per kind; the routes are the same five for each (list, get, create, edit, delete). The manual's names are
 * in the summaries: "Add new Voice Route", "Edit Voice Routing Policy", "Add new Dial Plan".
 */
const OBJECT_ROUTES = [
  {
    kind: 'voice-routes',
    operation: 'voice-routes',
    segment: 'voice-routes',
    label: 'voice route',
    idParam: 'routeId',
    idDescription: "The route's Identity.",
    view: routeView,
    create: routeCreate,
    update: routeUpdate,
    summaries: {
      list: 'Voice routes, by priority (the order Teams tries them in)',
      create: 'Add new Voice Route (queued: New-CsOnlineVoiceRoute)',
      update: 'Edit a voice route: pattern, priority, gateways, usages (queued: Set-CsOnlineVoiceRoute)',
      delete: 'Delete a voice route (queued: Remove-CsOnlineVoiceRoute)',
    },
    // Priority first (the order Teams tries them in), padded so that keys sort as numbers do.
    orderedBy: (route) => `${String(route.priority).padStart(10, '0')}|${route.identity.toLowerCase()}`,
  } satisfies ObjectRouteSpec,
  {
    kind: 'voice-routing-policies',
    operation: 'voice-routing-policies',
    segment: 'voice-routing-policies',
    label: 'voice routing policy',
    idParam: 'policyId',
    idDescription: "The policy's Identity, without `Tag:`.",
    view: policyView,
    create: policyCreate,
    update: policyUpdate,
    summaries: {
      list: 'Online voice routing policies (Global and the per-user ones), with their usages in order',
      create: 'Add New Voice Routing Policy (queued: New-CsOnlineVoiceRoutingPolicy)',
      update:
        'Edit Voice Routing Policy: description and usages in order (queued: Set-CsOnlineVoiceRoutingPolicy)',
      delete:
        'Delete Voice Routing Policy: refused while users or groups are granted it (queued: Remove-CsOnlineVoiceRoutingPolicy)',
    },
  } satisfies ObjectRouteSpec,
  {
    kind: 'dial-plans',
    operation: 'voice-dial-plans',
    segment: 'dial-plans',
    label: 'tenant dial plan',
    idParam: 'dialPlanId',
    idDescription: "The dial plan's Identity, without `Tag:`.",
    view: dialPlanView,
    create: dialPlanCreate,
    update: dialPlanUpdate,
    summaries: {
      list: 'Tenant dial plans (Global and the per-user ones) with their ordered normalization rules',
      create: 'Add new Dial Plan with its normalization rules (queued: New-CsTenantDialPlan)',
      update: 'Edit Dial Plan: its fields and its rules in order (queued: Set-CsTenantDialPlan)',
      delete: 'Delete a dial plan: refused while users are granted it (queued: Remove-CsTenantDialPlan)',
    },
  } satisfies ObjectRouteSpec,
  {
    kind: 'network-regions',
    operation: 'voice-network-regions',
    segment: 'network-regions',
    label: 'network region',
    idParam: 'networkRegionId',
    idDescription: "The region's NetworkRegionID.",
    view: regionView,
    create: z.strictObject({ identity: objectName, ...regionFields }),
    update: z.strictObject(regionFields),
    summaries: {
      list: 'Manage Regions: the Region List',
      create: 'New Region (queued: New-CsTenantNetworkRegion)',
      update: "Edit a network region's description (queued: Set-CsTenantNetworkRegion)",
      delete: 'Delete Region: refused while a network site is in it (queued: Remove-CsTenantNetworkRegion)',
    },
  } satisfies ObjectRouteSpec,
  {
    kind: 'network-sites',
    operation: 'voice-network-sites',
    segment: 'network-sites',
    label: 'network site',
    idParam: 'networkSiteId',
    idDescription: "The site's NetworkSiteID.",
    view: siteView,
    create: z.strictObject({ identity: objectName, ...siteFields }),
    update: z.strictObject(siteFields),
    summaries: {
      list: 'Network Sites: region, Location based routing and the emergency policies of each',
      create: 'Add New Site (queued: New-CsTenantNetworkSite)',
      update: 'Edit a network site (queued: Set-CsTenantNetworkSite)',
      delete:
        'Delete a network site: refused while a subnet or a PSTN gateway names it (queued: Remove-CsTenantNetworkSite)',
    },
  } satisfies ObjectRouteSpec,
  {
    kind: 'network-subnets',
    operation: 'voice-network-subnets',
    segment: 'network-subnets',
    label: 'network subnet',
    idParam: 'subnetId',
    idDescription: "The subnet's SubnetID (its network address).",
    view: subnetView,
    create: z.strictObject({ identity: ipIdentity('SubnetID, the network address'), ...subnetFields }),
    update: z.strictObject(subnetFields),
    summaries: {
      list: "Network sites' subnets (Subnet, Description, Network Range)",
      create: 'Add New Record: a subnet of a network site (queued: New-CsTenantNetworkSubnet)',
      update: "Edit a subnet's Network Range, site or description (queued: Set-CsTenantNetworkSubnet)",
      delete: 'Delete a subnet (queued: Remove-CsTenantNetworkSubnet)',
    },
  } satisfies ObjectRouteSpec,
  {
    kind: 'trusted-ips',
    operation: 'voice-trusted-ips',
    segment: 'trusted-ips',
    label: 'trusted IP address',
    idParam: 'trustedIpId',
    idDescription: 'The trusted IP address.',
    view: trustedIpView,
    create: z.strictObject({ identity: ipIdentity('public IP address'), ...trustedIpFields }),
    update: z.strictObject(trustedIpFields),
    summaries: {
      list: 'Trusted IPs: the public IP addresses of the sites',
      create: 'Add New Record: a trusted IP address (queued: New-CsTenantTrustedIPAddress)',
      update:
        "Edit a trusted IP's Network Range or description; the address itself cannot be modified (queued: Set-CsTenantTrustedIPAddress)",
      delete: 'Delete a trusted IP address (queued: Remove-CsTenantTrustedIPAddress)',
    },
  } satisfies ObjectRouteSpec,
  {
    kind: 'emergency-calling-policies',
    operation: 'voice-emergency-calling-policies',
    segment: 'emergency-calling-policies',
    label: 'emergency calling policy',
    idParam: 'emergencyCallingPolicyId',
    idDescription: "The policy's Identity, without `Tag:`.",
    view: emergencyCallingView,
    create: z.strictObject({ identity: objectName, ...emergencyCallingFields }),
    update: z.strictObject(emergencyCallingFields),
    summaries: {
      list: 'Emergency calling policies (security desk notification) that network sites and users name',
      create: 'Add an emergency calling policy (queued: New-CsTeamsEmergencyCallingPolicy)',
      update: 'Edit an emergency calling policy (queued: Set-CsTeamsEmergencyCallingPolicy)',
      delete:
        'Delete an emergency calling policy: refused while a network site names it (queued: Remove-CsTeamsEmergencyCallingPolicy)',
    },
  } satisfies ObjectRouteSpec,
  {
    kind: 'emergency-call-routing-policies',
    operation: 'voice-emergency-call-routing-policies',
    segment: 'emergency-call-routing-policies',
    label: 'emergency call routing policy',
    idParam: 'emergencyCallRoutingPolicyId',
    idDescription: "The policy's Identity, without `Tag:`.",
    view: emergencyRoutingView,
    create: z.strictObject({ identity: objectName, ...emergencyRoutingFields }),
    update: z.strictObject(emergencyRoutingFields),
    summaries: {
      list: 'Emergency call routing policies: emergency numbers and the PSTN usage each is routed by',
      create: 'Add an emergency call routing policy (queued: New-CsTeamsEmergencyCallRoutingPolicy)',
      update:
        'Edit an emergency call routing policy and its emergency numbers (queued: Set-CsTeamsEmergencyCallRoutingPolicy)',
      delete:
        'Delete an emergency call routing policy: refused while a network site names it (queued: Remove-CsTeamsEmergencyCallRoutingPolicy)',
    },
  } satisfies ObjectRouteSpec,
  {
    kind: 'pstn-gateways',
    operation: 'voice-pstn-gateways',
    segment: 'pstn-gateways',
    label: 'PSTN gateway',
    idParam: 'gatewayId',
    idDescription: "The gateway's FQDN.",
    view: gatewayView,
    create: gatewayCreate,
    update: gatewayUpdate,
    summaries: {
      list: 'PSTN gateways (the SBCs paired with the tenant for Direct Routing), by FQDN',
      create: 'Add an extra BYOC PSTN gateway (queued: New-CsOnlinePSTNGateway)',
      update:
        'Edit a PSTN gateway: port, limits, enabled, LBR site, … (queued: Set-CsOnlinePSTNGateway); disabling one that routes list is answered with a warning',
      delete:
        'Delete a PSTN gateway: refused while a voice route lists it (queued: Remove-CsOnlinePSTNGateway)',
    },
    warnings: gatewayWarnings,
  } satisfies ObjectRouteSpec,
];

const voiceValue = voiceValueSchema;
const planSchema = z
  .object({
    objects: z.array(
      z.object({
        kind: z.enum(VOICE_KINDS),
        identity: z.string(),
        action: z.enum(['create', 'update', 'delete']),
        fields: z.array(z.object({ property: z.string(), oldValue: voiceValue, newValue: voiceValue })),
      }),
    ),
    commands: z.array(z.string()).meta({ description: 'The PowerShell of each Teams command, in order.' }),
  })
  .meta({ id: 'VoiceChangePlan' });

const resultSchema = z
  .object({
    plan: planSchema,
    task: taskViewSchema
      .nullable()
      .meta({ description: 'The queued task; null for a dry run or no change.' }),
    warnings: z.array(z.string()).optional().meta({
      description: 'What to know about a change Teams accepts (e.g. disabling a gateway routes list).',
    }),
  })
  .meta({ id: 'VoiceChangeResult' });

const reconcileBody = z.strictObject({
  action: z.enum(['restore', 'adopt']).default('restore').meta({
    description:
      '`restore`: queue the commands that bring Teams back to what the product set; `adopt`: take what Teams has as the desired state (nothing is sent to Teams).',
  }),
  objects: z
    .array(z.strictObject({ kind: z.enum(VOICE_KINDS), identity: objectName }))
    .min(1)
    .max(500)
    .optional()
    .meta({ description: 'Only these drifted objects; every drifted one when absent.' }),
});

const reconcileResultSchema = z
  .object({
    plan: planSchema,
    task: taskViewSchema
      .nullable()
      .meta({ description: 'The queued task; null for a dry run, an adoption or nothing drifted.' }),
    drift: z.array(voiceObjectDriftSchema).meta({ description: 'The drift reconciled.' }),
  })
  .meta({ id: 'VoiceReconcileResult' });

const auditEntrySchema = z
  .object({
    id: z.string(),
    customerId: z.string(),
    initiatedBy: z.string(),
    taskId: z.string(),
    status: z.enum(VOICE_AUDIT_STATUSES),
    createdAt: z.iso.datetime(),
    completedAt: z.iso.datetime().nullable(),
    error: z.string().nullable(),
    rollbackOf: z.string().nullable(),
    objects: planSchema.shape.objects,
  })
  .meta({ id: 'VoiceAuditEntry' });

export const WRITE_RESPONSES = {
  200: { description: 'The dry run (or nothing to change): what would be done.', schema: resultSchema },
  202: {
    description: 'Queued; the task at Location applies it.',
    schema: resultSchema,
    headers: ['location' as const],
  },
};

const WRITE_ERRORS = {
  validation:
    'Teams would refuse it: `pattern_invalid`, `translation_invalid`, `gateway_unknown`, `gateway_disabled`, `usage_unknown`, `priority_taken`, `name_taken`, `duplicate`, `region_unknown`, `site_unknown`, `policy_unknown`, `ip_invalid`, `mask_out_of_range`, `subnet_not_network`, `subnet_overlaps`, and for a PSTN gateway `fqdn_invalid`, `fqdn_not_allowed`, `port_invalid`, `sessions_invalid`, `timeout_invalid`, `sip_codes_invalid`, `site_required` per field.',
  conflict:
    'Still referenced (`voice_object_in_use`, naming the references), or the customer is Hosted Essentials (`no_m365_for_essentials`).',
  not_found: 'No such customer or object (as of the last replication).',
};

export const READ_ERRORS = {
  conflict: 'The customer is Hosted Essentials: it has no Online Voice Routing (`no_m365_for_essentials`).',
};

export const initiator = (principal: Principal | null) =>
  principal?.name ?? principal?.subject ?? 'an operator';

export interface VoiceObjectFunctionsDeps extends ApiEdge {
  readonly voiceChanges: VoiceChangeService;
}

/** A page of a list read whole from the mirror (a tenant's voice objects are hundreds at most), by `keyOf`. */
function paged<T>(
  request: { readonly url: string },
  query: { readonly top: number; readonly cursor?: string | undefined },
  items: readonly T[],
  keyOf: (item: T) => string,
): ApiResult {
  const page = pageOf(items, keyOf, query);
  return {
    status: 200,
    body: {
      value: page.items,
      nextLink: nextLinkOf(new URL(request.url).pathname, { top: query.top }, page.nextKey),
    },
  };
}

/** A voice write's answer: 202 with the queued task at Location, or 200 (a dry run, nothing to change) without one. */
export function taskAnswer(task: TaskRecord | null, body: Readonly<Record<string, unknown>>): ApiResult {
  return task
    ? {
        status: 202,
        headers: { location: `/api/v1/tasks/${task.id}` },
        body: { ...body, task: toTaskView(task) },
      }
    : { status: 200, body: { ...body, task: null } };
}

export function createVoiceObjectFunctions(services: VoiceObjectFunctionsDeps): FunctionDefinition[] {
  const { voiceChanges } = services;

  const answer = ({ plan, task }: { plan: VoicePlan; task: TaskRecord | null }): ApiResult =>
    taskAnswer(task, { plan });

  async function submit(
    customerId: string,
    changes: readonly VoiceObjectChange[],
    dry: boolean,
    principal: Principal | null,
  ): Promise<ApiResult> {
    return answer(
      await voiceChanges.submit(customerId, changes, { dryRun: dry, initiatedBy: initiator(principal) }),
    );
  }

  /** `submit`, with the row's warnings about the change (read before it is queued) in the answer. */
  async function submitWarned(
    spec: ObjectRouteSpec,
    customerId: string,
    change: VoiceObjectChange,
    dry: boolean,
    principal: Principal | null,
  ): Promise<ApiResult> {
    const warnings = spec.warnings?.(await voiceChanges.config(customerId), change) ?? [];
    const result = await submit(customerId, [change], dry, principal);
    return warnings.length > 0 ? { ...result, body: { ...(result.body as object), warnings } } : result;
  }

  /** The change of an existing object (If-Match from the request, when it has one), or a new one's (`create`). */
  const change = (
    customerId: string,
    kind: VoiceKind,
    identity: string,
    after: VoiceState | null,
    how: 'create' | { readonly request?: Parameters<typeof ifMatchOf>[0] },
  ) => {
    const ifMatch = how !== 'create' && how.request ? ifMatchOf(how.request) : undefined;
    return voiceChanges.changeTo(customerId, kind, identity, after, {
      create: how === 'create',
      ...(ifMatch !== undefined ? { ifMatch } : {}),
    });
  };

  /** The object's view: its identity (without `Tag:`), its editable properties and its ETag; null when absent. */
  const viewOf = (cfg: VoiceConfig, kind: ObjectKind, identity: string) => {
    const found = cfg.find(kind, identity);
    if (!found) return null;
    return {
      identity: found.identity.replace(/^tag:/i, ''),
      ...stateOf(kind, found.data),
      etag: voiceEtag(found.data),
    };
  };

  /** List, read, create, edit and delete of one kind, from its row in OBJECT_ROUTES. */
  function objectRoutes(spec: ObjectRouteSpec): FunctionDefinition[] {
    const { kind, label } = spec;
    const one = `${BASE}/${spec.segment}/{${spec.idParam}}`;
    const params = customerParams.extend({
      [spec.idParam]: objectName.meta({ description: spec.idDescription }),
    });
    // The key is data, so the parsed params' type has an index signature: both values are there once validated.
    const idsOf = (p: z.output<typeof params>) => ({
      customerId: p.customerId ?? '',
      identity: p[spec.idParam] ?? '',
    });
    return [
      defineApiRoute(services, {
        name: `${spec.operation}-list`,
        method: 'GET',
        route: `${BASE}/${spec.segment}`,
        summary: spec.summaries.list,
        tags: TAGS,
        roles: ROLES,
        params: customerParams,
        query: pagingQuery(),
        responses: {
          200: {
            description: `A page of ${label}s, ${spec.orderedBy ? 'by priority' : 'by identity'}.`,
            schema: pageSchema(spec.view, `${spec.view.meta()?.id ?? kind}Page`),
          },
        },
        errors: READ_ERRORS,
        handler: async ({ params, query, request }) => {
          const cfg = await voiceChanges.config(params.customerId);
          const views = cfg
            .names(kind)
            .map((name) => viewOf(cfg, kind, name))
            .filter((view) => view !== null);
          return paged(request, query, views, (v) =>
            spec.orderedBy ? spec.orderedBy(v) : v.identity.toLowerCase(),
          );
        },
      }),
      defineApiRoute(services, {
        name: `${spec.operation}-get`,
        method: 'GET',
        route: one,
        summary: `One ${label}, with its ETag`,
        tags: TAGS,
        roles: ROLES,
        params,
        responses: { 200: { description: `The ${label}.`, schema: spec.view, headers: ['etag'] } },
        errors: { ...READ_ERRORS, not_found: `No such ${label} (as of the last replication).` },
        handler: async ({ params }) => {
          const { customerId, identity } = idsOf(params);
          const view = viewOf(await voiceChanges.config(customerId), kind, identity);
          if (!view) throw domainErrors.notFound(`${customerId} has no ${label} "${identity}".`);
          return { status: 200, headers: { etag: view.etag }, body: view };
        },
      }),
      defineApiRoute(services, {
        name: `${spec.operation}-create`,
        method: 'POST',
        route: `${BASE}/${spec.segment}`,
        summary: spec.summaries.create,
        tags: TAGS,
        roles: ROLES,
        params: customerParams,
        query: dryRun,
        body: spec.create,
        responses: WRITE_RESPONSES,
        errors: WRITE_ERRORS,
        handler: async ({ params, query, body, principal }) => {
          const { identity, ...after } = body;
          return submit(
            params.customerId,
            [await change(params.customerId, kind, identity, after, 'create')],
            query.dryRun,
            principal,
          );
        },
      }),
      defineApiRoute(services, {
        name: `${spec.operation}-update`,
        method: 'PUT',
        route: one,
        summary: spec.summaries.update,
        tags: TAGS,
        roles: ROLES,
        params,
        query: dryRun,
        body: spec.update,
        ifMatch: true,
        responses: WRITE_RESPONSES,
        errors: WRITE_ERRORS,
        handler: async ({ params, query, body, request, principal }) => {
          const { customerId, identity } = idsOf(params);
          return submitWarned(
            spec,
            customerId,
            await change(customerId, kind, identity, body, { request }),
            query.dryRun,
            principal,
          );
        },
      }),
      defineApiRoute(services, {
        name: `${spec.operation}-delete`,
        method: 'DELETE',
        route: one,
        summary: spec.summaries.delete,
        tags: TAGS,
        roles: ROLES,
        params,
        query: dryRun,
        ifMatch: true,
        responses: WRITE_RESPONSES,
        errors: WRITE_ERRORS,
        handler: async ({ params, query, request, principal }) => {
          const { customerId, identity } = idsOf(params);
          return submit(
            customerId,
            [await change(customerId, kind, identity, null, { request })],
            query.dryRun,
            principal,
          );
        },
      }),
    ];
  }

  const auditView = (entry: VoiceAuditEntry) => {
    const { changes, ...rest } = entry;
    return {
      ...rest,
      objects: changes.map((c) => ({
        kind: c.kind,
        identity: c.identity,
        action: actionOf(c),
        fields: fieldChanges(c),
      })),
    };
  };

  return [
    defineApiRoute(services, {
      name: 'voice-pstn-usages-list',
      method: 'GET',
      route: `${BASE}/pstn-usages`,
      summary:
        'Manage Pstn Usage: the tenant-wide usage list, with the routes and policies that name each usage',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: pagingQuery(),
      responses: {
        200: { description: 'A page of usages, by name.', schema: pageSchema(usageView, 'PstnUsagePage') },
      },
      errors: READ_ERRORS,
      handler: async ({ params, query, request }) => {
        const cfg = await voiceChanges.config(params.customerId);
        const naming = (policyName: string, usage: string) =>
          cfg
            .of(policyName)
            .filter((o) =>
              ((o.data.OnlinePstnUsages as string[] | undefined) ?? []).some(
                (u) => u.toLowerCase() === usage.toLowerCase(),
              ),
            )
            .map((o) => o.identity.replace(/^tag:/i, ''));
        return paged(
          request,
          query,
          cfg.usages().map((name) => ({
            name,
            routes: naming('OnlineVoiceRoute', name),
            policies: naming('OnlineVoiceRoutingPolicy', name),
          })),
          (usage) => usage.name.toLowerCase(),
        );
      },
    }),
    defineApiRoute(services, {
      name: 'voice-pstn-usages-create',
      method: 'POST',
      route: `${BASE}/pstn-usages`,
      summary: 'New Usage: add a PSTN usage to the tenant-wide list (queued: Set-CsOnlinePstnUsage)',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: dryRun,
      body: usageCreate,
      responses: WRITE_RESPONSES,
      errors: WRITE_ERRORS,
      handler: async ({ params, query, body, principal }) =>
        submit(
          params.customerId,
          [await change(params.customerId, 'pstn-usages', body.name, {}, 'create')],
          query.dryRun,
          principal,
        ),
    }),
    defineApiRoute(services, {
      name: 'voice-pstn-usages-delete',
      method: 'DELETE',
      route: `${BASE}/pstn-usages/{usage}`,
      summary: 'Delete Usage: refused while a route or a policy names it (queued: Set-CsOnlinePstnUsage)',
      tags: TAGS,
      roles: ROLES,
      params: usageParams,
      query: dryRun,
      responses: WRITE_RESPONSES,
      errors: WRITE_ERRORS,
      handler: async ({ params, query, principal }) =>
        submit(
          params.customerId,
          [await change(params.customerId, 'pstn-usages', params.usage, null, {})],
          query.dryRun,
          principal,
        ),
    }),
    defineApiRoute(services, {
      name: 'voice-routes-reorder',
      method: 'POST',
      route: `${BASE}/voice-routes/reorder`,
      summary: "The green arrows: set every route's priority by its place in the list (one queued task)",
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: dryRun,
      body: routeReorder,
      responses: WRITE_RESPONSES,
      errors: WRITE_ERRORS,
      handler: async ({ params, query, body, principal }) => {
        const cfg = await voiceChanges.config(params.customerId);
        const all = cfg.names('voice-routes');
        const listed = body.routes.map((r) => r.toLowerCase());
        const missing = all.filter((name) => !listed.includes(name.toLowerCase()));
        const errors = [
          ...body.routes.flatMap((name, i) =>
            !all.some((n) => n.toLowerCase() === name.toLowerCase())
              ? [
                  {
                    field: `routes.${i}`,
                    code: 'route_unknown',
                    message: `There is no voice route "${name}".`,
                  },
                ]
              : listed.indexOf(name.toLowerCase()) !== i
                ? [{ field: `routes.${i}`, code: 'duplicate', message: `"${name}" is listed twice.` }]
                : [],
          ),
          ...(missing.length > 0
            ? [
                {
                  field: 'routes',
                  code: 'route_missing',
                  message: `List every route; missing: ${missing.join(', ')}.`,
                },
              ]
            : []),
        ];
        if (errors.length > 0)
          throw domainErrors.validation(errors.map((e) => ({ ...e, in: 'body' as const })));
        const changes: VoiceObjectChange[] = body.routes.flatMap((name, priority) => {
          const found = cfg.find('voice-routes', name);
          const before = found ? stateOf('voice-routes', found.data) : null;
          if (!found || before === null || before.priority === priority) return [];
          return [
            {
              kind: 'voice-routes' as const,
              identity: found.identity,
              before,
              after: { ...before, priority },
            },
          ];
        });
        return submit(params.customerId, changes, query.dryRun, principal);
      },
    }),
    ...OBJECT_ROUTES.flatMap((spec) => objectRoutes(spec)),
    defineApiRoute(services, {
      name: 'voice-reconcile',
      method: 'POST',
      route: `${BASE}/reconcile`,
      summary:
        "Reconcile: bring Teams back to the product's day-two changes (drift), or adopt what Teams has",
      description:
        'The drift report (`GET …/drift`, `objects`) lists the objects the product changed that Teams no longer matches. A restore is checked like any change and queued as one task with its audit entry; refused whole (`voice_reconcile_blocked`) when Teams would refuse one object, naming it.',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: dryRun,
      body: reconcileBody,
      responses: {
        200: { description: 'The dry run, an adoption, or nothing drifted.', schema: reconcileResultSchema },
        202: {
          description: 'Queued; the task at Location restores the objects.',
          schema: reconcileResultSchema,
          headers: ['location' as const],
        },
      },
      errors: {
        validation: 'An object named is not drifted (`not_drifted`).',
        conflict:
          'Teams would refuse to restore an object (`voice_reconcile_blocked`, naming it and why), or the customer is Hosted Essentials (`no_m365_for_essentials`).',
      },
      handler: async ({ params, query, body, principal }) => {
        const { plan, task, drift } = await voiceChanges.reconcile(params.customerId, {
          action: body.action,
          ...(body.objects ? { objects: body.objects } : {}),
          dryRun: query.dryRun,
          initiatedBy: initiator(principal),
        });
        return taskAnswer(task, { plan, drift });
      },
    }),
    defineApiRoute(services, {
      name: 'voice-audit',
      method: 'GET',
      route: `${BASE}/audit`,
      summary: 'The voice audit: each queued voice change with old and new per property (newest first)',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: pagingQuery((key) => /^a~/.test(key)),
      responses: {
        200: { description: 'A page of entries.', schema: pageSchema(auditEntrySchema, 'VoiceAuditPage') },
      },
      errors: READ_ERRORS,
      handler: async ({ params, query }) => {
        const page = await voiceChanges.audit(params.customerId, query.top, query.cursor);
        return {
          status: 200,
          body: {
            value: page.entries.map(auditView),
            nextLink: nextLinkOf(
              `/api/v1/customers/${params.customerId}/voice/audit`,
              { top: query.top },
              page.next,
            ),
          },
        };
      },
    }),
    defineApiRoute(services, {
      name: 'voice-audit-rollback',
      method: 'POST',
      route: `${BASE}/audit/{voiceEntryId}/rollback`,
      summary: 'Roll back a voice change: queues every object it changed back to its state before',
      tags: TAGS,
      roles: ROLES,
      params: entryParams,
      query: dryRun,
      responses: WRITE_RESPONSES,
      errors: {
        ...WRITE_ERRORS,
        conflict: `${WRITE_ERRORS.conflict} Or the object moved since the entry (\`audit_field_moved\`), or the entry was not processed (\`audit_field_not_applied\`).`,
      },
      handler: async ({ params, query, principal }) =>
        answer(
          await voiceChanges.rollback(params.customerId, params.voiceEntryId, {
            dryRun: query.dryRun,
            initiatedBy: initiator(principal),
          }),
        ),
    }),
  ];
}
