import { createHash, randomUUID } from 'node:crypto';
import type { DirectoryUser } from './state.js';
import {
  type DirectoryChange,
  EFFECTIVE_POLICY_TYPES,
  type GroupChange,
  type GroupRecord,
  groupChangesIn,
  type NewDirectoryChange,
  policyAssignment,
  type TeamsUserRecord,
  type TenantDirectory,
  userChangesIn,
} from './tenant-directory.js';
import type { TeamsAdminState } from './teams-state.js';

/**
 * A generated tenant for load tests: N users with Teams configurations, groups and memberships, computed from the
 * user's index on demand (nothing per user is stored), plus an overlay of the changes made since (renames,
 * deletions, additions, membership and Teams changes) and a change log that Graph's delta queries read.
 *
 * Ids keep the generated objects in index order: `<prefix>-<index as 12 hex digits>`, with a prefix derived from
 * the seed and the tenant, so a page "after id X" is arithmetic and an id tells its index.
 */
export interface ScaleTenantOptions {
  readonly tenantId: string;
  /** The domain of the users' UPNs (the tenant's initial domain). */
  readonly domain: string;
  readonly users: number;
  /** Regular groups; each user belongs to one (index modulo the count). A "Voice Users" group comes on top. */
  readonly groups: number;
  readonly seed: string;
  /** When the directory was "created": the Teams configurations' created and modified time. */
  readonly createdDateTime: string;
}

export interface ScaleUserInput {
  readonly displayName: string;
  readonly userPrincipalName?: string;
  readonly department?: string | null;
  readonly usageLocation?: string | null;
  readonly accountEnabled?: boolean;
  readonly enterpriseVoiceEnabled?: boolean;
  readonly telephoneNumber?: string | null;
}

export type ScaleUserChanges = Partial<
  Pick<
    DirectoryUser,
    | 'displayName'
    | 'userPrincipalName'
    | 'department'
    | 'usageLocation'
    | 'accountEnabled'
    | 'jobTitle'
    | 'mobilePhone'
    | 'businessPhones'
  >
>;

export interface ScaleTeamsChanges {
  readonly enterpriseVoiceEnabled?: boolean;
  /** E.164; null removes the number. */
  readonly telephoneNumber?: string | null;
  /** Policy type → identity (`Global` for the default). */
  readonly policies?: Readonly<Record<string, string>>;
}

interface TeamsOverlay {
  readonly enterpriseVoiceEnabled?: boolean;
  readonly telephoneNumber?: string | null;
  readonly policies?: Readonly<Record<string, string>>;
  readonly modified: string;
}

export class ScaleTenantError extends Error {
  override readonly name = 'ScaleTenantError';
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

const GIVEN = ['Adele', 'Alex', 'Diego', 'Grady', 'Isaiah', 'Johanna', 'Lee', 'Lidia', 'Megan', 'Nestor'];
const SURNAMES = ['Vance', 'Wilber', 'Archie', 'Mueller', 'Langer', 'Sherman', 'Holloway', 'Bowen', 'Patel'];
const DEPARTMENTS = ['Sales', 'Engineering', 'Support', 'Finance', 'Operations', 'Marketing', 'Legal', 'HR'];
const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'NL', 'BE', 'IT', 'ES'];
const JOB_TITLES = ['Account Manager', 'Engineer', 'Support Agent', 'Analyst', 'Coordinator', 'Specialist'];

export class ScaleDirectory implements TenantDirectory {
  readonly epoch = randomUUID();
  private sequence = 0;
  private readonly log: DirectoryChange[] = [];
  private readonly userPrefix: string;
  private readonly groupPrefix: string;
  private readonly overrides = new Map<string, ScaleUserChanges>();
  private readonly teamsOverrides = new Map<string, TeamsOverlay>();
  private readonly deleted = new Set<string>();
  /** Users created after generation, with their Teams side; ids are random, kept sorted in `addedIds`. */
  private readonly added = new Map<string, DirectoryUser>();
  private addedIds: string[] = [];
  private readonly groupOverrides = new Map<
    string,
    Partial<Pick<GroupRecord, 'displayName' | 'description'>>
  >();
  private readonly memberAdds = new Map<string, Set<string>>();
  private readonly memberRemoves = new Map<string, Set<string>>();
  private readonly createdMs: number;

