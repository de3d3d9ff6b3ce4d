import { fork } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as prettier from 'prettier';
import { type DialPlanRule } from '../../shared/dialplan/dialplan-diff.js';
import {
  applyDialPlanScripts,
  type OwnerRules,
  planDialPlanSync,
} from '../../shared/dialplan/dialplan-sync.js';
import { createTrustedTransport } from '../../shared/net/trusted-transport.js';
import { createSbcClient } from '../../shared/sbc/sbc-client.js';
import { builtInTemplate } from '../../shared/templates/builtin-templates.js';
import { renderTemplate } from '../../shared/templates/template-compiler.js';
import { SAMPLE_CONTEXT } from '../../shared/templates/template-context.js';
import { startAzurite } from '../azurite.js';
import { startSandbox } from '../sandbox/index.js';
import { sandboxEndpointSettings } from '../sandbox/product-settings.js';
import { workerExecArgv } from './bench-settings.js';
import { addReplicationApp, createScaleTenant, generateDialPlanRules } from '../sandbox/scale-control.js';
import { DEMO_SBC } from '../sandbox/sbc-state.js';
import { type ApiLoadResults, apiLoadBench } from './api-load.js';
import { BULK_TARGET_ROWS_PER_SECOND, type BulkImportResults, bulkImportBench } from './bulk-import.js';
import { LIFECYCLE_TARGET_MS, type LifecycleBenchResults, lifecycleBench } from './lifecycle-pass.js';
import { renderScaleOutReport, scaleOutBench, scaleOutFigures } from './scale-out.js';
import {
  USERS_TARGET_P95_MS,
  type UsersListResults,
  type UsersListRun,
  WARM_UP_REQUESTS,
  usersListBench,
} from './users-list.js';
import type { FloorReport, WorkerCommand, WorkerReport, WorkerRequest } from './bench-protocol.js';
import { type ColdStartResults, coldStartBench } from './cold-start.js';
import { coldStartFigures, renderColdStartReport } from './cold-start-report.js';
import { emptyStats } from './azure-cost-tables.js';
import {
  budgetWaits,
  quickStats,
  ratio,
  type ReplicationRun,
  replicationFigures,
  replicationRows,
} from './floor-report.js';

/**
 * `npm run bench`: figures against the sandbox at scale, written to docs/benchmarks.md and docs/benchmarks.json.
 * The `scale` suite:
 *  1. full replication of a 100,000-user tenant (150 ms per Graph/Teams request, 1 % 429s), in a process of its
 *     own whose peak RSS is reported;
 *     preceded by the Graph-read floor of the same pages (dev/bench/graph-floor.ts), then a steady full cycle over
 *     the unchanged tenant, each reported as time and ratio to the floor;
 *  2. quick cycles after 100 changes each (`--quick-runs`, 10 by default): median and p95;
 *  3. a dial-plan sync of an SBC holding 50,000 rules with 500 differences.
 * The `api` suite: the API under load (dev/bench/api-load.ts). The `users` suite: the Users list over a mirror of
 * 100,000 users (dev/bench/users-list.ts). The `bulk` suite: a CSV import of 10,000 number assignments applied
 * against the sandbox (dev/bench/bulk-import.ts). The `lifecycle` suite: the lifecycle pass over 100,000 users with
 * 1 % membership churn (dev/bench/lifecycle-pass.ts). The `cold` suite: the entry point's import time and RSS in a
 * fresh process (dev/bench/cold-start.ts). The `scaleout` suite: customers onboarding and replicating on 1, 2 and 3
 * instances of the app on one storage (dev/bench/scale-out.ts). `--quick` (or BENCH_QUICK=1) shrinks both for a
 * developer's run; a suite not run keeps its section of the report.
 */
const { values: args } = parseArgs({
  options: {
    suite: { type: 'string', default: 'cold,scale,api,users,bulk,lifecycle,scaleout' },
    quick: { type: 'boolean', default: process.env.BENCH_QUICK === '1' },
    users: { type: 'string', default: '' },
    /** Quick cycles after 100 changes each, for their median and p95. */
    'quick-runs': { type: 'string', default: '' },
    /** Fresh processes importing the entry point, for the cold start's median. */
    'cold-runs': { type: 'string', default: '' },
    'mirror-users': { type: 'string', default: '' },
    /** The Users list's cross-check on Azurite (0 skips it). */
    'azurite-users': { type: 'string', default: '' },
    rules: { type: 'string', default: '' },
    'bulk-rows': { type: 'string', default: '' },
    'lifecycle-users': { type: 'string', default: '' },
    'scaleout-customers': { type: 'string', default: '' },
    /** The instance counts of the scaleout suite, comma-separated. */
    'scaleout-hosts': { type: 'string', default: '1,2,3' },
    'scaleout-steady-s': { type: 'string', default: '' },
    customers: { type: 'string', default: '' },
    connections: { type: 'string', default: '20' },
    'duration-s': { type: 'string', default: '' },
    creates: { type: 'string', default: '200' },
    /** Only these routes of the api suite (their keys, comma-separated: tenantsList,customerGet,…); all when empty. */
    routes: { type: 'string', default: '' },
    differences: { type: 'string', default: '500' },
    'latency-ms': { type: 'string', default: '150' },
    'throttle-rate': { type: 'string', default: '0.01' },
    /** The seed of the 429s' draws (a new one each run when empty): the floor and each full cycle start it again. */
    'throttle-seed': { type: 'string', default: '' },
    report: { type: 'string', default: 'docs/benchmarks.md' },
    /**
     * The replication cycles' Table storage: `twin`, the in-memory twin charged with Azure's costs
     * (dev/bench/azure-cost-tables.ts); `azurite`, the emulator (the cross-check; it slows as its tables grow).
     */
    storage: { type: 'string', default: 'twin' },
    /** The cost model's latency of a request, in ms (dev/bench/azure-cost-tables.ts). */
    'request-ms': { type: 'string', default: '5' },
    /** V8's old-space limit of the replication process (Node's default when empty). */
    'worker-heap-mb': { type: 'string', default: '' },
  },
});
/** An option's value, or its default for a full or a quick run. */
const sized = (value: string | undefined, full: number, quick: number) =>
  value ? Number(value) : args.quick ? quick : full;
