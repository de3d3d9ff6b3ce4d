import { workerExecArgv } from './bench-settings.js';
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { createApp } from '../../functions/app.js';
import {
  USER_LICENSE_THRESHOLD_ALARM,
  taskAlarmSource,
  TASK_FAILED_ALARM,
} from '../../shared/alarms/alarm-kinds.js';
import { loadSettings } from '../../shared/config/settings.js';
import { createCustomerStore } from '../../shared/customers/table-customer-store.js';
import { createReplicationStoreOn } from '../../shared/replication/replication-store.js';
import { azureTables } from '../../shared/storage/azure-tables.js';
import { type TaskRecord, TASK_STATES, type TaskState, newTaskId } from '../../shared/tasks/task-record.js';
import { createTaskStore } from '../../shared/tasks/task-store.js';
import { DEMO } from '../sandbox/demo-data.js';
import type { startSandbox } from '../sandbox/index.js';
import { sandboxEndpointSettings } from '../sandbox/product-settings.js';
import type { ApiWorkerReady, ApiWorkerRequest } from './bench-protocol.js';

/**
 * The API under load: seeded customers (tasks in every state, replication history, alarms), then concurrent clients
 * on each route for a fixed time over real HTTP to the local host (Azurite for storage), and a burst of concurrent
 * creates against the license pool.
 */
export interface ApiLoadOptions {
  readonly customers: number;
  readonly connections: number;
  readonly durationMs: number;
  readonly creates: number;
  /** Only the routes with these keys (for profiling one); every route when empty. */
  readonly routes: readonly string[];
  /** The storage emulator's process, whose CPU time each route's figures include. */
  readonly storagePid?: number;
}

export interface RouteFigures {
  readonly requests: number;
  readonly errors: number;
  /** Status codes other than 2xx, with how often. */
  readonly statuses: Readonly<Record<string, number>>;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly rps: number;
  /**
   * CPU time per request of the API's process and of the storage emulator's, from the operating system's counters
   * (null where it keeps none): what a route costs, whatever else the machine was doing meanwhile.
   */
  readonly cpuMsPerRequest: { readonly api: number | null; readonly storage: number | null };
}

export interface RouteResult extends RouteFigures {
  readonly key: string;
  readonly label: string;
  readonly request: string;
  /** Null for a write: the issue sets latency targets for lists and single GETs, and asks no error of every route. */
  readonly targetP95Ms: number | null;
}

export interface CreateBurstResult {
  readonly creates: number;
  readonly created: number;
  readonly refused: number;
  readonly errors: number;
  readonly totalMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly tenantLicenses: number;
  /** Customers that exist after the burst (from the Tenants list, all pages). */
  readonly customersAfter: number;
  readonly poolExceeded: boolean;
}

export interface ApiLoadResults {
  readonly options: ApiLoadOptions;
  readonly seedMs: number;
  readonly tasks: number;
  readonly alarms: number;
  /** The seed's first burst of concurrent creates, in process through the service (no HTTP). */
  readonly firstBurst: { readonly creates: number; readonly ms: number };
  readonly routes: readonly RouteResult[];
  readonly creates: CreateBurstResult;
  /** The machine's 1, 5 and 15 minute load averages before and after the load. */
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
}

export const API_TARGETS = { listP95Ms: 300, getP95Ms: 50 } as const;

/** The Customer Name words; the search asks for the rarest, so it reads the whole list to fill its page. */
const WORDS = ['Alpha', 'Bravo', 'Cedar', 'Delta', 'Ember', 'Fjord', 'Grove', 'Harbor', 'Indigo', 'Juniper'];
const RARE_WORD = 'Quasar';
/** Every fifth customer is Hosted Essentials, which has no Licensed Users to edit. */
const isEssentials = (i: number) => i % 5 === 0;
const licensedIndex = (i: number) => (!isEssentials(i) ? i : i === 0 ? 1 : i - 1);
const shortNameOf = (i: number) => `bench${String(i).padStart(5, '0')}`;
const fullNameOf = (i: number) => `${i % 97 === 0 ? RARE_WORD : WORDS[i % WORDS.length]} Voice ${i} Ltd`;

const log = (line: string) => process.stdout.write(`${line}\n`);

type Sandbox = Awaited<ReturnType<typeof startSandbox>>;