  constructor(readonly options: ScaleTenantOptions) {
    if (!Number.isInteger(options.users) || options.users < 0 || options.users > 1_000_000) {
      throw new ScaleTenantError(400, 'users must be a whole number from 0 to 1,000,000.');
    }
    if (!Number.isInteger(options.groups) || options.groups < 1 || options.groups > 100_000) {
      throw new ScaleTenantError(400, 'groups must be a whole number from 1 to 100,000.');
    }
    this.userPrefix = prefixOf(`${options.seed}/${options.tenantId}/users`);
    this.groupPrefix = prefixOf(`${options.seed}/${options.tenantId}/groups`);
    this.createdMs = Date.parse(options.createdDateTime);
  }

  // ---- reads (TenantDirectory) ----

  seq(): number {
    return this.sequence;
  }

  usersAfter(after: string | undefined, limit: number): DirectoryUser[] {
    const result: DirectoryUser[] = [];
    let index = this.firstIndexAfter(this.userPrefix, after, this.options.users);
    let addedAt = after === undefined ? 0 : upperBound(this.addedIds, after);
    while (result.length < limit) {
      while (index < this.options.users && this.deleted.has(this.userId(index))) index++;
      const generated = index < this.options.users ? this.userId(index) : undefined;
      const extra = this.addedIds[addedAt];
      if (generated === undefined && extra === undefined) break;
      if (extra === undefined || (generated !== undefined && generated < extra)) {
        result.push(this.generatedUser(index));
        index++;
      } else {
        result.push(this.added.get(extra) as DirectoryUser);
        addedAt++;
      }
    }
    return result;
  }

  user(id: string): DirectoryUser | undefined {
    const key = id.toLowerCase();
    if (this.deleted.has(key)) return undefined;
    const added = this.added.get(key);
    if (added) return added;
    const index = this.indexOf(this.userPrefix, key, this.options.users);
    return index === undefined ? undefined : this.generatedUser(index);
  }

  /** By id or UPN; the UPN search walks the overlay and parses the generated pattern. */
  findUser(idOrUpn: string): DirectoryUser | undefined {
    const byId = this.user(idOrUpn);
    if (byId) return byId;
    const upn = idOrUpn.toLowerCase();
    for (const user of this.added.values()) if (user.userPrincipalName.toLowerCase() === upn) return user;
    for (const [id, changes] of this.overrides) {
      if (changes.userPrincipalName?.toLowerCase() === upn) return this.user(id);
    }
    const match = /^u(\d+)@(.+)$/.exec(upn);
    if (!match || match[2] !== this.options.domain.toLowerCase()) return undefined;
    const user = this.user(this.userId(Number(match[1])));
    return user?.userPrincipalName.toLowerCase() === upn ? user : undefined;
  }

  teamsUser(id: string): TeamsUserRecord | undefined {
    const user = this.user(id);
    if (!user) return undefined;
    const index = this.added.has(user.id)
      ? undefined
      : this.indexOf(this.userPrefix, user.id, this.options.users);
    const overlay = this.teamsOverrides.get(user.id);
    const baseVoice = index !== undefined && index % 4 !== 3;
    const voice = overlay?.enterpriseVoiceEnabled ?? baseVoice;
    const number =
      overlay?.telephoneNumber !== undefined
        ? overlay.telephoneNumber
        : index !== undefined && baseVoice
          ? `+1555${String(index).padStart(7, '0')}`
          : null;
    const basePolicies: Record<string, string> =
      index === undefined
        ? {}
        : {
            ...(baseVoice ? { OnlineVoiceRoutingPolicy: 'Tag:Unrestricted' } : {}),
            ...(index % 10 === 0 ? { TenantDialPlan: 'Tag:DP-Intl' } : {}),
          };
    const policies = { ...basePolicies, ...overlay?.policies };
    return {
      id: user.id,
      tenantId: this.options.tenantId,
      userPrincipalName: user.userPrincipalName,
      accountType: 'user',
      isEnterpriseVoiceEnabled: voice,
      telephoneNumbers: number ? [{ telephoneNumber: number, assignmentCategory: 'primary' }] : [],
      effectivePolicyAssignments: EFFECTIVE_POLICY_TYPES.map((type) =>
        policyAssignment(this.options.tenantId, type, policies[type] ?? 'Global'),
      ),
      featureTypes: voice ? ['Teams', 'AudioConferencing', 'PhoneSystem'] : ['Teams', 'AudioConferencing'],
      createdDateTime: this.options.createdDateTime,
      modifiedDateTime: overlay?.modified ?? this.options.createdDateTime,
    };
  }

