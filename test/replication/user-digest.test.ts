import { describe, expect, it } from 'vitest';
import { type CycleContext, runCycle } from '../../shared/replication/cycle-runner.js';
import type { M365Reader, Page } from '../../shared/replication/m365-reader.js';
import { MIRROR_TABLE, createMirrorStoreOn } from '../../shared/replication/mirror-store.js';
import type { MirrorUser } from '../../shared/replication/mirror-user.js';
import { type CycleState, emptyStatus } from '../../shared/replication/replication-store.js';
import { packDigest, unpackDigest } from '../../shared/replication/user-digest.js';
import { memoryTables } from '../../shared/storage/memory-tables.js';
import type { RowIterator, TableRow, Tables, VersionedTable } from '../../shared/storage/versioned-table.js';
import { faultyTables } from '../support/faulty-tables.js';
import { newFullCycle } from '../support/full-cycle.js';
import { interceptedTables } from '../support/intercepted-tables.js';
import { mirrorUser } from '../support/mirror-user.js';

/**
 * The users' digest (docs/replication.md, "Layout"): what a full cycle reads and writes over a steady tenant, the
 * first cycle after an upgrade, and the writes outside a cycle that must never let the digest skip a user.
 */

const CUSTOMER = 'Digest';

const userId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function tenantOf(count: number): Map<string, MirrorUser> {
  const users = new Map<string, MirrorUser>();
  for (let n = 0; n < count; n++) {
    users.set(
      userId(n),
      mirrorUser({
        id: userId(n),
        userPrincipalName: `user${n}@digest.example`,
        displayName: `Person ${n}`,
        department: 'Sales',
      }),
    );
  }
  return users;
}

function readerOf(users: Map<string, MirrorUser>): M365Reader {
  const paged = <T>(items: readonly T[], link: string | null, kind: string): Page<T> => {
    const start = link ? Number(link.split(':')[1]) : 0;
    const end = start + 50;
    return {
      items: items.slice(start, end),
      nextLink: end < items.length ? `${kind}:${end}` : null,
      deltaLink: end < items.length ? null : `${kind}:delta`,
    };
  };
  return {
    usersDeltaNow: async () => 'users:delta',
    teamsUsers: async (link) => paged([...users.values()], link, 'users'),
    teamsUser: async (id) => users.get(id) ?? null,
    usersDelta: async () => ({ items: [], nextLink: null, deltaLink: 'users:delta' }),
    groupsDelta: async () => ({ items: [], nextLink: null, deltaLink: 'groups:delta' }),
    voiceObjects: async () => ({ objects: [], refused: [] }),
    subscribedSkus: async () => [],
  };
}

let cycles = 0;

async function fullCycle(
  tables: Tables,
  users: Map<string, MirrorUser>,
  now: () => number = Date.now,
): Promise<CycleState> {
  const cycle = newFullCycle(`c${++cycles}`);

  const ctx: CycleContext = {
    customerId: CUSTOMER,
    cycle,
    status: emptyStatus(CUSTOMER),
    reader: readerOf(users),
    mirror: createMirrorStoreOn(tables, { now }),
    pageSize: 50,
    deadline: Number.MAX_SAFE_INTEGER,
    now,
    checkpointMs: 0,
    async checkpoint() {},
    fence() {},
    async drift() {},
  };
  expect(await runCycle(ctx)).toBe('done');
  return cycle;
}

/** What a run read and wrote, by kind of row: user rows (`~u~`), index rows, the digest partition (`~h`). */
interface Traffic {
  userRowsListed: number;
  userRowsWritten: number;
  indexRowsWritten: number;
  digestRowsRead: number;
}

const kindOf = (partitionKey: string) =>
  partitionKey.includes('~u~')
    ? 'user'
    : partitionKey.endsWith('~h')
      ? 'digest'
      : /~(x|q)~/.test(partitionKey)
        ? 'index'
        : 'other';

/** Tables that count the rows read and written, by kind, as the memory twin serves them. */
function trafficOf(inner: Tables) {
  let traffic: Traffic = { userRowsListed: 0, userRowsWritten: 0, indexRowsWritten: 0, digestRowsRead: 0 };
  const wrote = (partitionKey: string, rows = 1) => {
    if (kindOf(partitionKey) === 'user') traffic.userRowsWritten += rows;
    if (kindOf(partitionKey) === 'index') traffic.indexRowsWritten += rows;
  };
  const tables = interceptedTables(
    inner,
    <T extends TableRow>(table: VersionedTable<T>): Partial<VersionedTable<T>> => ({
      get: async (partitionKey, rowKey) => {
        const found = await table.get(partitionKey, rowKey);
        if (found && kindOf(partitionKey) === 'digest') traffic.digestRowsRead++;
        return found;
      },
      list: (options) => {
        const listing = table.list(options);
        const counted = (async function* () {
          for await (const row of listing) {
            if (kindOf(row.value.partitionKey) === 'user') traffic.userRowsListed++;
            if (kindOf(row.value.partitionKey) === 'digest') traffic.digestRowsRead++;
            yield row;
          }
        })();
        return Object.assign(counted, { byPage: listing.byPage.bind(listing) }) as RowIterator<T>;
      },
      insert: (row) => (wrote(row.partitionKey), table.insert(row)),
      replace: (row, etag) => (wrote(row.partitionKey), table.replace(row, etag)),
      upsert: (row) => (wrote(row.partitionKey), table.upsert(row)),
      delete: (partitionKey, rowKey, etag) => (wrote(partitionKey), table.delete(partitionKey, rowKey, etag)),
      transaction: (actions) => {
        const first = actions[0];
        if (first) wrote('row' in first ? first.row.partitionKey : first.partitionKey, actions.length);
        return table.transaction(actions);
      },
    }),
  );
  return {
    tables,
    take(): Traffic {
      const taken = traffic;
      traffic = { userRowsListed: 0, userRowsWritten: 0, indexRowsWritten: 0, digestRowsRead: 0 };
      return taken;
    },
  };
}

