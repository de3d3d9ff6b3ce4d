import {
  GROUP_POLICY_ASSIGNMENT,
  groupAssignmentIdentity,
  groupAssignmentKey,
  type TeamsAdminClient,
  TeamsAdminError,
  type TeamsConfigObject,
} from './teams-admin-client.js';
import type { TeamsCommand, TeamsListEdit, TeamsParamValue } from './teams-command.js';

/**
 * Executes Teams commands (`{ cmdlet, params }`) through the Teams admin configuration API, idempotently:
 * - `New-*` of an object that exists with the same values changes nothing; list edits (`@{Add=…}`) given to
 *   `New-*` of an existing object are merged into it (what the default scripts' "if exists, add the gateway"
 *   branch does); other differing values are refused (`AlreadyExists`);
 * - `Set-*` applies list edits as set operations (adding a present member, removing an absent one: no change)
 *   and writes only when something differs;
 * - `Remove-*` of an absent object changes nothing;
 * - `Grant-*` writes only when the user's policy differs (when the service tells the current grant).
 */

type Verb = 'Get' | 'New' | 'Set' | 'Remove';

interface NounSpec {
  readonly policyName: string;
  /** Parameters naming the object, `Identity` first; e.g. `Fqdn` for a gateway. */
  readonly identityParams: readonly string[];
  /** Identities of policies are `Tag:<name>` (and `Global`). */
  readonly tagged: boolean;
  readonly verbs: readonly Verb[];
  /** Canonical property names (the service's); parameters are matched case-insensitively. */
  readonly properties: readonly string[];
  /** List-valued properties: arrays or list edits. */
  readonly lists: readonly string[];
  /** Lists whose order is meaningful (compared in order); the others are sets, as the service treats them. */
  readonly ordered?: readonly string[];
  /** Properties sent as numbers even when written as strings (`-MaskBits "16"`). */
  readonly numbers: readonly string[];
  /**
   * The object is named by two parameters together (`-PolicyType` and `-GroupId` of a group policy assignment):
   * its identity is `{first}:{second}` (teams-admin-client's groupAssignmentIdentity), and a create sends both.
   */
  readonly composite?: readonly [string, string];
}

const ALL_VERBS: readonly Verb[] = ['Get', 'New', 'Set', 'Remove'];

