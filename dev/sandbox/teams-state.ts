/**
 * The Teams admin configuration of each tenant as the sandbox's Teams admin API keeps it: collection-style
 * configuration objects per `{PolicyName}` (PSTN gateways, PSTN usages, voice routes, policies, network
 * topology) and per-user policy grants, with the referential checks the service makes.
 */

import { isIP } from 'node:net';
import type { TeamsSnapshot } from './snapshot-schema.js';
import { RefusedPolicyTypes, TeamsAdminRoles } from './teams-reality.js';
import { REAL_TEAMS_TIMINGS, type TeamsTimings, TeamsVoiceState } from './teams-voice.js';

/** The kinds of property values the sandbox checks. */
type PropertyKind = 'string' | 'number' | 'boolean' | 'strings' | 'any';

interface PolicySchema {
  /** Canonical property names and their kinds; `Identity` is implicit. */
  readonly properties: Readonly<Record<string, PropertyKind>>;
  /** Values of a new object's properties that the request leaves out. */
  readonly defaults: () => Record<string, unknown>;
  /** Policies (not collections of things) have `Tag:` identities, and a `Global` instance from the start. */
  readonly tagged: boolean;
  /** The property that repeats the identity, e.g. `Fqdn` for a gateway. */
  readonly identityProperty?: string;
  /** Properties a create must carry. */
  readonly required?: readonly string[];
}

function describedPolicy(): PolicySchema {
  return { tagged: true, properties: { Description: 'string' }, defaults: () => ({ Description: '' }) };
}

const SCHEMAS: Readonly<Record<string, PolicySchema>> = {
  OnlinePSTNGateway: {
    tagged: false,
    identityProperty: 'Fqdn',
    required: ['SipSignalingPort'],
    properties: {
      Fqdn: 'string',
      SipSignalingPort: 'number',
      FailoverTimeSeconds: 'number',
      ForwardCallHistory: 'boolean',
      ForwardPai: 'boolean',
      SendSipOptions: 'boolean',
      MaxConcurrentSessions: 'number',
      Enabled: 'boolean',
      MediaBypass: 'boolean',
      GatewaySiteId: 'string',
      GatewaySiteLbrEnabled: 'boolean',
      GatewayLbrEnabledUserOverride: 'boolean',
      FailoverResponseCodes: 'string',
      PidfLoSupported: 'boolean',
      MediaRelayRoutingLocationOverride: 'string',
      ProxySbc: 'string',
      BypassMode: 'string',
      Description: 'string',
    },
    defaults: () => ({
      SipSignalingPort: null,
      FailoverTimeSeconds: 10,
      ForwardCallHistory: false,
      ForwardPai: false,
      SendSipOptions: true,
      MaxConcurrentSessions: null,
      Enabled: false,
      MediaBypass: false,
      GatewaySiteId: '',
      GatewaySiteLbrEnabled: false,
      GatewayLbrEnabledUserOverride: false,
      FailoverResponseCodes: '408,503,504',
      PidfLoSupported: false,
      MediaRelayRoutingLocationOverride: null,
      ProxySbc: null,
      BypassMode: 'None',
      Description: '',
    }),
  },
  OnlinePstnUsages: {
    tagged: false,
    properties: { Usage: 'strings' },
    defaults: () => ({ Usage: [] }),
  },
  OnlineVoiceRoute: {
    tagged: false,
    properties: {
      Name: 'string',
      Description: 'string',
      NumberPattern: 'string',
      OnlinePstnGatewayList: 'strings',
      OnlinePstnUsages: 'strings',
      Priority: 'number',
      BridgeSourcePhoneNumber: 'string',
    },
    defaults: () => ({
      Description: '',
      NumberPattern: '.*',
      OnlinePstnGatewayList: [],
      OnlinePstnUsages: [],
      Priority: 0,
      BridgeSourcePhoneNumber: null,
    }),
  },
  OnlineVoiceRoutingPolicy: {
    tagged: true,
    properties: { Description: 'string', OnlinePstnUsages: 'strings', RouteType: 'string' },
    defaults: () => ({ Description: '', OnlinePstnUsages: [], RouteType: 'BYOT' }),
  },
  TenantDialPlan: {
    tagged: true,
    properties: {
      Description: 'string',
      NormalizationRules: 'any',
      SimpleName: 'string',
      ExternalAccessPrefix: 'string',
      OptimizeDeviceDialing: 'boolean',
    },
    defaults: () => ({
      Description: '',
      NormalizationRules: [],
      SimpleName: '',
      ExternalAccessPrefix: null,
      OptimizeDeviceDialing: false,
    }),
  },
  TeamsCallingPolicy: {
    tagged: true,
    properties: {
      Description: 'string',
      AllowCallForwardingToPhone: 'boolean',
      AllowCallForwardingToUser: 'boolean',
      AllowPrivateCalling: 'boolean',
      PreventTollBypass: 'boolean',
      AllowVoicemail: 'string',
    },
    defaults: () => ({
      Description: '',
      AllowCallForwardingToPhone: true,
      AllowCallForwardingToUser: true,
      AllowPrivateCalling: true,
      PreventTollBypass: false,
      AllowVoicemail: 'UserOverride',
    }),
  },
  // The other per-user policy types a user can be granted (USER_POLICY_TYPES): the sandbox checks only that
  // the instance exists, so their settings are a description.
  CallingLineIdentity: describedPolicy(),
  // New-CsTeamsEmergencyCallingPolicy and New-CsTeamsEmergencyCallRoutingPolicy (learn.microsoft.com/powershell/module/
  // microsoftteams): the properties day two edits; EmergencyNumbers holds New-CsTeamsEmergencyNumber records.
  TeamsEmergencyCallingPolicy: {
    tagged: true,
    properties: {
      Description: 'string',
      NotificationGroup: 'string',
      NotificationDialOutNumber: 'string',
      NotificationMode: 'string',
      ExternalLocationLookupMode: 'string',
      EnhancedEmergencyServiceDisclaimer: 'string',
    },
    defaults: () => ({
      Description: '',
      NotificationGroup: null,
      NotificationDialOutNumber: null,
      NotificationMode: 'NotificationOnly',
      ExternalLocationLookupMode: 'Disabled',
      EnhancedEmergencyServiceDisclaimer: null,
    }),
  },
  TeamsEmergencyCallRoutingPolicy: {
    tagged: true,
    properties: { Description: 'string', EmergencyNumbers: 'any', AllowEnhancedEmergencyServices: 'boolean' },
    defaults: () => ({ Description: '', EmergencyNumbers: [], AllowEnhancedEmergencyServices: false }),
  },
  TeamsMeetingPolicy: describedPolicy(),
  TeamsMessagingPolicy: describedPolicy(),
  TeamsAppSetupPolicy: describedPolicy(),
  TeamsAppPermissionPolicy: describedPolicy(),
  TeamsSurvivableBranchAppliancePolicy: describedPolicy(),
  TeamsComplianceRecordingPolicy: describedPolicy(),
  TeamsVideoInteropServicePolicy: describedPolicy(),
  TeamsUpgradePolicy: describedPolicy(),
  TenantNetworkRegion: {
    tagged: false,
    identityProperty: 'NetworkRegionID',
    properties: { NetworkRegionID: 'string', Description: 'string', CentralSite: 'string' },
    defaults: () => ({ Description: '', CentralSite: '' }),
  },
  TenantNetworkSite: {
    tagged: false,
    identityProperty: 'NetworkSiteID',
    properties: {
      NetworkSiteID: 'string',
      NetworkRegionID: 'string',
      Description: 'string',
      EnableLocationBasedRouting: 'boolean',
      LocationPolicy: 'string',
      EmergencyCallingPolicy: 'string',
      EmergencyCallRoutingPolicy: 'string',
      NetworkRoamingPolicy: 'string',
    },
    defaults: () => ({
      NetworkRegionID: '',
      Description: '',
      EnableLocationBasedRouting: false,
      LocationPolicy: '',
      EmergencyCallingPolicy: '',
      EmergencyCallRoutingPolicy: '',
      NetworkRoamingPolicy: '',
    }),
  },
  TenantNetworkSubnet: {
    tagged: false,
    identityProperty: 'SubnetID',
    required: ['MaskBits'],
    properties: { SubnetID: 'string', MaskBits: 'number', NetworkSiteID: 'string', Description: 'string' },
    defaults: () => ({ NetworkSiteID: '', Description: '' }),
  },
  TenantTrustedIPAddress: {
    tagged: false,
    identityProperty: 'IPAddress',
    properties: { IPAddress: 'string', MaskBits: 'number', Description: 'string' },
    defaults: () => ({ MaskBits: 32, Description: '' }),
  },
};