type Row = Record<string, unknown> & TableRow;

async function digestRows(tables: Tables): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const { value } of tables.table<Row>(MIRROR_TABLE).list()) {
    if (value.partitionKey.endsWith('~h')) rows.push(value);
  }
  return rows;
}

async function mirroredIds(tables: Tables): Promise<string[]> {
  const page = await createMirrorStoreOn(tables).listUsers(CUSTOMER, 10_000);
  return page.items.map((u) => u.id).sort();
}

describe('a steady full cycle over an unchanged tenant', () => {
  it('reads the 64 digest rows and writes no user or index row; it lists no user row but the start peek', async () => {
    const inner = memoryTables();
    const users = tenantOf(300);
    await fullCycle(inner, users);
    const counted = trafficOf(inner);

    const cycle = await fullCycle(counted.tables, users);

    // The one user row listed is the start's peek at whether the mirror holds anything (holdsNothing).
    expect(counted.take()).toEqual({
      userRowsListed: 1,
      userRowsWritten: 0,
      indexRowsWritten: 0,
      digestRowsRead: 64,
    });
    expect(cycle.counts.users).toBe(300);
    expect(cycle.counters.usersWritten).toBe(0);
  });

  it('writes only the changed users, removes the gone ones, and the next cycle again lists nothing', async () => {
    const inner = memoryTables();
    const users = tenantOf(300);
    await fullCycle(inner, users);
    const renamed = users.get(userId(7));
    if (renamed) users.set(renamed.id, { ...renamed, displayName: 'Renamed Person' });
    users.delete(userId(8));
    users.set(userId(900), mirrorUser({ id: userId(900), userPrincipalName: 'joiner@digest.example' }));
    const counted = trafficOf(inner);

    const cycle = await fullCycle(counted.tables, users);
    expect(counted.take()).toMatchObject({ userRowsListed: 1, userRowsWritten: 3 });
    expect(cycle.counters.usersRemoved).toBe(1);
    expect(await mirroredIds(inner)).toEqual([...users.keys()].sort());
    expect((await createMirrorStoreOn(inner).getUser(CUSTOMER, userId(7)))?.displayName).toBe(
      'Renamed Person',
    );

    await fullCycle(counted.tables, users);
    expect(counted.take()).toMatchObject({ userRowsListed: 1, userRowsWritten: 0 });
  });
});

describe('the first full cycle after the upgrade', () => {
  it('lists the user rows once, writes the digest, loses nobody, and the next cycle lists no user row', async () => {
    const inner = memoryTables();
    const users = tenantOf(300);
    await fullCycle(inner, users);
    // As the release before the digest left the mirror: no digest partition at all.
    const table = inner.table<Row>(MIRROR_TABLE);
    for (const row of await digestRows(inner)) await table.delete(row.partitionKey, row.rowKey);
    const counted = trafficOf(inner);

    await fullCycle(counted.tables, users);
    expect(counted.take()).toMatchObject({
      userRowsListed: 1 + 300,
      userRowsWritten: 0,
      indexRowsWritten: 0,
    });
    expect((await digestRows(inner)).map((r) => r.rowKey)).toHaveLength(64);
    expect(await mirroredIds(inner)).toEqual([...users.keys()].sort());

    await fullCycle(counted.tables, users);
    expect(counted.take()).toMatchObject({ userRowsListed: 1, userRowsWritten: 0, digestRowsRead: 64 });
  });
});

