import type { M365Reader, Page } from './m365-reader.js';
import { applyDirectoryChange, type DeltaGroup, ResyncRequiredError } from './m365-reader.js';
import { type MirrorStore, type MirrorVoiceObject, userHash } from './mirror-store.js';
import type { MirrorUser } from './mirror-user.js';
import type { CycleState, ReplicationStatus } from './replication-store.js';
import { inParallel } from './table-text.js';

/** Teams and Graph clocks are not ours: a quick cycle reads Teams changes from a little before it last looked. */
const CLOCK_SKEW_MS = 2 * 60 * 1000;
/** Member ids per membership row a quick cycle writes (~75 KB of JSON, well inside an entity). */
const MEMBERS_PER_CHUNK = 2000;
const PARALLEL_READS = 8;

export interface CycleContext {
  readonly customerId: string;
  /** The checkpoint, changed in place as the cycle goes; saved after every page. */
  readonly cycle: CycleState;
  /** The customer's status when the chunk began (delta links, Teams watermark). */
  readonly status: ReplicationStatus;
  readonly reader: M365Reader;
  readonly mirror: MirrorStore;
  readonly pageSize: number;
  /** Persists the checkpoint (ETag-fenced) and renews the leases. */
  checkpoint(): Promise<void>;
  /** When this invocation must stop and hand over to a continuation message. */
  readonly deadline: number;
  /** Computes and stores the drift report. */
  drift(): Promise<void>;
  now(): number;
}

/**
 * Runs a cycle from its checkpoint, one page at a time, until it is done or the deadline passes. Each step is
 * idempotent (rows are keyed by object id, page marks by page number), so a step repeated after a crash writes
 * the same rows again: no user lost, none duplicated.
 */
export async function runCycle(ctx: CycleContext): Promise<'done' | 'paused'> {
  const { cycle } = ctx;
  for (;;) {
    if (ctx.now() >= ctx.deadline) return 'paused';
    switch (cycle.phase) {
      case 'users-latest':
        await ctx.mirror.clearSeen(ctx.customerId);
        cycle.usersDelta = await ctx.reader.usersDeltaNow();
        cycle.counters.pages++;
        await advance(ctx, 'teams-users');
        break;
      case 'teams-users':
        await listTeamsUsers(ctx);
        break;
      case 'users-delta':
        await usersDeltaPage(ctx);
        break;
      case 'teams-modified':
        await teamsModifiedPage(ctx);
        break;
      case 'groups':
        await groupsPage(ctx);
        break;
      case 'voice':
        await voice(ctx);
        // Once per cycle, quick ones too: the subscriptions name the users' licenses in the Users list.
        await ctx.mirror.putSkus(ctx.customerId, await ctx.reader.subscribedSkus(), cycle.id);
        await advance(ctx, cycle.kind === 'full' ? 'sweep' : 'drift');
        break;
      case 'sweep':
        await sweep(ctx);
        await advance(ctx, 'drift');
        break;
      case 'drift':
        await ctx.drift();
        return 'done';
    }
  }
}

async function advance(ctx: CycleContext, phase: CycleState['phase']): Promise<void> {
  ctx.cycle.phase = phase;
  ctx.cycle.next = null;
  ctx.cycle.phasePage = 0;
  await progress(ctx);
}

async function progress(ctx: CycleContext): Promise<void> {
  ctx.cycle.lastProgressAt = new Date(ctx.now()).toISOString();
  ctx.cycle.failures = 0;
  ctx.cycle.lastError = null;
  await ctx.checkpoint();
}

/**
 * The full cycle's listing of every Teams user with its Graph user. The next page is fetched while this one is
 * written (Graph's latency and the table writes overlap); only users whose content changed are written, and the
 * page's ids are marked seen for the sweep.
 */
async function listTeamsUsers(ctx: CycleContext): Promise<void> {
  const { cycle, mirror, customerId } = ctx;
  const hashes = await mirror.userHashes(customerId);
  const fetch = (link: string | null) => {
    const promise = ctx.reader.teamsUsers(link, { pageSize: ctx.pageSize });
    // A prefetched page that is never awaited (the chunk's deadline) must not fail the process.
    promise.catch(() => undefined);
    return promise;
  };
  let pending: Promise<Page<MirrorUser>> | null = fetch(cycle.next);
  while (pending) {
    const page: Page<MirrorUser> = await pending;
    const more = page.nextLink !== null && ctx.now() < ctx.deadline;
    pending = more ? fetch(page.nextLink) : null;
    const changed = page.items.filter((user) => hashes.get(user.id) !== userHash(user));
    await mirror.putUsers(customerId, changed, cycle.id, (id) => hashes.has(id));
    for (const user of changed) hashes.set(user.id, userHash(user));
    await mirror.putSeen(
      customerId,
      cycle.id,
      cycle.phasePage,
      page.items.map((u) => u.id),
    );
    cycle.counters.pages++;
    cycle.counters.usersSeen += page.items.length;
    cycle.counters.usersWritten += changed.length;
    cycle.phasePage++;
    if (page.nextLink === null) {
      await advance(ctx, 'groups');
      return;
    }
    cycle.next = page.nextLink;
    await progress(ctx);
  }
}

