import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAzurite, startAzurite } from '../../dev/azurite.js';
import {
  analyseHostLogs,
  balancedApi,
  configureProviderMail,
  type HostRecord,
  onboardReplicatingCustomer,
  providerToken,
  SCALE_OUT_SETTINGS,
  SCALE_OUT_TASK_TIMING,
  SCALE_OUT_TIMER_LOCKS,
  SCALE_OUT_TIMER_SCHEDULES,
  type ScaleOutCustomer,
  type ScaleOutFindings,
} from '../../dev/bench/scale-out-world.js';
import { seedOnboardingSettings } from '../../dev/demo-seed.js';
import { freePort } from '../../dev/host/free-port.js';
import type { LogRecord } from '../../dev/host/index.js';
import { type RunningSandbox, startSandbox } from '../../dev/sandbox/index.js';
import { sandboxEndpointSettings } from '../../dev/sandbox/product-settings.js';
import { waitFor } from '../consent/consent-fixture.js';
import { changeKeys, lines, type TaskView } from '../onboarding/onboarding-fixture.js';
import { type HostProcess, startHostProcess } from '../support/host-process.js';

/**
 * Issue 17, item 6, on the full stack: two instances of the app (local hosts, each a process of its own) on one
 * Azurite and one sandbox, as Azure scales a Function App out. A handful of customers are onboarded through the
 * wizard and replicate their tenants meanwhile, with every timer at a few seconds' cadence. What must hold: every
 * task ran once, every customer's cycles one at a time, every timer occurrence once across both instances, and the
 * work spread over both.
 */
const CUSTOMERS = 5;
const HOSTS = ['host-a', 'host-b'];
/** How long the instances run after the onboardings finished: several quick cycles and timer occurrences. */
const STEADY_MS = 16_000;

let dataDir: string;
let azurite: RunningAzurite;
let sandbox: RunningSandbox;
const hosts = new Map<string, HostProcess>();
const logFiles = new Map<string, string>();
let customers: ScaleOutCustomer[] = [];
let tasks: TaskView[] = [];
let findings: ScaleOutFindings;
let records: HostRecord[] = [];
let scaledInAt = 0;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'drh-scale-out-'));
  const azuriteStarting = startAzurite();
  sandbox = await startSandbox({ port: 0, dataDir, log: () => {} });
  azurite = await azuriteStarting;
  // Graph and Teams answer in 40 ms: a cycle takes long enough that two at once could not hide in its edges.
  sandbox.faults.add({ pathPattern: '^/(graph|teams)', kind: 'latency', latencyMs: 40 });
  const ports = await Promise.all(HOSTS.map(() => freePort()));
  const settings = {
    // One public address for the app, as Azure's front end gives every instance.
    PUBLIC_BASE_URL: `http://localhost:${ports[0]}`,
    SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    AzureWebJobsStorage: azurite.connectionString,
    ...sandboxEndpointSettings(sandbox),
    LICENSE_TENANT_COUNT: '100',
    LICENSE_USER_COUNT: '100000',
    ...SCALE_OUT_SETTINGS,
  };
  await Promise.all(
    HOSTS.map(async (name, i) => {
      const logFile = join(dataDir, `${name}.log`);
      logFiles.set(name, logFile);
      hosts.set(
        name,
        await startHostProcess({
          settings,
          port: ports[i] ?? 0,
          storageConnectionString: azurite.connectionString,
          queuePollIntervalMs: 100,
          overrides: { taskTiming: SCALE_OUT_TASK_TIMING, taskInstanceId: name },
          logFile,
          timerSchedules: SCALE_OUT_TIMER_SCHEDULES,
          timers: { hostId: 'scale-out', instanceId: name, ...SCALE_OUT_TIMER_LOCKS },
        }),
      );
    }),
  );
  const token = await providerToken(sandbox);
  const api = balancedApi(() => [...hosts.values()].map((h) => h.url), token);
  const first = [...hosts.values()][0]?.url ?? '';
  await seedOnboardingSettings({ apiBaseUrl: `${first}/api/v1`, token, smtp: sandbox.smtp });
  await configureProviderMail(api, sandbox);

  customers = await Promise.all(
    Array.from({ length: CUSTOMERS }, (_, index) =>
      onboardReplicatingCustomer(api, sandbox, { shortName: `Scale${index + 1}`, index, users: 80 }),
    ),
  );
  tasks = await Promise.all(
    customers.map((customer) =>
      waitFor(
        `the onboarding of ${customer.shortName}`,
        async () => {
          const view = (await api('GET', `/tasks/${customer.taskId}`)).body as TaskView;
          return ['finish-success', 'finish-failure', 'paused'].includes(view.state) ? view : undefined;
        },
        180_000,
      ),
    ),
  );
  // Half the steady run on both instances, and until every customer has finished two cycles (on a busy machine a
  // customer's second cycle can come later than the half): the scale-in below must happen with cycles behind it.
  await new Promise((resolve) => setTimeout(resolve, STEADY_MS / 2));
  await waitFor(
    'two finished replication cycles of every customer',
    async () => {
      const done = analyseHostLogs(hostRecords()).cyclesDone;
      return customers.every(({ shortName }) => (done[shortName] ?? 0) >= 2) ? true : undefined;
    },
    120_000,
  );
  // Host A stops (a scale-in): host B takes its timers over and goes on alone.
  await hosts.get('host-a')?.close();
  scaledInAt = Date.now();
  await new Promise((resolve) => setTimeout(resolve, STEADY_MS / 2));
  // A graceful stop: every invocation in progress ends and is logged.
  await hosts.get('host-b')?.close();
  hosts.clear();
  records = hostRecords();
  findings = analyseHostLogs(records);
}, 540_000);