const SUITES = new Set(args.suite.split(',').map((name) => name.trim()));
const USERS = sized(args.users, 100_000, 20_000);
const QUICK_RUNS = sized(args['quick-runs'], 10, 3);
const COLD_RUNS = sized(args['cold-runs'], 7, 3);
const RULES = sized(args.rules, 50_000, 10_000);
const MIRROR_USERS = sized(args['mirror-users'], 100_000, 10_000);
const AZURITE_USERS = sized(args['azurite-users'], 2_000, 1_000);
const BULK_ROWS = sized(args['bulk-rows'], 10_000, 1_000);
const LIFECYCLE_USERS = sized(args['lifecycle-users'], 100_000, 10_000);
const SCALE_OUT = {
  customers: sized(args['scaleout-customers'], 20, 6),
  hostCounts: args['scaleout-hosts'].split(',').map(Number),
  steadyMs: sized(args['scaleout-steady-s'], 30, 10) * 1000,
};
const API = {
  customers: sized(args.customers, 2000, 300),
  connections: Number(args.connections),
  durationMs: sized(args['duration-s'], 30, 5) * 1000,
  creates: Number(args.creates),
  routes: args.routes.split(',').filter(Boolean),
};
const JSON_REPORT = args.report.replace(/\.md$/, '.json');
const DIFFERENCES = Number(args.differences);
const LATENCY_MS = Number(args['latency-ms']);
const THROTTLE_RATE = Number(args['throttle-rate']);
const THROTTLE_SEED = args['throttle-seed'] ? Number(args['throttle-seed']) : randomInt(2 ** 31);
if (args.storage !== 'twin' && args.storage !== 'azurite') throw new Error('--storage is twin or azurite.');
const STORAGE: WorkerRequest['storage'] = args.storage;
const REQUEST_MS = Number(args['request-ms']);

const TARGETS = { dialPlanMs: 3_000 };

/** The command that reproduces the scale suite's run, with the options that differ from a full run. */
const scaleCommand = () =>
  [
    'npm run bench -- --suite scale',
    ...(USERS === 100_000 ? [] : [`--users ${USERS}`]),
    ...(QUICK_RUNS === 10 ? [] : [`--quick-runs ${QUICK_RUNS}`]),
    ...(RULES === 50_000 ? [] : [`--rules ${RULES}`]),
    ...(STORAGE === 'twin' ? [] : [`--storage ${STORAGE}`]),
    ...(REQUEST_MS === 5 ? [] : [`--request-ms ${REQUEST_MS}`]),
    `--throttle-seed ${THROTTLE_SEED}`,
  ].join(' ');

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');
const log = (line: string) => process.stdout.write(`${line}\n`);

