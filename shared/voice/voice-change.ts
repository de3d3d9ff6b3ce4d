import { createHash } from 'node:crypto';
import type { MirrorVoiceObject } from '../replication/mirror-store.js';
import { GROUP_POLICY_ASSIGNMENT, groupAssignmentKey } from '../teams/teams-admin-client.js';
import type { TeamsCommand, TeamsParamValue, TeamsRecord } from '../teams/teams-command.js';

/**
 * Day two's unit of work on a customer's Teams voice configuration (issue 13): one object of one kind goes from a
 * state (`before`, null when absent) to another (`after`, null to remove it). The API, dry runs, the queued task,
 * the audit and rollback all speak in these; the Teams commands are derived from them, so a rollback is the same
 * change the other way round.
 */

/** The kinds of voice objects day two edits, as the API names them (the path segment under `…/voice/`). */
export const VOICE_KINDS = [
  'pstn-usages',
  'voice-routes',
  'voice-routing-policies',
  'dial-plans',
  'group-policy-assignments',
  'network-regions',
  'network-sites',
  'network-subnets',
  'trusted-ips',
  'emergency-calling-policies',
  'emergency-call-routing-policies',
  'pstn-gateways',
] as const;
export type VoiceKind = (typeof VOICE_KINDS)[number];

/** One of a tenant dial plan's ordered normalization rules, as the API names its fields. */
export interface NormalizationRule {
  readonly name: string;
  readonly pattern: string;
  readonly translation: string;
  readonly isInternalExtension: boolean;
  readonly description: string;
}

/** One of an emergency call routing policy's EmergencyNumbers (New-CsTeamsEmergencyNumber), as the API names it. */
export interface EmergencyNumber {
  readonly emergencyDialString: string;
  readonly emergencyDialMask: string;
  readonly onlinePstnUsage: string;
}

export type VoiceValue =
  | string
  | number
  | boolean
  | null
  | readonly string[]
  | readonly NormalizationRule[]
  | readonly EmergencyNumber[];
/** An object's editable properties under the API's names (`numberPattern`, `usages` …). */
export type VoiceState = Readonly<Record<string, VoiceValue>>;

/** Teams' EmergencyNumbers entries (New-CsTeamsEmergencyNumber's parameters) ↔ the API's. */
const EMERGENCY_NUMBER_FIELDS = {
  emergencyDialString: 'EmergencyDialString',
  emergencyDialMask: 'EmergencyDialMask',
  onlinePstnUsage: 'OnlinePSTNUsage',
} as const;

interface KindSpec {
  /** The Teams configuration type (`{PolicyName}` of the admin API, `MirrorVoiceObject.policyName`). */
  readonly policyName: string;
  /** The cmdlet noun, e.g. `CsOnlineVoiceRoute`. */
  readonly noun: string;
  /** The manual's name of the object, for messages. */
  readonly label: string;
  /** API property → Teams property. */
  readonly properties: Readonly<Record<string, string>>;
  /** List-valued properties. */
  readonly lists: readonly string[];
  /** Lists whose order matters (a policy's usages are tried in order); Teams keeps the others as sets. */
  readonly ordered: readonly string[];
  /** Properties holding normalization rules (ordered; each rule converted field by field). */
  readonly rules?: readonly string[];
  /** Properties holding other records (an emergency policy's numbers): API field → Teams field, all text. */
  readonly records?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Number-valued properties other than a route's priority (a subnet's MaskBits); null when Teams has none. */
  readonly numbers?: readonly string[];
  /** Boolean properties (a site's EnableLocationBasedRouting); Teams' absent value is false. */
  readonly booleans?: readonly string[];
  /** Properties whose Teams values are an enumeration: API value (kebab-case) → Teams value. */
  readonly enums?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /**
   * The parameter naming a new object in `New-*`, when Teams names it by a property of its own (New-CsTenantNetworkSite
   * -NetworkSiteID, New-CsTenantNetworkSubnet -SubnetID …); `Set-`/`Remove-` take -Identity.
   */
  readonly identityParam?: string;
  /** Policies: identities are `Tag:<name>` and Global always exists. */
  readonly tagged?: boolean;
}