/** A quick cycle's page of directory changes (renames, deletions, new users). */
async function usersDeltaPage(ctx: CycleContext): Promise<void> {
  const { cycle, mirror, customerId } = ctx;
  const link = cycle.next ?? ctx.status.usersDelta;
  if (!link) throw new ResyncRequiredError('No users delta link yet.');
  const page = await ctx.reader.usersDelta(link);
  const removed: string[] = [];
  const put: MirrorUser[] = [];
  let added = 0;
  await inParallel(page.items, PARALLEL_READS, async (change) => {
    const id = change.id.toLowerCase();
    const existing = await mirror.getUser(customerId, id);
    if (change['@removed']) {
      if (existing) removed.push(id);
      return;
    }
    if (existing) {
      const updated = applyDirectoryChange(existing, change);
      if (userHash(updated) !== userHash(existing)) put.push(updated);
      return;
    }
    // New in the directory: replicated if Teams knows the user.
    const teamsUser = await ctx.reader.teamsUser(id);
    if (teamsUser) {
      put.push(teamsUser);
      added++;
    }
  });
  await mirror.putUsers(customerId, put, cycle.id);
  await mirror.deleteUsers(customerId, removed);
  cycle.counters.pages++;
  cycle.counters.usersSeen += page.items.length;
  cycle.counters.usersWritten += put.length;
  cycle.counters.usersRemoved += removed.length;
  cycle.counts = { ...cycle.counts, users: cycle.counts.users + added - removed.length };
  cycle.phasePage++;
  if (page.nextLink) {
    cycle.next = page.nextLink;
    await progress(ctx);
    return;
  }
  cycle.usersDelta = page.deltaLink ?? link;
  await advance(ctx, 'teams-modified');
}

/** A quick cycle's page of Teams user configurations changed since the last look (numbers, policies). */
async function teamsModifiedPage(ctx: CycleContext): Promise<void> {
  const { cycle, mirror, customerId } = ctx;
  const watermark = ctx.status.teamsSince;
  if (!watermark) {
    await advance(ctx, 'groups');
    return;
  }
  const since = new Date(Date.parse(watermark) - CLOCK_SKEW_MS).toISOString();
  const page = await ctx.reader.teamsUsers(cycle.next, { pageSize: ctx.pageSize, since });
  const put: MirrorUser[] = [];
  let added = 0;
  await inParallel(page.items, PARALLEL_READS, async (user) => {
    const existing = await mirror.getUser(customerId, user.id);
    if (!existing) added++;
    if (!existing || userHash(existing) !== userHash(user)) put.push(user);
  });
  await mirror.putUsers(customerId, put, cycle.id);
  cycle.counters.pages++;
  cycle.counters.usersWritten += put.length;
  cycle.counts = { ...cycle.counts, users: cycle.counts.users + added };
  cycle.phasePage++;
  if (page.nextLink) {
    cycle.next = page.nextLink;
    await progress(ctx);
    return;
  }
  await advance(ctx, 'groups');
}

/**
 * Groups and membership. A full cycle lists every group (a large group's members come over several items, each
 * kept as its own membership row, tagged with the page and position so a repeated page rewrites the same rows);
 * a quick cycle applies `members@delta` additions and removals to the group's rows.
 */
async function groupsPage(ctx: CycleContext): Promise<void> {
  const { cycle } = ctx;
  const full = cycle.kind === 'full';
  const link = cycle.next ?? (full ? null : ctx.status.groupsDelta);
  if (!full && !link) throw new ResyncRequiredError('No groups delta link yet.');
  const page = await ctx.reader.groupsDelta(link, ctx.pageSize);
  if (full) await fullGroups(ctx, page.items);
  else await changedGroups(ctx, page.items);
  cycle.counters.pages++;
  cycle.phasePage++;
  if (page.nextLink) {
    cycle.next = page.nextLink;
    await progress(ctx);
    return;
  }
  cycle.groupsDelta = page.deltaLink ?? link;
  await advance(ctx, 'voice');
}

const hasProperties = (group: DeltaGroup) =>
  group.displayName !== undefined ||
  group.description !== undefined ||
  group.mailEnabled !== undefined ||
  group.securityEnabled !== undefined;

const groupOf = (group: DeltaGroup) => ({
  id: group.id.toLowerCase(),
  displayName: group.displayName ?? null,
  description: group.description ?? null,
  mailEnabled: group.mailEnabled ?? null,
  securityEnabled: group.securityEnabled ?? null,
});