/** The `{PolicyName}` values the sandbox serves. */
export const TEAMS_POLICY_NAMES: readonly string[] = Object.keys(SCHEMAS);

/** Policy types a user can be granted (each names the configuration of the same name), in a stable order. */
export const GRANTABLE_POLICY_TYPES = [
  'OnlineVoiceRoutingPolicy',
  'TenantDialPlan',
  'TeamsCallingPolicy',
  'CallingLineIdentity',
  'TeamsEmergencyCallingPolicy',
  'TeamsEmergencyCallRoutingPolicy',
  'TeamsMeetingPolicy',
  'TeamsMessagingPolicy',
  'TeamsAppSetupPolicy',
  'TeamsAppPermissionPolicy',
  'TeamsSurvivableBranchAppliancePolicy',
  'TeamsComplianceRecordingPolicy',
  'TeamsVideoInteropServicePolicy',
  'TeamsUpgradePolicy',
] as const;

export type TeamsConfigObject = Record<string, unknown> & { readonly Identity: string };

/**
 * Policy types a group cannot be assigned (New-CsGroupPolicyAssignment on learn.microsoft.com, "As of May 2023 …
 * all policy types used in Teams except": App Permission, Network Roaming, Emergency Call Routing, Voice
 * Applications, Upgrade); of the types the sandbox keeps, the others can.
 */
const NOT_GROUP_ASSIGNABLE = new Set([
  'TeamsAppPermissionPolicy',
  'TeamsNetworkRoamingPolicy',
  'TeamsEmergencyCallRoutingPolicy',
  'TeamsVoiceApplicationsPolicy',
  'TeamsUpgradePolicy',
]);
export const GROUP_ASSIGNABLE_POLICY_TYPES: readonly string[] = GRANTABLE_POLICY_TYPES.filter(
  (type) => !NOT_GROUP_ASSIGNABLE.has(type),
);

/** A group policy assignment as Get-CsGroupPolicyAssignment shows it. */
export interface GroupPolicyAssignment {
  readonly GroupId: string;
  readonly PolicyType: string;
  readonly PolicyName: string;
  readonly Rank: number;
  readonly CreatedTime: string;
  readonly CreatedBy: string | null;
}

/** What the service needs to know of a group (the directory's, told by the peer). */
export interface AssignableGroup {
  readonly securityEnabled: boolean;
  readonly mailEnabled: boolean;
  readonly groupTypes: readonly string[];
}