export const VOICE_KIND_SPECS: Readonly<Record<VoiceKind, KindSpec>> = {
  'pstn-usages': {
    policyName: 'OnlinePstnUsages',
    noun: 'CsOnlinePstnUsage',
    label: 'PSTN usage',
    properties: {},
    lists: [],
    ordered: [],
  },
  'voice-routes': {
    policyName: 'OnlineVoiceRoute',
    noun: 'CsOnlineVoiceRoute',
    label: 'voice route',
    properties: {
      description: 'Description',
      numberPattern: 'NumberPattern',
      priority: 'Priority',
      gateways: 'OnlinePstnGatewayList',
      usages: 'OnlinePstnUsages',
    },
    lists: ['gateways', 'usages'],
    ordered: [],
  },
  'voice-routing-policies': {
    policyName: 'OnlineVoiceRoutingPolicy',
    noun: 'CsOnlineVoiceRoutingPolicy',
    label: 'voice routing policy',
    properties: { description: 'Description', usages: 'OnlinePstnUsages' },
    lists: ['usages'],
    ordered: ['usages'],
  },
  'dial-plans': {
    policyName: 'TenantDialPlan',
    noun: 'CsTenantDialPlan',
    label: 'tenant dial plan',
    properties: {
      description: 'Description',
      simpleName: 'SimpleName',
      externalAccessPrefix: 'ExternalAccessPrefix',
      normalizationRules: 'NormalizationRules',
    },
    lists: [],
    ordered: [],
    rules: ['normalizationRules'],
  },
  // A policy granted to a group (issue 13: "grant … to a security group"): identity `{PolicyType}:{GroupId}`
  // (teams-admin-client's groupAssignmentIdentity); see group-policy-assignments.ts.
  'group-policy-assignments': {
    policyName: GROUP_POLICY_ASSIGNMENT,
    noun: 'CsGroupPolicyAssignment',
    label: 'group policy assignment',
    properties: { policyName: 'PolicyName', rank: 'Rank' },
    lists: [],
    ordered: [],
  },
  // Location-based routing's network topology (manual-part-D §1.9–1.11) and the emergency policies a network site
  // names. Sources: New-/Set-CsTenantNetworkRegion, -CsTenantNetworkSite, -CsTenantNetworkSubnet,
  // -CsTenantTrustedIPAddress, -CsTeamsEmergencyCallingPolicy, -CsTeamsEmergencyCallRoutingPolicy and
  // New-CsTeamsEmergencyNumber on learn.microsoft.com/powershell/module/microsoftteams.
  'network-regions': {
    policyName: 'TenantNetworkRegion',
    noun: 'CsTenantNetworkRegion',
    label: 'network region',
    properties: { description: 'Description', centralSite: 'CentralSite' },
    lists: [],
    ordered: [],
    identityParam: 'NetworkRegionID',
  },
  'network-sites': {
    policyName: 'TenantNetworkSite',
    noun: 'CsTenantNetworkSite',
    label: 'network site',
    properties: {
      description: 'Description',
      networkRegionId: 'NetworkRegionID',
      enableLocationBasedRouting: 'EnableLocationBasedRouting',
      networkRoamingPolicy: 'NetworkRoamingPolicy',
      emergencyCallingPolicy: 'EmergencyCallingPolicy',
      emergencyCallRoutingPolicy: 'EmergencyCallRoutingPolicy',
    },
    lists: [],
    ordered: [],
    booleans: ['enableLocationBasedRouting'],
    identityParam: 'NetworkSiteID',
  },
  'network-subnets': {
    policyName: 'TenantNetworkSubnet',
    noun: 'CsTenantNetworkSubnet',
    label: 'network subnet',
    properties: { description: 'Description', maskBits: 'MaskBits', networkSiteId: 'NetworkSiteID' },
    lists: [],
    ordered: [],
    numbers: ['maskBits'],
    identityParam: 'SubnetID',
  },
  'trusted-ips': {
    policyName: 'TenantTrustedIPAddress',
    noun: 'CsTenantTrustedIPAddress',
    label: 'trusted IP address',
    properties: { description: 'Description', maskBits: 'MaskBits' },
    lists: [],
    ordered: [],
    numbers: ['maskBits'],
    identityParam: 'IPAddress',
  },
  'emergency-calling-policies': {
    policyName: 'TeamsEmergencyCallingPolicy',
    noun: 'CsTeamsEmergencyCallingPolicy',
    label: 'emergency calling policy',
    properties: {
      description: 'Description',
      notificationGroup: 'NotificationGroup',
      notificationMode: 'NotificationMode',
      notificationDialOutNumber: 'NotificationDialOutNumber',
      externalLocationLookupMode: 'ExternalLocationLookupMode',
    },
    lists: [],
    ordered: [],
    enums: {
      notificationMode: {
        'notification-only': 'NotificationOnly',
        'conference-muted': 'ConferenceMuted',
        'conference-unmuted': 'ConferenceUnMuted',
      },
      externalLocationLookupMode: { disabled: 'Disabled', enabled: 'Enabled' },
    },
    tagged: true,
  },
  'emergency-call-routing-policies': {
    policyName: 'TeamsEmergencyCallRoutingPolicy',
    noun: 'CsTeamsEmergencyCallRoutingPolicy',
    label: 'emergency call routing policy',
    properties: {
      description: 'Description',
      allowEnhancedEmergencyServices: 'AllowEnhancedEmergencyServices',
      emergencyNumbers: 'EmergencyNumbers',
    },
    lists: [],
    ordered: [],
    booleans: ['allowEnhancedEmergencyServices'],
    records: { emergencyNumbers: EMERGENCY_NUMBER_FIELDS },
    tagged: true,
  },
  // New/Set-CsOnlinePSTNGateway (learn.microsoft.com/powershell/module/teams/new-csonlinepstngateway): the
  // Identity is the SBC's FQDN. Left out: the number translation rules (objects of their own) and IPAddressVersion.
  'pstn-gateways': {
    policyName: 'OnlinePSTNGateway',
    noun: 'CsOnlinePSTNGateway',
    label: 'PSTN gateway',
    properties: {
      description: 'Description',
      sipSignalingPort: 'SipSignalingPort',
      maxConcurrentSessions: 'MaxConcurrentSessions',
      enabled: 'Enabled',
      forwardCallHistory: 'ForwardCallHistory',
      forwardPai: 'ForwardPai',
      sendSipOptions: 'SendSipOptions',
      mediaBypass: 'MediaBypass',
      bypassMode: 'BypassMode',
      failoverTimeSeconds: 'FailoverTimeSeconds',
      failoverResponseCodes: 'FailoverResponseCodes',
      gatewaySiteId: 'GatewaySiteId',
      gatewaySiteLbrEnabled: 'GatewaySiteLbrEnabled',
      gatewayLbrEnabledUserOverride: 'GatewayLbrEnabledUserOverride',
      pidfLoSupported: 'PidfLoSupported',
      mediaRelayRoutingLocationOverride: 'MediaRelayRoutingLocationOverride',
      proxySbc: 'ProxySbc',
    },
    lists: [],
    ordered: [],
    numbers: ['sipSignalingPort', 'maxConcurrentSessions', 'failoverTimeSeconds'],
    booleans: [
      'enabled',
      'forwardCallHistory',
      'forwardPai',
      'sendSipOptions',
      'mediaBypass',
      'gatewaySiteLbrEnabled',
      'gatewayLbrEnabledUserOverride',
      'pidfLoSupported',
    ],
    enums: { bypassMode: { none: 'None', always: 'Always', 'only-for-local-users': 'OnlyForLocalUsers' } },
  },
};

