/**
 * When a failed step runs again. Pure, so that the schedule is tested without waiting: the engine passes its clock
 * and random source.
 */

export interface RetryTiming {
  /** The first retry delay; it doubles per failure up to `maxBackoffMs`. */
  readonly backoffMs: number;
  /** The manual's "up to 5 minutes" between tries. */
  readonly maxBackoffMs: number;
  /** How long a step keeps retrying transient failures, counted from its first one. */
  readonly retryWindowMs: number;
}

/** What the task record keeps while a step retries: the window's start survives crashes and takeovers. */
export interface TaskRetry {
  readonly step: string;
  /** The step's first failure since it last succeeded (or was re-run): the window counts from here. */
  readonly since: string;
  /** Failures since then: the back-off's exponent. */
  readonly failures: number;
  readonly lastError: string;
  /** When the step runs again; the task is Queued until then. */
  readonly nextAttemptAt: string;
}

/**
 * The spread of a delay: each one lies between 80% and 100% of the exponential value, so that tasks failing on one
 * outage do not all come back in the same second, and no delay exceeds the cap.
 */
export const JITTER = 0.2;

/** The delay before try `failures + 1`: exponential, capped, jittered downwards by `random()` in [0, 1). */
export function backoffDelay(failures: number, timing: RetryTiming, random: () => number): number {
  const exponential = timing.backoffMs * 2 ** Math.max(0, failures - 1);
  const capped = Math.min(timing.maxBackoffMs, exponential);
  return Math.round(capped * (1 - JITTER * random()));
}

export type RetryDecision =
  | { readonly retry: true; readonly at: Date; readonly record: TaskRetry }
  | { readonly retry: false; readonly message: string; readonly record: TaskRetry };

export interface RetryInput {
  readonly step: string;
  readonly error: string;
  /** The step's retry so far, if its previous run failed too. */
  readonly previous: TaskRetry | null;
  /** The peer's own answer (Retry-After); it wins over back-off, within the window. */
  readonly retryAfterMs?: number | undefined;
  readonly now: Date;
  readonly timing: RetryTiming;
  readonly random: () => number;
}

/**
 * A transient failure: retried with back-off until the window that began at the step's first failure ends. The
 * last try is placed at the window's end, so that a peer back just before it is still caught; a failure at or
 * after the end gives up with the error that kept coming.
 */
export function decideRetry(input: RetryInput): RetryDecision {
  const { now, timing } = input;
  const previous = input.previous?.step === input.step ? input.previous : null;
  const since = previous ? new Date(previous.since) : now;
  const failures = (previous?.failures ?? 0) + 1;
  const windowEnd = since.getTime() + timing.retryWindowMs;
  const delay = input.retryAfterMs ?? backoffDelay(failures, timing, input.random);
  const at = new Date(Math.min(now.getTime() + Math.max(0, delay), windowEnd));
  const record: TaskRetry = {
    step: input.step,
    since: since.toISOString(),
    failures,
    lastError: input.error,
    nextAttemptAt: at.toISOString(),
  };
  if (now.getTime() >= windowEnd) {
    return {
      retry: false,
      record,
      message:
        `${input.step} kept failing for ${describeSpan(now.getTime() - since.getTime())} (${failures} tries; ` +
        `the retry window is ${describeSpan(timing.retryWindowMs)}). Last error: ${input.error}`,
    };
  }
  return { retry: true, at, record };
}

function describeSpan(ms: number): string {
  if (ms >= 120_000) return `${Math.round(ms / 60_000)} minutes`;
  return `${Math.round(ms / 1000)} seconds`;
}
