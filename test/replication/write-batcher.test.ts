import { describe, expect, it } from 'vitest';
import { createWriteBatcher } from '../../shared/replication/write-batcher.js';
import type { TableRow, TransactionAction } from '../../shared/storage/versioned-table.js';

/**
 * The batcher's bound on what it holds: a writer faster than storage waits for room by bytes as well as by rows,
 * so that fat rows (a big group's membership rows) never pile up however few they are.
 */

type Row = TableRow & { data: string };

/** A table whose transactions wait until the test lets them through. */
function stalledTable() {
  const waiting: Array<() => void> = [];
  const sent: Array<ReadonlyArray<TransactionAction<Row>>> = [];
  return {
    sent,
    release() {
      for (const go of waiting.splice(0)) go();
    },
    table: {
      async transaction(actions: ReadonlyArray<TransactionAction<Row>>): Promise<string[]> {
        sent.push(actions);
        await new Promise<void>((resolve) => waiting.push(resolve));
        return actions.map(() => 'etag');
      },
      async delete(): Promise<boolean> {
        return true;
      },
    },
  };
}

const fatRow = (n: number): Row => ({
  partitionKey: `p${n % 4}`,
  rowKey: `r${n}`,
  data: 'x'.repeat(100_000),
});

const settled = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('a writer faster than storage', () => {
  it('waits for room once the rows it holds pass the byte bound, though they are few', async () => {
    const storage = stalledTable();
    const writer = createWriteBatcher<Row>(storage.table, {
      maxInFlight: 8,
      maxBuffered: 1000,
      maxBufferedBytes: 350_000,
      maxWaitMs: 0,
    });
    const written = Array.from({ length: 4 }, (_, n) => writer.put(fatRow(n)));
    let roomy = false;
    const room = writer.room().then(() => (roomy = true));
    await settled();
    expect(roomy).toBe(false);
    // The bound sends what waits rather than holding it: storage has the rows, the writer waits for it.
    expect(storage.sent.flat()).toHaveLength(4);

    storage.release();
    await room;
    await Promise.all(written);
    expect(roomy).toBe(true);
  });

  it('gets room at once while the bytes it holds are under the bound', async () => {
    const storage = stalledTable();
    const writer = createWriteBatcher<Row>(storage.table, {
      maxInFlight: 8,
      maxBuffered: 1000,
      maxBufferedBytes: 1_000_000,
      maxWaitMs: 0,
    });
    const written = writer.put(fatRow(0));
    await writer.room();
    writer.finish();
    await settled();
    storage.release();
    await written;
    expect(storage.sent.flat()).toHaveLength(1);
  });
});

describe('a page of rows written with one wait', () => {
  const row = (n: number): Row => ({ partitionKey: `p${n % 3}`, rowKey: `r${n}`, data: String(n) });

  it('resolves once every row of it is stored, whichever transactions carry them', async () => {
    const storage = stalledTable();
    const writer = createWriteBatcher<Row>(storage.table, {
      maxInFlight: 2,
      maxBuffered: 1000,
      maxWaitMs: 0,
    });
    let stored = false;
    const written = writer.putAll(Array.from({ length: 250 }, (_, n) => row(n))).then(() => (stored = true));
    writer.finish();
    await settled();
    // Three partitions, at most two transactions at once: the third waits for a slot.
    expect(storage.sent).toHaveLength(2);
    storage.release();
    await settled();
    expect(stored).toBe(false);
    storage.release();
    await written;
    expect(
      storage.sent.flatMap((actions) => actions.map((a) => ('row' in a ? a.row.rowKey : ''))).sort(),
    ).toEqual(Array.from({ length: 250 }, (_, n) => `r${n}`).sort());
  });

  it('fails with the first refused transaction, and so does every later write', async () => {
    const refusal = new Error('The service refused the transaction.');
    let calls = 0;
    const writer = createWriteBatcher<Row>(
      {
        async transaction(actions) {
          if (++calls === 2) throw refusal;
          return actions.map(() => 'etag');
        },
        delete: async () => true,
      },
      { maxInFlight: 1, maxBuffered: 1000, maxWaitMs: 0 },
    );
    const written = writer.putAll(Array.from({ length: 6 }, (_, n) => row(n)));
    writer.finish();
    await expect(written).rejects.toBe(refusal);
    await expect(writer.putAll([row(7)])).rejects.toBe(refusal);
    await expect(writer.putAll([])).rejects.toBe(refusal);
  });
});
