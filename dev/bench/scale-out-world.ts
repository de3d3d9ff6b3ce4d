import { DEMO, DEMO_MAIL, type RunningSandbox } from '../sandbox/index.js';
import { addReplicationApp, createScaleTenant } from '../sandbox/scale-control.js';
import type { LogRecord } from '../host/index.js';

/**
 * The scale-out run (issue 17, item 6): several instances of the app (local hosts) on one storage account and one
 * sandbox, with customers that are onboarded through the wizard and replicate their tenant at once. Shared by the
 * stack test (test/scale/scale-out.test.ts), which asserts that nothing ran twice, and the bench's scale-out
 * section, which measures the throughput with 1, 2 and 3 hosts.
 */

/** The app settings every instance gets: short cadences so that a run of a minute sees many cycles and firings. */
export const SCALE_OUT_SETTINGS = {
  // The first replication right after the connection; then a quick cycle whenever the timer finds one due.
  REPLICATION_DELAY_SECONDS: '0',
  REPLICATION_QUICK_SECONDS: '4',
  REPLICATION_FULL_SECONDS: '604800',
  // Renewed at every checkpoint: long enough that a page held up on a busy machine does not let it lapse mid-chunk.
  REPLICATION_LEASE_SECONDS: '60',
  REPLICATION_CHUNK_SECONDS: '5',
  LOG_LEVEL: 'info',
} as const;

/** Faster than production, so that the run sees each timer fire many times (Azure's `%Setting%` schedules). */
export const SCALE_OUT_TIMER_SCHEDULES: Readonly<Record<string, string>> = {
  'replication-timer': '*/2 * * * * *',
  'tasks-sweep': '*/3 * * * * *',
  'email-outbox-requeue': '*/3 * * * * *',
  'wizard-sweep': '*/5 * * * * *',
  'customers-summary-reconcile': '*/5 * * * * *',
};

/** The instances' timer locks: a stopped instance's timers move on within seconds, not Azure's minute. */
export const SCALE_OUT_TIMER_LOCKS = { lockPeriodMs: 6_000, lockRecoveryPollMs: 2_000 } as const;

/** The task engine's timing in the run: a crashed holder's task is taken over after 6 s (a minute in Azure). */
export const SCALE_OUT_TASK_TIMING = { leaseMs: 6_000, renewMs: 2_000, backoffMs: 200, maxBackoffMs: 1_000 };

export type Api = (
  method: string,
  path: string,
  json?: unknown,
) => Promise<{ status: number; body: unknown; location: string | null }>;

/** How often a caller tries a request the API answered 503 with Retry-After (contention: nothing was written). */
const TRIES_ON_503 = 5;

/**
 * A caller of the product's API as the portal is, spreading its calls over the instances (a load balancer). Like
 * the portal, it honours a 503's Retry-After a few times: twenty customers onboarding at once on two cores can lose
 * every optimistic retry on one row, which the API answers so (shared/storage/versioned-table.ts).
 */
