import type { M365Reader, Page, VoiceRead } from './m365-reader.js';
import { applyDirectoryChange, type DeltaGroup, ResyncRequiredError } from './m365-reader.js';
import {
  type HashedUser,
  hashedUser,
  isDayTwoWriter,
  type MirrorSku,
  type MirrorStore,
  type MirrorVoiceObject,
  type UserDigest,
  userBucket,
  userHash,
} from './mirror-store.js';
import type { MirrorUser } from './mirror-user.js';
import type { CycleState, ReplicationStatus } from './replication-store.js';
import { inParallel } from './table-text.js';
import { shortHash } from './user-digest.js';

/** Teams and Graph clocks are not ours: a quick cycle reads Teams changes from a little before it last looked. */
const CLOCK_SKEW_MS = 2 * 60 * 1000;
const PARALLEL_READS = 16;
/** Transactions a full cycle keeps running while it reads on. */
const WRITES_IN_FLIGHT = 16;
/**
 * Rows a full cycle holds waiting for their transactions (a page of 1,000 users makes ~8,000): a page and a half,
 * which kept the transactions full while leaving room in a 200 MB process for a young generation of 8 MB.
 */
const ROWS_BUFFERED = 12_000;
/**
 * Bytes of rows a full cycle holds waiting for their transactions: about two full transactions' worth, so that a
 * big group's membership rows (80 KB each) are made as storage takes them, not all at once.
 */
const BYTES_BUFFERED = 8 * 1024 * 1024;
/** Graph pages read ahead of the writes. */
export const PAGES_AHEAD = 2;
/**
 * Pages whose writes are still running: each holds its parsed items (999 users, or up to ~500,000 member ids of
 * groups) until its rows are stored, so a slow storage stops the reads rather than growing the heap.
 */
export const PAGES_WRITING = 4;
/** A mark in the digest's hashes: seen by this chunk (before the user's short hash, as the mirror now has it). */
const SEEN = '~';

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
  /**
   * Throws `LeaseLostError` once a lease this chunk holds has run out (a Graph call or storage took longer than the
   * lease): checked before each write, so that a holder another one may have taken over writes nothing more.
   */
  fence(): void;
  /** When this invocation must stop and hand over to a continuation message. */
  readonly deadline: number;
  /** Computes and stores the drift report. */
  drift(): Promise<void>;
  now(): number;
  /**
   * How often a full cycle's listing saves the checkpoint (with the progress whose writes have completed) and so
   * renews the leases; 0 saves whenever a page's writes complete.
   */
  readonly checkpointMs: number;
}

/** What one chunk learns that a later phase of the same chunk can use (never part of the checkpoint). */
interface ChunkMemo {
  /** The users' digest read at the start of the listing phase, with the ids this chunk saw, once it ended. */
  listed: Listed | null;
  /** A cycle's later reads, started beside its first phase (`prefetch`). */
  ahead: Ahead | null;
  /** The drift report was stored beside the sweep. */
  drifted: boolean;
}

/** The first reads of a cycle's later phases, each taken at most once. */
interface Ahead {
  groups: Promise<Page<DeltaGroup>> | null;
  skus: Promise<MirrorSku[]> | null;
  voice: Promise<TimedVoiceRead> | null;
}

/** The voice objects as read, with when the read began (ms). */
interface TimedVoiceRead extends VoiceRead {
  readonly readAt: number;
}

/**
 * A cycle's phases read Graph and Teams one after the other, each read ~150 ms or more (and a throttled one a
 * second more). A quick cycle's later reads start as the cycle starts: the groups delta, the subscriptions and the
 * voice objects; each phase takes its read if it is at its first page (a read taken again after a crash is only a
 * repeated read: nothing is kept but in this chunk's memory). Day two writes voice objects to the mirror too: a
 * row it wrote after the read began is newer than the read, and the voice phase leaves it (`voice`). The Teams
 * users are read at their phase: day two writes users as well, and their rows keep no writer. A full cycle reads
 * the subscriptions and the voice objects ahead (the same rule keeps what day two wrote meanwhile), and its first
 * groups page once the users' last page is in (`groupsAhead`): a groups page holds up to ~50,000 member ids, not
 * to be held while the users list.
 */
function prefetch(ctx: CycleContext): Ahead {
  const { status, reader } = ctx;
  const quick = ctx.cycle.kind === 'quick';
  const groups =
    quick && status.groupsDelta ? quiet(reader.groupsDelta(status.groupsDelta, ctx.pageSize)) : null;
  return { groups, skus: quiet(reader.subscribedSkus()), voice: quiet(readVoice(ctx)) };
}

