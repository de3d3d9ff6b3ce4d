import { describe, expect, it } from 'vitest';
import { TransientError } from '../../shared/errors/domain-errors.js';
import { MIRROR_TABLE, createMirrorStoreOn } from '../../shared/replication/mirror-store.js';
import type { MirrorUser } from '../../shared/replication/mirror-user.js';
import { indexBucket, upnBucket } from '../../shared/replication/user-index.js';
import { memoryTables } from '../../shared/storage/memory-tables.js';
import type { Tables } from '../../shared/storage/versioned-table.js';
import { countingTables } from '../support/counting-tables.js';
import { type StorageCall, faultyTables } from '../support/faulty-tables.js';
import { mirrorUser } from '../support/mirror-user.js';

/**
 * A sync interrupted between a user's index rows and its user row (a host crash, a storage outage) is redone by the
 * next sync, which must then succeed and leave the index as if nothing had happened: the rows the interrupted write
 * removed already are no obstacle (Table storage fails a transaction that deletes an absent row).
 */

type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

const CUSTOMER = 'Interrupted';

const user = (n: number, displayName: string, lineUri: string | null = null): MirrorUser =>
  mirrorUser({
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    userPrincipalName: `user${n}@interrupted.example`,
    displayName,
    enterpriseVoiceEnabled: lineUri !== null,
    lineUri,
    telephoneNumbers: lineUri ? [lineUri] : [],
  });

/** A write of user rows (their reads go on). */
const writesUserRows = (call: StorageCall) =>
  call.operation === 'transaction' && call.partitionKey?.includes('~u~') === true;

/** A mirror whose storage fails the calls `fails` picks while `armed`, as an outage or a crash would stop them. */
function interruptible(fails: (call: StorageCall) => boolean) {
  const inner = memoryTables();
  let armed = false;
  const tables = faultyTables(inner, (call) => armed && fails(call));
  return {
    inner,
    mirror: createMirrorStoreOn(tables),
    async interrupted(write: () => Promise<unknown>) {
      armed = true;
      try {
        await expect(write()).rejects.toBeInstanceOf(TransientError);
      } finally {
        armed = false;
      }
    },
  };
}

/** The mirror's rows but the users' own (which carry the cycle that wrote them) and the digest's marks. */
async function indexRows(tables: Tables): Promise<Entity[]> {
  const rows: Entity[] = [];
  for await (const { value } of tables.table<Entity>(MIRROR_TABLE).list()) {
    if (!value.partitionKey.includes('~u~') && !value.partitionKey.endsWith('~h')) rows.push(value);
  }
  return rows;
}

/** The index rows a mirror that never failed holds for these users. */
async function cleanIndexOf(users: readonly MirrorUser[]): Promise<Entity[]> {
  const tables = memoryTables();
  await createMirrorStoreOn(tables).putUsers(CUSTOMER, users, 'clean');
  return indexRows(tables);
}

describe('a mirror write interrupted after the index rows and before the user row', () => {
  it('is redone by the next sync, which leaves exactly the new index rows', async () => {
    const { inner, mirror, interrupted } = interruptible(writesUserRows);
    const anna = user(1, 'Anna Smith', 'tel:+442071230001');
    const bob = user(2, 'Bob Annan');
    await mirror.putUsers(CUSTOMER, [anna, bob], 'c1');

    // Anna marries and moves number; Carl is new. Their index rows land, the user rows do not.
    const renamed = { ...anna, displayName: 'Anna Jones', lineUri: 'tel:+442071230002' };
    const carl = user(3, 'Carl Berg');
    await interrupted(() => mirror.putUsers(CUSTOMER, [renamed, carl], 'c2'));

    await mirror.putUsers(CUSTOMER, [renamed, carl], 'c3');

    expect(await indexRows(inner)).toEqual(await cleanIndexOf([renamed, bob, carl]));
    expect((await mirror.getUser(CUSTOMER, anna.id))?.displayName).toBe('Anna Jones');
    const smiths = await mirror.indexPage(CUSTOMER, {
      family: 'search',
      prefix: 'smith',
      where: [],
      top: 10,
    });
    expect(smiths.items).toEqual([]);
  });

  it('is redone when only some index partitions were written', async () => {
    let transactions = 0;
    // The third index transaction and everything after it fail: some partitions hold the new rows, some the old.
    const { inner, mirror, interrupted } = interruptible(
      (call) => call.operation === 'transaction' && ++transactions >= 3,
    );
    const anna = user(1, 'Anna Smith', 'tel:+442071230001');
    await mirror.putUsers(CUSTOMER, [anna], 'c1');
    const renamed = {
      ...anna,
      displayName: 'Anne Smythe',
      userPrincipalName: 'anne.smythe@interrupted.example',
    };
    await interrupted(() => mirror.putUsers(CUSTOMER, [renamed], 'c2'));

    await mirror.putUsers(CUSTOMER, [renamed], 'c3');

    expect(await indexRows(inner)).toEqual(await cleanIndexOf([renamed]));
  });
});