export function balancedApi(urls: () => readonly string[], token: string): Api {
  let turn = 0;
  return async (method, path, json) => {
    let response: Response;
    for (let tries = 1; ; tries++) {
      const all = urls();
      const base = all[turn++ % all.length] ?? '';
      response = await fetch(`${base}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(json === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(json === undefined ? {} : { body: JSON.stringify(json) }),
      });
      const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
      if (response.status !== 503 || !(retryAfter >= 0) || tries === TRIES_ON_503) break;
      await response.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
    }
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON: kept as text for the error message.
    }
    return { status: response.status, body, location: response.headers.get('location') };
  };
}

async function expectStatus(api: Api, method: string, path: string, json: unknown, status: number) {
  const response = await api(method, path, json);
  if (response.status !== status) {
    throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
  }
  return response;
}

/** The provider's mail (the onboarding's notices go out through it). */
export async function configureProviderMail(api: Api, sandbox: RunningSandbox): Promise<void> {
  await expectStatus(
    api,
    'PUT',
    '/settings/email',
    {
      transport: 'smtp',
      from: DEMO_MAIL.smtp.username,
      host: sandbox.smtp.host,
      port: sandbox.smtp.port,
      enableSsl: true,
      username: DEMO_MAIL.smtp.username,
      password: DEMO_MAIL.smtp.password,
      confirmPassword: DEMO_MAIL.smtp.password,
    },
    200,
  );
}

export interface ScaleOutCustomer {
  readonly shortName: string;
  readonly tenantId: string;
  /** The onboarding's CreateCustomer task. */
  readonly taskId: string;
}

/**
 * One customer as an operator onboards it: a generated tenant of `users` users with its app registration, the
 * wizard's pages (Hosted Pro connected to the tenant, manual DNS, a SIP trunk on the EMEA SBC, one prefix of its
 * own) and Submit; the connection's credentials become the customer's, which starts its replication.
 */
export async function onboardReplicatingCustomer(
  api: Api,
  sandbox: RunningSandbox,
  options: { readonly shortName: string; readonly index: number; readonly users: number },
): Promise<ScaleOutCustomer> {
  const { shortName, index } = options;
  const tenant = createScaleTenant(
    { state: sandbox.state, teams: sandbox.teams, directories: sandbox.directories },
    { displayName: `${shortName} Ltd`, users: options.users, groups: 2, seed: shortName },
  );
  const tenantId = tenant.options.tenantId;
  const app = addReplicationApp(sandbox, tenantId, `${shortName} sync`);
  const opened = await expectStatus(api, 'POST', '/wizard-sessions', undefined, 201);
  const session = `/wizard-sessions/${(opened.body as { id: string }).id}`;
  await expectStatus(
    api,
    'PUT',
    `${session}/customer`,
    { fullName: `${shortName} Ltd`, shortName, licenseType: 'hosted-pro', licensedUsers: 10 },
    200,
  );
  await expectStatus(
    api,
    'POST',
    `${session}/connection`,
    { method: 'app-registration', tenantId, clientId: app.appId, clientSecret: app.secretText },
    200,
  );
  await expectStatus(
    api,
    'PUT',
    `${session}/dns`,
    { method: 'manual', onlinePstnGateway: `${shortName.toLowerCase()}.trunks.example.com` },
    200,
  );
  await expectStatus(
    api,
    'PUT',
    `${session}/sbc`,
    { configureSbc: true, sbcConfiguration: 'sip-trunk', regionId: 'emea', carrier: 'Carrier1' },
    200,
  );
  await expectStatus(
    api,
    'PUT',
    `${session}/prefixes`,
    { prefixes: [{ dialPlanName: 'CustDialPlan', prefix: `+4930${String(1000 + index)}` }] },
    200,
  );
  const submitted = await expectStatus(api, 'POST', `${session}/submit`, { dryRun: false }, 202);
  const taskId = submitted.location?.split('/').at(-1) ?? '';
  return { shortName, tenantId, taskId };
}

/** The sandbox's provider-admin token for the run's API calls. */
export function providerToken(sandbox: RunningSandbox): Promise<string> {
  return sandbox.issueToken({
    tenantId: DEMO.provider.tenantId,
    audience: DEMO.provider.apiAudience,
    roles: ['provider-admin'],
    expiresInSeconds: 3600,
  });
}

/** A host's log record, with the instance that wrote it. */
export type HostRecord = LogRecord & { readonly host: string };

export interface ScaleOutFindings {
  /** Timer occurrences run more than once across the instances: `name@occurrence ×n`. */
  readonly duplicateTimerRuns: readonly string[];
  /** Timer runs by function name (across instances). */
  readonly timerRuns: Readonly<Record<string, number>>;
  /** Two chunks of one customer's replication that ran at the same time: `customer: hostA/hostB`. */
  readonly overlappingCycles: readonly string[];
  /** Replication cycles completed, by customer. */
  readonly cyclesDone: Readonly<Record<string, number>>;
  /** Queue invocations by instance and function: where the work ran. */
  readonly invocations: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

interface ProductLine {
  readonly message?: string;
  readonly customerId?: string | null;
}

const productLine = (record: LogRecord): ProductLine | null => {
  if (record.category !== 'function' || !record.message.startsWith('{')) return null;
  try {
    return JSON.parse(record.message) as ProductLine;
  } catch {
    return null;
  }
};

/** Replication outcomes of an invocation that ran a chunk of a cycle (the others looked and left). */
const RAN_A_CHUNK = /^Replication message: (done|paused|failed|fenced|authentication-failed)\.$/;

/**
 * An invocation's time around the customer's lease: the reads before it takes it (the customer, its credentials) and
 * the continuation it queues after giving it back. Two chunks that overlap by less did not run at the same time.
 */
export const LEASE_MARGIN_MS = 300;

/** What the instances' logs say about duplicates and overlaps: the run's evidence, read the same by test and bench. */
export function analyseHostLogs(records: readonly HostRecord[]): ScaleOutFindings {
  const timerRuns: Record<string, number> = {};
  const occurrences = new Map<string, number>();
  const invocations: Record<string, Record<string, number>> = {};
  const executed = new Map<string, HostRecord>();
  for (const record of records) {
    if (record.category !== 'host' || !record.functionName || !record.invocationId) continue;
    if (record.outcome !== 'succeeded' && record.outcome !== 'failed') continue;
    executed.set(record.invocationId, record);
    if (record.occurrence) {
      const key = `${record.functionName}@${record.occurrence}`;
      occurrences.set(key, (occurrences.get(key) ?? 0) + 1);
      timerRuns[record.functionName] = (timerRuns[record.functionName] ?? 0) + 1;
    } else if (record.message.includes(', message ')) {
      const byFunction = (invocations[record.host] ??= {});
      byFunction[record.functionName] = (byFunction[record.functionName] ?? 0) + 1;
    }
  }

  const chunks = new Map<string, { host: string; outcome: string; from: number; to: number }[]>();
  const cyclesDone: Record<string, number> = {};
  for (const record of records) {
    const line = productLine(record);
    const outcome = RAN_A_CHUNK.exec(line?.message ?? '')?.[1];
    if (!outcome || !line?.customerId || !record.invocationId) continue;
    if (outcome === 'done') cyclesDone[line.customerId] = (cyclesDone[line.customerId] ?? 0) + 1;
    const end = executed.get(record.invocationId);
    if (!end) continue;
    const to = Date.parse(end.time);
    const list = chunks.get(line.customerId) ?? [];
    list.push({ host: end.host, outcome, from: to - (end.durationMs ?? 0), to });
    chunks.set(line.customerId, list);
  }
  const overlappingCycles: string[] = [];
  for (const [customerId, list] of chunks) {
    list.sort((a, b) => a.from - b.from);
    let latest: (typeof list)[number] | undefined;
    for (const chunk of list) {
      if (latest && chunk.from < latest.to - LEASE_MARGIN_MS) {
        const ms = Math.round(Math.min(latest.to, chunk.to) - chunk.from);
        overlappingCycles.push(
          `${customerId}: ${latest.host} (${latest.outcome}) and ${chunk.host} (${chunk.outcome}) for ${ms} ms`,
        );
      }
      if (!latest || chunk.to > latest.to) latest = chunk;
    }
  }
  return {
    duplicateTimerRuns: [...occurrences].filter(([, n]) => n > 1).map(([key, n]) => `${key} ×${n}`),
    timerRuns,
    overlappingCycles,
    cyclesDone,
    invocations,
  };
}
