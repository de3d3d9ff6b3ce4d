import type { Timer } from '@azure/functions';
import type { TimerFunctionDefinition } from '../../shared/platform/function-definitions.js';
import type { InFlight } from './in-flight.js';
import { invoke } from './invocation.js';
import { describeError, type Loggers } from './log.js';
import { type NcrontabSchedule, nextOccurrence } from './ncrontab.js';
import type { ScheduleStatus, StoredStatus, TimerCoordination } from './timer-coordination.js';

export interface TimerSchedulerOptions {
  readonly definition: TimerFunctionDefinition;
  readonly schedule: NcrontabSchedule;
  readonly now: () => Date;
  readonly loggers: Loggers;
  readonly inFlight: InFlight;
  /** The timer's listener lock and schedule status, shared by every instance on the same storage. */
  readonly coordination: TimerCoordination;
  /** host.json `singleton.listenerLockPeriod`: how long the lock lasts unless renewed (renewed at half of it). */
  readonly lockPeriodMs: number;
  /** host.json `singleton.listenerLockRecoveryPollingInterval`: how often an instance without the lock asks again. */
  readonly lockRecoveryPollMs: number;
}

export interface RunningTimer {
  /** Cancels future occurrences, waits for a run in progress and gives the listener lock up. */
  stop(): Promise<void>;
}

/** Azure's TimerListener caps one wait at 24 days; setTimeout overflows at 2^31 ms (24.8 days) anyway. */
const MAX_DELAY_MS = 24 * 24 * 60 * 60 * 1000;
/** What Azure reports as `last`/`lastUpdated` before a timer has ever run (.NET's default DateTime). */
const NEVER = '0001-01-01T00:00:00.000Z';
/** Another instance wrote the status between our read and our write: a few fresh reads settle who fires. */
const RECORD_ATTEMPTS = 3;

type Firing =
  | { readonly kind: 'scheduled'; readonly occurrence: Date; readonly following: Date }
  | { readonly kind: 'pastDue'; readonly occurrence: Date }
  | { readonly kind: 'startup' };

/**
 * Fires a timer function at each occurrence of its schedule, like Azure's TimerListener behind its singleton
 * listener lock, so that the app fires each occurrence once however many instances run it:
 * - only the instance holding the timer's listener lock runs the timer; it renews the lock at half its period, and
 *   the others ask for it every recovery interval (a crashed holder's lock expires; a stopped one gives it up);
 * - the schedule status is stored: the instance that takes the lock over fires an occurrence its predecessor
 *   missed once, with `isPastDue`, as Azure's schedule monitor does; each run records its occurrence before it
 *   starts, on the status's ETag, so that two instances that both think they hold the lock (one stalled past its
 *   lease) cannot both run the same occurrence (docs/decisions.md, 76);
 * - the handler receives the schedule status as recorded BEFORE this run (Azure's semantics): `next` is the
 *   occurrence now firing, `last` the previous one, `lastUpdated` when that was recorded;
 * - runs of one timer never overlap: an occurrence that comes while the previous run is still going is skipped
 *   and logged; a failing run is logged and the schedule goes on.
 */