/** Teams' NormalizationRules entries (New-CsVoiceNormalizationRule's parameters) ↔ the API's rules. */
const RULE_FIELDS = {
  name: 'Name',
  pattern: 'Pattern',
  translation: 'Translation',
  isInternalExtension: 'IsInternalExtension',
  description: 'Description',
} as const;

function rulesOf(value: unknown): NormalizationRule[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter((rule): rule is Record<string, unknown> => typeof rule === 'object' && rule !== null)
    .map((rule) => ({
      name: typeof rule.Name === 'string' ? rule.Name : '',
      pattern: typeof rule.Pattern === 'string' ? rule.Pattern : '',
      translation: typeof rule.Translation === 'string' ? rule.Translation : '',
      isInternalExtension: rule.IsInternalExtension === true,
      description: typeof rule.Description === 'string' ? rule.Description : '',
    }));
}

function teamsRules(rules: readonly NormalizationRule[]): TeamsRecord[] {
  return rules.map((rule) =>
    Object.fromEntries(
      Object.entries(RULE_FIELDS).map(([api, teams]) => [teams, rule[api as keyof NormalizationRule]]),
    ),
  );
}

export function isRuleList(value: VoiceValue | undefined): value is readonly NormalizationRule[] {
  return Array.isArray(value) && value.some((item) => typeof item === 'object' && 'pattern' in item);
}

