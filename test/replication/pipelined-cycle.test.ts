import { describe, expect, it } from 'vitest';
import {
  type CycleContext,
  PAGES_AHEAD,
  PAGES_WRITING,
  runCycle,
} from '../../shared/replication/cycle-runner.js';
import type { DeltaGroup, M365Reader, Page } from '../../shared/replication/m365-reader.js';
import { MIRROR_TABLE, createMirrorStoreOn } from '../../shared/replication/mirror-store.js';
import type { MirrorUser } from '../../shared/replication/mirror-user.js';
import { type CycleState, emptyStatus, LeaseLostError } from '../../shared/replication/replication-store.js';
import { MAX_TRANSACTION_BYTES } from '../../shared/replication/table-text.js';
import { memoryTables } from '../../shared/storage/memory-tables.js';
import type {
  TableRow,
  Tables,
  TransactionAction,
  VersionedTable,
} from '../../shared/storage/versioned-table.js';
import { seededRandom } from '../../dev/sandbox/faults.js';
import { TransientError } from '../../shared/errors/domain-errors.js';
import { faultyTables } from '../support/faulty-tables.js';
import { newFullCycle } from '../support/full-cycle.js';
import { interceptedTables } from '../support/intercepted-tables.js';
import { mirrorUser } from '../support/mirror-user.js';

/**
 * A full cycle, in process against the memory twin of Table storage and a tenant held in the test: what it leaves
 * in the mirror after crashes at random points, and the size of the transactions it sends for a very large group.
 */

const CUSTOMER = 'Pipelined';

/** A tenant: users with their Teams side, and groups with their members. */
interface Tenant {
  users: Map<string, MirrorUser>;
  groups: Map<string, { displayName: string; members: string[] }>;
}

const userId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const groupId = (n: number) => `11111111-0000-4000-8000-${String(n).padStart(12, '0')}`;

function tenantOf(users: number, groups: ReadonlyArray<{ members: number }>): Tenant {
  const tenant: Tenant = { users: new Map(), groups: new Map() };
  for (let n = 0; n < users; n++) {
    const voice = n % 3 === 0;
    tenant.users.set(
      userId(n),
      mirrorUser({
        id: userId(n),
        userPrincipalName: `user${n}@pipelined.example`,
        displayName: `${['Anna', 'Bob', 'Carl', 'Dana', 'Emil'][n % 5]} Person${n}`,
        department: n % 2 === 0 ? 'Sales' : 'Support',
        enterpriseVoiceEnabled: voice,
        lineUri: voice ? `tel:+4420712${String(n).padStart(5, '0')}` : null,
        telephoneNumbers: voice ? [`+4420712${String(n).padStart(5, '0')}`] : [],
      }),
    );
  }
  groups.forEach((group, g) => {
    const members = Array.from({ length: group.members }, (_, i) => userId(i % Math.max(1, users)));
    tenant.groups.set(groupId(g), {
      displayName: `Group ${g}`,
      members: [...new Set(members)],
    });
  });
  return tenant;
}

/** Graph as the tenant answers it: pages of `pageSize`, a group's members over items of `membersPerItem`. */
function readerOf(tenant: Tenant, options: { pageSize: number; membersPerItem: number }): M365Reader {
  const paged = <T>(items: readonly T[], link: string | null, kind: string): Page<T> => {
    const start = link ? Number(link.split(':')[1]) : 0;
    const end = start + options.pageSize;
    return {
      items: items.slice(start, end),
      nextLink: end < items.length ? `${kind}:${end}` : null,
      deltaLink: end < items.length ? null : `${kind}:delta`,
    };
  };
  return {
    usersDeltaNow: async () => 'users:delta',
    teamsUsers: async (link) => paged([...tenant.users.values()], link, 'users'),
    teamsUser: async (id) => tenant.users.get(id) ?? null,
    usersDelta: async () => ({ items: [], nextLink: null, deltaLink: 'users:delta' }),
    groupsDelta: async (link) => {
      const items: DeltaGroup[] = [];
      for (const [id, group] of tenant.groups) {
        for (let i = 0; i < Math.max(1, group.members.length); i += options.membersPerItem) {
          items.push({
            id,
            ...(i === 0 ? { displayName: group.displayName, description: null } : {}),
            'members@delta': group.members.slice(i, i + options.membersPerItem).map((m) => ({ id: m })),
          });
        }
      }
      return paged(items, link, 'groups');
    },
    voiceObjects: async () => ({ objects: [], refused: [] }),
    subscribedSkus: async () => [],
  };
}

