import { VersionConflictError } from '../../shared/errors/domain-errors.js';
import type {
  ListOptions,
  Page,
  PageSettings,
  RowIterator,
  Stored,
  TableRow,
  Tables,
  VersionedTable,
} from '../../shared/storage/versioned-table.js';

/**
 * The `Tables` port across a process boundary (Node's IPC channel), so that the replication bench's in-memory
 * storage lives in a process of its own (storage-twin.ts) and its rows are not in the product process's RSS, as
 * Azure's rows are not. One message a call and one a page, as Azure has one request each. Arguments and answers
 * cross as JSON text, as they cross to Azure (the SDK's request bodies and responses are JSON): the product's
 * process pays to serialise its rows what it would pay in Azure, not what V8's structured clone of the same rows
 * costs (about twice as much).
 */

type Operation = 'get' | 'insert' | 'replace' | 'upsert' | 'delete' | 'transaction' | 'page';

interface TablesCall {
  readonly tablesCall: number;
  readonly table: string;
  readonly operation: Operation;
  /** The arguments as JSON (`encodeArguments`). */
  readonly args: string;
}

type TablesAnswer =
  /** The answer as JSON; absent for `undefined`. */
  | { readonly tablesAnswer: number; readonly value?: string }
  | { readonly tablesAnswer: number; readonly error: { readonly name: string; readonly message: string } };

/** An argument left out (an optional ETag), which JSON would turn into null, and null is an ETag's own value. */
const ABSENT = '\u0000absent';

const encodeArguments = (args: readonly unknown[]) =>
  JSON.stringify(args.map((arg) => (arg === undefined ? ABSENT : arg)));
const decodeArguments = (text: string) =>
  (JSON.parse(text) as unknown[]).map((arg) => (arg === ABSENT ? undefined : arg));

/** One end of an IPC channel: a child process seen from its parent, or `process` in the child. */
export interface Channel {
  send?(message: unknown): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

const isCall = (message: unknown): message is TablesCall =>
  typeof message === 'object' && message !== null && 'tablesCall' in message;
const isAnswer = (message: unknown): message is TablesAnswer =>
  typeof message === 'object' && message !== null && 'tablesAnswer' in message;

/** Answers the calls arriving on `channel` from `inner`. */
export function serveTables(channel: Channel, inner: Tables): void {
  channel.on('message', (message) => {
    if (!isCall(message)) return;
    run(inner.table(message.table), message.operation, decodeArguments(message.args)).then(
      (value) =>
        channel.send?.({
          tablesAnswer: message.tablesCall,
          ...(value === undefined ? {} : { value: JSON.stringify(value) }),
        } satisfies TablesAnswer),
      (error: unknown) =>
        channel.send?.({
          tablesAnswer: message.tablesCall,
          error: {
            name: error instanceof Error ? error.name : 'Error',
            message: error instanceof Error ? error.message : String(error),
          },
        }),
    );
  });
}

async function run(
  table: VersionedTable<TableRow>,
  operation: Operation,
  args: readonly unknown[],
): Promise<unknown> {
  switch (operation) {
    case 'page': {
      const [options, settings] = args as [ListOptions, PageSettings];
      const next = await table.list(options).byPage(settings).next();
      return next.done ? { rows: [] } : next.value;
    }
    case 'get':
      return table.get(...(args as Parameters<typeof table.get>));
    case 'insert':
      return table.insert(...(args as Parameters<typeof table.insert>));
    case 'replace':
      return table.replace(...(args as Parameters<typeof table.replace>));
    case 'upsert':
      return table.upsert(...(args as Parameters<typeof table.upsert>));
    case 'delete':
      return table.delete(...(args as Parameters<typeof table.delete>));
    case 'transaction':
      return table.transaction(...(args as Parameters<typeof table.transaction>));
  }
}

/** Tables whose calls are answered by `serveTables` at the other end of `channel`. */
export function ipcTables(channel: Channel): Tables {
  let lastCall = 0;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  channel.on('message', (message) => {
    if (!isAnswer(message)) return;
    const waiting = pending.get(message.tablesAnswer);
    if (!waiting) return;
    pending.delete(message.tablesAnswer);
    if ('error' in message) waiting.reject(rebuilt(message.error));
    else waiting.resolve(message.value === undefined ? undefined : JSON.parse(message.value));
  });
  const call = <R>(table: string, operation: Operation, args: readonly unknown[]) =>
    new Promise<R>((resolve, reject) => {
      const tablesCall = ++lastCall;
      pending.set(tablesCall, { resolve: resolve as (value: unknown) => void, reject });
      channel.send?.({ tablesCall, table, operation, args: encodeArguments(args) } satisfies TablesCall);
    });
  return {
    table<T extends TableRow>(name: string): VersionedTable<T> {
      return {
        get: (...args) => call(name, 'get', args),
        insert: (...args) => call(name, 'insert', args),
        replace: (...args) => call(name, 'replace', args),
        upsert: (...args) => call(name, 'upsert', args),
        delete: (...args) => call(name, 'delete', args),
        transaction: (...args) => call(name, 'transaction', args),
        list(options = {}) {
          async function* pages(settings: PageSettings = {}): AsyncIterableIterator<Page<T>> {
            let continuationToken = settings.continuationToken;
            do {
              const page = await call<Page<T>>(name, 'page', [options, { ...settings, continuationToken }]);
              yield page;
              continuationToken = page.continuationToken;
            } while (continuationToken);
          }
          async function* all(): AsyncIterableIterator<Stored<T>> {
            for await (const page of pages()) yield* page.rows;
          }
          return Object.assign(all(), { byPage: pages }) as RowIterator<T>;
        },
      };
    },
  };
}

/** The storage kit's errors as the product catches them: a lost race, a refused row; anything else as an Error. */
function rebuilt({ name, message }: { name: string; message: string }): Error {
  if (name === 'VersionConflictError') return new VersionConflictError(message);
  if (name === 'RangeError') return new RangeError(message);
  return new Error(message);
}