/** A refused request, in the service's words; `status` is the HTTP status to answer with. */
export class TeamsAdminStateError extends Error {
  override readonly name = 'TeamsAdminStateError';
  constructor(
    readonly status: 400 | 404 | 409,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface TenantTeams {
  /** Per policy name: objects keyed by lower-cased identity, in creation order. */
  readonly collections: Map<string, Map<string, TeamsConfigObject>>;
  /** Per user id: policy type → policy identity (`Tag:…`). */
  readonly grants: Map<string, Record<string, string>>;
  /**
   * Per user id and policy type: the grant before the latest one and when the latest was made, until the latest
   * shows in the effective assignments. Not kept across restarts: a restored grant is effective at once.
   */
  readonly pending: Map<string, Record<string, { previous: string | undefined; at: number }>>;
  /** Group policy assignments in creation order; each type's ranks are 1…n. */
  groupAssignments: GroupPolicyAssignment[];
}

/** Every tenant's Teams voice configuration; a tenant's is created on first use with the service's defaults. */
export class TeamsAdminState {
  private readonly tenants = new Map<string, TenantTeams>();
  /** How long numbers and grants take; the same object the voice state reads, so a test may change it. */
  readonly timings: TeamsTimings;
  /** Numbers, Enterprise Voice and Direct Routing numbers of each tenant's users. */
  readonly voice: TeamsVoiceState;
  /** Apps whose service principal holds a Teams admin role (checked under the reality profile). */
  readonly adminRoles = new TeamsAdminRoles();
  /** Configuration types a tenant's API refuses (under the reality profile). */
  readonly refusedTypes = new RefusedPolicyTypes();

  constructor(
    timings: TeamsTimings = { ...REAL_TEAMS_TIMINGS },
    private readonly now: () => number = Date.now,
  ) {
    this.timings = timings;
    this.voice = new TeamsVoiceState(timings, now);
  }

  clear(): void {
    this.tenants.clear();
    this.voice.clear();
    this.adminRoles.clear();
    this.refusedTypes.clear();
  }

  /** Every tenant's configuration and grants as plain data, for the state file. */
  snapshotAll(skipTenant: (tenantId: string) => boolean = () => false): TeamsSnapshot {
    return [...this.tenants]
      .filter(([tenantId]) => !skipTenant(tenantId))
      .map(([tenantId, tenant]) => ({
        tenantId,
        collections: [...tenant.collections].map(([policyName, objects]) => ({
          policyName,
          objects: [...objects.values()].map(copy),
        })),
        grants: [...tenant.grants].map(([userId, grants]) => ({ userId, grants: { ...grants } })),
        ...(tenant.groupAssignments.length > 0
          ? { groupAssignments: tenant.groupAssignments.map((a) => ({ ...a })) }
          : {}),
        ...this.voiceSnapshot(tenantId),
      }))
      .concat(
        // Tenants whose only Teams state is telephony (no configuration object was ever read or written).
        this.voice
          .tenantIds()
          .filter((tenantId) => !this.tenants.has(tenantId) && !skipTenant(tenantId))
          .map((tenantId) => ({ tenantId, collections: [], grants: [], ...this.voiceSnapshot(tenantId) })),
      );
  }

  private voiceSnapshot(tenantId: string): { voice?: NonNullable<TeamsSnapshot[number]['voice']> } {
    const voice = this.voice.snapshot(tenantId);
    return voice ? { voice } : {};
  }

  restore(snapshot: TeamsSnapshot): void {
    this.clear();
    for (const entry of snapshot) {
      const tenant = this.tenant(entry.tenantId);
      for (const { policyName, objects } of entry.collections) {
        this.schema(policyName);
        // Identities are stored normalised, so the key is the identity in lower case, as `key()` makes it.
        tenant.collections.set(
          policyName,
          new Map(objects.map((object) => [object.Identity.toLowerCase(), copy(object)])),
        );
      }
      for (const { userId, grants } of entry.grants) tenant.grants.set(userId, { ...grants });
      tenant.groupAssignments = (entry.groupAssignments ?? []).map((a) => ({ ...a }));
      if (entry.voice) this.voice.restore(entry.tenantId, entry.voice);
    }
  }

  /** The tenant's configuration objects of one policy name (copies). */
  list(tenantId: string, policyName: string): TeamsConfigObject[] {
    return [...this.collection(tenantId, policyName).values()].map(copy);
  }

  get(tenantId: string, policyName: string, identity: string): TeamsConfigObject | undefined {
    const found = this.collection(tenantId, policyName).get(this.key(policyName, identity));
    return found ? copy(found) : undefined;
  }

  /** Everything of a tenant, for tests: `{ [PolicyName]: objects }` plus the user grants. */
  snapshot(tenantId: string): {
    configurations: Record<string, TeamsConfigObject[]>;
    grants: Record<string, Record<string, string>>;
  } {
    const tenant = this.tenant(tenantId);
    return {
      configurations: Object.fromEntries(
        [...tenant.collections].map(([name, objects]) => [name, [...objects.values()].map(copy)]),
      ),
      grants: Object.fromEntries([...tenant.grants].map(([user, grants]) => [user, { ...grants }])),
    };
  }

  create(tenantId: string, policyName: string, body: Record<string, unknown>): TeamsConfigObject {
    const schema = this.schema(policyName);
    const collection = this.collection(tenantId, policyName);
    const rawIdentity =
      body.Identity ?? (schema.identityProperty ? body[schema.identityProperty] : undefined);
    if (typeof rawIdentity !== 'string' || rawIdentity.trim() === '') {
      throw new TeamsAdminStateError(400, 'BadRequest', `Identity is required to create a ${policyName}.`);
    }
    const identity = this.normalizeIdentity(policyName, rawIdentity.trim());
    if (policyName === 'OnlinePstnUsages' && identity !== 'Global') {
      throw new TeamsAdminStateError(400, 'BadRequest', 'The PSTN usage list exists only as Global.');
    }
    if (collection.has(identity.toLowerCase())) {
      throw new TeamsAdminStateError(
        409,
        'Conflict',
        `A ${policyName} with Identity '${identity}' already exists.`,
      );
    }
    const properties = this.checkProperties(policyName, body);
    for (const required of schema.required ?? []) {
      if (properties[required] === undefined || properties[required] === null) {
        throw new TeamsAdminStateError(
          400,
          'BadRequest',
          `${required} is required to create a ${policyName}.`,
        );
      }
    }
    const created: TeamsConfigObject = {
      Identity: identity,
      ...schema.defaults(),
      ...(schema.identityProperty ? { [schema.identityProperty]: identity } : {}),
      ...properties,
    };
    if (schema.identityProperty) created[schema.identityProperty] = identity;
    this.checkReferences(tenantId, policyName, created);
    collection.set(identity.toLowerCase(), created);
    return copy(created);
  }

  /** Sets the properties the body carries; the others keep their values. */
  update(
    tenantId: string,
    policyName: string,
    identity: string,
    body: Record<string, unknown>,
  ): TeamsConfigObject {
    const schema = this.schema(policyName);
    const collection = this.collection(tenantId, policyName);
    const key = this.key(policyName, identity);
    const existing = collection.get(key);
    if (!existing) throw notFound(policyName, identity);
    if (typeof body.Identity === 'string' && this.key(policyName, body.Identity) !== key) {
      throw new TeamsAdminStateError(
        400,
        'BadRequest',
        `The Identity in the body ('${body.Identity}') does not match the URL ('${identity}').`,
      );
    }
    const properties = this.checkProperties(policyName, body);
    if (schema.identityProperty) delete properties[schema.identityProperty];
    const updated: TeamsConfigObject = { ...existing, ...properties, Identity: existing.Identity };
    this.checkReferences(tenantId, policyName, updated);
    if (policyName === 'OnlinePstnUsages') this.checkUsagesStillUsed(tenantId, updated);
    collection.set(key, updated);
    return copy(updated);
  }

  delete(tenantId: string, policyName: string, identity: string): void {
    const collection = this.collection(tenantId, policyName);
    const key = this.key(policyName, identity);
    const existing = collection.get(key);
    if (!existing) throw notFound(policyName, identity);
    if (this.schema(policyName).tagged && existing.Identity === 'Global') {
      throw new TeamsAdminStateError(400, 'BadRequest', `The Global ${policyName} cannot be removed.`);
    }
    if (policyName === 'OnlinePstnUsages') {
      throw new TeamsAdminStateError(400, 'BadRequest', 'The Global PSTN usage list cannot be removed.');
    }
    const users = this.referencedBy(tenantId, policyName, existing.Identity);
    for (const assignment of this.tenant(tenantId).groupAssignments) {
      if (
        assignment.PolicyType === policyName &&
        this.key(policyName, assignment.PolicyName) === existing.Identity.toLowerCase()
      ) {
        users.push(`the group policy assignment of group '${assignment.GroupId}'`);
      }
    }
    if (users.length > 0) {
      throw new TeamsAdminStateError(
        400,
        'BadRequest',
        `Cannot remove ${policyName} '${existing.Identity}': it is used by ${users.join(', ')}.`,
      );
    }
    collection.delete(key);
  }

  /**
   * Assigns (or, with a null name, removes) a user's policy of one type. The grant is what the Teams admin API
   * reads back at once; Graph's effective assignments show it only `timings.grantVisibleMs` later.
   */
  grant(tenantId: string, userId: string, policyType: string, policyName: string | null): void {
    const canonical = GRANTABLE_POLICY_TYPES.find((t) => t.toLowerCase() === policyType.toLowerCase());
    if (!canonical) {
      throw new TeamsAdminStateError(
        400,
        'BadRequest',
        `PolicyType '${policyType}' cannot be granted; use one of ${GRANTABLE_POLICY_TYPES.join(', ')}.`,
      );
    }
    const tenant = this.tenant(tenantId);
    const grants = tenant.grants.get(userId) ?? {};
    const before = grants[canonical];
    if (policyName === null || policyName === '' || policyName.toLowerCase() === 'global') {
      delete grants[canonical];
    } else {
      const policy = this.get(tenantId, canonical, policyName);
      if (!policy) throw notFound(canonical, policyName, 400);
      grants[canonical] = policy.Identity;
    }
    tenant.grants.set(userId, grants);
    const pending = tenant.pending.get(userId) ?? {};
    // A grant made while an earlier one is still on its way replaces it; what shows until then stays the same.
    const shown = pending[canonical] ? this.shownGrant(pending[canonical], before) : before;
    pending[canonical] = { previous: shown, at: this.now() };
    tenant.pending.set(userId, pending);
  }

  /** The user's granted policies by type (`Tag:…` identities); types without a grant use Global. */
  grants(tenantId: string, userId: string): Record<string, string> {
    return { ...(this.tenant(tenantId).grants.get(userId) ?? {}) };
  }

  /**
   * The grants Graph's `effectivePolicyAssignments` shows now: each type's latest grant once it is
   * `grantVisibleMs` old, the one before until then. `changed` is when the view last changed (epoch ms).
   */
  effectiveGrants(tenantId: string, userId: string): { grants: Record<string, string>; changed: number } {
    const tenant = this.tenant(tenantId);
    const grants = { ...(tenant.grants.get(userId) ?? {}) };
    let changed = 0;
    for (const [type, pending] of Object.entries(tenant.pending.get(userId) ?? {})) {
      const visibleAt = pending.at + this.timings.grantVisibleMs;
      if (visibleAt <= this.now()) {
        changed = Math.max(changed, visibleAt);
        continue;
      }
      if (pending.previous === undefined) delete grants[type];
      else grants[type] = pending.previous;
    }
    return { grants, changed };
  }

  /** Get-CsGroupPolicyAssignment: every assignment, by policy type and rank. */
  groupAssignments(tenantId: string): GroupPolicyAssignment[] {
    return [...this.tenant(tenantId).groupAssignments]
      .sort((a, b) =>
        a.PolicyType === b.PolicyType ? a.Rank - b.Rank : a.PolicyType < b.PolicyType ? -1 : 1,
      )
      .map((a) => ({ ...a }));
  }

  /**
   * New-CsGroupPolicyAssignment. The group must exist (security group, distribution list or Microsoft 365 group),
   * the type be group-assignable and the policy exist; a group has one assignment per type (409). The rank is a
   * place in the type's ordered list: "rank can be specified as any number, but these are converted into
   * sequential values 1, 2, 3 … If a rank is not specified, the policy assignment will be given the lowest rank"
   * — the assignments at and after it move down one.
   */
  createGroupAssignment(
    tenantId: string,
    body: Record<string, unknown>,
    groupOf: (groupId: string) => AssignableGroup | undefined,
    createdBy: string | null,
  ): GroupPolicyAssignment {
    const { GroupId, PolicyType, PolicyName, Rank, ...rest } = body;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) {
      throw new TeamsAdminStateError(
        400,
        'BadRequest',
        `The property '${unknown[0]}' does not exist on a group policy assignment.`,
      );
    }
    if (typeof GroupId !== 'string' || GroupId === '')
      throw new TeamsAdminStateError(400, 'BadRequest', 'GroupId is required.');
    const type = this.assignableType(PolicyType);
    const group = groupOf(GroupId);
    if (!group) {
      throw new TeamsAdminStateError(404, 'NotFound', `The group '${GroupId}' was not found in the tenant.`);
    }
    if (!group.securityEnabled && !group.mailEnabled && !group.groupTypes.includes('Unified')) {
      throw new TeamsAdminStateError(
        400,
        'BadRequest',
        `The group '${GroupId}' is neither a security group, a distribution list nor a Microsoft 365 group.`,
      );
    }
    const name = this.assignablePolicy(tenantId, type, PolicyName);
    const tenant = this.tenant(tenantId);
    const groupId = GroupId.toLowerCase();
    if (tenant.groupAssignments.some((a) => a.PolicyType === type && a.GroupId === groupId)) {
      throw new TeamsAdminStateError(
        409,
        'Conflict',
        `The group '${groupId}' already has a ${type} assignment; change it with Set-CsGroupPolicyAssignment.`,
      );
    }
    const created: GroupPolicyAssignment = {
      GroupId: groupId,
      PolicyType: type,
      PolicyName: name,
      Rank: Number.MAX_SAFE_INTEGER,
      CreatedTime: new Date(this.now()).toISOString(),
      CreatedBy: createdBy,
    };
    tenant.groupAssignments.push(created);
    this.placeAt(tenant, created, this.rankOf(Rank));
    return this.findAssignment(tenant, type, groupId);
  }

  /** Set-CsGroupPolicyAssignment: another policy of the type, another rank (the others move), or both. */
  updateGroupAssignment(
    tenantId: string,
    groupId: string,
    policyType: string,
    body: Record<string, unknown>,
  ): GroupPolicyAssignment {
    const { PolicyName, Rank, GroupId: _group, PolicyType: _type, ...rest } = body;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) {
      throw new TeamsAdminStateError(
        400,
        'BadRequest',
        `The property '${unknown[0]}' cannot be set on a group policy assignment.`,
      );
    }
    const tenant = this.tenant(tenantId);
    const type = this.assignableType(policyType);
    const existing = this.findAssignment(tenant, type, groupId.toLowerCase());
    const name =
      PolicyName === undefined ? existing.PolicyName : this.assignablePolicy(tenantId, type, PolicyName);
    const updated = { ...existing, PolicyName: name };
    tenant.groupAssignments = tenant.groupAssignments.map((a) =>
      a === this.raw(tenant, existing) ? updated : a,
    );
    if (Rank !== undefined) this.placeAt(tenant, updated, this.rankOf(Rank));
    return this.findAssignment(tenant, type, existing.GroupId);
  }