const NOUNS: Readonly<Record<string, NounSpec>> = {
  CsOnlinePSTNGateway: {
    policyName: 'OnlinePSTNGateway',
    identityParams: ['Identity', 'Fqdn'],
    tagged: false,
    verbs: ALL_VERBS,
    properties: [
      'Fqdn',
      'SipSignalingPort',
      'FailoverTimeSeconds',
      'ForwardCallHistory',
      'ForwardPai',
      'SendSipOptions',
      'MaxConcurrentSessions',
      'Enabled',
      'MediaBypass',
      'GatewaySiteId',
      'GatewaySiteLbrEnabled',
      'GatewayLbrEnabledUserOverride',
      'FailoverResponseCodes',
      'PidfLoSupported',
      'MediaRelayRoutingLocationOverride',
      'ProxySbc',
      'BypassMode',
      'Description',
    ],
    lists: [],
    numbers: ['SipSignalingPort', 'FailoverTimeSeconds', 'MaxConcurrentSessions'],
  },
  CsOnlinePstnUsage: {
    policyName: 'OnlinePstnUsages',
    identityParams: ['Identity'],
    tagged: false,
    verbs: ['Get', 'Set'],
    properties: ['Usage'],
    lists: ['Usage'],
    numbers: [],
  },
  CsOnlineVoiceRoute: {
    policyName: 'OnlineVoiceRoute',
    identityParams: ['Identity'],
    tagged: false,
    verbs: ALL_VERBS,
    properties: [
      'Name',
      'Description',
      'NumberPattern',
      'OnlinePstnGatewayList',
      'OnlinePstnUsages',
      'Priority',
      'BridgeSourcePhoneNumber',
    ],
    lists: ['OnlinePstnGatewayList', 'OnlinePstnUsages'],
    numbers: ['Priority'],
  },
  CsOnlineVoiceRoutingPolicy: {
    policyName: 'OnlineVoiceRoutingPolicy',
    identityParams: ['Identity'],
    tagged: true,
    verbs: ALL_VERBS,
    properties: ['Description', 'OnlinePstnUsages', 'RouteType'],
    lists: ['OnlinePstnUsages'],
    // A call tries the policy's usages in the order listed (New-CsOnlineVoiceRoutingPolicy): a reorder is a change.
    ordered: ['OnlinePstnUsages'],
    numbers: [],
  },
  CsTenantDialPlan: {
    policyName: 'TenantDialPlan',
    identityParams: ['Identity'],
    tagged: true,
    verbs: ALL_VERBS,
    properties: [
      'Description',
      'NormalizationRules',
      'SimpleName',
      'ExternalAccessPrefix',
      'OptimizeDeviceDialing',
    ],
    lists: [],
    numbers: [],
  },
  CsTeamsCallingPolicy: {
    policyName: 'TeamsCallingPolicy',
    identityParams: ['Identity'],
    tagged: true,
    verbs: ALL_VERBS,
    properties: [
      'Description',
      'AllowCallForwardingToPhone',
      'AllowCallForwardingToUser',
      'AllowPrivateCalling',
      'PreventTollBypass',
      'AllowVoicemail',
    ],
    lists: [],
    numbers: [],
  },
  CsTenantNetworkRegion: {
    policyName: 'TenantNetworkRegion',
    identityParams: ['Identity', 'NetworkRegionID'],
    tagged: false,
    verbs: ALL_VERBS,
    properties: ['NetworkRegionID', 'Description', 'CentralSite'],
    lists: [],
    numbers: [],
  },
  CsTenantNetworkSite: {
    policyName: 'TenantNetworkSite',
    identityParams: ['Identity', 'NetworkSiteID'],
    tagged: false,
    verbs: ALL_VERBS,
    properties: [
      'NetworkSiteID',
      'NetworkRegionID',
      'Description',
      'EnableLocationBasedRouting',
      'LocationPolicy',
      'EmergencyCallingPolicy',
      'EmergencyCallRoutingPolicy',
      'NetworkRoamingPolicy',
    ],
    lists: [],
    numbers: [],
  },
  CsTenantNetworkSubnet: {
    policyName: 'TenantNetworkSubnet',
    identityParams: ['Identity', 'SubnetID'],
    tagged: false,
    verbs: ALL_VERBS,
    properties: ['SubnetID', 'MaskBits', 'NetworkSiteID', 'Description'],
    lists: [],
    numbers: ['MaskBits'],
  },
  CsTenantTrustedIPAddress: {
    policyName: 'TenantTrustedIPAddress',
    identityParams: ['Identity', 'IPAddress'],
    tagged: false,
    verbs: ALL_VERBS,
    properties: ['IPAddress', 'MaskBits', 'Description'],
    lists: [],
    numbers: ['MaskBits'],
  },
  // New/Get/Set/Remove-CsGroupPolicyAssignment (learn.microsoft.com/powershell/module/teams/new-csgrouppolicyassignment):
  // one assignment per group and policy type; -Rank is its place among the type's assignments, 1 first.
  CsGroupPolicyAssignment: {
    policyName: GROUP_POLICY_ASSIGNMENT,
    identityParams: ['PolicyType', 'GroupId'],
    composite: ['PolicyType', 'GroupId'],
    tagged: false,
    verbs: ALL_VERBS,
    properties: ['PolicyName', 'Rank'],
    lists: [],
    numbers: ['Rank'],
  },
  // New-/Set-CsTeamsEmergencyCallingPolicy and -CsTeamsEmergencyCallRoutingPolicy (learn.microsoft.com/powershell/
  // module/microsoftteams); EmergencyNumbers is a list of New-CsTeamsEmergencyNumber records, sent whole.
  CsTeamsEmergencyCallingPolicy: {
    policyName: 'TeamsEmergencyCallingPolicy',
    identityParams: ['Identity'],
    tagged: true,
    verbs: ALL_VERBS,
    properties: [
      'Description',
      'NotificationGroup',
      'NotificationDialOutNumber',
      'NotificationMode',
      'ExternalLocationLookupMode',
      'EnhancedEmergencyServiceDisclaimer',
    ],
    lists: [],
    numbers: [],
  },
  CsTeamsEmergencyCallRoutingPolicy: {
    policyName: 'TeamsEmergencyCallRoutingPolicy',
    identityParams: ['Identity'],
    tagged: true,
    verbs: ALL_VERBS,
    properties: ['Description', 'EmergencyNumbers', 'AllowEnhancedEmergencyServices'],
    lists: [],
    numbers: [],
  },
};