/** A full cycle's first groups page, read while the users' last writes run. */
function groupsAhead(ctx: CycleContext, memo: ChunkMemo): void {
  memo.ahead ??= { groups: null, skus: null, voice: null };
  memo.ahead.groups ??= quiet(ctx.reader.groupsDelta(null, ctx.pageSize));
}

async function readVoice(ctx: CycleContext): Promise<TimedVoiceRead> {
  const readAt = ctx.now();
  return { ...(await ctx.reader.voiceObjects()), readAt };
}

/** A read started ahead: its failure fails the phase that takes it, as if it had read then, and nothing else. */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** The prefetched read of `key` when the phase is at its first page (taken once), otherwise a new read. */
function take<K extends keyof Ahead>(
  ctx: CycleContext,
  memo: ChunkMemo,
  key: K,
  read: () => NonNullable<Ahead[K]>,
): NonNullable<Ahead[K]> {
  const ahead = memo.ahead?.[key];
  if (memo.ahead) memo.ahead[key] = null;
  return ahead && ctx.cycle.next === null && ctx.cycle.phasePage === 0
    ? (ahead as NonNullable<Ahead[K]>)
    : read();
}

/** What a full cycle's sweep removes and then writes to the users' digest. */
interface Listed {
  readonly digest: UserDigest;
  readonly gone: readonly string[];
  readonly users: number;
  /** The buckets of the users this chunk wrote. */
  readonly written: ReadonlySet<string>;
}

/**
 * Runs a cycle from its checkpoint, one page at a time, until it is done or the deadline passes. Each step is
 * idempotent (rows are keyed by object id, page marks by page number), so a step repeated after a crash writes
 * the same rows again: no user lost, none duplicated.
 */
