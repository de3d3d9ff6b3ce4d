import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAzurite } from '../azurite.js';
import { seedOnboardingSettings } from '../demo-seed.js';
import { freePort } from '../host/free-port.js';
import { workerExecArgv } from './bench-settings.js';
import type { LogRecord } from '../host/index.js';
import type { RunningSandbox } from '../sandbox/index.js';
import { sandboxEndpointSettings } from '../sandbox/product-settings.js';
import {
  analyseHostLogs,
  balancedApi,
  configureProviderMail,
  type HostRecord,
  onboardReplicatingCustomer,
  providerToken,
  SCALE_OUT_SETTINGS,
  type ScaleOutFindings,
} from './scale-out-world.js';

/**
 * The bench's scale-out section (issue 17, item 6): the same work — `customers` customers onboarded through the
 * wizard, each then replicating its tenant — on 1, 2 and 3 instances of the app (local hosts, a process each) on one
 * Azurite and one sandbox, as Azure scales a Function App out. Per host count: the time until every customer is
 * onboarded and replicated once, the quick cycles completed in a steady window after it, how the queued work
 * spread over the instances, and the run's duplicates (timer occurrences run twice, a customer's cycles overlapping),
 * which must be none.
 */
export interface ScaleOutOptions {
  readonly hostCounts: readonly number[];
  readonly customers: number;
  readonly usersPerCustomer: number;
  /** How long the instances keep replicating after the onboarding, for the steady throughput. */
  readonly steadyMs: number;
  /** Every Graph and Teams request's latency. */
  readonly latencyMs: number;
}

export interface ScaleOutRun {
  readonly hosts: number;
  /** From the first Submit to every customer onboarded (CreateCustomer finished) and replicated once. */
  readonly onboardMs: number;
  readonly tasksSucceeded: number;
  /** Replication cycles completed in the steady window, and per minute. */
  readonly steadyCycles: number;
  readonly cyclesPerMinute: number;
  /** Queue invocations per instance (replication and task messages). */
  readonly share: readonly number[];
  readonly findings: Pick<ScaleOutFindings, 'duplicateTimerRuns' | 'overlappingCycles'>;
}

export interface ScaleOutResults {
  readonly options: ScaleOutOptions;
  readonly runs: readonly ScaleOutRun[];
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
}

/** What the bench hands one instance (as JSON in BENCH_REQUEST). */
export interface ScaleOutWorkerRequest {
  readonly settings: Readonly<Record<string, string>>;
  readonly port: number;
  readonly hostId: string;
  readonly instanceId: string;
  readonly logFile: string;
}

const log = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Instance {
  readonly name: string;
  readonly url: string;
  readonly logFile: string;
  stop(): Promise<void>;
}