  teamsModifiedSince(since: number): string[] {
    if (since <= this.createdMs) return this.usersAfter(undefined, Number.MAX_SAFE_INTEGER).map((u) => u.id);
    return [...this.teamsOverrides]
      .filter(([id, overlay]) => Date.parse(overlay.modified) >= since && !this.deleted.has(id))
      .map(([id]) => id)
      .sort();
  }

  groupsAfter(after: string | undefined, limit: number): GroupRecord[] {
    const result: GroupRecord[] = [];
    const count = this.options.groups + 1;
    for (
      let index = this.firstIndexAfter(this.groupPrefix, after, count);
      index < count && result.length < limit;
      index++
    ) {
      result.push(this.generatedGroup(index));
    }
    return result;
  }

  group(id: string): GroupRecord | undefined {
    const index = this.indexOf(this.groupPrefix, id.toLowerCase(), this.options.groups + 1);
    return index === undefined ? undefined : this.generatedGroup(index);
  }

  /** Generated members first (cursor `g<index>`), then members added later (cursor `a<after id>`). */
  members(groupId: string, cursor: string | undefined, limit: number): { ids: string[]; next?: string } {
    const group = this.indexOf(this.groupPrefix, groupId.toLowerCase(), this.options.groups + 1);
    if (group === undefined) return { ids: [] };
    const id = this.groupId(group);
    const removed = this.memberRemoves.get(id) ?? new Set<string>();
    const ids: string[] = [];
    let position = cursor ?? 'g0';
    if (position.startsWith('g')) {
      let index = Number(position.slice(1));
      while (ids.length < limit) {
        index = this.nextMemberIndex(group, index);
        if (index >= this.options.users) break;
        const user = this.userId(index);
        if (!this.deleted.has(user) && !removed.has(user)) ids.push(user);
        index++;
      }
      if (ids.length === limit) return { ids, next: `g${index}` };
      position = 'a';
    }
    const after = position.slice(1);
    const extra = [...(this.memberAdds.get(id) ?? [])]
      .filter((user) => !this.deleted.has(user) && (after === '' || user > after))
      .sort();
    for (const user of extra) {
      if (ids.length === limit) return { ids, next: `a${ids.at(-1) ?? after}` };
      ids.push(user);
    }
    return { ids };
  }

  userChanges(from: number, to: number): string[] {
    return userChangesIn(this.log, from, to);
  }

  groupChanges(from: number, to: number): GroupChange[] {
    return groupChangesIn(this.log, from, to);
  }

  // ---- changes (the control API) ----