  /** Remove-CsGroupPolicyAssignment: the type's later assignments move up one. */
  deleteGroupAssignment(tenantId: string, groupId: string, policyType: string): void {
    const tenant = this.tenant(tenantId);
    const type = this.assignableType(policyType);
    const existing = this.raw(tenant, this.findAssignment(tenant, type, groupId.toLowerCase()));
    tenant.groupAssignments = tenant.groupAssignments.filter((a) => a !== existing);
    this.renumber(
      tenant,
      type,
      tenant.groupAssignments.filter((a) => a.PolicyType === type).sort((a, b) => a.Rank - b.Rank),
    );
  }

  /**
   * The policy of a type a user inherits from their groups: the best-ranked assignment of a group that has the
   * user as a direct member ("assignments are not propagated to members of nested groups"); a direct grant wins
   * over it (the caller asks only for types the user has no grant of).
   */
  groupGrant(
    tenantId: string,
    policyType: string,
    isMember: (groupId: string) => boolean,
  ): { identity: string; groupId: string } | undefined {
    const best = this.groupAssignments(tenantId)
      .filter((a) => a.PolicyType === policyType)
      .find((a) => isMember(a.GroupId));
    return best ? { identity: `Tag:${best.PolicyName}`, groupId: best.GroupId } : undefined;
  }