/** A quick cycle's context after a full cycle left its delta links (and, when given, the Teams watermark). */
function quickContext(
  cycle: CycleState,
  reader: M365Reader,
  mirror: CycleContext['mirror'],
  status: Partial<CycleContext['status']> = {},
): CycleContext {
  return {
    customerId: CUSTOMER,
    cycle,
    status: { ...emptyStatus(CUSTOMER), usersDelta: 'users:delta', groupsDelta: 'groups:delta', ...status },
    reader,
    mirror,
    pageSize: 50,
    deadline: Number.MAX_SAFE_INTEGER,
    now: () => Date.now(),
    checkpointMs: 0,
    async checkpoint() {},
    fence() {},
    async drift() {},
  };
}

/**
 * Runs a cycle from `from` on `tables` until it ends or storage fails it; every checkpoint it saves is kept, as
 * the replication table would keep it.
 */
async function runFrom(
  tables: Tables,
  reader: M365Reader,
  from: CycleState,
  saved: { cycle: CycleState },
): Promise<void> {
  const cycle = structuredClone(from);
  const ctx: CycleContext = {
    customerId: CUSTOMER,
    cycle,
    status: emptyStatus(CUSTOMER),
    reader,
    mirror: createMirrorStoreOn(tables),
    pageSize: 50,
    deadline: Number.MAX_SAFE_INTEGER,
    now: () => Date.now(),
    // Saved whenever a page's writes are stored, so that crashes find checkpoints all along the cycle.
    checkpointMs: 0,
    async checkpoint() {
      saved.cycle = structuredClone(cycle);
    },
    fence() {},
    async drift() {},
  };
  expect(await runCycle(ctx)).toBe('done');
  saved.cycle = structuredClone(cycle);
}

type Row = Record<string, unknown> & TableRow;

/** Every row of the mirror, in key order. */
async function mirrorRows(tables: Tables): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const { value } of tables.table<Row>(MIRROR_TABLE).list()) rows.push(value);
  return rows;
}

/**
 * Tables of a process that dies when it issues its `killAt`-th call: each call takes a random moment to reach
 * storage; a call issued before the death and still on its way when it comes is applied or not, at random (the
 * server may have taken it), and none issued after it is.
 */
function dyingTables(inner: Tables, killAt: number, next: () => number): Tables {
  let issued = 0;
  let dead = false;
  const died = () => new TransientError('Table storage is unavailable (the process died).');
  const reach = async <R>(call: () => Promise<R>): Promise<R> => {
    if (++issued >= killAt) dead = true;
    const onTheWire = !dead;
    await new Promise((resolve) => setTimeout(resolve, Math.floor(next() * 3)));
    if (!dead) return call();
    if (onTheWire && next() < 0.5) await call().catch(() => undefined);
    throw died();
  };
  return {
    table<T extends TableRow>(name: string): VersionedTable<T> {
      const table = inner.table<T>(name);
      const listing = faultyTables(inner, () => dead).table<T>(name);
      return {
        get: (...args) => reach(() => table.get(...args)),
        insert: (...args) => reach(() => table.insert(...args)),
        replace: (...args) => reach(() => table.replace(...args)),
        upsert: (...args) => reach(() => table.upsert(...args)),
        delete: (...args) => reach(() => table.delete(...args)),
        transaction: (...args) => reach(() => table.transaction(...args)),
        list: (...args) => listing.list(...args),
      };
    },
  };
}

/** The tenant between two full cycles: renames, a number moved, leavers, joiners, a group gone, members moved. */
function change(tenant: Tenant): void {
  const rename = (n: number, displayName: string) => {
    const user = tenant.users.get(userId(n));
    if (user) tenant.users.set(user.id, { ...user, displayName });
  };
  rename(4, 'Renamed Early');
  rename(190, 'Renamed Late');
  const moved = tenant.users.get(userId(9));
  if (moved)
    tenant.users.set(moved.id, { ...moved, lineUri: 'tel:+442079990009', enterpriseVoiceEnabled: true });
  for (const n of [2, 100, 199]) tenant.users.delete(userId(n));
  for (const n of [1000, 1001, 1002]) {
    tenant.users.set(
      userId(n),
      mirrorUser({ id: userId(n), userPrincipalName: `joiner${n}@pipelined.example` }),
    );
  }
  tenant.groups.delete(groupId(1));
  const big = tenant.groups.get(groupId(0));
  if (big) big.members = [...big.members.filter((m) => m !== userId(7)), userId(1000)];
}

