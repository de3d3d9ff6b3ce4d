import type { Timer } from '@azure/functions';
import type { TimerFunctionDefinition } from '../../shared/platform/function-definitions.js';
import type { InFlight } from './in-flight.js';
import { invoke } from './invocation.js';
import { describeError, type Loggers } from './log.js';
import { type NcrontabSchedule, nextOccurrence } from './ncrontab.js';

export interface TimerSchedulerOptions {
  readonly definition: TimerFunctionDefinition;
  readonly schedule: NcrontabSchedule;
  readonly now: () => Date;
  readonly loggers: Loggers;
  readonly inFlight: InFlight;
}

export interface RunningTimer {
  /** Cancels future occurrences and waits for a run in progress. */
  stop(): Promise<void>;
}

/** Azure's TimerListener caps one wait at 24 days; setTimeout overflows at 2^31 ms (24.8 days) anyway. */
const MAX_DELAY_MS = 24 * 24 * 60 * 60 * 1000;
/** What Azure reports as `last`/`lastUpdated` before a timer has ever run (.NET's default DateTime). */
const NEVER = '0001-01-01T00:00:00.000Z';

/**
 * Fires a timer function at each occurrence of its schedule, like Azure's TimerListener:
 * - the handler receives the schedule status as recorded BEFORE this run (Azure's semantics): `next` is the
 *   occurrence now firing, `last` the previous one, `lastUpdated` when that was recorded;
 * - runs of one timer never overlap (Azure holds a singleton lock): an occurrence that comes while the previous
 *   run is still going is skipped and logged;
 * - a failing run is logged and the schedule goes on;
 * - `isPastDue` is always false: missed occurrences are detected by Azure's persisted schedule monitor, which a
 *   local host without state across restarts does not have.
 */
export function startTimer(options: TimerSchedulerOptions): RunningTimer {
  const { definition, schedule, now, loggers, inFlight } = options;
  let stopped = false;
  let handle: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let status = { last: NEVER, next: nextOccurrence(schedule, now()).toISOString(), lastUpdated: NEVER };

  const run = (timer: Timer) => {
    const work = invoke(loggers, {
      functionName: definition.name,
      trigger: {
        type: 'timerTrigger',
        name: 'timerTrigger',
        schedule: schedule.expression,
        runOnStartup: definition.runOnStartup ?? false,
      },
      run: (context) => definition.handler(timer, context),
    }).then((result) => {
      loggers.host({
        level: result.ok ? 'information' : 'error',
        functionName: definition.name,
        invocationId: result.invocationId,
        message: `Executed '${definition.name}' (${result.ok ? 'Succeeded' : 'Failed'}, ${result.durationMs} ms)`,
        outcome: result.ok ? 'succeeded' : 'failed',
        durationMs: result.durationMs,
        ...(result.ok ? {} : { error: describeError(result.error) }),
      });
    });
    running = inFlight.track(work).finally(() => {
      running = undefined;
    });
  };

  const fireScheduled = (occurrence: Date, following: Date) => {
    if (running) {
      status = { ...status, next: following.toISOString() };
      loggers.host({
        level: 'warning',
        functionName: definition.name,
        outcome: 'skipped',
        message: `Skipped '${definition.name}' at ${occurrence.toISOString()}: the previous run is still in progress.`,
      });
      return;
    }
    const timer: Timer = {
      isPastDue: false,
      schedule: { adjustForDST: true },
      scheduleStatus: { last: status.last, next: occurrence.toISOString(), lastUpdated: status.lastUpdated },
    };
    status = {
      last: occurrence.toISOString(),
      next: following.toISOString(),
      lastUpdated: now().toISOString(),
    };
    run(timer);
  };

  const arm = (target: Date) => {
    const delay = Math.min(Math.max(target.getTime() - now().getTime(), 0), MAX_DELAY_MS);
    handle = setTimeout(() => {
      if (stopped) return;
      // Woken early: by the delay cap, or by a clock that differs slightly from the timer's.
      if (now().getTime() < target.getTime()) {
        arm(target);
        return;
      }
      // After a long stall (a sleeping laptop) fire once for the missed occurrence, then resume from now.
      const current = now();
      const following = nextOccurrence(schedule, current > target ? current : target);
      fireScheduled(target, following);
      arm(following);
    }, delay);
  };

  const upcoming = [new Date(status.next)];
  for (let i = 0; i < 2; i++) upcoming.push(nextOccurrence(schedule, upcoming.at(-1) ?? now()));
  loggers.host({
    level: 'information',
    functionName: definition.name,
    message: `Timer '${definition.name}' (${schedule.expression}, UTC); next: ${upcoming.map((d) => d.toISOString()).join(', ')}`,
  });

  if (definition.runOnStartup) {
    const started = now().toISOString();
    const timer: Timer = {
      isPastDue: false,
      schedule: { adjustForDST: true },
      scheduleStatus: { ...status },
    };
    status = { ...status, last: started, lastUpdated: started };
    run(timer);
  }
  arm(new Date(status.next));

  return {
    async stop() {
      stopped = true;
      clearTimeout(handle);
      await running;
    },
  };
}
