import { randomBytes } from 'node:crypto';
import type { ChangeKind, TaskStateBag, TaskType } from './task-definition.js';
import type { TaskRetry } from './retry-policy.js';

/**
 * The manual's States (part B §4.4) plus `Paused`, ours: a step waits for the operator (the two-step DNS flow's
 * "Verify And Configure Domain"). Queued → Reserved → Executing → FinishSuccess | FinishFailure; a retry or a
 * timed wait goes back to Queued with a Next Execution time; Paused → Queued on resume; FinishFailure → Queued on
 * rerun. Queued → Queue Postponed while the customer upgrades (TenantUpgrade), → Queued once the upgrade ends.
 */
export const TASK_STATES = [
  'queued',
  'queue-postponed',
  'reserved',
  'executing',
  'paused',
  'finish-success',
  'finish-failure',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** The manual's task State names (Paused is ours). */
export const TASK_STATE_LABELS: Readonly<Record<TaskState, string>> = {
  queued: 'Queued',
  'queue-postponed': 'Queue Postponed due to customer upgrade',
  reserved: 'Reserved',
  executing: 'Executing',
  paused: 'Paused',
  'finish-success': 'FinishSuccess',
  'finish-failure': 'FinishFailure',
};

export const STEP_STATES = ['pending', 'running', 'done', 'failed', 'waiting'] as const;
export type StepState = (typeof STEP_STATES)[number];

export function isFinal(state: TaskState): boolean {
  return state === 'finish-success' || state === 'finish-failure';
}

export interface TaskStepRecord {
  readonly name: string;
  readonly state: StepState;
  /** Runs since the task started, or since the last rerun or operator resume of this step. */
  readonly attempts: number;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly error: string | null;
  /** Set by an operator resume; the next run sees `resumedByOperator`, and clears it. */
  readonly resumedByOperator: boolean;
}

export interface TaskLogLine {
  readonly at: string;
  readonly line: string;
}

export interface RecordedChange {
  readonly step: string;
  readonly kind: ChangeKind;
  readonly description: string;
  readonly detail?: unknown;
}

export interface TaskWait {
  readonly reason: string;
  /** operator: Paused until resumed; timer: a timed wait or retry; customer: another task of the customer runs. */
  readonly resumeOn: 'operator' | 'timer' | 'customer';
}

export interface TaskRecord {
  readonly id: string;
  readonly type: TaskType;
  readonly customerId: string;
  readonly state: TaskState;
  readonly dryRun: boolean;
  /** Validated and redacted: never a secret. */
  readonly input: unknown;
  /** The steps' persisted state bag (e.g. the domain's TXT value). */
  readonly data: TaskStateBag;
  readonly steps: readonly TaskStepRecord[];
  /** Index of the step to run next (or running); `steps.length` once all are done. */
  readonly currentStep: number;
  /** Step runs, all steps together. */
  readonly attempts: number;
  /** Step runs that repeated a step: after an error, a timed wait or a crash (the manual's Retries). */
  readonly retries: number;
  /** When a Queued task should run next; while Reserved/Executing, when the lease runs out. Null when Paused or finished. */
  readonly nextExecutionAt: string | null;
  /** Renewed by the holder's heartbeat while it works; once past, another invocation may take the task over. */
  readonly leaseUntil: string | null;
  /** The engine instance that holds the lease (host name, process, a random part). */
  readonly leaseHolder: string | null;
  /** One holder's one run: a takeover watch message names it, so that it dies with the run it watches. */
  readonly leaseRun: string | null;
  /** The current step's retries of failures, while it fails; null once it succeeds (the window starts again). */
  readonly retry: TaskRetry | null;
  readonly waiting: TaskWait | null;
  readonly log: readonly TaskLogLine[];
  /** Log lines dropped from the middle to keep the record within Table Storage limits. */
  readonly logDropped: number;
  /** The Execution Result text. */
  readonly result: string | null;
  readonly wasSuccessful: boolean | null;
  /** Planned (dry run) or applied (real run) changes, in order. */
  readonly changes: readonly RecordedChange[];
  readonly changesDropped: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** When Executed: the start of the latest run. */
  readonly executedAt: string | null;
  readonly finishedAt: string | null;
  readonly idempotencyKey: string | null;
}

export interface VersionedTask {
  readonly task: TaskRecord;
  readonly etag: string;
}

/** The customer lock's holder, or null when free. */
export interface CustomerLock {
  readonly holder: string | null;
  /** Null when the row does not exist yet. */
  readonly etag: string | null;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10;
const RANDOM_CHARS = 16;
export const TASK_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** The last id's millisecond and random part, so that ids made in one millisecond still sort in creation order. */
let last = { time: -1, random: 0n };
const RANDOM_LIMIT = 1n << 80n;

/**
 * A ULID: 48 bits of milliseconds then 80 random bits, Crockford base32. Sorts by creation time, even within one
 * millisecond (a customer's tasks run oldest first by id): the next id of the same millisecond adds a random step
 * of up to 32 bits to the last one's random part, as monotonic ULIDs do, so it still cannot be guessed.
 */
export function newTaskId(now: Date): string {
  const ms = now.getTime();
  let random = BigInt(`0x${randomBytes(10).toString('hex')}`);
  if (ms === last.time) {
    const step = BigInt(randomBytes(4).readUInt32BE(0)) + 1n;
    if (last.random + step < RANDOM_LIMIT) random = last.random + step;
  }
  last = { time: ms, random };
  let time = ms;
  let timePart = '';
  for (let i = 0; i < TIME_CHARS; i++) {
    timePart = CROCKFORD.charAt(time % 32) + timePart;
    time = Math.floor(time / 32);
  }
  let randomPart = '';
  for (let i = 0; i < RANDOM_CHARS; i++) {
    randomPart = CROCKFORD.charAt(Number(random % 32n)) + randomPart;
    random /= 32n;
  }
  return timePart + randomPart;
}

/** The time part of an id, reversed, so that Table Storage's ascending RowKey order lists newest first. */
export function newestFirstKey(taskId: string): string {
  let reversed = '';
  for (const char of taskId.slice(0, TIME_CHARS)) reversed += CROCKFORD.charAt(31 - CROCKFORD.indexOf(char));
  return `${reversed}${taskId.slice(TIME_CHARS)}`;
}

export function taskIdOfKey(key: string): string {
  return newestFirstKey(key);
}