describe('a full cycle killed at random points', () => {
  // One cycle on an empty mirror, one over a mirror the tenant has changed since: each killed twice, then resumed.
  // From seed 7 on, the first kill lands between the last user row written and the digest written after it.
  const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

  it.each(SEEDS)(
    'leaves the mirror as an uninterrupted cycle would, with no user lost or duplicated (seed %i)',
    async (seed) => {
      const next = seededRandom(seed);
      const tenant = tenantOf(200, [{ members: 1200 }, { members: 40 }, { members: 0 }]);
      const reader = readerOf(tenant, { pageSize: 50, membersPerItem: 500 });
      const steady = seed % 2 === 0;

      // What an uninterrupted run leaves: the same cycles, the same ids.
      const clean = memoryTables();
      const cleanSaved = { cycle: newFullCycle('first') };
      if (steady) {
        await runFrom(clean, reader, newFullCycle('first'), cleanSaved);
        change(tenant);
      }
      const calls = { count: 0 };
      /** The calls a dying process counts (not listings): where user rows and the users' digest are written. */
      const writes: Array<{ at: number; partitionKey: string }> = [];
      const counted = faultyTables(clean, (call) => {
        calls.count++;
        if (call.operation !== 'list') {
          writes.push({ at: writes.length + 1, partitionKey: call.partitionKey ?? '' });
        }
        return false;
      });
      await runFrom(counted, reader, newFullCycle('second'), cleanSaved);
      const lastUserRow = writes.findLast((w) => w.partitionKey.includes('~u~'))?.at ?? 1;
      const sealed =
        writes.find((w) => w.at > lastUserRow && w.partitionKey.endsWith('~h'))?.at ?? lastUserRow;
      const expected = await mirrorRows(clean);
      expect(cleanSaved.cycle.counts.users).toBe(tenant.users.size);

      // The same, killed twice at random storage calls: from the kill on, the dead process's calls never land.
      const inner = memoryTables();
      if (steady) {
        const restored = tenantOf(200, [{ members: 1200 }, { members: 40 }, { members: 0 }]);
        await runFrom(
          inner,
          readerOf(restored, { pageSize: 50, membersPerItem: 500 }),
          newFullCycle('first'),
          {
            cycle: newFullCycle('first'),
          },
        );
      }
      const saved = { cycle: newFullCycle('second') };
      for (let kill = 0; kill < 2; kill++) {
        const at =
          seed >= 7 && kill === 0
            ? lastUserRow + 1 + Math.floor(next() * (sealed - lastUserRow + 1))
            : 1 + Math.floor(next() * calls.count);
        const dying = dyingTables(inner, at, next);
        // A kill after the resumed run's last call is no kill: that run simply ends.
        const outcome = await runFrom(dying, reader, saved.cycle, saved).then(
          () => 'done',
          (error: unknown) => error,
        );
        if (outcome !== 'done') expect(outcome).toBeInstanceOf(TransientError);
      }
      await runFrom(inner, reader, saved.cycle, saved);

      expect(await mirrorRows(inner)).toEqual(expected);
      expect(saved.cycle.counts.users).toBe(tenant.users.size);
      const mirror = createMirrorStoreOn(inner);
      const listed = await mirror.listUsers(CUSTOMER, 10_000);
      expect(listed.items.map((u) => u.id).sort()).toEqual([...tenant.users.keys()].sort());

      // The digest the crashes left vouches only for what is stored: a cycle over the unchanged tenant writes no user.
      const again = { cycle: newFullCycle('third') };
      await runFrom(inner, reader, newFullCycle('third'), again);
      expect(again.cycle.counters.usersWritten).toBe(0);
      expect(again.cycle.counters.usersRemoved).toBe(0);
      expect((await mirror.listUsers(CUSTOMER, 10_000)).items).toEqual(listed.items);
    },
  );
});