/** `Grant-<noun>` cmdlets and the policy type they assign. */
const GRANTS: Readonly<Record<string, string>> = {
  CsOnlineVoiceRoutingPolicy: 'OnlineVoiceRoutingPolicy',
  CsTenantDialPlan: 'TenantDialPlan',
  CsTeamsCallingPolicy: 'TeamsCallingPolicy',
};

/** Common parameters that do not change what a cmdlet does here. */
const IGNORED_PARAMS = new Set(['force', 'confirm', 'erroraction', 'warningaction', 'verbose', 'whatif']);

/** Every cmdlet `executeTeamsCommand` understands, e.g. `New-CsOnlinePSTNGateway`. */
export const SUPPORTED_CMDLETS: readonly string[] = [
  ...Object.entries(NOUNS).flatMap(([noun, spec]) => spec.verbs.map((verb) => `${verb}-${noun}`)),
  ...Object.keys(GRANTS).map((noun) => `Grant-${noun}`),
];

export class TeamsCommandError extends Error {
  override readonly name = 'TeamsCommandError';
  constructor(
    readonly code: 'UnsupportedCmdlet' | 'InvalidParameters' | 'NotFound' | 'AlreadyExists',
    message: string,
    readonly cmdlet: string,
  ) {
    super(message);
  }
}

/** What a command would do; `changed: false` means the configuration already is as asked. */
export interface TeamsCommandPlan {
  readonly cmdlet: string;
  readonly action: 'read' | 'create' | 'update' | 'delete' | 'grant' | 'none';
  readonly changed: boolean;
  readonly policyName: string;
  readonly identity?: string;
  /** The object before the command (absent when it does not exist). */
  readonly before?: TeamsConfigObject;
  /** The properties the command sets, with their values after it. */
  readonly changes: Readonly<Record<string, unknown>>;
}

export interface TeamsCommandResult {
  readonly changed: boolean;
  /** The object after the command, a list for `Get-*` without identity, undefined after a removal. */
  readonly result: unknown;
  readonly plan: TeamsCommandPlan;
}

interface Prepared {
  readonly plan: TeamsCommandPlan;
  /** Performs the change; only called when the plan changes something. */
  readonly apply: () => Promise<unknown>;
  /** The result when nothing changes. */
  readonly current: unknown;
}

/** What the command would change, without changing anything (dry runs, the "Queued Change" preview). */
export async function planTeamsCommand(
  client: TeamsAdminClient,
  command: TeamsCommand,
): Promise<TeamsCommandPlan> {
  return (await prepare(client, command)).plan;
}

/** Runs one command; `changed` tells whether the tenant's configuration changed. */
export async function executeTeamsCommand(
  client: TeamsAdminClient,
  command: TeamsCommand,
): Promise<TeamsCommandResult> {
  let prepared = await prepare(client, command);
  if (!prepared.plan.changed) return { changed: false, result: prepared.current, plan: prepared.plan };
  try {
    return { changed: true, result: await prepared.apply(), plan: prepared.plan };
  } catch (error) {
    // Created meanwhile (or by a retried POST): plan again against what is there now.
    if (!(error instanceof TeamsAdminError && error.status === 409 && prepared.plan.action === 'create'))
      throw error;
    prepared = await prepare(client, command);
    if (!prepared.plan.changed) return { changed: false, result: prepared.current, plan: prepared.plan };
    return { changed: true, result: await prepared.apply(), plan: prepared.plan };
  }
}

