import type { Timer } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAzurite, startAzurite } from '../../dev/azurite.js';
import { InFlight } from '../../dev/host/in-flight.js';
import { type LogRecord, parseNcrontab, type RunningHost, startLocalHost } from '../../dev/host/index.js';
import { createLoggers } from '../../dev/host/log.js';
import { timerCoordination } from '../../dev/host/timer-coordination.js';
import { startTimer } from '../../dev/host/timer-scheduler.js';
import type { FunctionDefinition, TimerHandler } from '../../shared/platform/function-definitions.js';

interface Run {
  readonly at: number;
  readonly timer: Timer;
}

const runs = new Map<string, Run[]>();
const runsOf = (name: string) => runs.get(name) ?? [];
const remember = (name: string, timer: Timer) => runs.set(name, [...runsOf(name), { at: Date.now(), timer }]);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let slowRunning = 0;
let slowMaxRunning = 0;
const timer = (
  name: string,
  schedule: string,
  handler: TimerHandler,
  runOnStartup = false,
): FunctionDefinition => ({
  kind: 'timer',
  name,
  schedule,
  runOnStartup,
  handler,
});
const registry: FunctionDefinition[] = [
  timer('tick', '*/1 * * * * *', async (t) => {
    remember('tick', t);
  }),
  timer('slow', '*/1 * * * * *', async (t) => {
    remember('slow', t);
    slowRunning++;
    slowMaxRunning = Math.max(slowMaxRunning, slowRunning);
    await sleep(2500);
    slowRunning--;
  }),
  timer('throws', '*/1 * * * * *', async (t) => {
    remember('throws', t);
    throw new Error('timer failure');
  }),
  timer(
    'startup',
    '0 0 0 1 1 *',
    async (t) => {
      remember('startup', t);
    },
    true,
  ),
];

const NEVER = '0001-01-01T00:00:00.000Z';
let azurite: RunningAzurite;
let host: RunningHost;
let startedAt = 0;
const logs: LogRecord[] = [];

beforeAll(async () => {
  azurite = await startAzurite();
  // Started before the other suites' hosts, so that its runOnStartup timer's start is not delayed by theirs.
  startedAt = Date.now();
  host = await startLocalHost({
    registry,
    port: 0,
    storageConnectionString: azurite.connectionString,
    log: (line) => logs.push(line),
  });
});

afterAll(async () => {
  await host?.close();
  await azurite?.close();
});

/*
 * Each suite below runs its own hosts (their own timer names and lock ids on the one Azurite) and mostly waits for
 * the wall clock's seconds: the suites run at once, each suite's tests in order.
 */
describe.concurrent('local host: timer triggers', () => {
  // One observation window for every timer of this host; the assertions below read what happened in it.
  beforeAll(() => sleep(3500));

  it.sequential('fires a */1 schedule about once per second with the schedule status Azure passes', () => {
    const ticks = runsOf('tick');
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    for (const { at, timer: t } of ticks) {
      expect(t.isPastDue).toBe(false);
      expect(t.schedule).toEqual({ adjustForDST: true });
      // `next` is the occurrence being run (recorded before the run, as Azure does): a whole second, not later than now.
      expect(t.scheduleStatus.next).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
      expect(Date.parse(t.scheduleStatus.next)).toBeLessThanOrEqual(at);
    }
    expect(ticks[0]?.timer.scheduleStatus.last).toBe(NEVER);
    for (let i = 1; i < ticks.length; i++) {
      const previous = ticks[i - 1]?.timer.scheduleStatus.next ?? '';
      const current = ticks[i]?.timer.scheduleStatus;
      expect(current?.last).toBe(previous);
      expect(Date.parse(current?.next ?? '') - Date.parse(previous)).toBeGreaterThanOrEqual(1000);
      expect(Date.parse(current?.lastUpdated ?? '')).toBeGreaterThanOrEqual(Date.parse(previous));
    }
  });

  it.sequential('runs a runOnStartup timer immediately, without waiting for its (yearly) schedule', () => {
    const startup = runsOf('startup');
    expect(startup).toHaveLength(1);
    expect((startup[0]?.at ?? Number.POSITIVE_INFINITY) - startedAt).toBeLessThan(1000);
    const nextNewYear = `${new Date(startedAt).getUTCFullYear() + 1}-01-01T00:00:00.000Z`;
    expect(startup[0]?.timer).toEqual({
      isPastDue: false,
      schedule: { adjustForDST: true },
      scheduleStatus: { last: NEVER, next: nextNewYear, lastUpdated: NEVER },
    });
  });

  it.sequential('never overlaps two runs of one timer, and logs the skipped occurrences', () => {
    expect(runsOf('slow').length).toBeGreaterThanOrEqual(1);
    expect(slowMaxRunning).toBe(1);
    expect(logs).toContainEqual(
      expect.objectContaining({ functionName: 'slow', outcome: 'skipped', level: 'warning' }),
    );
  });

  it.sequential('keeps the schedule going after a failing run, and logs the failure', () => {
    expect(runsOf('throws').length).toBeGreaterThanOrEqual(2);
    const failure = logs.find((r) => r.functionName === 'throws' && r.outcome === 'failed');
    expect(failure).toMatchObject({ level: 'error', category: 'host' });
    expect(failure?.error).toContain('timer failure');
  });

  it.sequential('stops firing after close, having waited for the run in progress', async () => {
    await host.close();
    expect(slowRunning).toBe(0);
    const counts = ['tick', 'slow', 'throws'].map((name) => runsOf(name).length);
    await sleep(1500);
    expect(['tick', 'slow', 'throws'].map((name) => runsOf(name).length)).toEqual(counts);
  });
});