/** Tables that note every transaction's actions as Azure would receive them. */
function recordingTables(inner: Tables) {
  const transactions: Array<ReadonlyArray<TransactionAction<TableRow>>> = [];
  const tables = interceptedTables(inner, (table) => ({
    transaction: async (actions) => {
      transactions.push(actions);
      return table.transaction(actions);
    },
  }));
  return { tables, transactions };
}

/** The body of a transaction as JSON: every entity as Table storage's JSON format carries it. */
const payloadBytes = (actions: ReadonlyArray<TransactionAction<TableRow>>) =>
  actions.reduce((sum, a) => sum + Buffer.byteLength(JSON.stringify('row' in a ? a.row : a)), 0);

describe('a group of 150,000 members', () => {
  it.each([
    { membersPerItem: 500, shape: 'over items of 500 members' },
    { membersPerItem: 150_000, shape: 'in one item' },
  ])(
    'is replicated $shape without a transaction over 4 MiB or an entity over 1 MiB',
    async ({ membersPerItem }) => {
      const tenant = tenantOf(0, []);
      const members = Array.from(
        { length: 150_000 },
        (_, i) => `22222222-0000-4000-8000-${String(i).padStart(12, '0')}`,
      );
      tenant.groups.set(groupId(0), { displayName: 'Everyone', members });
      const { tables, transactions } = recordingTables(memoryTables());
      await runFrom(tables, readerOf(tenant, { pageSize: 100, membersPerItem }), newFullCycle('big'), {
        cycle: newFullCycle('big'),
      });

      expect(transactions.length).toBeGreaterThan(0);
      for (const actions of transactions) {
        expect(actions.length).toBeLessThanOrEqual(100);
        expect(payloadBytes(actions)).toBeLessThan(MAX_TRANSACTION_BYTES);
        for (const action of actions) {
          if ('row' in action)
            expect(Buffer.byteLength(JSON.stringify(action.row))).toBeLessThan(1024 * 1024);
        }
      }
      const mirror = createMirrorStoreOn(tables);
      const stored = (await mirror.memberChunks(CUSTOMER, groupId(0))).flatMap((c) => c.members);
      expect(stored).toHaveLength(150_000);
      expect(new Set(stored).size).toBe(150_000);
    },
  );
});

describe("a quick cycle's membership changes", () => {
  it('are written from the delta as one row, without rewriting the group, and read back as the tenant has them', async () => {
    const tenant = tenantOf(100, [{ members: 1200 }]);
    const { tables, transactions } = recordingTables(memoryTables());
    const full = { cycle: newFullCycle('full') };
    await runFrom(
      tables,
      readerOf(tenant, { pageSize: 50, membersPerItem: 500 }),
      newFullCycle('full'),
      full,
    );
    transactions.splice(0);

    // Graph's members@delta: one member joins the big group, another leaves it.
    const joiner = userId(500);
    const leaver = userId(5);
    const big = groupId(0);
    const quickReader: M365Reader = {
      ...readerOf(tenant, { pageSize: 50, membersPerItem: 500 }),
      usersDelta: async () => ({ items: [], nextLink: null, deltaLink: 'users:delta2' }),
      groupsDelta: async () => ({
        items: [
          { id: big, 'members@delta': [{ id: joiner }, { id: leaver, '@removed': { reason: 'deleted' } }] },
        ],
        nextLink: null,
        deltaLink: 'groups:delta2',
      }),
    };
    const quick: CycleState = {
      ...newFullCycle('quick'),
      kind: 'quick',
      phase: 'users-delta',
      counts: full.cycle.counts,
    };
    const mirror = createMirrorStoreOn(tables);
    expect(await runCycle(quickContext(quick, quickReader, mirror))).toBe('done');

    const groupWrites = transactions.filter(
      (t) => t[0] && 'row' in t[0] && t[0].row.partitionKey.endsWith('~g'),
    );
    expect(groupWrites.flat()).toHaveLength(1);
    const members = (await mirror.memberChunks(CUSTOMER, big)).flatMap((c) => c.members);
    const expected = tenant.groups.get(big)?.members.filter((m) => m !== leaver) ?? [];
    expect(members.sort()).toEqual([...expected, joiner].sort());
    expect((await mirror.groupsOfUser(CUSTOMER, leaver)).map((g) => g.id)).toEqual([]);
    expect((await mirror.groupsOfUser(CUSTOMER, joiner)).map((g) => g.id)).toEqual([big]);
  });
});