interface Results {
  floor: FloorReport;
  full: WorkerReport;
  steady: WorkerReport;
  /** The quick cycles, each after 100 changes; `quick` is the median one. */
  quicks: WorkerReport[];
  quick: WorkerReport;
  tenantUsers: number;
  dialPlan: {
    ms: number;
    added: number;
    removed: number;
    scripts: number;
    rulesAfter: number;
    readMs: number;
  };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'drh-bench-'));
  // BENCH_AZURITE_NODE_ARGS="--cpu-prof --cpu-prof-dir=…" profiles the storage emulator, as BENCH_WORKER_NODE_ARGS the workers.
  const azurite = await startAzurite({
    nodeArgs: process.env.BENCH_AZURITE_NODE_ARGS?.split(' ').filter(Boolean) ?? [],
  });
  const sandbox = await startSandbox({ port: 0, dataDir });
  try {
    const existing = existsSync(args.report) ? readFileSync(args.report, 'utf8') : '';
    const figures: Record<string, unknown> = existsSync(JSON_REPORT)
      ? (JSON.parse(readFileSync(JSON_REPORT, 'utf8')) as Record<string, unknown>)
      : {};
    let scale = section(existing, 'scale');
    let api = section(existing, 'api');
    let users = section(existing, 'users');
    let bulk = section(existing, 'bulk');
    let lifecycle = section(existing, 'lifecycle');
    let cold = section(existing, 'cold');
    if (SUITES.has('cold')) {
      log(`Cold start: the entry point imported by ${COLD_RUNS} fresh processes…`);
      const results: ColdStartResults = await coldStartBench({ runs: COLD_RUNS });
      cold = renderColdStartReport(results);
      Object.assign(figures, coldStartFigures(results));
    }
    let scaleOut = section(existing, 'scaleout');
    let scaleAzurite = existing.includes('<!-- scale-azurite:begin -->')
      ? section(existing, 'scale-azurite')
      : '_Not measured yet: `npm run bench -- --suite scale --users 5000 --storage azurite`._';
    if (SUITES.has('scale')) {
      const replication = await replicationBench(sandbox, azurite.connectionString);
      if (STORAGE === 'twin') {
        const dialPlan = await dialPlanBench(sandbox);
        const results: Results = { ...replication, dialPlan };
        scale = renderReport(results);
        Object.assign(figures, scaleFigures(results));
      } else {
        // The cross-check keeps the figures measured on the cost model; it has a section and figures of its own.
        scaleAzurite = renderAzuriteReport(replication);
        figures.replicationAzurite = {
          storage: 'azurite',
          users: replication.tenantUsers,
          ...replicationFigures(replication, scaleCommand()),
        };
      }
    }
    if (SUITES.has('api')) {
      log(
        `API under load: ${API.customers} customers, ${API.connections} clients, ${API.durationMs / 1000} s a route…`,
      );
      const results = await apiLoadBench(sandbox, azurite.connectionString, {
        ...API,
        storagePid: azurite.pid,
      });
      api = renderApiReport(results);
      Object.assign(figures, apiFigures(results));
    }
    if (SUITES.has('users')) {
      log(`The Users list over a mirror of ${MIRROR_USERS} users (and ${AZURITE_USERS} on Azurite)…`);
      const results = await usersListBench(sandbox, azurite.connectionString, {
        users: MIRROR_USERS,
        azuriteUsers: AZURITE_USERS,
        requests: 100,
      });
      users = renderUsersReport(results);
      Object.assign(figures, usersFigures(results));
    }
    if (SUITES.has('bulk')) {
      log(`Bulk import of ${BULK_ROWS} number assignments…`);
      const results = await bulkImportBench(sandbox, {
        rows: BULK_ROWS,
        latencyMs: LATENCY_MS,
        throttleRate: THROTTLE_RATE,
      });
      bulk = renderBulkReport(results);
      Object.assign(figures, bulkFigures(results));
    }
    if (SUITES.has('lifecycle')) {
      log(`Lifecycle pass over ${LIFECYCLE_USERS} users, 1 % membership churn…`);
      const results = await lifecycleBench(sandbox, { users: LIFECYCLE_USERS, churn: 0.01 });
      lifecycle = renderLifecycleReport(results);
      Object.assign(figures, lifecycleFigures(results));
    }
    if (SUITES.has('scaleout')) {
      const results = await scaleOutBench(sandbox, {
        ...SCALE_OUT,
        usersPerCustomer: 200,
        latencyMs: LATENCY_MS,
      });
      const command =
        process.argv.length > 2
          ? `npm run bench -- ${process.argv.slice(2).join(' ')}`
          : 'npm run bench -- --suite scaleout';
      scaleOut = renderScaleOutReport(results, command);
      Object.assign(figures, scaleOutFigures(results));
    }
    const report = `# Benchmarks\n\n${block('cold', cold)}\n\n${block('scale', scale)}\n\n${block('scale-azurite', scaleAzurite)}\n\n${block('api', api)}\n\n${block('users', users)}\n\n${block('bulk', bulk)}\n\n${block('lifecycle', lifecycle)}\n\n${block('scaleout', scaleOut)}\n`;
    // The reports are files of the repo: formatted as the repo's lint wants them.
    const style = (await prettier.resolveConfig(args.report)) ?? {};
    writeFileSync(args.report, await prettier.format(report, { ...style, filepath: args.report }));
    writeFileSync(
      JSON_REPORT,
      await prettier.format(JSON.stringify(figures), { ...style, filepath: JSON_REPORT }),
    );
    log(report);
    log(`Written to ${args.report} and ${JSON_REPORT}.`);
  } finally {
    await sandbox.close();
    await azurite.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A suite's part of the report, between markers, so that a run of one suite keeps the other's figures. */
const block = (name: string, body: string) =>
  `<!-- ${name}:begin -->\n\n${body.trim()}\n\n<!-- ${name}:end -->`;

function section(report: string, name: string): string {
  const found = new RegExp(`<!-- ${name}:begin -->([\\s\\S]*?)<!-- ${name}:end -->`).exec(report);
  return found?.[1]?.trim() ?? `_Not measured yet: \`npm run bench -- --suite ${name}\`._`;
}

async function replicationBench(
  sandbox: Awaited<ReturnType<typeof startSandbox>>,
  storageConnectionString: string,
): Promise<Pick<Results, 'floor' | 'full' | 'steady' | 'quicks' | 'quick' | 'tenantUsers'>> {
  log(`Generating a tenant of ${USERS} users…`);
  const tenant = createScaleTenant(
    { state: sandbox.state, teams: sandbox.teams, directories: sandbox.directories },
    { displayName: 'Bench Ltd', users: USERS, seed: 'bench' },
  );
  const tenantId = tenant.options.tenantId;
  const app = addReplicationApp(sandbox, tenantId, 'Bench sync');
  for (const path of ['^/graph/', '^/teams/']) {
    sandbox.faults.add({ pathPattern: path, kind: 'latency', latencyMs: LATENCY_MS });
    if (THROTTLE_RATE > 0) {
      sandbox.faults.add({ pathPattern: path, kind: 'status', status: 429, probability: THROTTLE_RATE });
    }
  }
  const request: WorkerRequest = {
    storageConnectionString,
    storage: STORAGE,
    requestMs: REQUEST_MS,
    settings: {
      SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      AzureWebJobsStorage: storageConnectionString,
      ...sandboxEndpointSettings(sandbox),
      LICENSE_TENANT_COUNT: '1000',
      LICENSE_USER_COUNT: '1000000',
      LOG_LEVEL: 'warn',
    },
    customer: { shortName: 'Bench', tenantId, clientId: app.appId, clientSecret: app.secretText },
  };
  if (USERS < 100 + QUICK_RUNS * CHANGED_USERS_PER_RUN) {
    throw new Error(
      `${QUICK_RUNS} quick runs change ${QUICK_RUNS * CHANGED_USERS_PER_RUN} users: --users must be larger.`,
    );
  }
  log('Graph-read floor: the same pages, latency and 429s, no writes…');
  // The floor and each full cycle meet the same 429s: the draws start again from the run's seed for each.
  sandbox.faults.reseed(THROTTLE_SEED);
  const floor = await graphFloor(request);
  log(
    `  ${seconds(floor.wallMs)}, ${floor.pages} pages, ${floor.requests} requests (${floor.throttled} answered 429)`,
  );
  sandbox.faults.reseed(THROTTLE_SEED);
  const worker = fork(fileURLToPath(new URL('./replication-worker.js', import.meta.url)), {
    env: { ...process.env, BENCH_REQUEST: JSON.stringify(request) },
    execArgv: [
      ...(args['worker-heap-mb'] ? [`--max-old-space-size=${args['worker-heap-mb']}`] : []),
      ...workerExecArgv(),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const reports: WorkerReport[] = [];
  /** The Graph and Teams requests the sandbox has answered so far, and its 429s (its faults count them). */
  const answered = () => {
    let requests = 0;
    let throttled = 0;
    for (const fault of sandbox.faults.list()) {
      if (fault.kind === 'latency') requests += fault.hits;
      else if (fault.status === 429) throttled += fault.hits;
    }
    return { requests, throttled };
  };
  const next = () => {
    const before = answered();
    return new Promise<WorkerReport>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`The replication process exited (${code}).`));
      const onMessage = (message: unknown) => {
        worker.off('exit', onExit);
        worker.off('message', onMessage);
        const after = answered();
        const graph = {
          requests: after.requests - before.requests,
          throttled: after.throttled - before.throttled,
        };
        resolve({ ...(message as WorkerReport), graph });
      };
      worker.once('exit', onExit);
      worker.on('message', onMessage);
    });
  };
  log('Full replication (initial cycle)…');
  const full = await next();
  reports.push(full);
  log(
    `  ${seconds(full.wallMs)} (${ratio(full.wallMs, floor.wallMs)} the floor), peak RSS ${mb(full.peakRssBytes)}, ${full.counts.users} users mirrored`,
  );
  const command = (name: WorkerCommand) => worker.send(name);
  log('Full replication again, the tenant unchanged (steady cycle)…');
  const steadyReport = next();
  sandbox.faults.reseed(THROTTLE_SEED);
  command('steady');
  const steady = await steadyReport;
  log(`  ${seconds(steady.wallMs)} (${ratio(steady.wallMs, floor.wallMs)} the floor)`);

  const quicks: WorkerReport[] = [];
  for (let run = 0; run < QUICK_RUNS; run++) {
    changeHundred(tenant, run);
    log(`Quick cycle ${run + 1} of ${QUICK_RUNS} after 100 changes…`);
    const quickReport = next();
    command('quick');
    const quick = await quickReport;
    quicks.push(quick);
    log(`  ${seconds(quick.wallMs)}, ${quick.counts.users} users mirrored`);
  }
  command('done');
  await new Promise((resolve) => worker.once('exit', resolve));
  sandbox.faults.clear();
  const { medianRun } = quickStats(quicks);
  return { floor, full, steady, quicks, quick: medianRun, tenantUsers: tenant.counts().users };
}

/** The distinct users one round of 100 changes touches; each round touches users of its own. */
const CHANGED_USERS_PER_RUN = 80;