describe.concurrent('local host: timer clock', () => {
  it('schedules against the injected clock', async () => {
    // A clock 1.5 s before New Year 2031 makes a yearly schedule fire in 1.5 s of real time.
    const offset = Date.parse('2031-01-01T00:00:00.000Z') - 1500 - Date.now();
    const fired: Timer[] = [];
    const newYear = await startLocalHost({
      registry: [timer('new-year', '0 0 0 1 Jan *', async (t) => void fired.push(t))],
      port: 0,
      storageConnectionString: azurite.connectionString,
      timers: { now: () => new Date(Date.now() + offset) },
      log: () => {},
    });
    try {
      const deadline = Date.now() + 5000;
      while (fired.length === 0 && Date.now() < deadline) await sleep(50);
      expect(fired).toHaveLength(1);
      expect(fired[0]?.scheduleStatus.next).toBe('2031-01-01T00:00:00.000Z');
    } finally {
      await newYear.close();
    }
  });
});

describe.concurrent('local host: one timer, several instances of the app', () => {
  /** What the handler saw, on which instance. */
  interface Fired {
    readonly host: string;
    readonly next: string;
    readonly isPastDue: boolean;
  }
  const instance = (hostId: string, host: string, fired: Fired[], schedule = '*/1 * * * * *') =>
    startLocalHost({
      registry: [
        timer('shared-tick', schedule, async (t) => {
          fired.push({ host, next: t.scheduleStatus.next, isPastDue: t.isPastDue });
        }),
      ],
      port: 0,
      storageConnectionString: azurite.connectionString,
      // Renewed every 3 s, a lock outlasts a busy machine's late renewal; a stopping instance gives it up at once,
      // so neither the handover nor the restart waits for it to lapse.
      timers: { hostId, instanceId: host, lockPeriodMs: 6000, lockRecoveryPollMs: 250 },
      log: () => {},
    });
  const duplicates = (fired: readonly Fired[]) =>
    fired.map((f) => f.next).filter((next, i, all) => all.indexOf(next) !== i);

  it('runs the timer on the instance holding its lock only, and hands it over when that one stops', async () => {
    const fired: Fired[] = [];
    const hosts = new Map(
      await Promise.all(
        ['a', 'b'].map(async (name) => [name, await instance('handover', name, fired)] as const),
      ),
    );
    try {
      await sleep(3500);
      const holders = new Set(fired.map((f) => f.host));
      expect(fired.length).toBeGreaterThanOrEqual(2);
      expect(holders.size).toBe(1);
      const holder = [...holders][0] ?? '';
      const other = holder === 'a' ? 'b' : 'a';
      await hosts.get(holder)?.close();
      const handedOver = fired.length;
      await sleep(2500);
      expect(fired.slice(handedOver).map((f) => f.host)).toContain(other);
      expect(fired.slice(handedOver).every((f) => f.host === other)).toBe(true);
      expect(duplicates(fired)).toEqual([]);
    } finally {
      await Promise.all([...hosts.values()].map((host) => host.close()));
    }
  });

  it('fires an occurrence missed while no instance ran, once, as past due, when an instance starts again', async () => {
    const fired: Fired[] = [];
    const first = await instance('restart', 'first', fired, '*/2 * * * * *');
    const deadline = Date.now() + 5000;
    while (fired.length === 0 && Date.now() < deadline) await sleep(50);
    await first.close();
    const before = fired.length;
    expect(before).toBeGreaterThan(0);
    // Long enough for the next occurrence (every two seconds) to pass with nobody running the timer.
    await sleep(2600);
    const second = await instance('restart', 'second', fired, '*/2 * * * * *');
    try {
      const until = Date.now() + 3000;
      while (fired.length === before && Date.now() < until) await sleep(50);
      const missed = fired[before];
      expect(missed).toMatchObject({ host: 'second', isPastDue: true });
      expect(Date.parse(missed?.next ?? '')).toBeGreaterThan(Date.parse(fired[before - 1]?.next ?? ''));
      await sleep(2200);
      expect(fired.slice(before + 1).every((f) => !f.isPastDue)).toBe(true);
      expect(duplicates(fired)).toEqual([]);
    } finally {
      await second.close();
    }
  });

  it('runs each occurrence once even when two instances both believe they hold the lock', async () => {
    // A stalled holder whose lock another instance took meanwhile: here both locks simply always say yes.
    const ids = { hostId: 'split-brain', instanceId: 'either' };
    const fired: string[] = [];
    const inFlight = new InFlight();
    const started = ['x', 'y'].map(() => {
      const coordination = timerCoordination(azurite.connectionString, ids, () => new Date())('split');
      return startTimer({
        definition: {
          kind: 'timer',
          name: 'split',
          schedule: '*/1 * * * * *',
          handler: async (t) => void fired.push(t.scheduleStatus.next),
        },
        schedule: parseNcrontab('*/1 * * * * *'),
        now: () => new Date(),
        loggers: createLoggers(() => {}),
        inFlight,
        coordination: { ...coordination, lock: async () => true },
        lockPeriodMs: 2000,
        lockRecoveryPollMs: 250,
      });
    });
    await sleep(3500);
    await Promise.all(started.map((t) => t.stop()));
    expect(fired.length).toBeGreaterThanOrEqual(2);
    expect(new Set(fired).size).toBe(fired.length);
  });
});