describe("a quick cycle's reads", () => {
  it('start the groups delta, the subscriptions and the voice objects beside the users delta, and read the Teams users at their phase', async () => {
    const tenant = tenantOf(20, [{ members: 5 }]);
    const tables = memoryTables();
    await runFrom(tables, readerOf(tenant, { pageSize: 50, membersPerItem: 500 }), newFullCycle('full'), {
      cycle: newFullCycle('full'),
    });

    // Renamed in the directory, and given a number in Teams: both reads see the tenant as it is now.
    const id = userId(1);
    const before = tenant.users.get(id);
    if (!before) throw new Error('no user 1');
    const after = { ...before, displayName: 'Bob Renamed', lineUri: 'tel:+442071299999' };
    const started: string[] = [];
    let answeredAfterLaterReads = false;
    let startedBeforeAnswer: string[] = [];
    let laterReadsStarted: () => void = () => undefined;
    const allStarted = new Promise<void>((resolve) => (laterReadsStarted = resolve));
    const note = (name: string) => {
      started.push(name);
      if (['groups', 'skus', 'voice'].every((n) => started.includes(n))) laterReadsStarted();
    };
    const base = readerOf(tenant, { pageSize: 50, membersPerItem: 500 });
    const reader: M365Reader = {
      ...base,
      usersDelta: async () => {
        note('users');
        // The delta answers once the reads started ahead are under way, or after a second (failing below).
        answeredAfterLaterReads = await Promise.race([
          allStarted.then(() => true),
          new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1000)),
        ]);
        startedBeforeAnswer = [...started];
        return { items: [{ id, displayName: 'Bob Renamed' }], nextLink: null, deltaLink: 'users:delta2' };
      },
      teamsUsers: async () => {
        note('teams');
        return { items: [after], nextLink: null, deltaLink: null };
      },
      groupsDelta: async () => {
        note('groups');
        return { items: [], nextLink: null, deltaLink: 'groups:delta2' };
      },
      voiceObjects: async () => {
        note('voice');
        return { objects: [], refused: [] };
      },
      subscribedSkus: async () => {
        note('skus');
        return [];
      },
    };
    const mirror = createMirrorStoreOn(tables);
    const quick: CycleState = { ...newFullCycle('quick'), kind: 'quick', phase: 'users-delta' };
    const since = { teamsSince: new Date().toISOString() };
    expect(await runCycle(quickContext(quick, reader, mirror, since))).toBe('done');

    expect(answeredAfterLaterReads).toBe(true);
    // The Teams users, which day two writes too and whose rows keep no writer, are read when their phase comes.
    expect(startedBeforeAnswer.sort()).toEqual(['groups', 'skus', 'users', 'voice']);
    // Each read once: the phases took the reads started ahead rather than reading again.
    expect(started.sort()).toEqual(['groups', 'skus', 'teams', 'users', 'voice']);
    expect(quick.usersDelta).toBe('users:delta2');
    expect(quick.groupsDelta).toBe('groups:delta2');
    const stored = await mirror.getUser(CUSTOMER, id);
    expect(stored?.displayName).toBe('Bob Renamed');
    expect(stored?.lineUri).toBe('tel:+442071299999');
  });
});

describe("a full cycle's reads", () => {
  it("start the subscriptions and the voice objects with the users' listing and the first groups page with its last page, each once, and store one drift report", async () => {
    const tenant = tenantOf(120, [{ members: 30 }, { members: 5 }]);
    const base = readerOf(tenant, { pageSize: 50, membersPerItem: 500 });
    const events: string[] = [];
    const cycle = newFullCycle('full');
    let phaseAtFirstGroupsRead: string | null = null;
    let userPagesRead = 0;
    const reader: M365Reader = {
      ...base,
      teamsUsers: async (link, options) => {
        events.push(`users ${userPagesRead++}`);
        return base.teamsUsers(link, options);
      },
      groupsDelta: async (link, pageSize) => {
        if (link === null) phaseAtFirstGroupsRead = cycle.phase;
        events.push(link === null ? 'groups first' : 'groups next');
        return base.groupsDelta(link, pageSize);
      },
      voiceObjects: async () => {
        events.push('voice');
        return base.voiceObjects();
      },
      subscribedSkus: async () => {
        events.push('skus');
        return base.subscribedSkus();
      },
    };
    let drifts = 0;
    const ctx: CycleContext = {
      // A first full cycle: no delta links yet.
      ...quickContext(cycle, reader, createMirrorStoreOn(memoryTables())),
      status: emptyStatus(CUSTOMER),
      async drift() {
        drifts++;
      },
    };
    expect(await runCycle(ctx)).toBe('done');

    // Read ahead: before the users' second page, and each only once (the phases took them).
    expect(events.indexOf('voice')).toBeLessThan(events.indexOf('users 1'));
    expect(events.indexOf('skus')).toBeLessThan(events.indexOf('users 1'));
    expect(events.filter((e) => e === 'voice' || e === 'skus' || e === 'groups first')).toHaveLength(3);
    // The first groups page was asked for while the users' phase still wrote its last page.
    expect(events.indexOf('groups first')).toBe(events.indexOf('users 2') + 1);
    expect(phaseAtFirstGroupsRead).toBe('teams-users');
    expect(cycle.counts).toMatchObject({ users: 120, groups: 2, memberships: 35 });
    // The drift report, stored beside the sweep, is not stored again by the drift phase.
    expect(drifts).toBe(1);
  });
});