export async function runCycle(ctx: CycleContext): Promise<'done' | 'paused'> {
  const { cycle } = ctx;
  const memo: ChunkMemo = { listed: null, ahead: null, drifted: false };
  const first = cycle.kind === 'quick' ? 'users-delta' : 'users-latest';
  if (cycle.phase === first && cycle.phasePage === 0 && cycle.next === null) memo.ahead = prefetch(ctx);
  for (;;) {
    if (ctx.now() >= ctx.deadline) return 'paused';
    switch (cycle.phase) {
      case 'users-latest': {
        const [, link, empty] = await Promise.all([
          ctx.mirror.clearSeen(ctx.customerId),
          ctx.reader.usersDeltaNow(),
          ctx.mirror.holdsNothing(ctx.customerId),
        ]);
        cycle.usersDelta = link;
        cycle.mirrorEmpty = empty;
        cycle.counters.pages++;
        await advance(ctx, 'teams-users');
        break;
      }
      case 'teams-users':
        await listTeamsUsers(ctx, memo);
        break;
      case 'users-delta':
        await usersDeltaPage(ctx);
        break;
      case 'teams-modified':
        await teamsModifiedPage(ctx);
        break;
      case 'groups':
        if (cycle.kind === 'full') await listGroups(ctx, memo);
        else await groupsPage(ctx, memo);
        break;
      case 'voice':
        await Promise.all([
          voice(ctx, memo),
          // Once per cycle, quick ones too: the subscriptions name the users' licenses in the Users list.
          take(ctx, memo, 'skus', () => ctx.reader.subscribedSkus()).then((skus) =>
            ctx.mirror.putSkus(ctx.customerId, skus, cycle.id),
          ),
        ]);
        await advance(ctx, cycle.kind === 'full' ? 'sweep' : 'drift');
        break;
      case 'sweep': {
        // The drift report reads the voice objects, which the sweep leaves: both at once. The sweep keeps its
        // checkpoint (it removes the page marks a sweep run again would read).
        const drift = ctx.drift();
        drift.catch(() => undefined);
        await sweep(ctx, memo);
        await drift;
        memo.drifted = true;
        await advance(ctx, 'drift');
        break;
      }
      case 'drift':
        if (!memo.drifted) await ctx.drift();
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

/** Pages read ahead of their consumer, one request at a time (a page's link comes with the page before). */
function readAhead<T>(
  first: string | null,
  read: (link: string | null) => Promise<Page<T>>,
  more: () => boolean,
) {
  const ready: Array<Page<T>> = [];
  let failure: { error: unknown } | null = null;
  let ended = false;
  let stopped = false;
  let wakeConsumer = () => {};
  let wakeProducer = () => {};
  void (async () => {
    let link = first;
    try {
      for (;;) {
        while (ready.length >= PAGES_AHEAD && !stopped) {
          await new Promise<void>((resolve) => (wakeProducer = resolve));
        }
        if (stopped || !more()) break;
        const page = await read(link);
        if (stopped) break;
        ready.push(page);
        wakeConsumer();
        if (page.nextLink === null) break;
        link = page.nextLink;
      }
    } catch (error) {
      failure = { error };
    }
    ended = true;
    wakeConsumer();
  })();
  return {
    /** The next page; null once the reads stopped (the chunk's deadline) and every page read was taken. */
    async next(): Promise<Page<T> | null> {
      for (;;) {
        const page = ready.shift();
        if (page) {
          wakeProducer();
          return page;
        }
        if (failure) throw failure.error;
        if (ended) return null;
        await new Promise<void>((resolve) => (wakeConsumer = resolve));
      }
    },
    stop() {
      stopped = true;
      wakeProducer();
    },
  };
}

type MirrorWriter = ReturnType<MirrorStore['openWriter']>;

interface PagePlan<T> {
  read(link: string | null): Promise<Page<T>>;
  /** Starts writing a page (called in page order); `commit` applies its counters once its writes are stored. */
  write(page: Page<T>, pageNumber: number): { done: Promise<void>; commit: () => void };
  /** As the last page is read, before its writes start. */
  lastRead?(): void;
  /** After the last page's writes are stored, before the phase advances. */
  finish?(last: Page<T>): void;
  readonly then: CycleState['phase'];
}

/**
 * A full cycle's listing phase as a pipeline: Graph pages are read ahead while the writes of earlier pages run
 * (at most WRITES_IN_FLIGHT transactions, ROWS_BUFFERED rows held, rows of many pages sharing transactions). The
 * checkpoint moves by time, every `checkpointMs`, and only over pages all of whose writes are stored, in order: a
 * crash at any point resumes from a page whose predecessors are all in the mirror, and the pages after it are
 * read and written again (writes are idempotent).
 */
async function pipelined<T>(ctx: CycleContext, writer: MirrorWriter, plan: PagePlan<T>): Promise<void> {
  const { cycle } = ctx;
  const pages = readAhead(
    cycle.next,
    (link) => plan.read(link),
    () => ctx.now() < ctx.deadline,
  );
  const written: Array<{
    state: 'running' | 'stored' | 'failed';
    error?: unknown;
    done: Promise<void>;
    apply: () => void;
  }> = [];
  let lastSave = ctx.now();
  let moved = false;
  /** Applies, in page order, the pages whose writes are stored. */
  const commit = () => {
    while (written[0]?.state === 'stored') {
      written.shift()?.apply();
      moved = true;
    }
    if (written[0]?.state === 'failed') throw written[0].error;
  };
  const saveIfDue = async () => {
    commit();
    if (moved && ctx.now() - lastSave >= ctx.checkpointMs) {
      moved = false;
      lastSave = ctx.now();
      await progress(ctx);
    }
  };
  // Rows waiting for a fuller transaction go after a while, so that a slow Graph page does not hold the checkpoint.
  const tickMs = Math.max(50, ctx.checkpointMs / 2);
  /** `awaited`'s value, or null after a tick (the batcher's timed sends and the checkpoint ran meanwhile). */
  const orTick = async <R>(awaited: Promise<R>): Promise<R | null> => {
    let timer: NodeJS.Timeout | undefined;
    const tick = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), tickMs)));
    const result = await Promise.race([awaited, tick]);
    clearTimeout(timer);
    if (result === null) {
      await writer.room();
      await saveIfDue();
    }
    return result;
  };
  const nextPage = async (): Promise<Page<T> | null> => {
    const wrapped = pages.next().then((page) => ({ page }));
    wrapped.catch(() => undefined);
    for (;;) {
      const result = await orTick(wrapped);
      if (result) return result.page;
    }
  };
  /** Waits until fewer than PAGES_WRITING pages have writes running (a failed one throws at the commit). */
  const roomForPage = async () => {
    for (;;) {
      const running = written.filter((entry) => entry.state === 'running');
      if (running.length < PAGES_WRITING) return;
      // Nothing more joins their transactions while the reads wait: what they wait for goes now.
      writer.flush();
      await orTick(
        Promise.race(
          running.map((entry) =>
            entry.done.then(
              () => true,
              () => true,
            ),
          ),
        ),
      );
      await saveIfDue();
    }
  };
  let pageNumber = cycle.phasePage;
  let last: Page<T> | null = null;
  try {
    for (;;) {
      const page = await nextPage();
      if (!page) break;
      const number = pageNumber++;
      // The entry keeps the link, not the page: a page's items go once its rows are made.
      const { nextLink } = page;
      if (nextLink === null) plan.lastRead?.();
      const { done, commit: apply } = plan.write(page, number);
      const entry: (typeof written)[number] = {
        state: 'running',
        done,
        apply: () => {
          apply();
          cycle.counters.pages++;
          cycle.phasePage = number + 1;
          cycle.next = nextLink;
        },
      };
      done.then(
        () => (entry.state = 'stored'),
        (error: unknown) => Object.assign(entry, { state: 'failed', error }),
      );
      written.push(entry);
      if (page.nextLink === null) {
        last = page;
        break;
      }
      await writer.room();
      await saveIfDue();
      await roomForPage();
    }
    writer.finish();
    await Promise.all(written.map((entry) => entry.done));
    await writer.drain();
    commit();
  } catch (error) {
    pages.stop();
    await writer.stop();
    throw error;
  }
  pages.stop();
  if (last) {
    plan.finish?.(last);
    await advance(ctx, plan.then);
  } else {
    await progress(ctx);
  }
}