export async function apiLoadBench(
  sandbox: Sandbox,
  storageConnectionString: string,
  options: ApiLoadOptions,
): Promise<ApiLoadResults> {
  const settings: Record<string, string> = {
    SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    AzureWebJobsStorage: storageConnectionString,
    ...sandboxEndpointSettings(sandbox),
    // Room for every seeded customer and all but a few of the burst: the burst shows the pool holding.
    LICENSE_TENANT_COUNT: String(options.customers + options.creates - Math.ceil(options.creates / 10)),
    LICENSE_USER_COUNT: '100000000',
    LOG_LEVEL: 'warn',
  };
  const seedStarted = performance.now();
  const seeded = await seed(settings, storageConnectionString, options.customers);
  const seedMs = performance.now() - seedStarted;
  log(`  seeded in ${(seedMs / 1000).toFixed(1)} s: ${seeded.tasks} tasks, ${seeded.alarms} alarms`);

  return withApiWorker(settings, sandbox, async ({ url, token, pid }) => {
    const pool = new Pool(url, { connections: options.connections, pipelining: 1 });
    const client = { pool, token };
    try {
      const loadBefore = loadavg();
      const routes: RouteResult[] = [];
      const random = (n: number) => Math.floor(Math.random() * n);
      const plan: ReadonlyArray<Omit<RouteResult, keyof RouteFigures> & { next: () => Call }> = [
        {
          key: 'tenantsList',
          label: 'Tenants list, top 100',
          request: 'GET /api/v1/customers?top=100',
          targetP95Ms: API_TARGETS.listP95Ms,
          next: () => ({ method: 'GET', path: '/api/v1/customers?top=100' }),
        },
        {
          key: 'tenantsSearch',
          label: `Tenants list, top 100, search (matches ~1 %)`,
          request: `GET /api/v1/customers?top=100&search=${RARE_WORD.toLowerCase()}`,
          targetP95Ms: API_TARGETS.listP95Ms,
          next: () => ({
            method: 'GET',
            path: `/api/v1/customers?top=100&search=${RARE_WORD.toLowerCase()}`,
          }),
        },
        {
          key: 'customerGet',
          label: 'One customer',
          request: 'GET /api/v1/customers/{id}',
          targetP95Ms: API_TARGETS.getP95Ms,
          next: () => ({
            method: 'GET',
            path: `/api/v1/customers/${shortNameOf(random(options.customers))}`,
          }),
        },
        {
          key: 'tasksList',
          label: 'Tasks list, top 100',
          request: 'GET /api/v1/tasks?top=100',
          targetP95Ms: API_TARGETS.listP95Ms,
          next: () => ({ method: 'GET', path: '/api/v1/tasks?top=100' }),
        },
        {
          key: 'alarmsList',
          label: 'Alarms list',
          request: 'GET /api/v1/alarms',
          targetP95Ms: API_TARGETS.listP95Ms,
          next: () => ({ method: 'GET', path: '/api/v1/alarms' }),
        },
        {
          key: 'licenseOverview',
          label: 'License overview',
          request: 'GET /api/v1/settings/license',
          targetP95Ms: API_TARGETS.getP95Ms,
          next: () => ({ method: 'GET', path: '/api/v1/settings/license' }),
        },
        {
          key: 'licensedUsersPatch',
          label: 'Edit Licensed Users (a write)',
          request: 'PATCH /api/v1/customers/{id} {"licensedUsers": n}',
          targetP95Ms: null,
          next: () => ({
            method: 'PATCH',
            path: `/api/v1/customers/${shortNameOf(licensedIndex(random(options.customers)))}`,
            body: { licensedUsers: 1 + random(50) },
          }),
        },
      ];
      const chosen = plan.filter(({ key }) => options.routes.length === 0 || options.routes.includes(key));
      for (const { next, ...route } of chosen) {
        log(`  ${route.request}: ${options.connections} clients for ${options.durationMs / 1000} s…`);
        const figures = await load(client, next, options.connections, options.durationMs, {
          api: pid,
          storage: options.storagePid,
        });
        log(
          `    p50 ${figures.p50Ms.toFixed(1)} ms, p95 ${figures.p95Ms.toFixed(1)} ms, p99 ${figures.p99Ms.toFixed(1)} ms, ` +
            `${figures.rps.toFixed(0)} req/s, ${figures.errors} errors`,
        );
        routes.push({ ...route, ...figures });
      }
      log(`  ${options.creates} concurrent creates against the license pool…`);
      // A connection per create: all of them reach the server at once, as from as many browsers.
      const burstPool = new Pool(url, { connections: options.creates, pipelining: 1 });
      const creates = await createBurst(
        { pool: burstPool, token },
        options,
        Number(settings.LICENSE_TENANT_COUNT),
      ).finally(() => burstPool.close());
      log(
        `    ${(creates.totalMs / 1000).toFixed(2)} s in all, p50 ${creates.p50Ms.toFixed(0)} ms, p95 ` +
          `${creates.p95Ms.toFixed(0)} ms; ${creates.created} created, ${creates.refused} refused (pool exhausted), ` +
          `pool ${creates.poolExceeded ? 'EXCEEDED' : 'held'}`,
      );
      return { options, seedMs, ...seeded, routes, creates, loadBefore, loadAfter: loadavg() };
    } finally {
      await pool.close();
    }
  });
}