/** A list of records other than normalization rules (an emergency policy's numbers). */
export function isRecordList(value: VoiceValue | undefined): value is readonly EmergencyNumber[] {
  return Array.isArray(value) && value.some((item) => typeof item === 'object' && !('pattern' in item));
}

/** Teams' records (any key case) → the API's, each field text ('' when absent). */
function recordsOf(fields: Readonly<Record<string, string>>, value: unknown): VoiceValue {
  if (!Array.isArray(value)) return [];
  return value
    .filter((item): item is Record<string, unknown> => typeof item === 'object' && item !== null)
    .map((item) => {
      const entries = Object.entries(item);
      return Object.fromEntries(
        Object.entries(fields).map(([api, teams]) => {
          const found = entries.find(([key]) => key.toLowerCase() === teams.toLowerCase())?.[1];
          return [api, typeof found === 'string' ? found : ''];
        }),
      );
    }) as unknown as readonly EmergencyNumber[];
}

/** The API's value of a property → the Teams parameter's, by the kind's spec (records, enumerations). */
function teamsValueOf(kind: VoiceKind, property: string, value: VoiceValue): TeamsParamValue {
  const spec = VOICE_KIND_SPECS[kind];
  const fields = spec.records?.[property];
  if (fields && Array.isArray(value)) {
    return (value as readonly Readonly<Record<string, unknown>>[]).map((record) =>
      Object.fromEntries(Object.entries(fields).map(([api, teams]) => [teams, String(record[api] ?? '')])),
    );
  }
  const values = spec.enums?.[property];
  if (values && typeof value === 'string') return values[value] ?? value;
  return paramOf(value);
}

/** One object's change. `identity` is the object's name (a policy's without `Tag:`). */
export interface VoiceObjectChange {
  readonly kind: VoiceKind;
  readonly identity: string;
  readonly before: VoiceState | null;
  readonly after: VoiceState | null;
}

export type VoiceAction = 'create' | 'update' | 'delete';

export function actionOf(change: Pick<VoiceObjectChange, 'before' | 'after'>): VoiceAction {
  if (change.before === null) return 'create';
  return change.after === null ? 'delete' : 'update';
}

/** One property's old and new value, as the audit and a dry run show them. */
export interface VoiceFieldChange {
  readonly property: string;
  readonly oldValue: VoiceValue;
  readonly newValue: VoiceValue;
}

export const GLOBAL_USAGES = 'Global';

const stripTag = (identity: string) => identity.replace(/^tag:/i, '');
const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** The tenant's voice configuration as the mirror has it, read the way day two needs it. */
export class VoiceConfig {
  constructor(readonly objects: readonly MirrorVoiceObject[]) {}

  of(policyName: string): MirrorVoiceObject[] {
    return this.objects.filter((o) => o.policyName === policyName);
  }

  /** The Global PSTN usage list. */
  usages(): string[] {
    const list = this.of('OnlinePstnUsages').find((o) => same(o.identity, GLOBAL_USAGES));
    return strings(list?.data.Usage);
  }

  /** The object of a kind by name (case-insensitive, `Tag:` optional), or undefined. */
  find(kind: VoiceKind, identity: string): MirrorVoiceObject | undefined {
    if (kind === 'pstn-usages') return undefined;
    return this.of(VOICE_KIND_SPECS[kind].policyName).find((o) =>
      same(stripTag(o.identity), stripTag(identity)),
    );
  }

  /** The object's state, or null when the tenant has none of that name. */
  state(kind: VoiceKind, identity: string): VoiceState | null {
    if (kind === 'pstn-usages') return this.usages().some((u) => same(u, identity)) ? {} : null;
    const found = this.find(kind, identity);
    return found ? stateOf(kind, found.data) : null;
  }

  /** Every object of a kind, by name. */
  names(kind: VoiceKind): string[] {
    if (kind === 'pstn-usages') return this.usages();
    return this.of(VOICE_KIND_SPECS[kind].policyName).map((o) => stripTag(o.identity));
  }

