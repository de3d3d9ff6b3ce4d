import { createHash, randomUUID } from 'node:crypto';
import type { DirectoryUser, GroupRecord, Tenant } from './state.js';
import type { ChangeTrackingSnapshot } from './snapshot-schema.js';
import { GRANTABLE_POLICY_TYPES, type TeamsAdminState } from './teams-state.js';

/**
 * What Graph's change-tracking reads (`/users/delta`, `/groups/delta`, `/admin/teams/userConfigurations`) see of a
 * tenant: users and groups in id order, Teams user configurations, and a change sequence. Two kinds exist: the
 * generated tenants of `scale-tenant.ts` (100,000 users without holding them) and the ordinary tenants of
 * `state.ts`, whose users the other Graph routes edit in place.
 */
export interface TenantDirectory {
  /** Changes when the directory is replaced (a reset): delta tokens of another epoch are refused. */
  readonly epoch: string;
  /** The sequence number of the latest change. */
  seq(): number;
  /** Users in id order strictly after `after`, at most `limit`. */
  usersAfter(after: string | undefined, limit: number): DirectoryUser[];
  user(id: string): DirectoryUser | undefined;
  /** The user's Teams configuration; undefined for a user Teams does not know. */
  teamsUser(id: string): TeamsUserRecord | undefined;
  /** Ids (in id order) of users whose Teams configuration changed at or after `since` (epoch ms). */
  teamsModifiedSince(since: number): string[];
  groupsAfter(after: string | undefined, limit: number): GroupRecord[];
  group(id: string): GroupRecord | undefined;
  /** Members of a group in a stable order, from an opaque cursor; `next` is absent after the last one. */
  members(groupId: string, cursor: string | undefined, limit: number): { ids: string[]; next?: string };
  /** Ids of users changed (or removed) in `(from, to]`, each once, in the order of their last change. */
  userChanges(from: number, to: number): string[];
  /** Groups changed in `(from, to]`: their properties, their removal, their net member changes. */
  groupChanges(from: number, to: number): GroupChange[];
}

export type { GroupRecord } from './directory-model.js';

export interface GroupChange {
  readonly id: string;
  readonly removed: boolean;
  readonly properties: boolean;
  /** Per user id: the last membership change in the range. */
  readonly members: ReadonlyMap<string, 'add' | 'remove'>;
}

export interface PolicyAssignment {
  readonly policyType: string;
  readonly policyAssignment: {
    readonly displayName: string;
    readonly assignmentType: 'direct' | 'group';
    readonly policyId: string;
    readonly groupId: string | null;
  };
}

/** `microsoft.graph.teamsAdministration.teamsUserConfiguration` as Graph v1.0 returns it. */
export interface TeamsUserRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly userPrincipalName: string;
  readonly accountType: 'user' | 'resourceAccount' | 'guest' | 'sfbOnPremUser' | 'unknown';
  readonly isEnterpriseVoiceEnabled: boolean;
  readonly telephoneNumbers: ReadonlyArray<{ telephoneNumber: string; assignmentCategory: string }>;
  readonly effectivePolicyAssignments: readonly PolicyAssignment[];
  readonly featureTypes: readonly string[];
  readonly createdDateTime: string;
  readonly modifiedDateTime: string;
}

/** Policy types a generated user's effective assignments list (ordinary tenants list every grantable type). */
export const EFFECTIVE_POLICY_TYPES = [
  'OnlineVoiceRoutingPolicy',
  'TenantDialPlan',
  'TeamsCallingPolicy',
] as const;

/** A policy assignment as the effective list shows it; ids are stable per tenant and policy. */
export function policyAssignment(
  tenantId: string,
  policyType: string,
  identity: string,
  groupId: string | null = null,
): PolicyAssignment {
  const displayName = identity.replace(/^tag:/i, '');
  return {
    policyType,
    policyAssignment: {
      displayName,
      assignmentType: groupId === null ? 'direct' : 'group',
      policyId: guidOf(`${tenantId}/${policyType}/${displayName.toLowerCase()}`),
      groupId,
    },
  };
}