/**
 * Runs `use` while the product serves in a process of its own (api-worker.ts), so that the load clients do not take
 * its event loop; `use` gets its URL and a provider admin's token. `BENCH_WORKER_NODE_ARGS` (e.g. `--cpu-prof`) are
 * that process's Node options.
 */
export async function withApiWorker<T>(
  settings: Record<string, string>,
  sandbox: Sandbox,
  use: (worker: {
    readonly url: string;
    readonly token: string;
    readonly seedMs?: number;
    readonly pid?: number;
  }) => Promise<T>,
  options: Pick<ApiWorkerRequest, 'memoryUsersMirror'> = {},
): Promise<T> {
  const request: ApiWorkerRequest = { settings, ...options };
  const worker = fork(fileURLToPath(new URL('./api-worker.js', import.meta.url)), {
    env: { ...process.env, BENCH_REQUEST: JSON.stringify(request) },
    execArgv: workerExecArgv(),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  try {
    const ready = await new Promise<ApiWorkerReady>((resolve, reject) => {
      worker.once('exit', (code) => reject(new Error(`The API process exited (${code}).`)));
      worker.once('message', (message) => resolve(message as ApiWorkerReady));
    });
    const token = await sandbox.issueToken({
      tenantId: DEMO.provider.tenantId,
      audience: DEMO.provider.apiAudience,
      roles: ['provider-admin'],
      name: 'Bench Provider Admin',
      expiresInSeconds: 3600,
    });
    return await use({ ...ready, token, ...(worker.pid !== undefined ? { pid: worker.pid } : {}) });
  } finally {
    worker.disconnect();
    await exited;
  }
}

/** Through the services and the storage kit, as the product writes them; creates go in concurrent bursts. */
async function seed(
  settings: Record<string, string>,
  storageConnectionString: string,
  count: number,
): Promise<{ tasks: number; alarms: number; firstBurst: { creates: number; ms: number } }> {
  const tables = azureTables(storageConnectionString);
  const app = createApp(loadSettings({ ...settings, PUBLIC_BASE_URL: 'http://127.0.0.1:1' }), { tables });
  const { customers, alarms } = app.services;
  const taskStore = createTaskStore(tables);
  const customerStore = createCustomerStore(tables);
  const replication = createReplicationStoreOn(tables);
  const BURST = 200;
  let firstBurstMs = 0;
  // One create alone first: the table and the connections exist before a burst is timed.
  const create = (i: number) =>
    customers.create({
      fullName: fullNameOf(i),
      shortName: shortNameOf(i),
      licenseType: isEssentials(i) ? 'hosted-essentials' : 'hosted-pro',
      licensedUsers: isEssentials(i) ? 0 : 10 + (i % 40),
    });
  await create(0);
  for (let from = 1; from < count; from += BURST) {
    const indexes = Array.from({ length: Math.min(BURST, count - from) }, (_, i) => from + i);
    const started = performance.now();
    await Promise.all(indexes.map(create));
    if (from === 1) firstBurstMs = performance.now() - started;
  }
  log(`  ${count} customers created; ${Math.min(BURST, count - 1)} at once in ${firstBurstMs.toFixed(0)} ms`);
  let tasks = 0;
  let raised = 0;
  const later = new Date(Date.now() + 24 * 3600 * 1000).toISOString();
  await inBatches(count, 50, async (i) => {
    const customerId = shortNameOf(i);
    // One task per customer in every state by turn; queued and leased ones are due tomorrow, so none runs here.
    const state = TASK_STATES[i % TASK_STATES.length] as TaskState;
    const at = new Date(Date.now() - (count - i) * 1000);
    await taskStore.create(taskRecord(customerId, state, at, later));
    tasks++;
    // Every fourth failed task raised an alarm (the list holds them all, active or not).
    if (i % (TASK_STATES.length * 4) === TASK_STATES.indexOf('finish-failure')) {
      await alarms.raise({
        name: TASK_FAILED_ALARM,
        severity: 'major',
        source: taskAlarmSource(`${customerId}-seed`),
        text: `Task CreateCustomer for customer ${customerId} failed at step Create customer; its log has the details.`,
      });
      raised++;
    }
    const finishedAt = new Date(at.getTime() + 60_000).toISOString();
    await replication.updateStatus(customerId, (status) => ({
      ...status,
      lastSyncAt: finishedAt,
      lastFullSyncAt: finishedAt,
      lastFullStartedAt: at.toISOString(),
      counts: { users: 50 + (i % 500), groups: 5, memberships: 120, voiceObjects: 3 },
      lastCycle: {
        id: `seed-${i}`,
        kind: 'full',
        reason: 'initial',
        startedAt: at.toISOString(),
        finishedAt,
        outcome: i % 11 === 0 ? 'failed' : 'succeeded',
        message: i % 11 === 0 ? 'Graph answered 503 three times.' : null,
        counters: {
          pages: 2,
          usersSeen: 50 + (i % 500),
          usersWritten: 50 + (i % 500),
          usersRemoved: 0,
          groupsWritten: 5,
          groupsRemoved: 0,
          membershipChanges: 120,
          voiceObjectsChanged: 3,
        },
      },
    }));
    // What the task engine and replication keep in the customer's summary, for the Tenants list.
    await customerStore.updateSummary(customerId, {
      counts: {
        queuedCommands: state === 'queued' || state === 'queue-postponed' ? 1 : 0,
        executingCommands: state === 'reserved' || state === 'executing' ? 1 : 0,
      },
      lastReplicationAt: finishedAt,
    });
  });
  await alarms.raise({
    name: USER_LICENSE_THRESHOLD_ALARM,
    severity: 'warning',
    source: 'license:users',
    text: 'Bench: the user licenses in use passed the Warning Limit.',
  });
  await app.close();
  return { tasks, alarms: raised + 1, firstBurst: { creates: Math.min(BURST, count - 1), ms: firstBurstMs } };
}

function taskRecord(customerId: string, state: TaskState, at: Date, later: string): TaskRecord {
  const final = state === 'finish-success' || state === 'finish-failure';
  const leased = state === 'reserved' || state === 'executing';
  const step = (name: string, done: boolean) => ({
    name,
    state: done ? ('done' as const) : ('pending' as const),
    attempts: done ? 1 : 0,
    startedAt: done ? at.toISOString() : null,
    finishedAt: done ? at.toISOString() : null,
    error: null,
    resumedByOperator: false,
  });
  return {
    id: newTaskId(at),
    type: 'CreateCustomer',
    customerId,
    state,
    dryRun: false,
    input: {},
    data: {},
    steps: [step('Create customer', final), step('Configure', final)],
    currentStep: final ? 2 : 0,
    attempts: final ? 2 : 0,
    retries: 0,
    nextExecutionAt: final || state === 'paused' ? null : later,
    leaseUntil: leased ? later : null,
    leaseHolder: leased ? 'bench' : null,
    leaseRun: leased ? 'bench' : null,
    retry: null,
    waiting: state === 'paused' ? { reason: 'Paused by the bench', resumeOn: 'operator' } : null,
    log: [{ at: at.toISOString(), line: 'Seeded by npm run bench.' }],
    logDropped: 0,
    result: final ? (state === 'finish-success' ? 'Completed with 0 change(s).' : 'Failed.') : null,
    wasSuccessful: final ? state === 'finish-success' : null,
    changes: [],
    changesDropped: 0,
    createdAt: at.toISOString(),
    updatedAt: at.toISOString(),
    executedAt: final ? at.toISOString() : null,
    finishedAt: final ? at.toISOString() : null,
    idempotencyKey: null,
  };
}

async function inBatches(count: number, parallel: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

export interface Call {
  readonly method: 'GET' | 'PATCH' | 'POST';
  readonly path: string;
  readonly body?: unknown;
}

export interface Client {
  readonly pool: Pool;
  readonly token: string;
}

export async function send(
  client: Client,
  call: Call,
): Promise<{ status: number; ms: number; body: string }> {
  const started = performance.now();
  const response = await client.pool.request({
    method: call.method,
    path: call.path,
    headers: {
      authorization: `Bearer ${client.token}`,
      ...(call.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
  });
  const body = await response.body.text();
  return { status: response.statusCode, ms: performance.now() - started, body };
}

/** `connections` clients, each sending its next request as soon as the last is answered, for `durationMs`. */
async function load(
  client: Client,
  next: () => Call,
  connections: number,
  durationMs: number,
  pids: { readonly api?: number | undefined; readonly storage?: number | undefined },
): Promise<RouteFigures> {
  const cpuBefore = { api: processCpuMs(pids.api), storage: processCpuMs(pids.storage) };
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  const started = performance.now();
  const end = started + durationMs;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) {
        try {
          const { status, ms } = await send(client, next());
          latencies.push(ms);
          if (status >= 300) {
            errors++;
            statuses[status] = (statuses[status] ?? 0) + 1;
          }
        } catch (error) {
          errors++;
          const name = error instanceof Error ? error.name : 'error';
          statuses[name] = (statuses[name] ?? 0) + 1;
        }
      }
    }),
  );
  const elapsed = performance.now() - started;
  const perRequest = (before: number | null, pid: number | undefined) => {
    const after = processCpuMs(pid);
    return before === null || after === null || latencies.length === 0
      ? null
      : (after - before) / latencies.length;
  };
  return {
    cpuMsPerRequest: {
      api: perRequest(cpuBefore.api, pids.api),
      storage: perRequest(cpuBefore.storage, pids.storage),
    },
    requests: latencies.length,
    errors,
    statuses,
    ...percentiles(latencies),
    rps: latencies.length / (elapsed / 1000),
  };
}

/** User and system CPU time a process has used, in ms, from /proc (Linux); null elsewhere or when it is gone. */
function processCpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th, in clock ticks.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks * (1000 / CLOCK_TICKS_PER_SECOND) : null;
  } catch {
    return null;
  }
}