  /** The configuration after the changes, for checks that look at the whole (unique priorities). */
  with(changes: readonly VoiceObjectChange[]): VoiceConfig {
    let objects = [...this.objects];
    for (const change of changes) {
      if (change.kind === 'pstn-usages') {
        const usages = this.usages().filter((u) => !same(u, change.identity));
        if (change.after) usages.push(change.identity);
        objects = objects.filter((o) => o.policyName !== 'OnlinePstnUsages');
        objects.push({
          policyName: 'OnlinePstnUsages',
          identity: GLOBAL_USAGES,
          data: { Identity: GLOBAL_USAGES, Usage: usages },
        });
        continue;
      }
      const spec = VOICE_KIND_SPECS[change.kind];
      const existing = this.find(change.kind, change.identity);
      objects = objects.filter((o) => o !== existing);
      if (change.after) {
        const identity = existing?.identity ?? teamsIdentity(change.kind, change.identity);
        objects.push({
          policyName: spec.policyName,
          identity,
          data: { ...existing?.data, Identity: identity, ...teamsProperties(change.kind, change.after) },
        });
      }
    }
    return new VoiceConfig(objects);
  }
}

/** The identity Teams gives a new object: `Tag:<name>` for policies. */
export function teamsIdentity(kind: VoiceKind, name: string): string {
  return kind === 'voice-routing-policies' || kind === 'dial-plans' || VOICE_KIND_SPECS[kind].tagged === true
    ? `Tag:${stripTag(name)}`
    : name;
}

/** The API's view of a Teams object's editable properties. */
export function stateOf(kind: VoiceKind, data: Readonly<Record<string, unknown>>): VoiceState {
  const spec = VOICE_KIND_SPECS[kind];
  const state: Record<string, VoiceValue> = {};
  for (const [property, teams] of Object.entries(spec.properties)) {
    const value = data[teams];
    const records = spec.records?.[property];
    const values = spec.enums?.[property];
    if (spec.rules?.includes(property)) state[property] = rulesOf(value);
    else if (records) state[property] = recordsOf(records, value);
    else if (spec.booleans?.includes(property)) state[property] = value === true;
    else if (spec.numbers?.includes(property)) state[property] = typeof value === 'number' ? value : null;
    else if (values && typeof value === 'string')
      state[property] =
        Object.entries(values).find(([, teams]) => teams.toLowerCase() === value.toLowerCase())?.[0] ?? value;
    else if (spec.lists.includes(property)) state[property] = strings(value);
    else if (property === 'priority' || property === 'rank')
      state[property] = typeof value === 'number' ? value : 0;
    // A group assignment names its policy bare (Get-CsGroupPolicyAssignment); a `Tag:` would read as another one.
    else if (kind === 'group-policy-assignments' && property === 'policyName')
      state[property] = typeof value === 'string' ? stripTag(value) : null;
    else state[property] = typeof value === 'string' ? value : null;
  }
  return state;
}

function teamsProperties(kind: VoiceKind, state: VoiceState): Record<string, TeamsParamValue> {
  const spec = VOICE_KIND_SPECS[kind];
  const properties: Record<string, TeamsParamValue> = {};
  for (const [property, value] of Object.entries(state)) {
    const teams = spec.properties[property];
    if (teams) properties[teams] = teamsValueOf(kind, property, value);
  }
  return properties;
}

/** Lists compare in order when `ordered`, else as sets; both case-insensitive, like Teams. */
export function sameValue(a: VoiceValue | undefined, b: VoiceValue | undefined, ordered = true): boolean {
  if (isRuleList(a) || isRuleList(b))
    return JSON.stringify(rulesOf(teamsOf(a))) === JSON.stringify(rulesOf(teamsOf(b)));
  if (isRecordList(a) || isRecordList(b)) return JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
  if (Array.isArray(a) || Array.isArray(b)) {
    const x = strings(a);
    const y = strings(b);
    return (
      x.length === y.length && x.every((v, i) => (ordered ? same(v, y[i] ?? '') : y.some((w) => same(v, w))))
    );
  }
  // Teams answers an unset description as '' or null alike.
  return (a ?? '') === (b ?? '');
}

const orderedIn = (kind: VoiceKind, property: string) =>
  !VOICE_KIND_SPECS[kind].lists.includes(property) || VOICE_KIND_SPECS[kind].ordered.includes(property);

export function sameState(kind: VoiceKind, a: VoiceState | null, b: VoiceState | null): boolean {
  if (a === null || b === null) return a === b;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((key) => sameValue(a[key], b[key], orderedIn(kind, key)));
}

/** The properties that change, old and new; a usage's one "property" is its name. */
export function fieldChanges(change: VoiceObjectChange): VoiceFieldChange[] {
  if (change.kind === 'pstn-usages') {
    return [
      {
        property: 'name',
        oldValue: change.before ? change.identity : null,
        newValue: change.after ? change.identity : null,
      },
    ];
  }
  const keys = Object.keys(VOICE_KIND_SPECS[change.kind].properties);
  return keys
    .map((property) => ({
      property,
      oldValue: change.before?.[property] ?? null,
      newValue: change.after?.[property] ?? null,
    }))
    .filter(
      (f) =>
        change.before === null ||
        change.after === null ||
        !sameValue(f.oldValue, f.newValue, orderedIn(change.kind, f.property)),
    );
}

