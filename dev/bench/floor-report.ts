import type { AzureCostStats } from './azure-cost-tables.js';
import type { FloorReport, WorkerReport } from './bench-protocol.js';
import { median, percentile } from './stats.js';

/** The issue's targets for a cycle against the Graph-read floor measured in the same run (issue 17). */
export const REPLICATION_TARGETS = {
  initialRatio: 1.3,
  steadyRatio: 1.2,
  quickMedianMs: 2_000,
  quickP95Ms: 3_000,
  peakRssMb: 200,
};

/** What the replication bench measured: the floor, then the cycles in one process. */
export interface ReplicationRun {
  readonly floor: FloorReport;
  readonly full: WorkerReport;
  readonly steady: WorkerReport;
  readonly quicks: readonly WorkerReport[];
}

/** `2.31×`: a cycle's time over the floor's. */
export const ratio = (ms: number, floorMs: number) => `${(ms / floorMs).toFixed(2)}×`;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mbOf = (bytes: number) => bytes / 1024 / 1024;
const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');

export function quickStats(quicks: readonly WorkerReport[]): {
  medianMs: number;
  p95Ms: number;
  medianRun: WorkerReport;
} {
  const times = quicks.map((q) => q.wallMs);
  const medianMs = median(times);
  const sorted = [...quicks].sort((a, b) => a.wallMs - b.wallMs);
  const medianRun = sorted[Math.floor((sorted.length - 1) / 2)];
  if (!medianRun) throw new Error('No quick cycle was measured.');
  return { medianMs, p95Ms: percentile(times, 0.95), medianRun };
}

const peakRss = (r: ReplicationRun) =>
  Math.max(r.full.peakRssBytes, r.steady.peakRssBytes, ...r.quicks.map((q) => q.peakRssBytes));

/** The cycle's Graph and Teams requests and 429s, beside the floor's. */
const requested = ({ graph }: WorkerReport) =>
  graph
    ? `${graph.requests.toLocaleString('en')} Graph and Teams requests (${graph.throttled} answered 429); `
    : '';

const written = ({ writes, storageCost }: WorkerReport) =>
  `${writes.rows.toLocaleString('en')} rows written (${(writes.rows - writes.singleWrites).toLocaleString('en')} in ${writes.transactions.toLocaleString('en')} transactions, ${writes.singleWrites.toLocaleString('en')} alone); ${writes.rowsRead.toLocaleString('en')} rows read${storageCost ? `; ${budgetWaits(storageCost)}` : ''}`;

/** The cost model's requests and the waits on Azure's budgets (dev/bench/azure-cost-tables.ts). */
export const budgetWaits = (cost: AzureCostStats) =>
  `${cost.requests.toLocaleString('en')} storage requests, ${cost.partitionWaits.toLocaleString('en')} waited for a partition's budget and ${cost.accountWaits.toLocaleString('en')} for the account's (${seconds(cost.budgetWaitMs)} of waits; ${seconds(cost.latencyMs)} of latency summed over the requests, which overlap)`;

/** The rows of the scale table for the floor and the cycles. */
export function replicationRows(r: ReplicationRun, tenantUsers: number): string[][] {
  const floorMs = r.floor.wallMs;
  const quick = quickStats(r.quicks);
  const peakMb = mbOf(peakRss(r));
  return [
    [
      `Graph-read floor: the full cycle's ${r.floor.pages} pages read in sequence, no writes`,
      `${seconds(floorMs)} (${r.floor.requests} requests, ${r.floor.throttled} answered 429)`,
      '',
      '',
    ],
    [
      `Initial full cycle, ${tenantUsers.toLocaleString('en')} users`,
      `${seconds(r.full.wallMs)}, **${ratio(r.full.wallMs, floorMs)}** the floor; ${requested(r.full)}${written(r.full)}`,
      `≤ ${REPLICATION_TARGETS.initialRatio}× the floor`,
      verdict(r.full.wallMs <= REPLICATION_TARGETS.initialRatio * floorMs),
    ],
    [
      'Steady full cycle (tenant unchanged)',
      `${seconds(r.steady.wallMs)}, **${ratio(r.steady.wallMs, floorMs)}** the floor; ${requested(r.steady)}${written(r.steady)}`,
      `≤ ${REPLICATION_TARGETS.steadyRatio}× the floor`,
      verdict(r.steady.wallMs <= REPLICATION_TARGETS.steadyRatio * floorMs),
    ],
    [
      `Quick cycle after 100 changes, ${r.quicks.length} runs`,
      `median ${seconds(quick.medianMs)}, p95 ${seconds(quick.p95Ms)}; the median run ${written(quick.medianRun)}`,
      'median ≤ 2 s, p95 ≤ 3 s',
      verdict(
        quick.medianMs <= REPLICATION_TARGETS.quickMedianMs && quick.p95Ms <= REPLICATION_TARGETS.quickP95Ms,
      ),
    ],
    [
      'Peak RSS of the replication process',
      `${peakMb.toFixed(0)} MB`,
      `≤ ${REPLICATION_TARGETS.peakRssMb} MB`,
      verdict(peakMb <= REPLICATION_TARGETS.peakRssMb),
    ],
  ];
}

/** docs/benchmarks.json's figures of the floor and the cycles. */
export function replicationFigures(r: ReplicationRun, command: string): Record<string, unknown> {
  const floorMs = r.floor.wallMs;
  const quick = quickStats(r.quicks);
  const round2 = (value: number) => Math.round(value * 100) / 100;
  return {
    replicationCommand: command,
    replicationMeasuredAt: new Date().toISOString(),
    floorMs: Math.round(floorMs),
    floorPages: r.floor.pages,
    floorRequests: r.floor.requests,
    floorThrottled: r.floor.throttled,
    initialMs: Math.round(r.full.wallMs),
    initialRequests: r.full.graph?.requests ?? null,
    initialThrottled: r.full.graph?.throttled ?? null,
    initialRatio: round2(r.full.wallMs / floorMs),
    initialRowsWritten: r.full.writes.rows,
    initialTransactions: r.full.writes.transactions,
    initialSingleWrites: r.full.writes.singleWrites,
    steadyMs: Math.round(r.steady.wallMs),
    steadyRatio: round2(r.steady.wallMs / floorMs),
    steadyRowsWritten: r.steady.writes.rows,
    steadyTransactions: r.steady.writes.transactions,
    steadySingleWrites: r.steady.writes.singleWrites,
    steadyRowsRead: r.steady.writes.rowsRead,
    quickRuns: r.quicks.length,
    quickMedianMs: Math.round(quick.medianMs),
    quickP95Ms: Math.round(quick.p95Ms),
    quickRunsMs: r.quicks.map((q) => Math.round(q.wallMs)),
    quickRunsThrottled: r.quicks.map((q) => q.graph?.throttled ?? null),
    peakRssMb: Math.round(mbOf(peakRss(r))),
    ...costFigures('initial', r.full.storageCost),
    ...costFigures('steady', r.steady.storageCost),
    ...costFigures('quickMedianRun', quick.medianRun.storageCost),
  };
}

function costFigures(phase: string, cost: AzureCostStats | undefined): Record<string, number> {
  if (!cost) return {};
  return {
    [`${phase}StorageRequests`]: cost.requests,
    [`${phase}PartitionWaits`]: cost.partitionWaits,
    [`${phase}AccountWaits`]: cost.accountWaits,
    [`${phase}BudgetWaitMs`]: Math.round(cost.budgetWaitMs),
    [`${phase}StorageLatencyMs`]: Math.round(cost.latencyMs),
  };
}