async function prepare(client: TeamsAdminClient, command: TeamsCommand): Promise<Prepared> {
  const match = /^(Get|New|Set|Remove|Grant)-(.+)$/i.exec(command.cmdlet);
  const verb = match?.[1] ? capitalize(match[1]) : '';
  const noun = match?.[2]
    ? Object.keys(verb === 'Grant' ? GRANTS : NOUNS).find((n) => n.toLowerCase() === match[2]?.toLowerCase())
    : undefined;
  if (!noun || (verb !== 'Grant' && !NOUNS[noun]?.verbs.includes(verb as Verb))) {
    throw new TeamsCommandError(
      'UnsupportedCmdlet',
      `The cmdlet '${command.cmdlet}' is not supported; supported: ${SUPPORTED_CMDLETS.join(', ')}.`,
      command.cmdlet,
    );
  }
  const cmdlet = `${verb}-${noun}`;
  const params = Object.fromEntries(
    Object.entries(command.params).filter(([name]) => !IGNORED_PARAMS.has(name.toLowerCase())),
  );
  if (verb === 'Grant') return prepareGrant(client, cmdlet, GRANTS[noun] ?? noun, params);
  const spec = NOUNS[noun] as NounSpec;
  const identityGiven = identityOf(spec, params, cmdlet);
  const properties = propertiesOf(spec, params, cmdlet);
  if (
    noun === 'CsOnlinePstnUsage' &&
    identityGiven !== undefined &&
    identityGiven.toLowerCase() !== 'global'
  ) {
    throw new TeamsCommandError(
      'InvalidParameters',
      `${cmdlet} works on the Global usage list only.`,
      cmdlet,
    );
  }
  const identity = noun === 'CsOnlinePstnUsage' ? 'Global' : identityGiven;
  const key = identity === undefined ? undefined : normalizeIdentity(spec, identity);
  const base = { cmdlet, policyName: spec.policyName, ...(key !== undefined ? { identity: key } : {}) };

  if (verb === 'Get') {
    if (Object.keys(properties).length > 0) {
      throw new TeamsCommandError('InvalidParameters', `${cmdlet} takes -Identity only.`, cmdlet);
    }
    const current =
      key === undefined
        ? await client.list(spec.policyName)
        : ((await client.get(spec.policyName, key)) ?? null);
    return {
      plan: { ...base, action: 'read', changed: false, changes: {} },
      apply: async () => current,
      current,
    };
  }
  if (key === undefined) {
    throw new TeamsCommandError(
      'InvalidParameters',
      `${cmdlet} needs -${spec.identityParams.slice(0, 2).join(' or -')}.`,
      cmdlet,
    );
  }
  const existing = await client.get(spec.policyName, key);
  if (verb === 'Remove') {
    if (Object.keys(properties).length > 0) {
      throw new TeamsCommandError('InvalidParameters', `${cmdlet} takes -Identity only.`, cmdlet);
    }
    // The cleanup scripts' "if ($route.OnlinePstnGatewayList.count -eq 0)": a route another gateway still uses stays.
    const inUse =
      noun === 'CsOnlineVoiceRoute' &&
      asStrings(valueOf(existing ?? { Identity: '' }, 'OnlinePstnGatewayList')).length > 0;
    if (!existing || inUse)
      return {
        plan: {
          ...base,
          action: 'none',
          changed: false,
          changes: {},
          ...(existing ? { before: existing } : {}),
        },
        apply: async () => undefined,
        current: existing,
      };
    return {
      plan: { ...base, action: 'delete', changed: true, before: existing, changes: {} },
      apply: async () => {
        await client.delete(spec.policyName, existing.Identity);
        return undefined;
      },
      current: existing,
    };
  }
  // Taking something out of an object that is gone already is done (a cleanup run twice).
  const onlyRemovals =
    Object.keys(properties).length > 0 &&
    Object.values(properties).every((value) => isListEdit(value) && (value.add ?? []).length === 0);
  if (verb === 'Set' && !existing && onlyRemovals) {
    return {
      plan: { ...base, action: 'none', changed: false, changes: {} },
      apply: async () => undefined,
      current: undefined,
    };
  }
  if (verb === 'Set' && !existing) {
    throw new TeamsCommandError(
      'NotFound',
      `${cmdlet}: no ${spec.policyName} with Identity '${key}'.`,
      cmdlet,
    );
  }
  if (existing) {
    const changes: Record<string, unknown> = {};
    const conflicts: string[] = [];
    for (const [name, value] of Object.entries(properties)) {
      const before = valueOf(existing, name);
      const after = isListEdit(value) ? applyEdit(asStrings(before), value) : value;
      if (sameValue(before, after, spec.lists.includes(name), spec.ordered?.includes(name) ?? false))
        continue;
      if (verb === 'New' && !isListEdit(value))
        conflicts.push(`${name} is ${JSON.stringify(before)}, not ${JSON.stringify(after)}`);
      changes[name] = after;
    }
    if (conflicts.length > 0) {
      throw new TeamsCommandError(
        'AlreadyExists',
        `${cmdlet}: ${spec.policyName} '${existing.Identity}' already exists and differs: ${conflicts.join('; ')}.`,
        cmdlet,
      );
    }
    const changed = Object.keys(changes).length > 0;
    return {
      plan: { ...base, action: changed ? 'update' : 'none', changed, before: existing, changes },
      apply: () => client.update(spec.policyName, existing.Identity, changes),
      current: existing,
    };
  }
  // New-* of an absent object: list edits become the list they add.
  const body: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(properties))
    body[name] = isListEdit(value) ? applyEdit([], value) : value;
  const identityProperty = spec.identityParams[1];
  const parts = spec.composite ? groupAssignmentKey(key) : undefined;
  if (parts) Object.assign(body, { PolicyType: parts.policyType, GroupId: parts.groupId });
  else if (identityProperty && identity !== undefined) body[identityProperty] = identity;
  const createBody = { Identity: spec.tagged ? stripTag(key) : key, ...body };
  return {
    plan: { ...base, action: 'create', changed: true, changes: body },
    apply: () => client.create(spec.policyName, createBody),
    current: undefined,
  };
}