/** 100 changes between cycles: renames, moves, deletions, hires, membership and Teams-side edits. */
function changeHundred(tenant: ReturnType<typeof createScaleTenant>, run: number): void {
  const base = 100 + run * CHANGED_USERS_PER_RUN;
  for (let i = 0; i < 30; i++)
    tenant.updateUser(tenant.userId(base + i), { displayName: `Renamed ${run}.${i}` });
  for (let i = 0; i < 10; i++)
    tenant.updateUser(tenant.userId(base + 30 + i), { department: `Moved ${run}` });
  for (let i = 0; i < 20; i++) tenant.deleteUser(tenant.userId(base + 40 + i));
  for (let i = 0; i < 20; i++) tenant.addUser({ displayName: `New Hire ${run}.${i}`, department: 'Sales' });
  // A tenant of a few thousand users has fewer than 10 groups (one per 200 users): the joins go round them.
  for (let i = 0; i < 10; i++) {
    tenant.addMember(tenant.groupId(i % tenant.options.groups), tenant.userId(base + 60 + i));
  }
  for (let i = 0; i < 10; i++) {
    tenant.updateTeams(tenant.userId(base + 70 + i), {
      enterpriseVoiceEnabled: true,
      telephoneNumber: `+155501${String(run * 10 + i).padStart(3, '0')}`,
    });
  }
}

/** Runs dev/bench/graph-floor.ts in a process of its own, as the cycle has, and returns its report. */
function graphFloor(request: WorkerRequest): Promise<FloorReport> {
  const child = fork(fileURLToPath(new URL('./graph-floor.js', import.meta.url)), {
    env: { ...process.env, BENCH_REQUEST: JSON.stringify(request) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`The Graph-read floor's process exited (${code}).`)));
    child.once('message', (message) => resolve(message as FloorReport));
  });
}

async function dialPlanBench(
  sandbox: Awaited<ReturnType<typeof startSandbox>>,
): Promise<Results['dialPlan']> {
  const deviceName = DEMO_SBC.devices.eu1.name;
  const device = sandbox.sbc.devices.require(deviceName);
  const generated = generateDialPlanRules(RULES, 100, 'bench');
  for (const config of [device.running, device.saved]) {
    const plan = config.dialPlans.find((p) => p.name === 'CustDialPlan');
    if (plan) plan.rules = generated.map((r) => ({ ...r }));
  }
  // What the product wants: the SBC's rules with half the differences dropped (to remove) and half new (to add).
  const removeEvery = Math.max(1, Math.floor(RULES / (DIFFERENCES / 2)));
  const wanted: DialPlanRule[] = generated
    .filter((_, i) => i % removeEvery !== 0 || i / removeEvery >= DIFFERENCES / 2)
    .map((r) => ({ dialPlan: 'CustDialPlan', name: r.name, prefix: r.prefix, tag: r.tag }));
  for (let i = 0; i < DIFFERENCES / 2; i++) {
    const owner = `cust${String(i % 100).padStart(4, '0')}`;
    wanted.push({
      dialPlan: 'CustDialPlan',
      name: owner,
      prefix: `+3390${String(i).padStart(6, '0')}`,
      tag: `${owner}.new`,
    });
  }
  const byOwner = new Map<string, DialPlanRule[]>();
  for (const rule of wanted) byOwner.set(rule.name, [...(byOwner.get(rule.name) ?? []), rule]);
  const owners: OwnerRules[] = [...byOwner].map(([owner, rules]) => ({
    owner,
    rules,
    context: { ...SAMPLE_CONTEXT, CustomerId: owner },
  }));
  const render = async (templateId: string, context: typeof SAMPLE_CONTEXT) => {
    const template = builtInTemplate(templateId);
    if (!template) throw new Error(`No built-in template ${templateId}`);
    return renderTemplate(template, context);
  };
  const demo = DEMO_SBC.devices.eu1;
  const transport = createTrustedTransport(sandbox.caCertFile);
  const client = createSbcClient({
    baseUrl: `${sandbox.url}/sbc/${deviceName}`,
    username: demo.username,
    password: demo.password,
    transport,
  });
  log(`Dial-plan sync: ${RULES} rules on the SBC, ${DIFFERENCES} differences…`);
  const started = performance.now();
  const plan = await planDialPlanSync(client, owners, render);
  const readMs = performance.now() - started;
  await applyDialPlanScripts(client, plan.scripts);
  const ms = performance.now() - started;
  const again = await planDialPlanSync(client, owners, render);
  if (again.scripts.length !== 0) throw new Error(`The sync left ${again.scripts.length} scripts undone.`);
  await transport.close();
  const result = {
    ms,
    readMs,
    added: plan.diff.added,
    removed: plan.diff.removed,
    scripts: plan.scripts.length,
    rulesAfter: sandbox.sbc.dialPlanRules(deviceName).length,
  };
  log(`  ${seconds(ms)} (${result.added} added, ${result.removed} removed in ${result.scripts} scripts)`);
  return result;
}

