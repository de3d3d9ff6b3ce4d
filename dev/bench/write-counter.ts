import type { RowIterator, TableRow, Tables, VersionedTable } from '../../shared/storage/versioned-table.js';

/** What the product wrote to Table storage: every row a write touched, and the requests that carried them. */
export interface WriteCounts {
  /** Rows inserted, replaced, upserted or deleted, alone or in a transaction. */
  readonly rows: number;
  /** Entity group transactions (one request each, up to 100 rows of one partition). */
  readonly transactions: number;
  /** Writes of one row outside a transaction (one request each). */
  readonly singleWrites: number;
  /**
   * Rows read, by point reads and listings: a steady full cycle's users' digest is 64 rows where the user rows were
   * the tenant's every user (docs/replication.md, "Layout").
   */
  readonly rowsRead: number;
}

export interface CountedTables {
  readonly tables: Tables;
  /** The writes since the last call (or since the start), and starts counting anew. */
  take(): WriteCounts;
}

/** Tables that count the writes reaching `inner`, for the bench's figure of what a cycle writes. */
export function countWrites(inner: Tables): CountedTables {
  let counts = { rows: 0, transactions: 0, singleWrites: 0, rowsRead: 0 };
  const single = () => {
    counts.rows++;
    counts.singleWrites++;
  };
  return {
    tables: {
      table<T extends TableRow>(name: string): VersionedTable<T> {
        const table = inner.table<T>(name);
        return {
          get: async (...args) => {
            const found = await table.get(...args);
            if (found) counts.rowsRead++;
            return found;
          },
          list: (...args) => {
            const listing = table.list(...args);
            const counted = (async function* () {
              for await (const row of listing) {
                counts.rowsRead++;
                yield row;
              }
            })();
            return Object.assign(counted, { byPage: listing.byPage.bind(listing) }) as RowIterator<T>;
          },
          insert: (...args) => (single(), table.insert(...args)),
          replace: (...args) => (single(), table.replace(...args)),
          upsert: (...args) => (single(), table.upsert(...args)),
          delete: (...args) => (single(), table.delete(...args)),
          transaction: (actions) => {
            counts.rows += actions.length;
            counts.transactions++;
            return table.transaction(actions);
          },
        };
      },
    },
    take() {
      const taken = counts;
      counts = { rows: 0, transactions: 0, singleWrites: 0, rowsRead: 0 };
      return taken;
    },
  };
}
