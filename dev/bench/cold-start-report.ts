import { cpus, loadavg } from 'node:os';
import {
  type ColdStartResults,
  type ColdStartRun,
  COLD_IMPORT_TARGET_MS,
  COLD_IMPORT_TARGET_RSS_MB,
} from './cold-start.js';
import { median } from './stats.js';

const mbOf = (bytes: number) => bytes / 1024 / 1024;

function summary(runs: readonly ColdStartRun[]) {
  return {
    importMs: median(runs.map((r) => r.importMs)),
    processMs: median(runs.map((r) => r.processMs)),
    rssMb: median(runs.map((r) => mbOf(r.rssBytes))),
  };
}

export function coldStartFigures(r: ColdStartResults): Record<string, unknown> {
  const plain = summary(r.plain);
  const monitored = summary(r.monitored);
  return {
    coldImportCommand: command(r),
    coldImportMeasuredAt: new Date().toISOString(),
    coldImportRuns: r.runs,
    coldImportMs: Math.round(plain.importMs),
    coldImportProcessMs: Math.round(plain.processMs),
    coldImportRssMb: Math.round(plain.rssMb),
    coldImportTelemetryMs: Math.round(monitored.importMs),
    coldImportTelemetryRssMb: Math.round(monitored.rssMb),
    coldImportTargetMet: plain.importMs <= COLD_IMPORT_TARGET_MS && plain.rssMb <= COLD_IMPORT_TARGET_RSS_MB,
  };
}

const command = (r: ColdStartResults) =>
  r.runs === 7 ? 'npm run bench -- --suite cold' : `npm run bench -- --suite cold --cold-runs ${r.runs}`;

export function renderColdStartReport(r: ColdStartResults): string {
  const plain = summary(r.plain);
  const monitored = summary(r.monitored);
  const ok = plain.importMs <= COLD_IMPORT_TARGET_MS && plain.rssMb <= COLD_IMPORT_TARGET_RSS_MB;
  const each = (runs: readonly ColdStartRun[]) => runs.map((run) => run.importMs.toFixed(0)).join(', ');
  return `## Cold start of the entry point

Measured by \`${command(r)}\` (\`dev/bench/cold-start.ts\`) on ${new Date().toISOString().slice(0, 10)}, Node
${process.version}, ${cpus().length} CPU cores, load average ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' / ')} after the runs.

| What | Median of ${r.runs} | Target | |
| --- | --- | --- | --- |
| Import of \`${r.entry}\`, every function registered | ${plain.importMs.toFixed(0)} ms, RSS ${plain.rssMb.toFixed(0)} MB (process start to exit ${plain.processMs.toFixed(0)} ms) | ≤ 1 s and ≤ 110 MB | ${ok ? 'met' : '**missed**'} |
| The same with Application Insights configured (the distro loads) | ${monitored.importMs.toFixed(0)} ms, RSS ${monitored.rssMb.toFixed(0)} MB | | |

Each run is a fresh \`node\` that imports the entry as the Functions worker does, with a stand-in for the worker's
\`@azure/functions-core\` (\`dev/bench/entry-import.ts\`, the measurement the start and package tests share), under
production-like App Settings (identity-based storage, no request served); import time from \`performance.now()\` around
the import, RSS from \`process.memoryUsage().rss\` after it. Runs without / with Application Insights alternate. Each run
(ms): ${each(r.plain)}; with Application Insights: ${each(r.monitored)}. Per-feature SDKs (Entra credentials and MSAL,
Azure DNS, ACS Email, SMTP, undici, jose), the storage SDKs, the Graph SDK, Handlebars, the CSV packages and the Azure
Monitor distro load on first use (docs/decisions.md, 75 and 82); \`test/start/cold-start.test.ts\` fails if the entry
point loads them.
`;
}