function renderReport(r: Results): string {
  const rows = [
    ...replicationRows(r, r.tenantUsers),
    [
      `Dial-plan sync, ${RULES.toLocaleString('en')} rules, ${DIFFERENCES} differences`,
      `${seconds(r.dialPlan.ms)} (device read and diff ${seconds(r.dialPlan.readMs)})`,
      '≤ 3 s',
      verdict(r.dialPlan.ms <= TARGETS.dialPlanMs),
    ],
  ];
  return `## Replication and dial-plan sync at scale

Measured by \`${scaleCommand()}\` (\`dev/bench/run.ts\`) on ${new Date().toISOString().slice(0, 10)}, Node ${process.version},
${cpus().length} CPU cores (${cpus()[0]?.model.trim() ?? 'unknown'}), ${mb(totalmem())} memory, load average
${loadavg()
  .map((v) => v.toFixed(2))
  .join(
    ' / ',
  )} at the end. \`--quick\` (or \`--users 20000\`) for a quicker run (see the options in \`dev/bench/run.ts\`).
The replication figures were measured with the product's tables on **the in-memory twin of Table storage charged
with Azure's cost model** (below), not on Azurite; the next section cross-checks them on Azurite at 5,000 users.

| What | Measured | Target | |
| --- | --- | --- | --- |
${rows.map((row) => `| ${row.join(' | ')} |`).join('\n')}

### How

- **Replication** runs in a process of its own: the local Functions host with every function of the product,
  driven by its queue exactly as in Azure (the initial cycle is queued when the customer's credentials are verified;
  chunks checkpoint and continue in new messages). The sandbox serves the generated tenant over HTTPS with
  ${LATENCY_MS} ms added to every Graph and Teams admin request and ${(THROTTLE_RATE * 100).toFixed(0)} % of them
  answered 429 (Retry-After 1 s), drawn from a sequence seeded with ${THROTTLE_SEED} (\`--throttle-seed\`) that starts
  again for the floor and for each full cycle, so that they draw the same chances rather than each its own luck (a
  429 costs a second; the quick cycles continue the sequence). Peak RSS is that process's \`maxRSS\` (\`process.resourceUsage()\`), which
  includes the host, the SDK clients and Node itself; the sandbox and the stored rows are elsewhere.
- **Storage: the in-memory twin of Table storage with Azure's cost model** (\`--storage twin\`,
  \`dev/bench/azure-cost-tables.ts\`). The twin (\`shared/storage/memory-tables.ts\`: ETags, conflicts, key order and
  continuation as Azure's) runs in a process of its own (\`dev/bench/storage-twin.ts\`), one IPC message a request
  (its rows as JSON text, as the SDK sends them), so its rows are not in the replication process's RSS, as Azure's
  rows are not in a Function App's, and its work does not hold up the sandbox's Graph answers. Each request waits,
  never spins, for what Azure would take, per Microsoft Learn's "Scalability and performance targets for Table storage": a partition
  serves 2,000 entities a second (written or returned), the account 20,000 requests a second (a transaction or a
  query page is one), each budget a second deep; a request that finds its budget spent waits until it refills
  (Azure answers 503 Server Busy and the SDK retries, with a backoff at least as long, so the model is the
  optimistic side). Latency: ${REQUEST_MS} ms a request (\`--request-ms\`: Azure publishes no figure for Table storage;
  same-region point operations measure 3–10 ms, Cosmos DB's Table API promises under 10 ms at p99), plus 0.2 ms per
  entity written and 0.02 ms per entity returned (a full transaction or a page of 1,000: 25 ms in all). A transaction of
  more than 100 entities or 4 MiB and pages over 1,000 entities are refused as Azure refuses them. Queues, leases
  and timers run on Azurite. Waits on the budgets: initial cycle ${budgetWaits(r.full.storageCost ?? emptyStats())}; steady
  cycle ${budgetWaits(r.steady.storageCost ?? emptyStats())}.
- **The Graph-read floor** is measured in the same run, right before the cycles, in a process of its own
  (\`dev/bench/graph-floor.ts\`): the product's reader reads the pages a full cycle reads (the users' delta link,
  ${r.floor.users.toLocaleString('en')} Teams users with their Graph user, ${r.floor.groups} groups with their members,
  ${r.floor.voiceObjects} voice objects, the subscriptions) one after the other with the same latency and 429s, and
  writes nothing. Each cycle's ratio is its time over the floor's. Rows and transactions are what the cycle's
  process wrote to Table storage (\`dev/bench/write-counter.ts\`), timers of the host included.
- The steady cycle is a full cycle queued by hand right after the initial one, the tenant unchanged. Each quick
  cycle follows 100 changes of its own users: 30 renames, 10 department moves, 20 deletions, 20 hires, 10 group
  memberships, 10 Teams-side edits; each run (ms, with its requests answered 429): ${r.quicks.map((q) => `${q.wallMs.toFixed(0)}${q.graph ? ` (${q.graph.throttled})` : ''}`).join(', ')}.
- Full cycle: ${r.full.pages} pages; mirror after it: ${r.full.counts.users} users, ${r.full.counts.groups} groups,
  ${r.full.counts.memberships} membership rows, ${r.full.counts.voiceObjects} voice objects; outcome ${r.full.outcome}.
- Quick cycle: Graph delta for users and groups, and the Teams side of the changed users; ${r.quick.pages} pages;
  outcome ${r.quick.outcome}; the mirror then holds ${r.quick.counts.users} users (the tenant: ${r.tenantUsers}).
- **Dial-plan sync**: the sandbox SBC's \`CustDialPlan\` holds ${RULES.toLocaleString('en')} generated rules of 100
  customers; the wanted state drops ${r.dialPlan.removed} of them and adds ${r.dialPlan.added}. The sync reads the
  device's configuration as a CLI script (\`GET /api/v1/files/cliScript\`), computes the difference, renders \`sbc-remove-prefix\` (by row
  index) and \`sbc-add-prefix\` and sends them as ${r.dialPlan.scripts} incremental CLI scripts over the SBC REST API;
  the device then holds ${r.dialPlan.rulesAfter.toLocaleString('en')} rules and a second sync finds nothing to do.
  The owners' wanted rules are given to it directly (in the product they come from the customers' sites in Table
  Storage, one query).
- Where the time goes: the budgets' waits above, the requests' latency, and the product's own CPU (profile it with
  \`BENCH_WORKER_NODE_ARGS=--cpu-prof npm run bench\`). Azurite measures the same cycles in the cross-check below,
  at 5,000 users: its table store slows as its tables grow, so it cannot measure 100,000. The replication process
  runs with the V8 flags Azure's worker gets (\`dev/host/node-arguments.ts\`, docs/decisions.md §81): without them
  V8 let its heap grow to 4× the live data between collections, and the peak RSS was 420 MB already at 5,000 users.
- UMP-365's published figures for comparison: about 20 minutes and 2 GB per cycle for 100,000 users.
`;
}

/** The cross-check: the same cycles with Azurite's table store, at a size it still answers in useful time. */
function renderAzuriteReport(r: ReplicationRun & { tenantUsers: number }): string {
  return `## Replication on Azurite (cross-check)

Measured by \`${scaleCommand()}\` (\`dev/bench/run.ts\`) on ${new Date().toISOString().slice(0, 10)}, Node ${process.version},
${cpus().length} CPU cores, load average ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' / ')} at the end.

| What | Measured | Target | |
| --- | --- | --- | --- |
${replicationRows(r, r.tenantUsers)
  .map((row) => `| ${row.join(' | ')} |`)
  .join('\n')}

The same process, cycles and sandbox as above, the product's tables on Azurite (queues, leases and timers too). Its
table store (LokiJS) shifts sorted indexes on every insert and scans the table per query, so a write costs more as
the table grows: the initial cycle's ratio here is Azurite's cost, not Azure's. It checks that the cycles write and
read the same rows (the counts above and in the section before) on a real Table storage protocol, at the
${r.tenantUsers.toLocaleString('en')} users it still answers in useful time; each quick run (ms):
${r.quicks.map((q) => q.wallMs.toFixed(0)).join(', ')}.
`;
}

function scaleFigures(r: Results): Record<string, unknown> {
  return {
    ...replicationFigures(r, scaleCommand()),
    replicationStorage: 'azure-cost-model',
    replicationStorageRequestMs: REQUEST_MS,
    fullReplicationUsers: r.tenantUsers,
    fullReplicationMs: Math.round(r.full.wallMs),
    fullReplicationPeakRssMb: Math.round(r.full.peakRssBytes / 1024 / 1024),
    quickCycleMs: Math.round(r.quick.wallMs),
    dialPlanRules: RULES,
    dialPlanSyncMs: Math.round(r.dialPlan.ms),
  };
}

const ms = (value: number) => `${value < 10 ? value.toFixed(1) : value.toFixed(0)} ms`;
const round1 = (value: number) => Math.round(value * 10) / 10;
const loads = (values: readonly number[]) => values.map((v) => v.toFixed(2)).join(' / ');

const cpuMs = (value: number | null) => (value === null ? '–' : `${value.toFixed(1)} ms`);
const nullableRound1 = (value: number | null) => (value === null ? null : round1(value));

