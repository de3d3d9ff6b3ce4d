import type { MirrorCounts } from '../../shared/replication/replication-store.js';
import type { AzureCostStats } from './azure-cost-tables.js';
import type { WriteCounts } from './write-counter.js';

/** What the benchmark hands its product process (as JSON in BENCH_REQUEST). */
export interface WorkerRequest {
  readonly storageConnectionString: string;
  /**
   * Where the product's tables are: `twin`, the in-memory twin in the parent process (over IPC) charged with Azure
   * Table storage's costs (dev/bench/azure-cost-tables.ts); `azurite`, the emulator. Queues, leases and timers are
   * on Azurite either way.
   */
  readonly storage: 'twin' | 'azurite';
  /** The cost model's latency of a request (`storage: 'twin'`). */
  readonly requestMs?: number;
  /** App Settings, as the Function App would have them. */
  readonly settings: Readonly<Record<string, string>>;
  readonly customer: {
    readonly shortName: string;
    readonly tenantId: string;
    readonly clientId: string;
    readonly clientSecret: string;
  };
}

/** What the parent asks the product process for next: a steady full cycle, a quick cycle, or to stop. */
export type WorkerCommand = 'steady' | 'quick' | 'done';

/** What the product process reports after each cycle (over the IPC channel). */
export interface WorkerReport {
  /** `full`: the initial cycle; `steady`: a full cycle over the unchanged tenant; `quick`: after 100 changes. */
  readonly phase: 'full' | 'steady' | 'quick';
  readonly wallMs: number;
  /** The process's peak resident set size so far (`process.resourceUsage().maxRSS`). */
  readonly peakRssBytes: number;
  readonly outcome: string;
  readonly counts: MirrorCounts;
  readonly pages: number;
  /** What the cycle wrote to Table storage (dev/bench/write-counter.ts). */
  readonly writes: WriteCounts;
  /** What the cost model charged during the cycle (`storage: 'twin'` only). */
  readonly storageCost?: AzureCostStats;
  /**
   * Graph and Teams admin requests the sandbox answered during the cycle, and how many with a 429: counted by the
   * bench's parent, which runs the sandbox, so that a cycle's throttling can be set beside its floor's.
   */
  readonly graph?: { readonly requests: number; readonly throttled: number };
}

/** What the Graph-read floor's process reports (dev/bench/graph-floor.ts). */
export interface FloorReport {
  readonly phase: 'floor';
  readonly wallMs: number;
  readonly pages: number;
  /** HTTP requests to Graph and the Teams admin API, retries included, and how many were answered 429. */
  readonly requests: number;
  readonly throttled: number;
  readonly users: number;
  readonly groups: number;
  readonly voiceObjects: number;
}

/** What the API load benchmark hands its server process (as JSON in BENCH_REQUEST). */
export interface ApiWorkerRequest {
  /** App Settings, as the Function App would have them. */
  readonly settings: Readonly<Record<string, string>>;
  /**
   * Serve from the in-memory twin of Table storage (queues stay in the settings' storage), seeded with the Users
   * list benchmark's mirror of this many users before listening; Table storage at the settings' connection when
   * absent.
   */
  readonly memoryUsersMirror?: number;
}

/** The server process's one message: it listens. */
export interface ApiWorkerReady {
  readonly url: string;
  /** How long seeding the in-memory mirror took (with `memoryUsersMirror`). */
  readonly seedMs?: number;
}

/** A worker process's entry: runs `main`, then exits 0, or prints why it failed and exits 1. */
export function runWorker(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