function guidOf(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * An ordinary tenant seen through change tracking. Its users and groups are edited in place (by the Graph routes,
 * the control API, tests in process), so changes are found by comparing each user, group and membership with
 * what the previous look saw; demo tenants are small, so a look is cheap. Teams configurations come from the Teams
 * admin state's policy grants.
 */
export class StateTenantDirectory implements TenantDirectory {
  readonly epoch: string;
  private sequence: number;
  /**
   * What the previous look saw, keyed by user id, `group:{id}` and `member:{groupId}:{userId}`; user ids stand
   * bare because files written before groups were tracked hold them so.
   */
  private readonly fingerprints: Map<string, string>;
  private readonly log: DirectoryChange[];
  private readonly created: string;

  /** `restored` continues a tracking saved before a restart, so that its delta tokens stay valid. */
  constructor(
    readonly tenant: Tenant,
    private readonly teams: TeamsAdminState,
    restored?: ChangeTrackingSnapshot[number],
  ) {
    this.epoch = restored?.epoch ?? randomUUID();
    this.sequence = restored?.sequence ?? 0;
    this.fingerprints = new Map(restored?.fingerprints ?? []);
    this.log = restored ? restored.log.map((c) => ({ ...c })) : [];
    this.created = restored?.created ?? new Date().toISOString();
    this.refresh();
  }

  snapshot(): ChangeTrackingSnapshot[number] {
    return {
      tenantId: this.tenant.id,
      epoch: this.epoch,
      sequence: this.sequence,
      created: this.created,
      fingerprints: [...this.fingerprints],
      log: this.log.map((c) => ({ ...c })),
    };
  }

  seq(): number {
    this.refresh();
    return this.sequence;
  }

  usersAfter(after: string | undefined, limit: number): DirectoryUser[] {
    return [...this.tenant.users.values()]
      .filter((u) => after === undefined || u.id > after)
      .sort(byId)
      .slice(0, limit);
  }

  user(id: string): DirectoryUser | undefined {
    return this.tenant.users.get(id.toLowerCase());
  }

  teamsUser(id: string): TeamsUserRecord | undefined {
    const user = this.user(id);
    if (!user) return undefined;
    const { grants, changed } = this.teams.effectiveGrants(this.tenant.id, user.id);
    const voice = this.teams.voice.user(this.tenant.id, user.id);
    const modified = Math.max(Date.parse(this.created), changed, voice?.modified ?? 0);
    return {
      id: user.id,
      tenantId: this.tenant.id,
      userPrincipalName: user.userPrincipalName,
      accountType: 'user',
      isEnterpriseVoiceEnabled: voice?.enterpriseVoiceEnabled ?? false,
      telephoneNumbers: voice?.numbers ?? [],
      effectivePolicyAssignments: GRANTABLE_POLICY_TYPES.map((type) => {
        const direct = grants[type];
        if (direct !== undefined) return policyAssignment(this.tenant.id, type, direct);
        // No direct grant: the best-ranked assignment of a group the user is a direct member of, at once (the
        // real service takes minutes to hours to propagate one; the sandbox does not wait).
        const inherited = this.teams.groupGrant(
          this.tenant.id,
          type,
          (groupId) => this.tenant.groups.get(groupId)?.members.has(user.id) ?? false,
        );
        return inherited
          ? policyAssignment(this.tenant.id, type, inherited.identity, inherited.groupId)
          : policyAssignment(this.tenant.id, type, 'Global');
      }),
      featureTypes: voice?.enterpriseVoiceEnabled ? ['Teams', 'PhoneSystem'] : ['Teams'],
      createdDateTime: this.created,
      modifiedDateTime: new Date(modified).toISOString(),
    };
  }

  teamsModifiedSince(since: number): string[] {
    return this.usersAfter(undefined, Infinity)
      .filter((u) => Date.parse(this.teamsUser(u.id)?.modifiedDateTime ?? this.created) >= since)
      .map((u) => u.id);
  }

  groupsAfter(after: string | undefined, limit: number): GroupRecord[] {
    return [...this.tenant.groups.values()]
      .map((g) => g.record)
      .filter((g) => after === undefined || g.id > after)
      .sort(byId)
      .slice(0, limit);
  }

  group(id: string): GroupRecord | undefined {
    return this.tenant.groups.get(id.toLowerCase())?.record;
  }

  /** Members in id order; the cursor is the last id of the previous chunk. */
  members(groupId: string, cursor: string | undefined, limit: number): { ids: string[]; next?: string } {
    const ids = this.currentMembers(groupId.toLowerCase()).filter(
      (id) => cursor === undefined || id > cursor,
    );
    const chunk = ids.slice(0, limit);
    const last = chunk.at(-1);
    return ids.length > limit && last !== undefined ? { ids: chunk, next: last } : { ids: chunk };
  }

  userChanges(from: number, to: number): string[] {
    this.refresh();
    return userChangesIn(this.log, from, to);
  }

  groupChanges(from: number, to: number): GroupChange[] {
    this.refresh();
    return groupChangesIn(this.log, from, to);
  }

  /** A group's members that are users of the tenant (a deleted user is no member), in id order. */
  private currentMembers(groupId: string): string[] {
    const group = this.tenant.groups.get(groupId);
    return group ? [...group.members].filter((id) => this.tenant.users.has(id)).sort() : [];
  }

  /** Logs every user, group and membership added, changed or removed since the previous look. */
  private refresh(): void {
    const seen = new Set<string>();
    const look = (key: string, print: string, change: NewDirectoryChange) => {
      seen.add(key);
      if (this.fingerprints.get(key) === print) return;
      this.fingerprints.set(key, print);
      this.record(change);
    };
    for (const user of this.tenant.users.values()) {
      look(user.id, JSON.stringify(user), { kind: 'user', id: user.id });
    }
    for (const { record } of this.tenant.groups.values()) {
      look(`group:${record.id}`, JSON.stringify(record), { kind: 'group', id: record.id, removed: false });
      for (const userId of this.currentMembers(record.id)) {
        look(`member:${record.id}:${userId}`, '', { kind: 'member', groupId: record.id, userId, op: 'add' });
      }
    }
    for (const key of [...this.fingerprints.keys()]) {
      if (seen.has(key)) continue;
      this.fingerprints.delete(key);
      // Group ids are GUIDs: the first colon after the group id ends it.
      const [, kind, groupId = '', userId = ''] = /^(group|member):([^:]+):?(.*)$/.exec(key) ?? [];
      if (kind === 'group') {
        this.record({ kind: 'group', id: groupId, removed: true });
      } else if (kind === 'member') {
        // A deleted group's removal says it all; Graph lists no members of it.
        if (this.tenant.groups.has(groupId)) {
          this.record({ kind: 'member', groupId, userId, op: 'remove' });
        }
      } else {
        this.record({ kind: 'user', id: key });
      }
    }
  }

  private record(change: NewDirectoryChange): void {
    this.log.push({ ...change, seq: ++this.sequence });
  }
}

/** One entry of a directory's change log, which Graph's delta queries read. */
export type DirectoryChange =
  | { readonly seq: number; readonly kind: 'user'; readonly id: string }
  | { readonly seq: number; readonly kind: 'group'; readonly id: string; readonly removed: boolean }
  | {
      readonly seq: number;
      readonly kind: 'member';
      readonly groupId: string;
      readonly userId: string;
      readonly op: 'add' | 'remove';
    };

/** A change before the log numbers it. */
export type NewDirectoryChange = DirectoryChange extends infer C
  ? C extends DirectoryChange
    ? Omit<C, 'seq'>
    : never
  : never;

/** Ids of users changed (or removed) in `(from, to]`, each once, in the order of their last change. */
export function userChangesIn(log: readonly DirectoryChange[], from: number, to: number): string[] {
  return lastChanges(log.flatMap((c) => (c.kind === 'user' && c.seq > from && c.seq <= to ? [c.id] : [])));
}

/** Groups changed in `(from, to]`: whether their properties changed, their removal, their net member changes. */
export function groupChangesIn(log: readonly DirectoryChange[], from: number, to: number): GroupChange[] {
  const changes = new Map<
    string,
    { id: string; removed: boolean; properties: boolean; members: Map<string, 'add' | 'remove'> }
  >();
  const entry = (id: string) => {
    let found = changes.get(id);
    if (!found) {
      found = { id, removed: false, properties: false, members: new Map() };
      changes.set(id, found);
    }
    return found;
  };
  for (const change of log) {
    if (change.seq <= from || change.seq > to) continue;
    if (change.kind === 'group') {
      const found = entry(change.id);
      // A group removed and created again under its id within the range exists at its end.
      found.removed = change.removed;
      if (!change.removed) found.properties = true;
    } else if (change.kind === 'member') {
      entry(change.groupId).members.set(change.userId, change.op);
    }
  }
  return [...changes.values()];
}

function byId(a: { readonly id: string }, b: { readonly id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Each id once, where it last occurs. */
function lastChanges(ids: readonly string[]): string[] {
  const last = new Map<string, number>();
  ids.forEach((id, index) => last.set(id, index));
  return [...last.entries()].sort((a, b) => a[1] - b[1]).map(([id]) => id);
}

/** Which directory each tenant's change tracking reads: a generated one when registered, else the tenant's own. */
export class TenantDirectories {
  private readonly generated = new Map<string, TenantDirectory>();
  private readonly ordinary = new Map<string, StateTenantDirectory>();

  constructor(private readonly teams: TeamsAdminState) {}

  register(tenantId: string, directory: TenantDirectory): void {
    this.generated.set(tenantId.toLowerCase(), directory);
  }

  generatedFor(tenantId: string): TenantDirectory | undefined {
    return this.generated.get(tenantId.toLowerCase());
  }

  of(tenant: Tenant): TenantDirectory {
    const generated = this.generated.get(tenant.id);
    if (generated) {
      // Its users' numbers live in its overlay, written when an operation ends: the operations due end first.
      this.teams.voice.settleDue(tenant.id);
      return generated;
    }
    let ordinary = this.ordinary.get(tenant.id);
    // A tenant re-created by a reset is a new object: start its tracking afresh.
    if (ordinary?.tenant !== tenant) {
      ordinary = new StateTenantDirectory(tenant, this.teams);
      this.ordinary.set(tenant.id, ordinary);
    }
    return ordinary;
  }

  clear(): void {
    this.generated.clear();
    this.ordinary.clear();
  }

  /** The ordinary tenants' change tracking; generated tenants are not kept (see the README). */
  snapshot(): ChangeTrackingSnapshot {
    return [...this.ordinary.values()]
      .filter((d) => !this.generated.has(d.tenant.id))
      .map((d) => d.snapshot());
  }

  /** After the tenants are restored: tracking of a tenant that no longer exists is dropped. */
  restore(snapshot: ChangeTrackingSnapshot, tenant: (id: string) => Tenant | undefined): void {
    this.clear();
    for (const entry of snapshot) {
      const found = tenant(entry.tenantId);
      if (found) this.ordinary.set(found.id, new StateTenantDirectory(found, this.teams, entry));
    }
  }
}