function apiFigures(r: ApiLoadResults): Record<string, unknown> {
  const figures: Record<string, unknown> = {
    apiCommand: apiCommand(r),
    apiMeasuredAt: new Date().toISOString(),
    apiCustomers: r.options.customers,
    apiConnections: r.options.connections,
    apiDurationS: r.options.durationMs / 1000,
    apiLoadAverageBefore: r.loadBefore.map(round1),
    apiLoadAverageAfter: r.loadAfter.map(round1),
  };
  for (const route of r.routes) {
    figures[`${route.key}P50Ms`] = round1(route.p50Ms);
    figures[`${route.key}P95Ms`] = round1(route.p95Ms);
    figures[`${route.key}P99Ms`] = round1(route.p99Ms);
    figures[`${route.key}Rps`] = round1(route.rps);
    figures[`${route.key}ApiCpuMs`] = nullableRound1(route.cpuMsPerRequest.api);
    figures[`${route.key}StorageCpuMs`] = nullableRound1(route.cpuMsPerRequest.storage);
    figures[`${route.key}Errors`] = route.errors;
    figures[`${route.key}TargetMet`] = routeMet(route);
  }
  const c = r.creates;
  Object.assign(figures, {
    createBurstCreates: c.creates,
    createBurstTotalMs: Math.round(c.totalMs),
    createBurstP50Ms: Math.round(c.p50Ms),
    createBurstP95Ms: Math.round(c.p95Ms),
    createBurstCreated: c.created,
    createBurstRefused: c.refused,
    createBurstErrors: c.errors,
    createBurstPoolExceeded: c.poolExceeded,
    createBurstInProcessCreates: r.firstBurst.creates,
    createBurstInProcessMs: Math.round(r.firstBurst.ms),
  });
  return figures;
}

const routeMet = (route: ApiLoadResults['routes'][number]) =>
  (route.targetP95Ms === null || route.p95Ms <= route.targetP95Ms) && route.errors === 0;

function apiCommand(r: ApiLoadResults): string {
  const full =
    r.options.customers === 2000 && r.options.durationMs === 30_000 && r.options.connections === 20;
  return full
    ? 'npm run bench -- --suite api'
    : `npm run bench -- --suite api --customers ${r.options.customers} --connections ${r.options.connections} --duration-s ${r.options.durationMs / 1000}`;
}

function renderApiReport(r: ApiLoadResults): string {
  const rows = r.routes.map((route) => [
    route.label,
    `\`${route.request}\``,
    ms(route.p50Ms),
    ms(route.p95Ms),
    ms(route.p99Ms),
    route.rps.toFixed(0),
    cpuMs(route.cpuMsPerRequest.api),
    cpuMs(route.cpuMsPerRequest.storage),
    route.errors === 0
      ? '0'
      : `**${route.errors}** (${Object.entries(route.statuses)
          .map(([status, n]) => `${n}× ${status}`)
          .join(', ')})`,
    route.targetP95Ms === null ? 'no error' : `p95 ≤ ${route.targetP95Ms} ms, no error`,
    verdict(routeMet(route)),
  ]);
  const c = r.creates;
  return `## The API under load

Measured by \`${apiCommand(r)}\` (\`dev/bench/api-load.ts\`) on ${new Date().toISOString().slice(0, 10)}, Node
${process.version}, ${cpus().length} CPU cores, a machine shared with other work: load average (1/5/15 min)
${loads(r.loadBefore)} before and ${loads(r.loadAfter)} after. \`--quick\` (or \`BENCH_QUICK=1\`) runs 300 customers for
5 s a route; \`--customers\`, \`--connections\`, \`--duration-s\` and \`--creates\` set each.

${r.options.customers.toLocaleString('en')} customers, ${r.options.connections} concurrent clients for
${r.options.durationMs / 1000} s on each route, one route after the other:

| Route | Request | p50 | p95 | p99 | Requests/s | CPU/request, API | CPU/request, storage | Errors | Target | |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.map((row) => `| ${row.join(' | ')} |`).join('\n')}

**The license pool under concurrency**: ${c.creates} concurrent \`POST /api/v1/customers\` with
${c.tenantLicenses - r.options.customers} tenant licenses left: ${seconds(c.totalMs)} in all, p50 ${ms(c.p50Ms)}, p95
${ms(c.p95Ms)}; ${c.created} created, ${c.refused} refused with \`tenant_licenses_exhausted\`, ${c.errors} other
answers; ${c.customersAfter.toLocaleString('en')} customers after it for ${c.tenantLicenses.toLocaleString('en')}
tenant licenses — the pool was ${c.poolExceeded ? '**exceeded**' : 'never exceeded'}. Each create has a connection of
its own. Creates are committed in groups (docs/decisions.md, 38). Before the summary and index rows (docs/decisions.md,
37) the same burst measured 10.1 s in all (p50 5.4 s, one create answered 412 with its retries exhausted) without
group commit and 1.4 s (p50 1.1 s) with it; a create is one row of the transaction (99 fit beside the allocation)
and its index rows after it (docs/decisions.md, 48).
The seed's first ${r.firstBurst.creates} concurrent creates, in process through the service: ${seconds(r.firstBurst.ms)}.

### How

- The server is the local Functions host in a process of its own (\`dev/bench/api-worker.ts\`: every function, its
  timers and queues, as \`npm start\` runs it), on Azurite; the clients are an undici pool of ${r.options.connections}
  connections in the parent, each sending its next request when the last is answered, with a provider admin's
  bearer token from the sandbox. Latency is from sending to the last byte of the body.
- Seeded in ${seconds(r.seedMs)} through the services and the storage kit, as the product writes them: customers
  created in concurrent bursts of 200 (a fifth Hosted Essentials), ${r.tasks.toLocaleString('en')} tasks (one per
  customer, every state in turn; the queued and leased ones due tomorrow, so none runs), each customer's replication
  status with its last cycle (one in eleven failed) and last replication time, ${r.alarms} active alarms.
- The search asks for a word in one Customer Name in 97. The write sets
  a random customer's Licensed Users (1–50), without If-Match: every write also changes the license allocation.
- What changed since the run of 2026-12-02 (Tenants list p95 1310 ms, one customer p95 470 ms, tasks list p95
  5271 ms, the write p50 19.7 s and two 412s): the tasks list reads the index's copy of the Queued Tasks columns, one
  query a page, where it read each task by id (docs/decisions.md, 40); a change of Licensed Users is committed in the
  creates' groups instead of racing the other writers on the license allocation row (39); a customer
  is read by two point reads, and a bearer token verified once is remembered until it expires (41); the Tenants and
  tasks lists ask storage for pages of what they show, where every query returned (and the SDK parsed) up to 1,000
  rows. A write that loses every retry now answers 503 with Retry-After, not 412.
- Since the run of 2026-12-03 03:36 (Tenants list p95 717 ms, one customer p95 370 ms, the write p50 1.5 s): the
  Tenants list's index rows left the customers' partition for tables of their own, a partition per filter value and
  per word (docs/decisions.md, 48), so a customer's point read scans a partition a fifth the size in the emulator and
  an index write a small partition; Azurite runs without its access log.
- Since the run of 2026-12-03 06:58 (Tenants list p95 225 ms, search p95 151 ms, one customer p95 74 ms at 455
  requests/s, the write p50 382 ms, the create burst 5.0 s): a customer and its summary are one row, its ETag a
  version kept in the row (docs/decisions.md, 50), so one customer is one point read instead of two, a page of the
  list reads half the rows, and a create is one action of the transaction instead of two.
- The CPU columns are the operating system's count of CPU time used by the API's process and by Azurite during the
  route's run, divided by its requests: what a request costs, whatever else the machine did meanwhile. The load
  generator (undici, in the parent) shares the same two cores. At 20 clients one customer's GET queues behind the
  others: its own cost (under 2 ms of CPU, one point read that the emulator answers by scanning the partition) caps
  the route at about a thousand requests a second here, so its p95 at 20 clients is about 20 requests' worth of CPU.
  Every list is one range query of one partition (Azure answers it from the partition's index; Azurite filters and
  sorts every row of the table, here ~2,000 for the Tenants list).
- Figures on a shared 2-core machine vary between runs by tens of percent; the load averages above say how busy it
  was.
`;
}

