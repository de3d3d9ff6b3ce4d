import type { MirrorCounts } from '../../shared/replication/replication-store.js';

/** What the benchmark hands its product process (as JSON in BENCH_REQUEST). */
export interface WorkerRequest {
  readonly storageConnectionString: string;
  /** App Settings, as the Function App would have them. */
  readonly settings: Readonly<Record<string, string>>;
  readonly customer: {
    readonly shortName: string;
    readonly tenantId: string;
    readonly clientId: string;
    readonly clientSecret: string;
  };
}

/** What the product process reports after each cycle (over the IPC channel). */
export interface WorkerReport {
  readonly phase: 'full' | 'quick';
  readonly wallMs: number;
  /** The process's peak resident set size so far (`process.resourceUsage().maxRSS`). */
  readonly peakRssBytes: number;
  readonly outcome: string;
  readonly counts: MirrorCounts;
  readonly pages: number;
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