describe("a quick cycle's voice objects read ahead", () => {
  const usages = (...names: string[]) => ({
    policyName: 'CsOnlinePstnUsages',
    identity: 'Global',
    data: { Identity: 'Global', Usage: names },
  });
  const route = (name: string, usage: string) => ({
    policyName: 'CsOnlineVoiceRoute',
    identity: name,
    data: { Identity: name, OnlinePstnUsages: [usage], NumberPattern: '^\\+49' },
  });

  it('leave what day two wrote after the read began, and update what it wrote long before', async () => {
    const tables = memoryTables();
    const mirror = createMirrorStoreOn(tables);
    const aMinuteAgo = createMirrorStoreOn(tables, { now: () => Date.now() - 60_000 });
    await mirror.putVoiceObjects(CUSTOMER, [usages('Germany')], [], 'cycle-0');
    // A route day two created a minute ago, which someone has since changed in Teams.
    await aMinuteAgo.putVoiceObjects(CUSTOMER, [route('Old', 'Germany')], [], 'task-0');

    let readDone: () => void = () => undefined;
    const voiceRead = new Promise<void>((resolve) => (readDone = resolve));
    const reader: M365Reader = {
      ...readerOf(tenantOf(5, []), { pageSize: 50, membersPerItem: 500 }),
      usersDelta: async () => {
        // An operator's change lands while the cycle reads its users: after the voice objects were read.
        await voiceRead;
        await mirror.putVoiceObjects(
          CUSTOMER,
          [usages('Germany', 'Mobile'), route('New', 'Mobile')],
          [],
          'task-1',
        );
        return { items: [], nextLink: null, deltaLink: 'users:delta2' };
      },
      teamsUsers: async () => ({ items: [], nextLink: null, deltaLink: null }),
      groupsDelta: async () => ({ items: [], nextLink: null, deltaLink: 'groups:delta2' }),
      voiceObjects: async () => {
        readDone();
        // Teams before the operator's change, with the old route changed there.
        return { objects: [usages('Germany'), route('Old', 'Germany2')], refused: [] };
      },
      subscribedSkus: async () => [],
    };
    const quick: CycleState = { ...newFullCycle('quick'), kind: 'quick', phase: 'users-delta' };
    expect(await runCycle(quickContext(quick, reader, mirror))).toBe('done');

    const objects = await mirror.voiceObjects(CUSTOMER);
    const byIdentity = new Map(objects.map((o) => [`${o.policyName} ${o.identity}`, o.data]));
    // The usage and the route the operator just made stay: the cycle's read was older than them.
    expect(byIdentity.get('CsOnlinePstnUsages Global')).toEqual(usages('Germany', 'Mobile').data);
    expect(byIdentity.get('CsOnlineVoiceRoute New')).toEqual(route('New', 'Mobile').data);
    // What day two wrote a minute before the read is the tenant's to correct.
    expect(byIdentity.get('CsOnlineVoiceRoute Old')).toEqual(route('Old', 'Germany2').data);
  });
});