function usersFigures(r: UsersListResults): Record<string, unknown> {
  const figures: Record<string, unknown> = {};
  for (const run of r.runs) {
    // The in-memory run keeps the keys the 100,000-user target has always had; the cross-check is `usersAzurite…`.
    const name = (key: string) => (run.store === 'memory' ? key : `usersAzurite${key.slice('users'.length)}`);
    figures[name('usersMirrorUsers')] = run.users;
    figures[name('usersSeedMs')] = Math.round(run.seedMs);
    for (const route of run.routes) {
      figures[name(`${route.key}P50Ms`)] = Math.round(route.p50Ms);
      figures[name(`${route.key}P95Ms`)] = Math.round(route.p95Ms);
      figures[name(`${route.key}Errors`)] = route.errors;
    }
  }
  figures.usersStore = 'memory-ordered';
  return figures;
}

const STORE_NAMES: Record<UsersListRun['store'], string> = {
  memory: 'in-memory twin (ordered index)',
  azurite: 'Azurite (cross-check)',
};

function renderUsersReport(r: UsersListResults): string {
  const flags = [
    ...(r.options.users === 100_000 ? [] : [`--mirror-users ${r.options.users}`]),
    ...(r.options.azuriteUsers === 2_000 ? [] : [`--azurite-users ${r.options.azuriteUsers}`]),
  ];
  const command = ['npm run bench -- --suite users', ...flags].join(' ');
  const rows = r.runs.flatMap((run) =>
    run.routes.map((route) => [
      route.label,
      `${run.users.toLocaleString('en')}, ${STORE_NAMES[run.store]}`,
      `\`${route.request.replace('/api/v1/customers/usersbench', '…')}\``,
      ms(route.p50Ms),
      ms(route.p95Ms),
      String(route.firstPageUsers),
      String(route.errors),
      `p95 ≤ ${USERS_TARGET_P95_MS} ms`,
      verdict(route.p95Ms <= USERS_TARGET_P95_MS && route.errors === 0),
    ]),
  );
  const seeds = r.runs
    .map(
      (run) =>
        `  - ${run.users.toLocaleString('en')} users on ${STORE_NAMES[run.store]}: ${seconds(run.seedMs)}`,
    )
    .join('\n');
  const memory = r.runs.find((run) => run.store === 'memory');
  return `## The Users list over a large mirror

Measured by \`${command}\` (\`dev/bench/users-list.ts\`) on ${new Date().toISOString().slice(0, 10)}, Node
${process.version}, ${cpus().length} CPU cores, a machine shared with other work: load average (1/5/15 min)
${memory ? `${loads(memory.loadBefore)} before and ${loads(memory.loadAfter)} after the in-memory run` : ''}.

A mirror of users (a third with a number and Enterprise Voice, three voice routing policies, 80 % licensed),
${r.options.requests} requests one after the other per row:

| Query | Mirror (users, tables) | Request | p50 | p95 | Users on the page | Errors | Target | |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.map((row) => `| ${row.join(' | ')} |`).join('\n')}

### How

- The users and their index rows (docs/decisions.md, 42) were written through the mirror store in batches of
  2,000, as a first replication cycle writes them, without replicating:
${seeds}
- The server is the local Functions host in a process of its own (\`dev/bench/api-worker.ts\`); one client sends
  each request when the last is answered, with a provider admin's token, after ${WARM_UP_REQUESTS} uncounted
  requests of the route (the twin puts a partition's keys in order once after the seed; the code warms up). A page
  is 16 range queries, one per bucket of the index family (docs/decisions.md, 83), side by side, with the filters as
  a storage \`$filter\` and merged in key order, plus the customer, its replication status and the voice objects
  (for the derived gateway).
- **The ${r.options.users.toLocaleString('en')} users are on the in-memory twin of Table storage**
  (\`shared/storage/memory-tables.ts\`), seeded inside the API process: it keeps rows ordered by (PartitionKey,
  RowKey) as Azure's clustered index does, so a key range is a binary search plus the rows it returns and a point
  read a lookup. The figure is the product's own cost (HTTP, the host, the routes, the mirror's reads and the rows
  it filters) without storage round trips; on Azure each of a page's few storage queries adds one.
- **Azurite cross-checks the same path at ${r.options.azuriteUsers.toLocaleString('en')} users.** Its table store
  (LokiJS) filters every row of the table per query and scans a partition per point read, so it cannot hold or
  answer the 100,000-user mirror in useful time (docs/decisions.md, 49: 566 s to seed 8,000 users; a page took
  320–670 ms at 900,000 rows in its own query interpreter).
- Figures on a shared 2-core machine vary between runs by tens of percent.
`;
}

function bulkFigures(r: BulkImportResults): Record<string, unknown> {
  return {
    bulkRows: r.options.rows,
    bulkMeasuredAt: new Date().toISOString(),
    bulkConcurrency: r.concurrency,
    bulkRowsPerSecond: round1(r.rowsPerSecond),
    bulkApplyMs: Math.round(r.applyMs),
    bulkRowP50Ms: Math.round(r.rowP50Ms),
    bulkRowP95Ms: Math.round(r.rowP95Ms),
    bulkApplied: r.applied,
    bulkFailed: r.failed,
    bulkThrottled: r.throttled,
    bulkStartMs: Math.round(r.startMs),
    bulkTargetMet: bulkMet(r),
  };
}

