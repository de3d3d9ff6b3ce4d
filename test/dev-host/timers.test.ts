import type { Timer } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAzurite, startAzurite } from '../../dev/azurite.js';
import { type LogRecord, type RunningHost, startLocalHost } from '../../dev/host/index.js';
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
  startedAt = Date.now();
  host = await startLocalHost({
    registry,
    port: 0,
    storageConnectionString: azurite.connectionString,
    log: (line) => logs.push(line),
  });
  // One observation window for every timer of this host; the assertions below read what happened in it.
  await sleep(3500);
});

afterAll(async () => {
  await host?.close();
  await azurite?.close();
});

describe('local host: timer triggers', () => {
  it('fires a */1 schedule about once per second with the schedule status Azure passes', () => {
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

  it('runs a runOnStartup timer immediately, without waiting for its (yearly) schedule', () => {
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

  it('never overlaps two runs of one timer, and logs the skipped occurrences', () => {
    expect(runsOf('slow').length).toBeGreaterThanOrEqual(1);
    expect(slowMaxRunning).toBe(1);
    expect(logs).toContainEqual(
      expect.objectContaining({ functionName: 'slow', outcome: 'skipped', level: 'warning' }),
    );
  });

  it('keeps the schedule going after a failing run, and logs the failure', () => {
    expect(runsOf('throws').length).toBeGreaterThanOrEqual(2);
    const failure = logs.find((r) => r.functionName === 'throws' && r.outcome === 'failed');
    expect(failure).toMatchObject({ level: 'error', category: 'host' });
    expect(failure?.error).toContain('timer failure');
  });

  it('stops firing after close, having waited for the run in progress', async () => {
    await host.close();
    expect(slowRunning).toBe(0);
    const counts = ['tick', 'slow', 'throws'].map((name) => runsOf(name).length);
    await sleep(1500);
    expect(['tick', 'slow', 'throws'].map((name) => runsOf(name).length)).toEqual(counts);
  });
});

describe('local host: timer clock', () => {
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