describe('a holder whose lease ran out', () => {
  it('sends no further transaction once its fence refuses, and the cycle stops as taken over', async () => {
    const tenant = tenantOf(400, [{ members: 300 }]);
    const { tables, transactions } = recordingTables(memoryTables());
    const cycle = newFullCycle('full');
    /** Transactions sent before the lease ran out; null while it holds. */
    let sentBeforeLapse: number | null = null;
    const ctx: CycleContext = {
      customerId: CUSTOMER,
      cycle,
      status: emptyStatus(CUSTOMER),
      reader: readerOf(tenant, { pageSize: 50, membersPerItem: 500 }),
      mirror: createMirrorStoreOn(tables),
      pageSize: 50,
      deadline: Number.MAX_SAFE_INTEGER,
      now: () => Date.now(),
      checkpointMs: 0,
      async checkpoint() {
        // The lease runs out once the first pages are stored, as when a Graph call outlasts it.
        if (sentBeforeLapse === null && transactions.length > 0) sentBeforeLapse = transactions.length;
      },
      fence() {
        if (sentBeforeLapse !== null) throw new LeaseLostError('The lease lease Pipelined ran out.');
      },
      async drift() {},
    };
    await expect(runCycle(ctx)).rejects.toBeInstanceOf(LeaseLostError);
    expect(sentBeforeLapse).toBeGreaterThan(0);
    expect(transactions).toHaveLength(sentBeforeLapse ?? -1);
  });
});

/** Tables whose transactions wait while `stalled` (storage far slower than Graph), then all go through. */
function stallingTables(inner: Tables) {
  let stalled = true;
  const waiting: Array<() => void> = [];
  let held = 0;
  const tables = interceptedTables(inner, (table) => ({
    transaction: async (actions) => {
      if (stalled) {
        held++;
        await new Promise<void>((resolve) => waiting.push(resolve));
      }
      return table.transaction(actions);
    },
  }));
  return {
    tables,
    held: () => held,
    release() {
      stalled = false;
      for (const go of waiting.splice(0)) go();
    },
  };
}

const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
};

describe('storage slower than Graph', () => {
  it('stops reading Graph pages while the pages read wait for their writes, and then completes', async () => {
    const tenant = tenantOf(1000, []);
    const reader = readerOf(tenant, { pageSize: 50, membersPerItem: 500 });
    let reads = 0;
    const counting: M365Reader = {
      ...reader,
      teamsUsers: (...args) => (reads++, reader.teamsUsers(...args)),
    };
    const storage = stallingTables(memoryTables());
    const saved = { cycle: newFullCycle('slow') };
    const cycle = runFrom(storage.tables, counting, newFullCycle('slow'), saved);
    await until(() => storage.held() > 0);
    // Time enough for a reader unbounded by the writes to read all 20 pages; the cycle waits on storage instead.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(reads).toBeLessThanOrEqual(PAGES_WRITING + PAGES_AHEAD);

    storage.release();
    await cycle;
    expect(reads).toBe(20);
    expect(saved.cycle.counts.users).toBe(1000);
  });

  it("makes a big group's membership rows as storage takes them, not all of the page's at once", async () => {
    const tenant = tenantOf(0, []);
    // 150 items of 2,000 members: 12 MB of membership rows, more than the cycle holds unwritten.
    for (let g = 0; g < 150; g++) {
      tenant.groups.set(groupId(g), {
        displayName: `Group ${g}`,
        members: Array.from(
          { length: 2000 },
          (_, i) => `22222222-0000-4000-8000-${String(g * 2000 + i).padStart(12, '0')}`,
        ),
      });
    }
    const reader = readerOf(tenant, { pageSize: 200, membersPerItem: 2000 });
    let taken = 0;
    const counting: M365Reader = {
      ...reader,
      groupsDelta: async (...args) => {
        const page = await reader.groupsDelta(...args);
        // Counts the items whose member references the cycle has taken from the page.
        const items = page.items.map((item) => {
          const members = item['members@delta'];
          return Object.defineProperty({ ...item }, 'members@delta', {
            enumerable: true,
            get: () => (taken++, members),
          });
        });
        return { ...page, items };
      },
    };
    const storage = stallingTables(memoryTables());
    const saved = { cycle: newFullCycle('groups') };
    const cycle = runFrom(storage.tables, counting, newFullCycle('groups'), saved);
    await until(() => storage.held() > 0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(taken).toBeGreaterThan(0);
    expect(taken).toBeLessThan(150);

    storage.release();
    await cycle;
    expect(saved.cycle.counts.memberships).toBe(300_000);
  });
});