/** USER_HZ, which Linux fixes at 100 for /proc whatever the kernel's own tick. */
const CLOCK_TICKS_PER_SECOND = 100;

export function percentiles(values: number[]): { p50Ms: number; p95Ms: number; p99Ms: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
  return { p50Ms: at(50), p95Ms: at(95), p99Ms: at(99) };
}

async function createBurst(
  client: Client,
  options: ApiLoadOptions,
  tenantLicenses: number,
): Promise<CreateBurstResult> {
  const started = performance.now();
  const answers = await Promise.all(
    Array.from({ length: options.creates }, (_, i) =>
      send(client, {
        method: 'POST',
        path: '/api/v1/customers',
        body: {
          fullName: `Burst ${i} Ltd`,
          shortName: `burst${String(i).padStart(4, '0')}`,
          licenseType: 'hosted-pro',
          licensedUsers: 5,
        },
      }),
    ),
  );
  const totalMs = performance.now() - started;
  const created = answers.filter((a) => a.status === 201).length;
  const refused = answers.filter(
    (a) => a.status === 409 && a.body.includes('tenant_licenses_exhausted'),
  ).length;
  let customersAfter = 0;
  let path: string | null = '/api/v1/customers?top=500';
  while (path) {
    const page = await send(client, { method: 'GET', path });
    const body = JSON.parse(page.body) as { value: unknown[]; nextLink?: string | null };
    customersAfter += body.value.length;
    // The list's nextLink is the path of the next page.
    path = body.nextLink ?? null;
  }
  return {
    creates: options.creates,
    created,
    refused,
    errors: options.creates - created - refused,
    totalMs,
    ...percentiles(answers.map((a) => a.ms)),
    tenantLicenses,
    customersAfter,
    poolExceeded: customersAfter > tenantLicenses,
  };
}