export function startTimer(options: TimerSchedulerOptions): RunningTimer {
  const { definition, schedule, now, loggers, inFlight, coordination } = options;
  const name = definition.name;
  let stopped = false;
  let listening = false;
  let heldUntil = 0;
  let waitingLogged = false;
  let handle: NodeJS.Timeout | undefined;
  let lockHandle: NodeJS.Timeout | undefined;
  let lockWork: Promise<void> = Promise.resolve();
  let running: Promise<void> | undefined;
  let stored: StoredStatus | null = null;

  const holding = () => now().getTime() < heldUntil;
  const initialStatus = (): ScheduleStatus => ({
    last: NEVER,
    next: nextOccurrence(schedule, now()).toISOString(),
    lastUpdated: NEVER,
  });

  const warn = (message: string, error?: unknown) =>
    loggers.host({
      level: 'warning',
      functionName: name,
      message,
      ...(error === undefined ? {} : { error: describeError(error) }),
    });

  /**
   * Records the run's occurrence before it starts; false when another instance has recorded it (or a later one).
   * A status that cannot be written (storage away) does not stop the run, as Azure's update is best effort.
   */
  const record = async (firing: Firing, at: Date): Promise<boolean> => {
    const occurrence = firing.kind === 'startup' ? at : firing.occurrence;
    const last = (firing.kind === 'scheduled' ? firing.occurrence : at).toISOString();
    const next = (
      firing.kind === 'scheduled' ? firing.following : nextOccurrence(schedule, at)
    ).toISOString();
    const status: ScheduleStatus = { last, next, lastUpdated: at.toISOString() };
    try {
      let expected = stored;
      for (let attempt = 0; attempt < RECORD_ATTEMPTS; attempt++) {
        const written = await coordination.record(status, expected);
        if (written) {
          stored = written;
          return true;
        }
        expected = await coordination.status();
        stored = expected;
        if (expected && Date.parse(expected.status.last) >= occurrence.getTime()) return false;
      }
      return false;
    } catch (error) {
      warn(`Could not record the schedule status of '${name}'`, error);
      return true;
    }
  };

  const fire = (firing: Firing) => {
    const occurrence = firing.kind === 'startup' ? undefined : firing.occurrence.toISOString();
    if (running) {
      loggers.host({
        level: 'warning',
        functionName: name,
        outcome: 'skipped',
        ...(occurrence ? { occurrence } : {}),
        message: `Skipped '${name}' at ${occurrence ?? now().toISOString()}: the previous run is still in progress.`,
      });
      return;
    }
    const previous = stored?.status ?? initialStatus();
    const timer: Timer = {
      isPastDue: firing.kind === 'pastDue',
      schedule: { adjustForDST: true },
      scheduleStatus: {
        last: previous.last,
        next: firing.kind === 'scheduled' ? firing.occurrence.toISOString() : previous.next,
        lastUpdated: previous.lastUpdated,
      },
    };
    const work = (async () => {
      if (!(await record(firing, now()))) {
        loggers.host({
          level: 'information',
          functionName: name,
          outcome: 'skipped',
          ...(occurrence ? { occurrence } : {}),
          message: `Skipped '${name}' at ${occurrence ?? 'startup'}: another instance has run it.`,
        });
        return;
      }
      const result = await invoke(loggers, {
        functionName: name,
        trigger: {
          type: 'timerTrigger',
          name: 'timerTrigger',
          schedule: schedule.expression,
          runOnStartup: definition.runOnStartup ?? false,
        },
        run: (context) => definition.handler(timer, context),
      });
      loggers.host({
        level: result.ok ? 'information' : 'error',
        functionName: name,
        invocationId: result.invocationId,
        message: `Executed '${name}' (${result.ok ? 'Succeeded' : 'Failed'}, ${firing.kind === 'pastDue' ? 'past due ' : ''}${occurrence ?? 'on startup'}, ${result.durationMs} ms)`,
        outcome: result.ok ? 'succeeded' : 'failed',
        ...(occurrence ? { occurrence } : {}),
        durationMs: result.durationMs,
        ...(result.ok ? {} : { error: describeError(result.error) }),
      });
    })();
    running = inFlight.track(work).finally(() => {
      running = undefined;
    });
  };

  const arm = (target: Date) => {
    const delay = Math.min(Math.max(target.getTime() - now().getTime(), 0), MAX_DELAY_MS);
    handle = setTimeout(() => {
      if (stopped || !listening) return;
      // Woken early: by the delay cap, or by a clock that differs slightly from the timer's.
      if (now().getTime() < target.getTime()) {
        arm(target);
        return;
      }
      // After a long stall (a sleeping laptop) fire once for the missed occurrence, then resume from now.
      const current = now();
      const following = nextOccurrence(schedule, current > target ? current : target);
      // A lock that lapsed unrenewed may be another instance's by now: the lock loop decides, not this occurrence.
      if (holding()) fire({ kind: 'scheduled', occurrence: target, following });
      arm(following);
    }, delay);
  };

  const startListening = async () => {
    listening = true;
    waitingLogged = false;
    try {
      stored = await coordination.status();
    } catch (error) {
      stored = null;
      warn(`Could not read the schedule status of '${name}'`, error);
    }
    if (stopped) return;
    const current = now();
    const missed = stored ? new Date(stored.status.next) : null;
    if (missed && missed.getTime() < current.getTime()) {
      fire({ kind: 'pastDue', occurrence: missed });
    } else if (definition.runOnStartup) {
      fire({ kind: 'startup' });
    }
    arm(nextOccurrence(schedule, current));
  };

  const stopListening = () => {
    listening = false;
    clearTimeout(handle);
    warn(`Timer '${name}' stopped: its listener lock was taken over by another instance.`);
  };

  const checkLock = async () => {
    const askedAt = now().getTime();
    let held = false;
    try {
      held = await coordination.lock(options.lockPeriodMs / 1000);
    } catch (error) {
      // Still ours until it lapses: the next renewal may get through.
      warn(`Could not renew or take the listener lock of '${name}'`, error);
      held = listening && holding();
    }
    if (stopped) return;
    if (held) {
      heldUntil = Math.max(heldUntil, askedAt + options.lockPeriodMs);
      if (!listening) await startListening();
    } else {
      heldUntil = 0;
      if (listening) stopListening();
      else if (!waitingLogged) {
        waitingLogged = true;
        loggers.host({
          level: 'information',
          functionName: name,
          message: `Timer '${name}' waits for its listener lock: another instance runs it.`,
        });
      }
    }
  };

  const loop = (delay: number) => {
    lockHandle = setTimeout(() => {
      lockWork = checkLock().finally(() => {
        if (!stopped) loop(listening ? options.lockPeriodMs / 2 : options.lockRecoveryPollMs);
      });
    }, delay);
  };

  const upcoming = [nextOccurrence(schedule, now())];
  for (let i = 0; i < 2; i++) upcoming.push(nextOccurrence(schedule, upcoming.at(-1) ?? now()));
  loggers.host({
    level: 'information',
    functionName: name,
    message: `Timer '${name}' (${schedule.expression}, UTC); next: ${upcoming.map((d) => d.toISOString()).join(', ')}`,
  });
  loop(0);

  return {
    async stop() {
      stopped = true;
      clearTimeout(handle);
      clearTimeout(lockHandle);
      await lockWork;
      await running;
      if (listening) {
        listening = false;
        await coordination
          .unlock()
          .catch((error: unknown) => warn(`Could not release the lock of '${name}'`, error));
      }
    },
  };
}