const bulkMet = (r: BulkImportResults) =>
  r.rowsPerSecond >= BULK_TARGET_ROWS_PER_SECOND && r.failed === 0 && r.applied === r.options.rows;

function renderBulkReport(r: BulkImportResults): string {
  const command =
    r.options.rows === 10_000
      ? 'npm run bench -- --suite bulk'
      : `npm run bench -- --suite bulk --bulk-rows ${r.options.rows}`;
  return `## Bulk application of number assignments

Measured by \`${command}\` (\`dev/bench/bulk-import.ts\`) on ${new Date().toISOString().slice(0, 10)}, Node
${process.version}, ${cpus().length} CPU cores, a machine shared with other work: load average (1/5/15 min)
${loads(r.loadBefore)} before and ${loads(r.loadAfter)} after.

| What | Measured | Target | |
| --- | --- | --- | --- |
| ${r.options.rows.toLocaleString('en')} number assignments, one CSV import | ${r.rowsPerSecond.toFixed(1)} rows/s (${seconds(r.applyMs)} in all; a row p50 ${ms(r.rowP50Ms)}, p95 ${ms(r.rowP95Ms)}) | ≥ ${BULK_TARGET_ROWS_PER_SECOND} rows/s | ${verdict(bulkMet(r))} |

${r.applied.toLocaleString('en')} rows applied, ${r.failed} failed; ${r.throttled} of ${r.requests.toLocaleString('en')} Graph and
Teams requests answered 429. Validating and storing the file (the POST's work) took ${seconds(r.startMs)}.

### How

- The sandbox's scale tenant of ${Math.ceil((r.options.rows * 4) / 3) + 4} users; ${r.options.rows.toLocaleString('en')} of
  its voice users (Phone System) mirrored with their numbers, a range of the customer and the tenant's Direct
  Routing numbers for the new ones. The CSV (\`User,LineUri\`) gives each user a new number of the range.
- Each row is the product's: \`UserChangeExecution.applyToUser\` (audit entry, hold, mirror, pending flag) with the
  real applier: Graph \`GET /admin/teams/userConfigurations/{id}\`, \`POST …/numberAssignments/assignNumber\`
  (202), then the long-running operation followed after its Retry-After. A number operation takes
  ${seconds(r.numberOperationMs)} in the sandbox (real time, unscaled); every Graph and Teams request gets
  ${LATENCY_MS} ms more and ${(THROTTLE_RATE * 100).toFixed(0)} % of them a 429 (Retry-After 1 s).
- The import applies ${r.concurrency} rows at once across its chunks of 100 (docs/decisions.md); a chunk's outcome is
  stored when its last row is done. A row's latency is its audit entry's start to end.
- The import service and task step run in the bench's process on the in-memory twin of Table storage, not on
  Azurite (whose store slows as its tables grow, see the Users list): this measures the rows in flight against a
  service that takes seconds a row, not the storage. The task engine's queue is not served: the bench runs the
  task's step (\`UserImportService.apply\`) itself.
- The number guard (validation) reads the mirror's number index from a map of the seeded users: the in-memory
  twin scans a whole table for each range query, which made validating 10,000 rows take many minutes; application
  makes point reads and writes only.
- Figures on a shared 2-core machine vary between runs by tens of percent.
`;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

const lifecycleMet = (r: LifecycleBenchResults) => r.passMs <= LIFECYCLE_TARGET_MS && r.idleImports === 0;

function lifecycleFigures(r: LifecycleBenchResults): Record<string, unknown> {
  return {
    lifecycleUsers: r.options.users,
    lifecycleMeasuredAt: new Date().toISOString(),
    lifecyclePassMs: Math.round(r.passMs),
    lifecycleIdlePassMs: Math.round(r.idlePassMs),
    lifecyclePreviewMs: Math.round(r.previewMs),
    lifecycleJoined: r.joined,
    lifecycleChanged: r.changed,
    lifecycleLeft: r.left,
    lifecycleImports: r.imports,
    lifecycleTargetMet: lifecycleMet(r),
  };
}

function renderLifecycleReport(r: LifecycleBenchResults): string {
  const command =
    r.options.users === 100_000
      ? 'npm run bench -- --suite lifecycle'
      : `npm run bench -- --suite lifecycle --lifecycle-users ${r.options.users}`;
  const users = r.options.users.toLocaleString('en');
  return `## The lifecycle pass

Measured by \`${command}\` (\`dev/bench/lifecycle-pass.ts\`) on ${new Date().toISOString().slice(0, 10)}, Node
${process.version}, ${cpus().length} CPU cores, a machine shared with other work: load average (1/5/15 min)
${loads(r.loadBefore)} before and ${loads(r.loadAfter)} after.

| What | Measured | Target | |
| --- | --- | --- | --- |
| One pass over ${users} users after ${(r.options.churn * 100).toFixed(0)} % membership churn: compute and queue | ${seconds(r.passMs)} | ≤ ${seconds(LIFECYCLE_TARGET_MS)} | ${verdict(r.passMs <= LIFECYCLE_TARGET_MS)} |
| The pass after it, nothing changed | ${seconds(r.idlePassMs)}, ${r.idleImports} imports queued | queues nothing | ${verdict(r.idleImports === 0)} |
| The preview of the churn (\`GET …/lifecycle/preview?top=100\`) | ${seconds(r.previewMs)} | | |

The churn was ${r.joiners} joiners, ${r.leavers} leavers and ${r.movers} users moved to another team. The pass
queued ${r.imports} user imports: ${r.joined} users joined, ${r.changed} changed, ${r.left} left (${r.refused}
refused). The process's heap after: ${r.heapMb.toFixed(0)} MB, the in-memory tables with the users' rows included.

### How

- ${users} mirrored users in 10 teams (security groups of ${(r.options.users / 10).toLocaleString('en')}), each bound
  to a template (even teams: a range, Enterprise Voice and a routing policy, leave action \`remove\`; odd teams:
  Enterprise Voice and a policy, \`keep\`), and an all-staff group of every user bound last (rank 11: it wins for
  nobody, and is read as any bound group is). The customer's license factor By Template is off (it has at most
  500 Licensed Users, the manual's limit), so the pass's license check counts and admits without refusing. Seeding, and the steady state earlier passes leave (every member
  holding their binding's template), took ${seconds(r.seedMs)}; the first pass over all of them is the import's
  measure (the bulk suite), not this one's.
- Then 1 % of the memberships change and one pass runs: it reads the members of the 11 groups and the 64 state
  rows, computes each user's binding and the differences, reads the movers and leavers (overrides), reserves the
  leavers' numbers, and builds, validates and stores one import per template and kind, each with its task queued.
  The tasks are not run here.
- Storage is the in-memory twin of Table storage, ordered as Azure's clustered index is (Azurite's store slows as
  its tables grow and would measure itself; docs/decisions.md, 49); on Azure each of the pass's reads adds a round
  trip, most of them in parallel.
`;
}