describe('a user written outside the full cycle', () => {
  it('is rewritten by the next full cycle when Teams still has what the digest says (a day-two change undone)', async () => {
    const tables = memoryTables();
    const users = tenantOf(100);
    await fullCycle(tables, users);
    const mirror = createMirrorStoreOn(tables);
    // The digest says H1; day two writes H2; Teams answers H1 again (the change was undone there).
    await mirror.updateUsers(
      CUSTOMER,
      [{ id: userId(5), change: (user) => ({ ...user, department: 'Changed on day two' }) }],
      'day-two',
    );
    expect((await mirror.getUser(CUSTOMER, userId(5)))?.department).toBe('Changed on day two');

    const cycle = await fullCycle(tables, users);

    expect((await mirror.getUser(CUSTOMER, userId(5)))?.department).toBe('Sales');
    expect(cycle.counters.usersWritten).toBe(1);
    // The mark is gone once the digest accounts for the rewrite: the next cycle writes nothing.
    expect((await digestRows(tables)).filter((r) => r.rowKey.startsWith('d~'))).toEqual([]);
    expect((await fullCycle(tables, users)).counters.usersWritten).toBe(0);
  });

  it('is removed by the next full cycle when Teams does not have it (an import the tenant never kept)', async () => {
    const tables = memoryTables();
    const users = tenantOf(100);
    await fullCycle(tables, users);
    const mirror = createMirrorStoreOn(tables);
    await mirror.putUsers(
      CUSTOMER,
      [mirrorUser({ id: userId(555), userPrincipalName: 'ghost@digest.example' })],
      'import',
    );

    const cycle = await fullCycle(tables, users);

    expect(await mirror.getUser(CUSTOMER, userId(555))).toBeNull();
    expect(cycle.counters.usersRemoved).toBe(1);
    expect(await mirroredIds(tables)).toEqual([...users.keys()].sort());
  });

  it('is rewritten after its pending flag was set from a read older than the cycle write', async () => {
    const tables = memoryTables();
    const users = tenantOf(100);
    await fullCycle(tables, users);
    const mirror = createMirrorStoreOn(tables);
    await mirror.markPending(CUSTOMER, userId(3), true, { edited: true });

    expect((await fullCycle(tables, users)).counters.usersWritten).toBe(1);
    const version = await mirror.getUserVersion(CUSTOMER, userId(3));
    expect(version).toMatchObject({ pending: true, edited: true });
    expect((await fullCycle(tables, users)).counters.usersWritten).toBe(0);
  });
});

describe('a write outside the full cycle that died after its mark', () => {
  it('keeps its user unknown: each full cycle rewrites the user rather than skip it', async () => {
    const inner = memoryTables();
    const users = tenantOf(100);
    await fullCycle(inner, users);
    // Day two marks the user, then dies before its row (and the mark's "done") are written.
    const dying = faultyTables(
      inner,
      (call) => call.operation === 'transaction' && call.partitionKey?.includes('~u~') === true,
    );
    await expect(
      createMirrorStoreOn(dying).updateUsers(
        CUSTOMER,
        [{ id: userId(5), change: (user) => ({ ...user, department: 'Never stored' }) }],
        'day-two',
      ),
    ).rejects.toThrow();

    expect((await fullCycle(inner, users)).counters.usersWritten).toBe(1);
    expect((await fullCycle(inner, users)).counters.usersWritten).toBe(1);
    expect((await createMirrorStoreOn(inner).getUser(CUSTOMER, userId(5)))?.department).toBe('Sales');
    expect((await digestRows(inner)).filter((r) => r.rowKey.startsWith('d~'))).toHaveLength(1);
  });

  it('keeps rewriting its user until the mark is a day old, then the next full cycle removes the mark', async () => {
    const DAY_MS = 24 * 60 * 60 * 1000;
    let clock = Date.parse('2026-12-04T09:00:00.000Z');
    const now = () => clock;
    const inner = memoryTables();
    const users = tenantOf(100);
    await fullCycle(inner, users, now);
    const dying = faultyTables(
      inner,
      (call) => call.operation === 'transaction' && call.partitionKey?.includes('~u~') === true,
    );
    await expect(
      createMirrorStoreOn(dying, { now }).updateUsers(
        CUSTOMER,
        [{ id: userId(5), change: (user) => ({ ...user, department: 'Never stored' }) }],
        'day-two',
      ),
    ).rejects.toThrow();
    const marks = async () => (await digestRows(inner)).filter((r) => r.rowKey.startsWith('d~'));

    // A minute short of a day, the writer may still be finishing: the mark stays and the user stays unknown.
    clock += DAY_MS - 60_000;
    expect((await fullCycle(inner, users, now)).counters.usersWritten).toBe(1);
    expect(await marks()).toHaveLength(1);

    // A day old, its writer is taken for dead: the cycle still rewrites the user, and its digest now accounts for it.
    clock += 2 * 60_000;
    expect((await fullCycle(inner, users, now)).counters.usersWritten).toBe(1);
    expect(await marks()).toEqual([]);
    expect((await createMirrorStoreOn(inner).getUser(CUSTOMER, userId(5)))?.department).toBe('Sales');
    expect((await fullCycle(inner, users, now)).counters.usersWritten).toBe(0);
  });
});

describe('the packed digest', () => {
  it('gives back every id and hash it was given, GUIDs at 34 characters an entry', () => {
    const entries = new Map([
      [userId(1), 'abcdef012345'],
      ['not-a-guid@example', '0123456789ab'],
      [userId(2), ''],
    ]);
    const packed = packDigest(entries);
    expect(unpackDigest(packed)).toEqual(entries);
    expect(packDigest(new Map([[userId(1), 'abcdef012345']]))).toHaveLength(34);
    expect(unpackDigest('')).toEqual(new Map());
  });
});