/** Every whole line the hosts have logged so far (a line still being written is left for the next read). */
function hostRecords(): HostRecord[] {
  return [...logFiles].flatMap(([host, file]) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .slice(0, -1)
      .filter(Boolean)
      .map((line) => ({ ...(JSON.parse(line) as LogRecord), host })),
  );
}

afterAll(async () => {
  await Promise.all([...hosts.values()].map((host) => host.close()));
  await sandbox?.close();
  await azurite?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('two instances of the app on one storage', () => {
  it('ran every onboarding task once: each step one attempt, each change once, each IP group once on the SBC', () => {
    for (const task of tasks) {
      expect(task.state, lines(task).join('\n')).toBe('finish-success');
      expect(task.steps.map((s) => [s.name, s.attempts])).toEqual(task.steps.map((s) => [s.name, 1]));
      const keys = changeKeys(task);
      expect(keys.length, lines(task).join('\n')).toBeGreaterThan(0);
      expect(new Set(keys).size).toBe(keys.length);
    }
    const groups = sandbox.sbc.configuration('sbc-eu1').ipGroups.map((g) => g.name);
    for (const { shortName } of customers) {
      const own = groups.filter((name) => name.startsWith(shortName));
      expect(own.length, shortName).toBeGreaterThan(0);
      expect(new Set(own).size).toBe(own.length);
    }
  });

  it("ran each customer's replication cycles one at a time, several of them", () => {
    expect(findings.overlappingCycles).toEqual([]);
    for (const { shortName } of customers) {
      expect(findings.cyclesDone[shortName] ?? 0, shortName).toBeGreaterThanOrEqual(2);
    }
  });

  it('fired every timer occurrence once across both instances', () => {
    expect(findings.duplicateTimerRuns).toEqual([]);
    // Two seconds apart for the whole run: the replication timer fired many times, whichever instance held it.
    expect(findings.timerRuns['replication-timer'] ?? 0).toBeGreaterThanOrEqual(8);
    expect(findings.timerRuns['tasks-sweep'] ?? 0).toBeGreaterThanOrEqual(5);
  });

  it('moved the timers to the remaining instance when the other stopped', () => {
    // The stopped host gave its locks up; the other asks every two seconds, and then fires on schedule.
    const after = records.filter((r) => r.occurrence && Date.parse(r.time) > scaledInAt + 3000);
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((r) => r.host !== 'host-b')).toEqual([]);
    expect([...new Set(after.map((r) => r.functionName))]).toEqual(
      expect.arrayContaining(['replication-timer', 'tasks-sweep', 'email-outbox-requeue']),
    );
  });

  it('spread the queued work over both instances', () => {
    for (const host of HOSTS) {
      const ran = findings.invocations[host] ?? {};
      expect(ran.replication ?? 0, `${host}: ${JSON.stringify(findings.invocations)}`).toBeGreaterThan(0);
      expect(ran['tasks-run'] ?? 0, `${host}: ${JSON.stringify(findings.invocations)}`).toBeGreaterThan(0);
    }
  });
});