  addUser(input: ScaleUserInput): DirectoryUser {
    const id = randomUUID();
    const nickname = input.displayName
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '.')
      .replace(/^\.|\.$/g, '');
    const upn = input.userPrincipalName ?? `${nickname || 'user'}.${id.slice(0, 8)}@${this.options.domain}`;
    if (this.findUser(upn)) {
      throw new ScaleTenantError(
        409,
        'Another object with the same value for property userPrincipalName already exists.',
      );
    }
    const user: DirectoryUser = {
      id,
      userPrincipalName: upn,
      displayName: input.displayName,
      givenName: null,
      surname: null,
      mail: upn,
      jobTitle: null,
      department: input.department ?? null,
      officeLocation: null,
      preferredLanguage: null,
      usageLocation: input.usageLocation ?? null,
      businessPhones: [],
      mobilePhone: null,
      accountEnabled: input.accountEnabled ?? true,
    };
    this.added.set(id, user);
    this.addedIds.splice(upperBound(this.addedIds, id), 0, id);
    this.teamsOverrides.set(id, {
      enterpriseVoiceEnabled: input.enterpriseVoiceEnabled ?? false,
      telephoneNumber: input.telephoneNumber ?? null,
      modified: new Date().toISOString(),
    });
    this.record({ kind: 'user', id });
    return user;
  }

  updateUser(id: string, changes: ScaleUserChanges): DirectoryUser {
    const user = this.requireUser(id);
    const upnChanged =
      changes.userPrincipalName !== undefined && changes.userPrincipalName !== user.userPrincipalName;
    if (upnChanged && this.findUser(changes.userPrincipalName as string)) {
      throw new ScaleTenantError(
        409,
        'Another object with the same value for property userPrincipalName already exists.',
      );
    }
    if (this.added.has(user.id)) {
      this.added.set(user.id, { ...user, ...changes });
    } else {
      this.overrides.set(user.id, { ...this.overrides.get(user.id), ...changes });
    }
    // The Teams record repeats the UPN: it changes with it.
    if (upnChanged) this.touchTeams(user.id, {});
    this.record({ kind: 'user', id: user.id });
    return this.user(user.id) as DirectoryUser;
  }

  deleteUser(id: string): void {
    const user = this.requireUser(id);
    for (const group of this.groupsOf(user.id)) {
      this.record({ kind: 'member', groupId: group, userId: user.id, op: 'remove' });
    }
    this.deleted.add(user.id);
    this.record({ kind: 'user', id: user.id });
  }

  updateTeams(id: string, changes: ScaleTeamsChanges): TeamsUserRecord {
    const user = this.requireUser(id);
    this.touchTeams(user.id, changes);
    return this.teamsUser(user.id) as TeamsUserRecord;
  }

  updateGroup(id: string, changes: Partial<Pick<GroupRecord, 'displayName' | 'description'>>): GroupRecord {
    const group = this.requireGroup(id);
    this.groupOverrides.set(group.id, { ...this.groupOverrides.get(group.id), ...changes });
    this.record({ kind: 'group', id: group.id, removed: false });
    return this.group(group.id) as GroupRecord;
  }

  addMember(groupId: string, userId: string): void {
    const group = this.requireGroup(groupId);
    const user = this.requireUser(userId);
    if (this.isMember(group.id, user.id)) return;
    const removed = this.memberRemoves.get(group.id);
    if (removed?.has(user.id)) removed.delete(user.id);
    else setOf(this.memberAdds, group.id).add(user.id);
    this.record({ kind: 'member', groupId: group.id, userId: user.id, op: 'add' });
  }

  removeMember(groupId: string, userId: string): void {
    const group = this.requireGroup(groupId);
    const user = this.requireUser(userId);
    if (!this.isMember(group.id, user.id)) {
      throw new ScaleTenantError(404, `User '${user.id}' is not a member of group '${group.id}'.`);
    }
    const adds = this.memberAdds.get(group.id);
    if (adds?.has(user.id)) adds.delete(user.id);
    else setOf(this.memberRemoves, group.id).add(user.id);
    this.record({ kind: 'member', groupId: group.id, userId: user.id, op: 'remove' });
  }

  /** Every group the user belongs to now. */
  groupsOf(userId: string): string[] {
    const groups: string[] = [];
    for (let index = 0; index <= this.options.groups; index++) {
      const id = this.groupId(index);
      if (this.isMember(id, userId)) groups.push(id);
    }
    return groups;
  }

  /** The ids of the generated objects, for tests and the control API. */
  userId(index: number): string {
    return `${this.userPrefix}${index.toString(16).padStart(12, '0')}`;
  }

  groupId(index: number): string {
    return `${this.groupPrefix}${index.toString(16).padStart(12, '0')}`;
  }

  /** The last regular group index + 1: the "Voice Users" group, whose members are the voice-enabled users. */
  get voiceGroupIndex(): number {
    return this.options.groups;
  }

  counts(): { users: number; groups: number; changes: number } {
    return {
      users: this.options.users - this.deleted.size + this.added.size - this.deletedAdded(),
      groups: this.options.groups + 1,
      changes: this.sequence,
    };
  }

  // ---- internals ----

  private deletedAdded(): number {
    let count = 0;
    for (const id of this.deleted) if (this.added.has(id)) count++;
    return count;
  }

  private record(change: NewDirectoryChange): void {
    this.log.push({ ...change, seq: ++this.sequence });
  }

  private touchTeams(id: string, changes: ScaleTeamsChanges): void {
    const current = this.teamsOverrides.get(id);
    this.teamsOverrides.set(id, {
      ...current,
      ...changes,
      policies: { ...current?.policies, ...changes.policies },
      modified: new Date().toISOString(),
    });
  }

  private requireUser(id: string): DirectoryUser {
    const user = this.findUser(id);
    if (!user) throw new ScaleTenantError(404, `User '${id}' does not exist.`);
    return user;
  }

  private requireGroup(id: string): GroupRecord {
    const group = this.group(id);
    if (!group) throw new ScaleTenantError(404, `Group '${id}' does not exist.`);
    return group;
  }

  private isMember(groupId: string, userId: string): boolean {
    if (this.deleted.has(userId)) return false;
    if (this.memberAdds.get(groupId)?.has(userId)) return true;
    if (this.memberRemoves.get(groupId)?.has(userId)) return false;
    const group = this.indexOf(this.groupPrefix, groupId, this.options.groups + 1);
    const user = this.indexOf(this.userPrefix, userId, this.options.users);
    if (group === undefined || user === undefined) return false;
    return this.nextMemberIndex(group, user) === user;
  }

  /** The first generated member index ≥ `from` of a group by its rule. */
  private nextMemberIndex(group: number, from: number): number {
    if (group === this.voiceGroupIndex) return from % 4 === 3 ? from + 1 : from;
    const remainder = from % this.options.groups;
    return remainder <= group ? from - remainder + group : from - remainder + this.options.groups + group;
  }

  private generatedUser(index: number): DirectoryUser {
    const id = this.userId(index);
    const given = GIVEN[index % GIVEN.length] ?? 'User';
    const surname = SURNAMES[Math.floor(index / GIVEN.length) % SURNAMES.length] ?? 'Sample';
    const upn = `u${String(index).padStart(6, '0')}@${this.options.domain}`;
    const base: DirectoryUser = {
      id,
      userPrincipalName: upn,
      displayName: `${given} ${surname} ${index}`,
      givenName: given,
      surname,
      mail: upn,
      jobTitle: JOB_TITLES[index % JOB_TITLES.length] ?? null,
      department: DEPARTMENTS[index % DEPARTMENTS.length] ?? null,
      officeLocation: `${(index % 9) + 1}/${100 + (index % 400)}`,
      preferredLanguage: 'en-US',
      usageLocation: COUNTRIES[Math.floor(index / 8) % COUNTRIES.length] ?? null,
      businessPhones: [`+1 425 555 ${String(index % 10_000).padStart(4, '0')}`],
      mobilePhone: index % 3 === 0 ? `+1 206 555 ${String(index % 10_000).padStart(4, '0')}` : null,
      accountEnabled: index % 97 !== 96,
    };
    const changes = this.overrides.get(id);
    return changes ? { ...base, ...changes } : base;
  }

  private generatedGroup(index: number): GroupRecord {
    const id = this.groupId(index);
    const voice = index === this.voiceGroupIndex;
    const base: GroupRecord = {
      id,
      displayName: voice ? 'Voice Users' : `Team ${String(index + 1).padStart(4, '0')}`,
      description: voice ? 'Every user enabled for Enterprise Voice' : null,
      mailEnabled: false,
      securityEnabled: true,
      mailNickname: voice ? 'voice-users' : `team${index + 1}`,
      groupTypes: [],
    };
    return { ...base, ...this.groupOverrides.get(id) };
  }

  /** The generated index of an id with this prefix, if it is one. */
  private indexOf(prefix: string, id: string, count: number): number | undefined {
    if (!id.startsWith(prefix) || id.length !== prefix.length + 12) return undefined;
    const index = Number.parseInt(id.slice(prefix.length), 16);
    return Number.isInteger(index) && index < count ? index : undefined;
  }

  /** The first generated index whose id sorts after `after`. */
  private firstIndexAfter(prefix: string, after: string | undefined, count: number): number {
    if (after === undefined) return 0;
    const key = after.toLowerCase();
    if (key < prefix) return 0;
    if (!key.startsWith(prefix)) return count;
    const tail = key.slice(prefix.length);
    if (!/^[0-9a-f]{12}$/.test(tail)) return tail < '000000000000' ? 0 : count;
    return Math.min(count, Number.parseInt(tail, 16) + 1);
  }
}