function openWriter(ctx: CycleContext): MirrorWriter {
  return ctx.mirror.openWriter(ctx.customerId, {
    maxInFlight: WRITES_IN_FLIGHT,
    maxBuffered: ROWS_BUFFERED,
    maxBufferedBytes: BYTES_BUFFERED,
    maxWaitMs: Math.max(50, ctx.checkpointMs / 2),
    fence: () => ctx.fence(),
  });
}

/**
 * The full cycle's listing of every Teams user with its Graph user. What the mirror holds (each user's hash) is
 * read once from the users' digest, beside the first Graph reads; only users whose content changed are written,
 * each hashed once. The page's ids are marked seen for the sweep, unless the mirror started empty (nothing to
 * sweep); when the whole listing runs in this chunk, the sweep takes the users not seen from this digest rather
 * than reading it again.
 */
async function listTeamsUsers(ctx: CycleContext, memo: ChunkMemo): Promise<void> {
  const { cycle, mirror, customerId } = ctx;
  const fresh = cycle.phasePage === 0 && cycle.next === null;
  const listing = mirror.userDigest(customerId, cycle.id);
  listing.catch(() => undefined);
  const writer = openWriter(ctx);
  let known: UserDigest | null = null;
  const writtenBuckets = new Set<string>();
  await pipelined<MirrorUser>(ctx, writer, {
    read: (link) => ctx.reader.teamsUsers(link, { pageSize: ctx.pageSize }),
    write(page, number) {
      const done = (async () => {
        known ??= await listing;
        const { hashes } = known;
        const changed: HashedUser[] = [];
        const mirrored = new Set<string>();
        for (const user of page.items) {
          const hashed = hashedUser(user);
          const short = shortHash(hashed.hash);
          const before = hashes.get(user.id);
          if (before !== undefined) mirrored.add(user.id);
          if (before !== short) {
            changed.push(hashed);
            writtenBuckets.add(userBucket(user.id));
          }
          hashes.set(user.id, SEEN + short);
        }
        const writes = [writer.putUsers(changed, cycle.id, (id) => mirrored.has(id))];
        if (!cycle.mirrorEmpty)
          writes.push(
            writer.putSeen(
              cycle.id,
              number,
              page.items.map((u) => u.id),
            ),
          );
        await Promise.all(writes);
        return changed.length;
      })();
      let written = 0;
      const seen = page.items.length;
      return {
        done: done.then((count) => {
          written = count;
        }),
        commit: () => {
          cycle.counters.usersSeen += seen;
          cycle.counters.usersWritten += written;
        },
      };
    },
    lastRead: () => groupsAhead(ctx, memo),
    finish() {
      if (!fresh || !known) return;
      const gone: string[] = [];
      let users = 0;
      for (const [id, value] of known.hashes) {
        if (value.startsWith(SEEN)) users++;
        else gone.push(id);
      }
      memo.listed = { digest: known, gone, users, written: writtenBuckets };
      known = null;
    },
    then: 'groups',
  });
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
  // One delta page names each user once: the users written and the users removed are apart, so both go at once.
  await Promise.all([mirror.putUsers(customerId, put, cycle.id), mirror.deleteUsers(customerId, removed)]);
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
async function groupsPage(ctx: CycleContext, memo: ChunkMemo): Promise<void> {
  const { cycle } = ctx;
  const full = cycle.kind === 'full';
  const link = cycle.next ?? (full ? null : ctx.status.groupsDelta);
  if (!full && !link) throw new ResyncRequiredError('No groups delta link yet.');
  const page = await take(ctx, memo, 'groups', () => ctx.reader.groupsDelta(link, ctx.pageSize));
  await changedGroups(ctx, page.items);
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

/**
 * A full cycle's listing of every group with its members, pipelined as the users' listing: a large group's members
 * come over several items, each kept as membership rows tagged with the page and position, so that a page read
 * again after a crash rewrites the same rows.
 */
async function listGroups(ctx: CycleContext, memo: ChunkMemo): Promise<void> {
  const { cycle } = ctx;
  const writer = openWriter(ctx);
  await pipelined<DeltaGroup>(ctx, writer, {
    read(link) {
      const read = () => ctx.reader.groupsDelta(link, ctx.pageSize);
      // Only a read from the start may be the one started ahead (every later read follows a link).
      return link === null ? take(ctx, memo, 'groups', read) : read();
    },
    write(page, number) {
      const groups = page.items.filter((g) => !g['@removed'] && hasProperties(g)).map(groupOf);
      const grouped = writer.putGroups(groups, cycle.id);
      grouped.catch(() => undefined);
      const writes = [grouped];
      let memberships = 0;
      // The write takes the page's items: each item's member references are dropped once they are packed rows, and
      // the rows are made as the writer has room, so a page of 175,000 references is never held twice.
      const items = page.items.splice(0);
      const streamed = (async () => {
        for (let index = 0; items.length > 0; index++) {
          const group = items.shift() as DeltaGroup;
          const members = (group['members@delta'] ?? [])
            .filter((m) => !m['@removed'])
            .map((m) => m.id.toLowerCase());
          if (group['@removed'] || members.length === 0) continue;
          const tag = `${cycle.id}~${String(number).padStart(6, '0')}~${String(index).padStart(4, '0')}`;
          memberships += members.length;
          const written = writer.putMemberChunks(
            [{ groupId: group.id.toLowerCase(), tag, members }],
            cycle.id,
          );
          written.catch(() => undefined);
          writes.push(written);
          await writer.room();
        }
      })();
      const groupCount = groups.length;
      const done = streamed.then(() => Promise.all(writes)).then(() => undefined);
      return {
        done,
        commit() {
          cycle.counters.groupsWritten += groupCount;
          cycle.counters.membershipChanges += memberships;
          cycle.counts = {
            ...cycle.counts,
            groups: cycle.counts.groups + groupCount,
            memberships: cycle.counts.memberships + memberships,
          };
        },
      };
    },
    finish(last) {
      cycle.groupsDelta = last.deltaLink;
    },
    then: 'voice',
  });
}

async function changedGroups(ctx: CycleContext, items: readonly DeltaGroup[]): Promise<void> {
  const { cycle, mirror, customerId } = ctx;
  let groups = 0;
  let memberships = 0;
  // One group at a time: two items of one page may touch the same group's rows.
  for (const [index, item] of items.entries()) {
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
    const added = delta.filter((m) => !m['@removed']).map((m) => m.id.toLowerCase());
    const removed = delta.filter((m) => m['@removed']).map((m) => m.id.toLowerCase());
    // Tagged by when the cycle started, then its page and the item: after every earlier row of the group.
    const at = String(Date.parse(cycle.startedAt)).padStart(15, '0');
    const tag = `q${at}~${cycle.id}~${String(cycle.phasePage).padStart(6, '0')}~${String(index).padStart(4, '0')}`;
    await mirror.putMemberChanges(customerId, id, tag, { added, removed }, cycle.id);
    // Graph's delta names each change once: the count follows it without reading the group.
    memberships += added.length - removed.length;
    cycle.counters.membershipChanges += delta.length;
  }
  cycle.counts = {
    ...cycle.counts,
    groups: cycle.counts.groups + groups,
    memberships: cycle.counts.memberships + memberships,
  };
}

/**
 * The tenant's voice objects: written when they differ from the mirror, removed when gone. A type the service
 * refused was not read, so its mirrored objects stay as they were (not gone) and the cycle carries a warning.
 */
async function voice(ctx: CycleContext, memo: ChunkMemo): Promise<void> {
  const { cycle, mirror, customerId } = ctx;
  const { objects: remote, refused, readAt } = await take(ctx, memo, 'voice', () => readVoice(ctx));
  const local = await mirror.voiceRows(customerId);
  const keyOf = (o: Pick<MirrorVoiceObject, 'policyName' | 'identity'>) =>
    `${o.policyName}\n${o.identity.toLowerCase()}`;
  const unread = new Set(refused.map((r) => r.policyType));
  const localByKey = new Map(local.map((o) => [keyOf(o), o]));
  const remoteKeys = new Set(remote.map(keyOf));
  // What day two wrote once this read had begun (a usage an operator just created) is newer than the read: left
  // as it is, for the next cycle to read anew. No margin for the instances' clocks (synchronised in Azure): one
  // would hide a change made in Teams just after a day-two write from the next cycle, and its drift report.
  const newer = new Set(local.filter((o) => isDayTwoWriter(o.writtenBy) && o.writtenAt >= readAt).map(keyOf));
  const put = remote.filter(
    (o) => !newer.has(keyOf(o)) && JSON.stringify(localByKey.get(keyOf(o))?.data) !== JSON.stringify(o.data),
  );
  const remove = local.filter(
    (o) => !newer.has(keyOf(o)) && !remoteKeys.has(keyOf(o)) && !unread.has(o.policyName),
  );
  const kept = local.filter((o) => unread.has(o.policyName)).length;
  await mirror.putVoiceObjects(customerId, put, remove, cycle.id);
  cycle.counters.pages += 1;
  cycle.counters.voiceObjectsChanged += put.length + remove.length;
  cycle.counts = { ...cycle.counts, voiceObjects: remote.length + kept };
  // The phase may run again after a failed chunk: its warnings replace those of the earlier try.
  cycle.warnings = refused.map((r) => ({ code: 'voice-policy-type-refused', ...r }));
}

/**
 * The end of a full cycle: what the listing did not see is gone from the tenant. Nothing when the mirror started
 * empty; the users not seen by this chunk's listing when it ran whole in this chunk; otherwise the page marks
 * against the users' digest read again. Then the digest of every bucket not read from a trusted digest, written,
 * swept or written outside the cycle is rewritten: after every user row it describes is stored.
 */
async function sweep(ctx: CycleContext, memo: ChunkMemo): Promise<void> {
  const { cycle, mirror, customerId } = ctx;
  const listed = memo.listed ?? (await listedFromMarks(ctx));
  let marks: string[] = [];
  if (cycle.mirrorEmpty) {
    cycle.counts = { ...cycle.counts, users: memo.listed?.users ?? cycle.counters.usersSeen };
  } else {
    const swept = await mirror.sweepUsers(customerId, listed.gone, cycle.id);
    marks = swept.marks;
    cycle.counters.usersRemoved += swept.removed;
    cycle.counts = { ...cycle.counts, users: listed.users };
  }
  if (!cycle.mirrorEmpty) {
    const swept = await mirror.sweepGroups(customerId, cycle.id);
    cycle.counters.groupsRemoved += swept.groups;
  }
  const { digest } = listed;
  const gone = cycle.mirrorEmpty ? new Set<string>() : new Set(listed.gone);
  const hashes = new Map<string, string>();
  for (const [id, value] of digest.hashes) {
    if (!gone.has(id)) hashes.set(id, value.startsWith(SEEN) ? value.slice(SEEN.length) : value);
  }
  const buckets = new Set([
    ...digest.listed,
    ...listed.written,
    ...digest.dirtyBuckets,
    ...[...gone].map(userBucket),
  ]);
  ctx.fence();
  await mirror.sealDigest(customerId, hashes, buckets, [...digest.dirtyKeys, ...marks], cycle.id);
  await mirror.clearSeen(customerId);
}

/** A sweep in a later chunk than the listing's end: the digest read again, against the page marks. */
async function listedFromMarks(ctx: CycleContext): Promise<Listed> {
  const { cycle, mirror, customerId } = ctx;
  const [digest, seen] = await Promise.all([
    mirror.userDigest(customerId, cycle.id),
    cycle.mirrorEmpty ? new Set<string>() : mirror.seen(customerId, cycle.id),
  ]);
  const gone = [...digest.hashes.keys()].filter((id) => !seen.has(id));
  return { digest, gone, users: seen.size, written: new Set() };
}
