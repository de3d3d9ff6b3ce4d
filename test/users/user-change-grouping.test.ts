import { describe, expect, it } from 'vitest';
import { createMirrorStoreOn } from '../../shared/replication/mirror-store.js';
import { memoryTables } from '../../shared/storage/memory-tables.js';
import type { TableRow, Tables, VersionedTable } from '../../shared/storage/versioned-table.js';
import type { NumberGuard } from '../../shared/users/ports.js';
import type { UserChange, UserChangeApplier } from '../../shared/users/user-change.js';
import { createUserChangeExecution } from '../../shared/users/user-change-execution.js';
import { createUserChangeStore } from '../../shared/users/user-change-store.js';
import { countingTables } from '../support/counting-tables.js';
import { mirrorUser } from '../support/mirror-user.js';

/**
 * An import's rows run hundreds at a time; what each shows in the mirror once applied (the user's row and its nine or
 * so index rows, its Pending changes flag) is written together with the others' rather than a dozen requests each.
 */
const CUSTOMER = 'GroupCo';
const TASK = '01KGROUP000000000000000000';
const USERS = 60;
const idOf = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const lineOf = (i: number) => `tel:+44207100${String(i).padStart(4, '0')}`;

/** Tables a round trip away, as storage is: every point call and transaction answers after a millisecond. */
function remote(inner: Tables): Tables {
  return {
    table<T extends TableRow>(name: string): VersionedTable<T> {
      const table = inner.table<T>(name);
      return new Proxy(table, {
        get(target, property, receiver) {
          const value: unknown = Reflect.get(target, property, receiver);
          if (typeof value !== 'function' || property === 'list') return value;
          return async (...args: unknown[]) => {
            await new Promise((resolve) => setTimeout(resolve, 1));
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
    },
  };
}

async function setUp() {
  const counter = countingTables(remote(memoryTables()));
  const mirror = createMirrorStoreOn(counter.tables);
  const store = createUserChangeStore(counter.tables);
  await mirror.putUsers(
    CUSTOMER,
    Array.from({ length: USERS }, (_, i) =>
      mirrorUser({ id: idOf(i), userPrincipalName: `user${i}@groupco.example`, displayName: `User ${i}` }),
    ),
    'seed',
  );
  const sent: UserChange[] = [];
  const applier = {
    apply: async (_target: unknown, change: UserChange) => {
      sent.push(change);
      // Teams answers a number assignment after a while: the rows are in flight together, as in an import.
      await new Promise((resolve) => setTimeout(resolve, 5));
    },
  } as unknown as UserChangeApplier;
  const execution = createUserChangeExecution({
    mirror,
    store,
    applier,
    numbers: { assertAssignable: async () => undefined } as unknown as NumberGuard,
    customers: { get: async () => ({}) } as never,
  });
  for (let i = 0; i < USERS; i++) {
    await store.updatePendingTasks(CUSTOMER, idOf(i), () => [TASK]);
    await mirror.markPending(CUSTOMER, idOf(i), true);
  }
  const run = (i: number) =>
    execution.applyToUser({
      customerId: CUSTOMER,
      userId: idOf(i),
      taskId: TASK,
      initiatedBy: 'admin@provider.example',
      changes: [{ field: 'line-uri', value: lineOf(i) }],
    });
  return { counter, mirror, sent, run };
}

describe('changes applied to many users at once', () => {
  it('share their mirror writes, and each user shows its own number with no pending change', async () => {
    const { counter, mirror, sent, run } = await setUp();
    const calls = await counter.count(() => Promise.all(Array.from({ length: USERS }, (_, i) => run(i))));
    expect(sent).toHaveLength(USERS);
    for (let i = 0; i < USERS; i++) {
      const stored = await mirror.getUserVersion(CUSTOMER, idOf(i));
      expect(stored?.user.lineUri).toBe(lineOf(i));
      expect(stored?.pending).toBe(false);
    }
    // The Users list sorted by Line URI reads the index rows: each number once, in order, none pending.
    const page = await mirror.indexPage(CUSTOMER, { family: 'line-uri', where: [], top: USERS + 1 });
    expect(page.items.map((u) => u.lineUri)).toEqual(Array.from({ length: USERS }, (_, i) => lineOf(i)));
    expect(page.items.every((u) => u.pending !== true)).toBe(true);
    // One user alone writes its row and eight index rows, each a transaction of its own partition.
    const mirrorWrites = calls.filter((c) => c.table === 'replicamirror' && c.operation === 'transaction');
    expect(mirrorWrites.length).toBeLessThan(USERS * 2);
  });

  it('one change alone is written at once, with no wait for others', async () => {
    const { mirror, run } = await setUp();
    await run(7);
    expect((await mirror.getUser(CUSTOMER, idOf(7)))?.lineUri).toBe(lineOf(7));
  });
});