async function startInstance(request: ScaleOutWorkerRequest, name: string): Promise<Instance> {
  const worker: ChildProcess = fork(fileURLToPath(new URL('./scale-out-worker.js', import.meta.url)), {
    env: { ...process.env, BENCH_REQUEST: JSON.stringify(request) },
    execArgv: workerExecArgv(),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const ready = await new Promise<{ url: string }>((resolve, reject) => {
    worker.once('exit', (code) => reject(new Error(`Instance ${name} exited (${code}).`)));
    worker.once('message', (message) => resolve(message as { url: string }));
  });
  return {
    name,
    url: ready.url,
    logFile: request.logFile,
    async stop() {
      if (worker.connected) worker.disconnect();
      await exited;
    },
  };
}

export async function scaleOutBench(
  sandbox: RunningSandbox,
  options: ScaleOutOptions,
): Promise<ScaleOutResults> {
  const loadBefore = loadavg();
  const dir = mkdtempSync(join(tmpdir(), 'drh-scale-out-'));
  const latency = sandbox.faults.add({
    pathPattern: '^/(graph|teams)',
    kind: 'latency',
    latencyMs: options.latencyMs,
  });
  const token = await providerToken(sandbox);
  const runs: ScaleOutRun[] = [];
  try {
    for (const hosts of options.hostCounts) {
      // A storage account per run: the customers of the run before would replicate in this one too.
      const azurite = await startAzurite();
      try {
        runs.push(await runWith(hosts, azurite.connectionString));
      } finally {
        await azurite.close();
      }
    }
  } finally {
    sandbox.faults.remove(latency.id);
    rmSync(dir, { recursive: true, force: true });
  }
  return { options, runs, loadBefore, loadAfter: loadavg() };

  async function runWith(count: number, storageConnectionString: string): Promise<ScaleOutRun> {
    log(`Scale-out: ${options.customers} customers on ${count} instance(s)…`);
    const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
    const settings = {
      PUBLIC_BASE_URL: `http://127.0.0.1:${ports[0]}`,
      SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      AzureWebJobsStorage: storageConnectionString,
      ...sandboxEndpointSettings(sandbox),
      LICENSE_TENANT_COUNT: '10000',
      LICENSE_USER_COUNT: '10000000',
      ...SCALE_OUT_SETTINGS,
    };
    const hostId = 'bench-scale-out';
    const instances = await Promise.all(
      ports.map((port, i) =>
        startInstance(
          { settings, port, hostId, instanceId: `i${i + 1}`, logFile: join(dir, `${count}-${i + 1}.log`) },
          `i${i + 1}`,
        ),
      ),
    );
    try {
      const api = balancedApi(() => instances.map((i) => i.url), token);
      await seedOnboardingSettings({ apiBaseUrl: `${instances[0]?.url}/api/v1`, token, smtp: sandbox.smtp });
      await configureProviderMail(api, sandbox);
      const started = performance.now();
      const customers = await Promise.all(
        Array.from({ length: options.customers }, (_, i) =>
          onboardReplicatingCustomer(api, sandbox, {
            shortName: `So${count}n${i + 1}`,
            index: count * 1000 + i,
            users: options.usersPerCustomer,
          }),
        ),
      );
      let succeeded = 0;
      await Promise.all(
        customers.map(async (customer) => {
          for (;;) {
            const task = (await api('GET', `/tasks/${customer.taskId}`)).body as { state: string };
            const status = (await api('GET', `/customers/${customer.shortName}/replication`)).body as {
              lastCycle: { outcome: string } | null;
            };
            const finished = ['finish-success', 'finish-failure', 'paused'].includes(task.state);
            if (finished && status.lastCycle) {
              if (task.state === 'finish-success') succeeded++;
              return;
            }
            await sleep(250);
          }
        }),
      );
      const onboardMs = performance.now() - started;
      const steadyFrom = Date.now();
      await sleep(options.steadyMs);
      const steadyTo = Date.now();
      await Promise.all(instances.map((i) => i.stop()));
      const records: HostRecord[] = instances.flatMap((instance) =>
        readFileSync(instance.logFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => ({ ...(JSON.parse(line) as LogRecord), host: instance.name })),
      );
      const findings = analyseHostLogs(records);
      const steady = analyseHostLogs(
        records.filter((r) => {
          const at = Date.parse(r.time);
          return at >= steadyFrom && at <= steadyTo;
        }),
      );
      const steadyCycles = Object.values(steady.cyclesDone).reduce((sum, n) => sum + n, 0);
      const share = instances.map((instance) => {
        const ran = findings.invocations[instance.name] ?? {};
        return (ran.replication ?? 0) + (ran['tasks-run'] ?? 0);
      });
      return {
        hosts: count,
        onboardMs,
        tasksSucceeded: succeeded,
        steadyCycles,
        cyclesPerMinute: (steadyCycles * 60_000) / options.steadyMs,
        share,
        findings: {
          duplicateTimerRuns: findings.duplicateTimerRuns,
          overlappingCycles: findings.overlappingCycles,
        },
      };
    } finally {
      await Promise.all(instances.map((i) => i.stop()));
    }
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const percent = (part: number, all: number) => (all === 0 ? '–' : `${Math.round((part * 100) / all)} %`);

export function scaleOutFigures(r: ScaleOutResults): Record<string, unknown> {
  return {
    scaleOutMeasuredAt: new Date().toISOString(),
    scaleOutCustomers: r.options.customers,
    scaleOutRuns: r.runs.map((run) => ({
      hosts: run.hosts,
      onboardMs: Math.round(run.onboardMs),
      cyclesPerMinute: Math.round(run.cyclesPerMinute * 10) / 10,
      duplicates: run.findings.duplicateTimerRuns.length + run.findings.overlappingCycles.length,
    })),
  };
}

export function renderScaleOutReport(r: ScaleOutResults, command: string): string {
  const rows = r.runs.map((run) => {
    const total = run.share.reduce((sum, n) => sum + n, 0);
    const duplicates = [...run.findings.duplicateTimerRuns, ...run.findings.overlappingCycles];
    return `| ${run.hosts} | ${seconds(run.onboardMs)} (${run.tasksSucceeded}/${r.options.customers} tasks succeeded) | ${run.steadyCycles} (${run.cyclesPerMinute.toFixed(1)}/min) | ${run.share.map((n) => percent(n, total)).join(' / ')} | ${duplicates.length === 0 ? 'none' : `**${duplicates.join(', ')}**`} |`;
  });
  return `## Scale-out

Measured by \`${command}\` (\`dev/bench/scale-out.ts\`) on ${new Date().toISOString().slice(0, 10)}, Node
${process.version}, ${cpus().length} CPU cores, a machine shared with other work: load average (1/5/15 min)
${r.loadBefore.map((v) => v.toFixed(2)).join(' / ')} before and ${r.loadAfter.map((v) => v.toFixed(2)).join(' / ')} after.

| Instances | ${r.options.customers} customers onboarded and replicated once | Quick cycles in ${seconds(r.options.steadyMs)} after | Queued work per instance | Run twice or overlapping |
| --- | --- | --- | --- | --- |
${rows.join('\n')}

### How

- Each instance is the local Functions host in a process of its own, on one Azurite (a fresh one per row) and one
  sandbox, as Azure
  scales a Function App out; the timers hold their listener locks and schedule status in storage
  (docs/decisions.md, 76), at a few seconds' cadence for the run (\`dev/bench/scale-out-world.ts\`).
- Each customer (a generated tenant of ${r.options.usersPerCustomer} users) is onboarded through the wizard: Hosted
  Pro connected to its tenant, manual DNS, a SIP trunk on the EMEA SBC, one prefix; Submit queues its CreateCustomer
  task and starts its replication. Graph and Teams answer in ${r.options.latencyMs} ms.
- "Run twice or overlapping" reads the instances' logs: a timer occurrence run by more than one instance, or two
  chunks of one customer's replication at the same time. The stack test \`test/scale/scale-out.test.ts\` asserts
  none with two instances.
- All instances share one machine and one Azurite: more instances add concurrency, not CPU.
`;
}