async function fullGroups(ctx: CycleContext, items: readonly DeltaGroup[]): Promise<void> {
  const { cycle, mirror, customerId } = ctx;
  const groups = items.filter((g) => !g['@removed'] && hasProperties(g)).map(groupOf);
  const chunks = items.flatMap((group, index) => {
    const members = (group['members@delta'] ?? [])
      .filter((m) => !m['@removed'])
      .map((m) => m.id.toLowerCase());
    if (group['@removed'] || members.length === 0) return [];
    const tag = `${cycle.id}~${String(cycle.phasePage).padStart(6, '0')}~${String(index).padStart(4, '0')}`;
    return [{ groupId: group.id.toLowerCase(), tag, members }];
  });
  await mirror.putGroups(customerId, groups, cycle.id);
  await mirror.putMemberChunks(customerId, chunks, cycle.id);
  const memberships = chunks.reduce((sum, c) => sum + c.members.length, 0);
  cycle.counters.groupsWritten += groups.length;
  cycle.counters.membershipChanges += memberships;
  cycle.counts = {
    ...cycle.counts,
    groups: cycle.counts.groups + groups.length,
    memberships: cycle.counts.memberships + memberships,
  };
}

async function changedGroups(ctx: CycleContext, items: readonly DeltaGroup[]): Promise<void> {
  const { cycle, mirror, customerId } = ctx;
  let groups = 0;
  let memberships = 0;
  // One group at a time: two items of one page may touch the same group's rows.
  for (const item of items) {
    const id = item.id.toLowerCase();
    const existing = await mirror.getGroup(customerId, id);
    if (item['@removed']) {
      if (existing) {
        memberships -= await mirror.deleteGroup(customerId, id);
        groups--;
        cycle.counters.groupsRemoved++;
      }
      continue;
    }
    if (!existing || hasProperties(item)) {
      const properties = Object.fromEntries(
        Object.entries(groupOf(item)).filter(([name]) => name === 'id' || name in item),
      );
      await mirror.putGroups(customerId, [{ ...(existing ?? groupOf(item)), ...properties }], cycle.id);
      if (!existing) groups++;
      cycle.counters.groupsWritten++;
    }
    const delta = item['members@delta'];
    if (!delta || delta.length === 0) continue;
    const chunks = await mirror.memberChunks(customerId, id);
    const members = new Set(chunks.flatMap((c) => c.members));
    const before = members.size;
    for (const member of delta) {
      if (member['@removed']) members.delete(member.id.toLowerCase());
      else members.add(member.id.toLowerCase());
    }
    const sorted = [...members].sort();
    const rewritten = [];
    for (let i = 0; i < sorted.length; i += MEMBERS_PER_CHUNK) {
      rewritten.push({
        tag: `${cycle.id}~q${String(i / MEMBERS_PER_CHUNK).padStart(4, '0')}`,
        members: sorted.slice(i, i + MEMBERS_PER_CHUNK),
      });
    }
    await mirror.replaceMemberChunks(
      customerId,
      id,
      rewritten,
      chunks.map((c) => c.rowKey),
      cycle.id,
    );
    memberships += members.size - before;
    cycle.counters.membershipChanges += delta.length;
  }
  cycle.counts = {
    ...cycle.counts,
    groups: cycle.counts.groups + groups,
    memberships: cycle.counts.memberships + memberships,
  };
}

/** The tenant's voice objects: written when they differ from the mirror, removed when gone. */
async function voice(ctx: CycleContext): Promise<void> {
  const { cycle, mirror, customerId } = ctx;
  const remote = await ctx.reader.voiceObjects();
  const local = await mirror.voiceObjects(customerId);
  const keyOf = (o: Pick<MirrorVoiceObject, 'policyName' | 'identity'>) =>
    `${o.policyName}\n${o.identity.toLowerCase()}`;
  const localByKey = new Map(local.map((o) => [keyOf(o), o]));
  const remoteKeys = new Set(remote.map(keyOf));
  const put = remote.filter((o) => JSON.stringify(localByKey.get(keyOf(o))?.data) !== JSON.stringify(o.data));
  const remove = local.filter((o) => !remoteKeys.has(keyOf(o)));
  await mirror.putVoiceObjects(customerId, put, remove, cycle.id);
  cycle.counters.pages += 1;
  cycle.counters.voiceObjectsChanged += put.length + remove.length;
  cycle.counts = { ...cycle.counts, voiceObjects: remote.length };
}

/** The end of a full cycle: what no page marked is gone from the tenant. */
async function sweep(ctx: CycleContext): Promise<void> {
  const { cycle, mirror, customerId } = ctx;
  const seen = await mirror.seen(customerId, cycle.id);
  cycle.counters.usersRemoved += await mirror.sweepUsers(customerId, seen);
  const swept = await mirror.sweepGroups(customerId, cycle.id);
  cycle.counters.groupsRemoved += swept.groups;
  await mirror.clearSeen(customerId);
  cycle.counts = { ...cycle.counts, users: seen.size };
}