async function prepareGrant(
  client: TeamsAdminClient,
  cmdlet: string,
  policyType: string,
  params: Record<string, TeamsParamValue>,
): Promise<Prepared> {
  let user: string | undefined;
  let policyName: string | null | undefined;
  for (const [name, value] of Object.entries(params)) {
    const lower = name.toLowerCase();
    if (lower === 'identity') {
      if (typeof value !== 'string' || value === '') throw invalid(cmdlet, '-Identity must name a user.');
      user = value;
    } else if (lower === 'policyname') {
      if (value !== null && typeof value !== 'string')
        throw invalid(cmdlet, '-PolicyName must be a string or $null.');
      policyName = value;
    } else {
      throw invalid(cmdlet, `-${name} is not supported (use -Identity and -PolicyName).`);
    }
  }
  if (user === undefined || policyName === undefined)
    throw invalid(cmdlet, 'needs -Identity and -PolicyName.');
  const wanted =
    policyName === null || policyName === '' || policyName.toLowerCase() === 'global'
      ? null
      : stripTag(policyName);
  // Shown as the plan's "before" only: the read lags a grant by tens of seconds, so a value it shows equal to the
  // wanted one may be about to change (a grant back to Global right after another grant). The grant is always sent;
  // sending it again is harmless (decision 78).
  const granted = (await client.effectivePolicies(user))?.[policyType];
  const currentName = granted === undefined || granted.toLowerCase() === 'global' ? null : stripTag(granted);
  const plan: TeamsCommandPlan = {
    cmdlet,
    action: 'grant',
    changed: true,
    policyName: policyType,
    identity: user,
    ...(granted === undefined
      ? {}
      : { before: { Identity: user, PolicyType: policyType, PolicyName: currentName } }),
    changes: { PolicyType: policyType, PolicyName: wanted },
  };
  return {
    plan,
    apply: async () => {
      await client.grantPolicy(user, policyType, wanted);
      return { PolicyType: policyType, PolicyName: wanted };
    },
    current: { PolicyType: policyType, PolicyName: currentName },
  };
}

function identityOf(
  spec: NounSpec,
  params: Record<string, TeamsParamValue>,
  cmdlet: string,
): string | undefined {
  if (spec.composite) return compositeIdentityOf(spec.composite, params, cmdlet);
  let identity: string | undefined;
  for (const [name, value] of Object.entries(params)) {
    if (!spec.identityParams.some((p) => p.toLowerCase() === name.toLowerCase())) continue;
    if (typeof value !== 'string' || value.trim() === '')
      throw invalid(cmdlet, `-${name} must be a non-empty string.`);
    if (identity !== undefined && identity.toLowerCase() !== value.trim().toLowerCase()) {
      throw invalid(cmdlet, `-${name} '${value}' names another object than '${identity}'.`);
    }
    identity = value.trim();
  }
  return identity;
}