  private assignableType(policyType: unknown): string {
    const type =
      typeof policyType === 'string'
        ? GRANTABLE_POLICY_TYPES.find((t) => t.toLowerCase() === policyType.toLowerCase())
        : undefined;
    if (!type || NOT_GROUP_ASSIGNABLE.has(type)) {
      throw new TeamsAdminStateError(
        400,
        'BadRequest',
        `PolicyType '${String(policyType)}' cannot be assigned to a group; use one of ${GROUP_ASSIGNABLE_POLICY_TYPES.join(', ')}.`,
      );
    }
    return type;
  }

  /** The policy's name as the assignment keeps it (without `Tag:`); a policy of the type must exist. */
  private assignablePolicy(tenantId: string, type: string, policyName: unknown): string {
    if (typeof policyName !== 'string' || policyName.trim() === '')
      throw new TeamsAdminStateError(400, 'BadRequest', 'PolicyName is required.');
    const policy = this.get(tenantId, type, policyName.trim());
    if (!policy) throw notFound(type, policyName, 400);
    return policy.Identity.replace(/^tag:/i, '');
  }

  private rankOf(rank: unknown): number {
    if (rank === undefined || rank === null) return Number.MAX_SAFE_INTEGER;
    if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 1) {
      throw new TeamsAdminStateError(400, 'BadRequest', 'Rank must be a positive integer.');
    }
    return rank;
  }

  private findAssignment(tenant: TenantTeams, type: string, groupId: string): GroupPolicyAssignment {
    const found = tenant.groupAssignments.find((a) => a.PolicyType === type && a.GroupId === groupId);
    if (!found) {
      throw new TeamsAdminStateError(404, 'NotFound', `The group '${groupId}' has no ${type} assignment.`);
    }
    return { ...found };
  }

  private raw(tenant: TenantTeams, copy: GroupPolicyAssignment): GroupPolicyAssignment | undefined {
    return tenant.groupAssignments.find(
      (a) => a.PolicyType === copy.PolicyType && a.GroupId === copy.GroupId,
    );
  }

  /** Moves the assignment to `rank` (clamped to the end) among its type's; the type's ranks become 1…n. */
  private placeAt(tenant: TenantTeams, assignment: GroupPolicyAssignment, rank: number): void {
    const type = assignment.PolicyType;
    const others = tenant.groupAssignments
      .filter((a) => a.PolicyType === type && a.GroupId !== assignment.GroupId)
      .sort((a, b) => a.Rank - b.Rank);
    const self = this.raw(tenant, assignment) ?? assignment;
    others.splice(Math.min(rank, others.length + 1) - 1, 0, self);
    this.renumber(tenant, type, others);
  }

  /** The type's assignments take the ranks 1…n in the order given. */
  private renumber(tenant: TenantTeams, type: string, ordered: readonly GroupPolicyAssignment[]): void {
    const ranks = new Map(ordered.map((a, i) => [a, i + 1]));
    tenant.groupAssignments = tenant.groupAssignments.map((a) =>
      a.PolicyType === type && ranks.has(a) ? { ...a, Rank: ranks.get(a) ?? a.Rank } : a,
    );
  }

  private shownGrant(
    pending: { previous: string | undefined; at: number },
    latest: string | undefined,
  ): string | undefined {
    return pending.at + this.timings.grantVisibleMs <= this.now() ? latest : pending.previous;
  }

  private tenant(tenantId: string): TenantTeams {
    const key = tenantId.toLowerCase();
    let tenant = this.tenants.get(key);
    if (!tenant) {
      tenant = { collections: new Map(), grants: new Map(), pending: new Map(), groupAssignments: [] };
      for (const [name, schema] of Object.entries(SCHEMAS)) {
        const objects = new Map<string, TeamsConfigObject>();
        if (schema.tagged) objects.set('global', { Identity: 'Global', ...schema.defaults() });
        if (name === 'OnlinePstnUsages') objects.set('global', { Identity: 'Global', Usage: [] });
        tenant.collections.set(name, objects);
      }
      this.tenants.set(key, tenant);
    }
    return tenant;
  }

  private schema(policyName: string): PolicySchema {
    const schema = SCHEMAS[policyName];
    if (!schema) {
      throw new TeamsAdminStateError(404, 'NotFound', `Unknown configuration type '${policyName}'.`);
    }
    return schema;
  }

  private collection(tenantId: string, policyName: string): Map<string, TeamsConfigObject> {
    this.schema(policyName);
    const collection = this.tenant(tenantId).collections.get(policyName);
    if (!collection) throw new Error(`No collection for ${policyName}.`);
    return collection;
  }

  /** `Unrestricted` and `Tag:Unrestricted` are the same policy; `Global` stays as it is. */
  private normalizeIdentity(policyName: string, identity: string): string {
    if (!this.schema(policyName).tagged) return identity;
    if (/^global$/i.test(identity)) return 'Global';
    return /^tag:/i.test(identity) ? `Tag:${identity.slice(4)}` : `Tag:${identity}`;
  }

  private key(policyName: string, identity: string): string {
    return this.normalizeIdentity(policyName, identity).toLowerCase();
  }

  /** Known properties with values of the right kind, under their canonical names. */
  private checkProperties(policyName: string, body: Record<string, unknown>): Record<string, unknown> {
    const schema = this.schema(policyName);
    const result: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(body)) {
      if (name.toLowerCase() === 'identity') continue;
      const canonical = Object.keys(schema.properties).find((p) => p.toLowerCase() === name.toLowerCase());
      if (!canonical) {
        throw new TeamsAdminStateError(
          400,
          'BadRequest',
          `The property '${name}' does not exist on type '${policyName}'.`,
        );
      }
      const kind = schema.properties[canonical] ?? 'any';
      if (!hasKind(value, kind)) {
        throw new TeamsAdminStateError(
          400,
          'BadRequest',
          `Cannot convert the value of '${canonical}' to the type ${kindName(kind)}.`,
        );
      }
      result[canonical] = kind === 'strings' ? dedupe(value as string[]) : value;
    }
    return result;
  }

  private checkReferences(tenantId: string, policyName: string, object: TeamsConfigObject): void {
    const usages = () =>
      (this.get(tenantId, 'OnlinePstnUsages', 'Global')?.Usage as string[] | undefined) ?? [];
    const requireUsages = (listed: unknown) => {
      for (const usage of (listed as string[] | undefined) ?? []) {
        if (!usages().some((u) => u.toLowerCase() === usage.toLowerCase())) {
          throw new TeamsAdminStateError(
            400,
            'BadRequest',
            `The PSTN usage '${usage}' is not in the tenant's Global PSTN usage list.`,
          );
        }
      }
    };
    const requireObject = (target: string, identity: unknown, what: string) => {
      if (typeof identity !== 'string' || identity === '') return;
      if (!this.get(tenantId, target, identity)) {
        throw new TeamsAdminStateError(400, 'BadRequest', `The ${what} '${identity}' does not exist.`);
      }
    };
    switch (policyName) {
      case 'OnlineVoiceRoute':
        // The service compiles NumberPattern as a .NET regular expression and refuses one that does not parse
        // (New-CsOnlineVoiceRoute: "A regular expression that specifies the phone numbers to which this route
        // applies"); JavaScript's RegExp refuses the same unbalanced groups and brackets.
        if (typeof object.NumberPattern === 'string' && !compiles(object.NumberPattern)) {
          throw new TeamsAdminStateError(
            400,
            'BadRequest',
            `The NumberPattern '${object.NumberPattern}' is not a valid regular expression.`,
          );
        }
        for (const gateway of (object.OnlinePstnGatewayList as string[] | undefined) ?? []) {
          requireObject('OnlinePSTNGateway', gateway, 'PSTN gateway');
        }
        requireUsages(object.OnlinePstnUsages);
        break;
      case 'OnlineVoiceRoutingPolicy':
        requireUsages(object.OnlinePstnUsages);
        break;
      case 'TenantDialPlan':
        // Each rule's Pattern is a .NET regular expression (New-CsVoiceNormalizationRule -Pattern).
        for (const rule of Array.isArray(object.NormalizationRules) ? object.NormalizationRules : []) {
          const pattern = (rule as { Pattern?: unknown }).Pattern;
          if (typeof pattern === 'string' && !compiles(pattern)) {
            throw new TeamsAdminStateError(
              400,
              'BadRequest',
              `The normalization rule pattern '${pattern}' is not a valid regular expression.`,
            );
          }
        }
        break;
      case 'TenantNetworkSite':
        if (!object.NetworkRegionID) {
          throw new TeamsAdminStateError(
            400,
            'BadRequest',
            'NetworkRegionID is required for a network site.',
          );
        }
        requireObject('TenantNetworkRegion', object.NetworkRegionID, 'network region');
        requireObject(
          'TeamsEmergencyCallingPolicy',
          object.EmergencyCallingPolicy,
          'emergency calling policy',
        );
        requireObject(
          'TeamsEmergencyCallRoutingPolicy',
          object.EmergencyCallRoutingPolicy,
          'emergency call routing policy',
        );
        break;
      case 'TenantNetworkSubnet':
        if (!object.NetworkSiteID) {
          throw new TeamsAdminStateError(
            400,
            'BadRequest',
            'NetworkSiteID is required for a network subnet.',
          );
        }
        requireObject('TenantNetworkSite', object.NetworkSiteID, 'network site');
        checkAddress(object.Identity, object.MaskBits, 'SubnetID');
        break;
      case 'TenantTrustedIPAddress':
        checkAddress(object.Identity, object.MaskBits, 'IPAddress');
        break;
      case 'TeamsEmergencyCallingPolicy':
        // NotificationMode and ExternalLocationLookupMode are enumerations of the cmdlets.
        checkEnum('NotificationMode', object.NotificationMode, [
          'NotificationOnly',
          'ConferenceMuted',
          'ConferenceUnMuted',
        ]);
        checkEnum('ExternalLocationLookupMode', object.ExternalLocationLookupMode, ['Disabled', 'Enabled']);
        break;
      case 'TeamsEmergencyCallRoutingPolicy':
        for (const number of emergencyNumbersOf(object)) {
          // New-CsTeamsEmergencyNumber: the dial mask is "list of numbers separated by semicolon … from 1 to 10
          // digits"; the OnlinePSTNUsage "must previously exist" (New-CsTeamsEmergencyCallRoutingPolicy).
          if (!/^([0-9]{1,10}(;[0-9]{1,10})*)?$/.test(number.EmergencyDialMask ?? '')) {
            throw new TeamsAdminStateError(
              400,
              'BadRequest',
              `The EmergencyDialMask '${number.EmergencyDialMask}' is not a list of numbers of 1 to 10 digits separated by semicolons.`,
            );
          }
          requireUsages(number.OnlinePSTNUsage ? [number.OnlinePSTNUsage] : []);
        }
        break;
      case 'OnlinePSTNGateway':
        checkGateway(object);
        requireObject('TenantNetworkSite', object.GatewaySiteId, 'network site');
        break;
    }
  }

  /** A usage leaves the Global list only when no voice route, voice routing policy or emergency number names it. */
  private checkUsagesStillUsed(tenantId: string, updated: TeamsConfigObject): void {
    const remaining = new Set(((updated.Usage as string[] | undefined) ?? []).map((u) => u.toLowerCase()));
    for (const policyName of ['OnlineVoiceRoute', 'OnlineVoiceRoutingPolicy']) {
      for (const object of this.list(tenantId, policyName)) {
        const missing = ((object.OnlinePstnUsages as string[] | undefined) ?? []).find(
          (u) => !remaining.has(u.toLowerCase()),
        );
        if (missing) {
          throw new TeamsAdminStateError(
            400,
            'BadRequest',
            `Cannot remove the PSTN usage '${missing}': ${policyName} '${object.Identity}' uses it.`,
          );
        }
      }
    }
    for (const object of this.list(tenantId, 'TeamsEmergencyCallRoutingPolicy')) {
      const missing = emergencyNumbersOf(object).find(
        (n) => n.OnlinePSTNUsage !== undefined && !remaining.has(n.OnlinePSTNUsage.toLowerCase()),
      );
      if (missing) {
        throw new TeamsAdminStateError(
          400,
          'BadRequest',
          `Cannot remove the PSTN usage '${missing.OnlinePSTNUsage}': TeamsEmergencyCallRoutingPolicy '${object.Identity}' uses it.`,
        );
      }
    }
  }

  /** Who names the object: the references that keep it from being removed. */
  private referencedBy(tenantId: string, policyName: string, identity: string): string[] {
    const same = (value: unknown) =>
      typeof value === 'string' && value.toLowerCase() === identity.toLowerCase();
    const users: string[] = [];
    const scan = (target: string, matches: (object: TeamsConfigObject) => boolean) => {
      for (const object of this.list(tenantId, target)) {
        if (matches(object)) users.push(`${target} '${object.Identity}'`);
      }
    };
    switch (policyName) {
      case 'OnlinePSTNGateway':
        scan('OnlineVoiceRoute', (o) => ((o.OnlinePstnGatewayList as string[]) ?? []).some(same));
        break;
      case 'TenantNetworkRegion':
        scan('TenantNetworkSite', (o) => same(o.NetworkRegionID));
        break;
      case 'TenantNetworkSite':
        scan('TenantNetworkSubnet', (o) => same(o.NetworkSiteID));
        scan('OnlinePSTNGateway', (o) => same(o.GatewaySiteId));
        break;
      case 'TeamsEmergencyCallingPolicy':
      case 'TeamsEmergencyCallRoutingPolicy': {
        // A site names a policy with or without Tag:.
        const named = (value: unknown) =>
          typeof value === 'string' &&
          value !== '' &&
          this.key(policyName, value) === this.key(policyName, identity);
        const property =
          policyName === 'TeamsEmergencyCallingPolicy'
            ? 'EmergencyCallingPolicy'
            : 'EmergencyCallRoutingPolicy';
        scan('TenantNetworkSite', (o) => named(o[property]));
        break;
      }
    }
    return users;
  }
}