/** A GUID's first 24 characters (through the fourth dash), derived from a name. */
function prefixOf(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-`;
}

/** The position of the first element greater than `value` in a sorted array. */
function upperBound(sorted: readonly string[], value: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] as string) <= value) low = middle + 1;
    else high = middle;
  }
  return low;
}

function setOf(map: Map<string, Set<string>>, key: string): Set<string> {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  return set;
}

/** The generated tenant's Teams voice configuration: what a Direct Routing customer typically has. */
export function seedScaleVoice(teams: TeamsAdminState, tenantId: string, gateways: readonly string[]): void {
  const [primary, secondary] = [gateways[0] ?? 'sbc1.scale.example', gateways[1] ?? gateways[0]];
  for (const fqdn of new Set([primary, secondary ?? primary])) {
    teams.create(tenantId, 'OnlinePSTNGateway', {
      Identity: fqdn,
      SipSignalingPort: 5061,
      Enabled: true,
      MaxConcurrentSessions: 100,
    });
  }
  teams.update(tenantId, 'OnlinePstnUsages', 'Global', { Usage: ['Unrestricted', 'International'] });
  teams.create(tenantId, 'OnlineVoiceRoute', {
    Identity: 'Unrestricted',
    NumberPattern: '.*',
    OnlinePstnGatewayList: [primary],
    OnlinePstnUsages: ['Unrestricted'],
    Priority: 1,
  });
  teams.create(tenantId, 'OnlineVoiceRoute', {
    Identity: 'International',
    NumberPattern: '^\\+(?!1)\\d+$',
    OnlinePstnGatewayList: [secondary ?? primary],
    OnlinePstnUsages: ['International'],
    Priority: 2,
  });
  teams.create(tenantId, 'OnlineVoiceRoutingPolicy', {
    Identity: 'Unrestricted',
    OnlinePstnUsages: ['Unrestricted'],
  });
  teams.create(tenantId, 'OnlineVoiceRoutingPolicy', {
    Identity: 'International',
    OnlinePstnUsages: ['Unrestricted', 'International'],
  });
  teams.create(tenantId, 'TenantDialPlan', {
    Identity: 'DP-Intl',
    SimpleName: 'DP-Intl',
    NormalizationRules: [
      { Name: 'Intl', Pattern: '^00(\\d+)$', Translation: '+$1', IsInternalExtension: false },
    ],
  });
  teams.create(tenantId, 'TenantNetworkRegion', { Identity: 'EMEA' });
  teams.create(tenantId, 'TenantNetworkRegion', { Identity: 'AMER' });
  teams.create(tenantId, 'TenantNetworkSite', { Identity: 'HQ', NetworkRegionID: 'EMEA' });
  teams.create(tenantId, 'TenantNetworkSite', { Identity: 'Branch', NetworkRegionID: 'AMER' });
  teams.create(tenantId, 'TenantNetworkSubnet', { Identity: '10.1.0.0', MaskBits: 16, NetworkSiteID: 'HQ' });
  teams.create(tenantId, 'TenantNetworkSubnet', {
    Identity: '10.2.0.0',
    MaskBits: 16,
    NetworkSiteID: 'Branch',
  });
  teams.create(tenantId, 'TenantTrustedIPAddress', { Identity: '203.0.113.10', MaskBits: 32 });
}