function compositeIdentityOf(
  [first, second]: readonly [string, string],
  params: Record<string, TeamsParamValue>,
  cmdlet: string,
): string | undefined {
  const valueOf = (wanted: string) => {
    const entry = Object.entries(params).find(([name]) => name.toLowerCase() === wanted.toLowerCase());
    if (entry === undefined) return undefined;
    if (typeof entry[1] !== 'string' || entry[1].trim() === '')
      throw invalid(cmdlet, `-${wanted} must be a non-empty string.`);
    return entry[1].trim();
  };
  const a = valueOf(first);
  const b = valueOf(second);
  if (a === undefined && b === undefined) return undefined;
  if (a === undefined || b === undefined) throw invalid(cmdlet, `needs both -${first} and -${second}.`);
  return groupAssignmentIdentity(a, b);
}

/** The non-identity parameters under the service's property names, numbers coerced where the service wants them. */
function propertiesOf(
  spec: NounSpec,
  params: Record<string, TeamsParamValue>,
  cmdlet: string,
): Record<string, TeamsParamValue> {
  const properties: Record<string, TeamsParamValue> = {};
  for (const [name, value] of Object.entries(params)) {
    if (spec.identityParams.some((p) => p.toLowerCase() === name.toLowerCase())) continue;
    const canonical = spec.properties.find((p) => p.toLowerCase() === name.toLowerCase());
    if (!canonical) {
      throw invalid(
        cmdlet,
        `-${name} is not a parameter of ${cmdlet} here; known: ${spec.properties.join(', ')}.`,
      );
    }
    if (spec.lists.includes(canonical)) {
      if (typeof value === 'string') properties[canonical] = [value];
      else if (Array.isArray(value) || isListEdit(value)) properties[canonical] = value;
      else throw invalid(cmdlet, `-${name} takes a list or @{Add=…; Remove=…}.`);
      continue;
    }
    if (isListEdit(value)) throw invalid(cmdlet, `-${name} is not a list.`);
    if (spec.numbers.includes(canonical) && typeof value === 'string') {
      if (!/^-?\d+$/.test(value.trim())) throw invalid(cmdlet, `-${name} must be a number.`);
      properties[canonical] = Number(value.trim());
      continue;
    }
    properties[canonical] = value;
  }
  return properties;
}

function invalid(cmdlet: string, message: string): TeamsCommandError {
  return new TeamsCommandError('InvalidParameters', `${cmdlet}: ${message}`, cmdlet);
}

function normalizeIdentity(spec: NounSpec, identity: string): string {
  if (!spec.tagged) return identity;
  if (/^global$/i.test(identity)) return 'Global';
  return `Tag:${stripTag(identity)}`;
}

function stripTag(identity: string): string {
  return identity.replace(/^tag:/i, '');
}

function valueOf(object: TeamsConfigObject, name: string): unknown {
  const key = Object.keys(object).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : object[key];
}

function isListEdit(value: unknown): value is TeamsListEdit {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** Set semantics, case-insensitive like the service: adds keep order and skip present members. */
function applyEdit(current: readonly string[], edit: TeamsListEdit): string[] {
  const removed = new Set((edit.remove ?? []).map((v) => v.toLowerCase()));
  const result = current.filter((v) => !removed.has(v.toLowerCase()));
  for (const value of edit.add ?? []) {
    if (!result.some((v) => v.toLowerCase() === value.toLowerCase()) && !removed.has(value.toLowerCase())) {
      result.push(value);
    }
  }
  return result;
}

function sameValue(before: unknown, after: unknown, list: boolean, ordered: boolean): boolean {
  if (list) {
    const a = asStrings(before).map((v) => v.toLowerCase());
    const b = asStrings(after).map((v) => v.toLowerCase());
    return a.length === b.length && a.every((v, i) => (ordered ? b[i] === v : b.includes(v)));
  }
  if ((before === undefined || before === null) && (after === null || after === '')) return true;
  if (before === '' && after === null) return true;
  return JSON.stringify(before) === JSON.stringify(after);
}

function capitalize(value: string): string {
  return value.charAt(0).toUpperCase() + value.slice(1).toLowerCase();
}