/** A rule list in Teams' shape, so that the API's and Teams' spellings compare alike; other values as they are. */
function teamsOf(value: VoiceValue | undefined): unknown {
  return isRuleList(value) ? teamsRules(value) : value;
}

function paramOf(value: VoiceValue): TeamsParamValue {
  if (isRuleList(value)) return teamsRules(value);
  return Array.isArray(value) ? [...(value as readonly string[])] : (value as TeamsParamValue);
}

/**
 * The Teams commands that make the change, in order, for the engine in shared/teams/teams-commands-rest.ts (each
 * idempotent, so a retried task sends nothing twice). Sources: Set-CsOnlinePstnUsage (the usage list exists only
 * as Global; `@{Add=…}`/`@{Remove=…}`), New/Set/Remove-CsOnlineVoiceRoute, New/Set/Remove-CsOnlineVoiceRoutingPolicy
 * on learn.microsoft.com/powershell/module/teams.
 */
export function commandsOf(change: VoiceObjectChange): TeamsCommand[] {
  const spec = VOICE_KIND_SPECS[change.kind];
  if (change.kind === 'pstn-usages') {
    if (sameState(change.kind, change.before, change.after)) return [];
    const edit = change.after ? { add: [change.identity] } : { remove: [change.identity] };
    return [{ cmdlet: `Set-${spec.noun}`, params: { Identity: GLOBAL_USAGES, Usage: edit } }];
  }
  const identity = identityParams(change);
  if (change.after === null) {
    const commands: TeamsCommand[] = [];
    // The command engine keeps a route that still lists gateways (the cleanup scripts' rule); emptied first,
    // the removal is what the operator asked for.
    if (change.kind === 'voice-routes' && strings(change.before?.gateways).length > 0) {
      commands.push({ cmdlet: `Set-${spec.noun}`, params: { ...identity, OnlinePstnGatewayList: [] } });
    }
    commands.push({ cmdlet: `Remove-${spec.noun}`, params: identity });
    return commands;
  }
  const params: Record<string, TeamsParamValue> =
    change.before === null && spec.identityParam
      ? { [spec.identityParam]: change.identity }
      : { ...identity };
  for (const [property, teams] of Object.entries(spec.properties)) {
    const value = change.after[property];
    if (value === undefined) continue;
    if (change.before !== null && sameValue(change.before[property], value, orderedIn(change.kind, property)))
      continue;
    params[teams] = teamsValueOf(change.kind, property, value);
  }
  if (change.before !== null && Object.keys(params).length === Object.keys(identity).length) return [];
  return [{ cmdlet: `${change.before === null ? 'New' : 'Set'}-${spec.noun}`, params }];
}

/** The parameters naming the object: a group policy assignment's are its policy type and group. */
function identityParams(change: VoiceObjectChange): Record<string, TeamsParamValue> {
  const key = change.kind === 'group-policy-assignments' ? groupAssignmentKey(change.identity) : undefined;
  return key ? { GroupId: key.groupId, PolicyType: key.policyType } : { Identity: change.identity };
}

/** The inverse of a change: what rolls it back. */
export function inverseOf(change: VoiceObjectChange): VoiceObjectChange {
  return { kind: change.kind, identity: change.identity, before: change.after, after: change.before };
}

/** An object's ETag: the hash of the Teams object as the mirror has it. */
export function voiceEtag(data: Readonly<Record<string, unknown>>): string {
  return `"${createHash('sha1').update(JSON.stringify(data)).digest('base64url')}"`;
}

/** What the queued task calls. */
export interface VoiceChangeExecution {
  /**
   * Runs the changes' Teams commands in order (idempotent: a retry sends nothing already in place), then writes the
   * objects as Teams now has them to the mirror and marks the audit entry processed. A permanent failure marks
   * the entry failed with Teams' reason.
   */
  apply(input: {
    readonly customerId: string;
    readonly taskId: string;
    readonly changes: readonly VoiceObjectChange[];
    readonly initiatedBy: string;
    readonly rollbackOf: string | null;
  }): Promise<void>;
}
