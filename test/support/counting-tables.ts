import type { Tables } from '../../shared/storage/versioned-table.js';
import { faultyTables, type StorageCall } from './faulty-tables.js';

export interface CountingTables {
  readonly tables: Tables;
  /** The storage calls made while `during` ran: each point read, write, transaction and listing (query) once. */
  count(during: () => Promise<unknown>): Promise<readonly StorageCall[]>;
}

/** Tables that record every call that reaches storage, for tests that bound how many requests an operation makes. */
export function countingTables(inner: Tables): CountingTables {
  let calls: StorageCall[] | null = null;
  const tables = faultyTables(inner, (call) => {
    calls?.push(call);
    return false;
  });
  return {
    tables,
    async count(during) {
      const recorded: StorageCall[] = [];
      calls = recorded;
      try {
        await during();
      } finally {
        calls = null;
      }
      return recorded;
    },
  };
}