/**
 * What New/Set-CsOnlinePSTNGateway refuse (learn.microsoft.com/powershell/module/teams/new-csonlinepstngateway and
 * microsoftteams/direct-routing-connect-the-sbc): an Fqdn that is not a host name of at most 63 characters or is in
 * *.onmicrosoft.com, a SipSignalingPort outside 1–65535, session and failover limits below 1, a BypassMode other
 * than None, Always or OnlyForLocalUsers, and FailoverResponseCodes that are not SIP codes. Whether the FQDN's
 * domain is registered in the tenant is not checked: the sandbox's tenants do not hold the domains of the SBCs
 * that manual-DNS onboarding pairs (see docs/decisions.md).
 */
function checkGateway(object: TeamsConfigObject): void {
  const refuse = (message: string) => {
    throw new TeamsAdminStateError(400, 'BadRequest', message);
  };
  const fqdn = object.Identity;
  if (!/^(?=.{1,63}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i.test(fqdn)) {
    refuse(`The Fqdn '${fqdn}' is not valid: it must be a host name of at most 63 characters.`);
  }
  if (/(^|\.)onmicrosoft\.com$/i.test(fqdn)) {
    refuse(`The Fqdn '${fqdn}' is not valid: the *.onmicrosoft.com domain is not supported for an SBC.`);
  }
  const port = object.SipSignalingPort;
  if (typeof port === 'number' && (!Number.isInteger(port) || port < 1 || port > 65_535)) {
    refuse(`SipSignalingPort ${port} is not valid: it must be a value between 1 and 65535.`);
  }
  for (const name of ['MaxConcurrentSessions', 'FailoverTimeSeconds']) {
    const value = object[name];
    if (typeof value === 'number' && (!Number.isInteger(value) || value < 1)) {
      refuse(`${name} ${value} is not valid: it must be a positive whole number.`);
    }
  }
  const mode = object.BypassMode;
  if (typeof mode === 'string' && !/^(none|always|onlyforlocalusers)$/i.test(mode)) {
    refuse(`BypassMode '${mode}' is not valid: use None, Always or OnlyForLocalUsers.`);
  }
  const codes = object.FailoverResponseCodes;
  if (typeof codes === 'string' && codes !== '' && !/^\s*[4-6]\d\d\s*(,\s*[4-6]\d\d\s*)*$/.test(codes)) {
    refuse(`FailoverResponseCodes '${codes}' is not valid: a comma-separated list of SIP response codes.`);
  }
}

function notFound(policyName: string, identity: string, status: 400 | 404 = 404): TeamsAdminStateError {
  return new TeamsAdminStateError(
    status,
    status === 404 ? 'NotFound' : 'BadRequest',
    `The ${policyName} with Identity '${identity}' was not found.`,
  );
}

interface EmergencyNumberRecord {
  readonly EmergencyDialString?: string;
  readonly EmergencyDialMask?: string;
  readonly OnlinePSTNUsage?: string;
}

function emergencyNumbersOf(object: TeamsConfigObject): EmergencyNumberRecord[] {
  const numbers = Array.isArray(object.EmergencyNumbers) ? (object.EmergencyNumbers as unknown[]) : [];
  return numbers.filter((n): n is EmergencyNumberRecord => typeof n === 'object' && n !== null);
}

function checkEnum(property: string, value: unknown, allowed: readonly string[]): void {
  if (value === null || value === undefined) return;
  if (typeof value !== 'string' || !allowed.some((a) => a.toLowerCase() === value.toLowerCase())) {
    throw new TeamsAdminStateError(
      400,
      'BadRequest',
      `Cannot convert value '${String(value)}' of ${property}; valid values are ${allowed.join(', ')}.`,
    );
  }
}

/**
 * A subnet's or trusted IP's address and MaskBits: "Both IPv4 and IPv6 subnets are supported"; "IPv4 format subnet
 * accepts maskbits from 0 to 32 inclusive" (Set-CsTenantNetworkSubnet), IPv6 up to 128. Node's parser stands in for
 * .NET's IPAddress.TryParse; the service does not require a network address (its own example is 192.168.0.1/24).
 */
function checkAddress(address: string, maskBits: unknown, what: string): void {
  const family = isIP(address);
  if (family === 0) {
    throw new TeamsAdminStateError(400, 'BadRequest', `The ${what} '${address}' is not a valid IP address.`);
  }
  const max = family === 4 ? 32 : 128;
  if (typeof maskBits === 'number' && (!Number.isInteger(maskBits) || maskBits < 0 || maskBits > max)) {
    throw new TeamsAdminStateError(
      400,
      'BadRequest',
      `MaskBits ${maskBits} is out of range for IPv${family}: from 0 to ${max} inclusive.`,
    );
  }
}

function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

function hasKind(value: unknown, kind: PropertyKind): boolean {
  if (value === null || kind === 'any') return true;
  if (kind === 'strings') return Array.isArray(value) && value.every((v) => typeof v === 'string');
  return typeof value === kind;
}

function kindName(kind: PropertyKind): string {
  return { string: 'String', number: 'Int32', boolean: 'Boolean', strings: 'String[]', any: 'Object' }[kind];
}

/** Lists behave as sets with case-insensitive members, keeping the first spelling. */
function dedupe(values: readonly string[]): string[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    const key = v.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function copy(object: TeamsConfigObject): TeamsConfigObject {
  return structuredClone(object);
}