describe('a mirror write not interrupted', () => {
  it('removes stale index rows within its transactions, not one request per row', async () => {
    const counting = countingTables(memoryTables());
    const mirror = createMirrorStoreOn(counting.tables);
    const users = Array.from({ length: 50 }, (_, n) => user(n + 1, `Anna${n} Smith`));
    await mirror.putUsers(CUSTOMER, users, 'c1');

    const renamed = users.map((u) => ({
      ...u,
      displayName: u.displayName?.replace('Smith', 'Jones') ?? null,
    }));
    const calls = await counting.count(() => mirror.putUsers(CUSTOMER, renamed, 'c2'));

    // One transaction per index partition (each family's buckets, where the stale `smith` rows go too) and per
    // user bucket (and the digest's marks); no single deletes.
    expect(calls.filter((c) => c.operation === 'delete')).toEqual([]);
    const indexWrites = calls
      .filter(
        (c) =>
          c.operation === 'transaction' &&
          !c.partitionKey?.includes('~u~') &&
          !c.partitionKey?.endsWith('~h'),
      )
      .map((c) => c.partitionKey);
    // Three families by the id's bucket, the UPNs by their own.
    const partitions =
      3 * new Set(users.map((u) => indexBucket(u.id))).size +
      new Set(users.map((u) => upnBucket(u.userPrincipalName))).size;
    expect(new Set(indexWrites).size).toBe(partitions);
    expect(indexWrites.length).toBe(partitions);
  });
});

describe('a removal interrupted after the index rows and before the user row', () => {
  it('is redone by the next delta page that removes the user', async () => {
    const { inner, mirror, interrupted } = interruptible(writesUserRows);
    const anna = user(1, 'Anna Smith', 'tel:+442071230001');
    const bob = user(2, 'Bob Annan');
    await mirror.putUsers(CUSTOMER, [anna, bob], 'c1');

    await interrupted(() => mirror.deleteUsers(CUSTOMER, [anna.id]));
    await mirror.deleteUsers(CUSTOMER, [anna.id]);

    expect(await mirror.getUser(CUSTOMER, anna.id)).toBeNull();
    expect(await indexRows(inner)).toEqual(await cleanIndexOf([bob]));
  });

  it("is redone by the full cycle's sweep", async () => {
    const { inner, mirror, interrupted } = interruptible(writesUserRows);
    const anna = user(1, 'Anna Smith');
    const bob = user(2, 'Bob Annan');
    await mirror.putUsers(CUSTOMER, [anna, bob], 'c1');

    await interrupted(() => mirror.sweepUsers(CUSTOMER, [anna.id], 'c2'));
    expect((await mirror.sweepUsers(CUSTOMER, [anna.id], 'c2')).removed).toBe(1);

    expect(await mirror.getUser(CUSTOMER, anna.id)).toBeNull();
    expect(await indexRows(inner)).toEqual(await cleanIndexOf([bob]));
  });
});
