import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DomainError, domainErrors, VersionConflictError } from '../errors/domain-errors.js';
import { toFieldErrors } from '../errors/zod-field-errors.js';
import type { JsonQueue } from '../storage/json-queue.js';
import { withOptimisticRetry } from '../storage/versioned-table.js';
import { withOutboundGuard } from '../platform/outbound-guard.js';
import {
  type AnyTaskDefinition,
  DEFAULT_MAX_ATTEMPTS,
  PermanentTaskError,
  type StepContext,
  type StepOutcome,
  type TaskChange,
  type TaskErrorClassifier,
  type TaskStateBag,
  type TaskType,
  TransientTaskError,
} from './task-definition.js';
import {
  isFinal,
  newTaskId,
  type RecordedChange,
  type TaskLogLine,
  type TaskRecord,
  type TaskStepRecord,
  TASK_STATE_LABELS,
  type VersionedTask,
} from './task-record.js';
import { redactDeep, redactText, redactValue } from './redact.js';
import { decideRetry } from './retry-policy.js';
import type { TaskListQuery, TaskPage, TaskStore } from './task-store.js';

export const TASKS_QUEUE = 'tasks';

export interface TaskMessage {
  readonly taskId: string;
  /**
   * A takeover watch: sent by a holder for when its lease would run out, it names the run (`leaseRun`) it watches.
   * While that run renews its lease the watch comes back later; once the lease has run out it takes the task over.
   */
  readonly watch?: string;
}

export interface StartTaskOptions {
  readonly type: TaskType;
  readonly customerId: string;
  readonly input: unknown;
  readonly dryRun?: boolean;
  /** The same key for the same customer starts nothing new: the first task is returned. */
  readonly idempotencyKey?: string;
  /** Its Next Execution this long from now: a debounce window in which later changes may join it (`amend`). */
  readonly delayMs?: number;
}

export interface TaskEngine {
  /** Validates the input, stores the task Queued and queues it. Bad input: a validation problem, nothing stored. */
  start(options: StartTaskOptions): Promise<TaskRecord>;
  /**
   * Replaces the input of a Queued task no step has run yet (a debounced change joins it), validated as `start`
   * validates; null once the task has started, so that the caller starts a new one instead.
   */
  amend(taskId: string, change: (input: unknown) => unknown): Promise<TaskRecord | null>;
  get(taskId: string): Promise<TaskRecord | null>;
  list(query: TaskListQuery): Promise<TaskPage>;
  /** The customer's unfinished tasks of this Cmd Type, oldest first. */
  unfinished(customerId: string, type: TaskType): Promise<TaskRecord[]>;
  /** Paused → Queued: the waiting step runs again, told that the operator resumed it. */
  resume(taskId: string): Promise<TaskRecord>;
  /** FinishFailure → Queued from the failed step; the steps done before it are not run again. */
  rerun(taskId: string): Promise<TaskRecord>;
  /** Runs the task of one queue message as far as it goes now. Duplicate and stale messages do nothing. */
  process(taskId: string, watch?: string): Promise<void>;
  /** The timer's safety net: queues tasks whose time has come and takes over those whose holder died. */
  sweep(): Promise<number>;
  /** Cancel of a pending change: a Queued or Paused task ends FinishFailure, with who cancelled it. */
  cancel(taskId: string, by: string): Promise<TaskRecord>;
  /** Process All: every Queued task waiting for its Next Execution runs now (per customer, still in order). */
  processAll(customerId?: string): Promise<number>;
  /** Delete: a finished task leaves the list; a pending one must be cancelled first. */
  remove(taskId: string): Promise<void>;
}

export interface TaskTiming {
  /**
   * How long a holder owns a task without renewing; after that another invocation takes it over. Short, because
   * a crashed holder's task waits this long; a long step keeps it by renewal.
   */
  readonly leaseMs: number;
  /** How often the holder's heartbeat renews its lease: a few times per lease, so one slow write loses nothing. */
  readonly renewMs: number;
  /** First retry delay; doubles per failure up to `maxBackoffMs`. */
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  /** How long a step retries transient failures, from its first one, before the task fails. */
  readonly retryWindowMs: number;
  /** How soon a task that waits for another task of its customer looks again. */
  readonly customerWaitMs: number;
}

export const DEFAULT_TASK_TIMING: TaskTiming = {
  leaseMs: 60_000,
  renewMs: 20_000,
  backoffMs: 2_000,
  maxBackoffMs: 5 * 60_000,
  retryWindowMs: 30 * 60_000,
  customerWaitMs: 2_000,
};

/** Runs `tick` every `ms` until the returned function is called: the heartbeat's timer, injectable for tests. */
export type Repeater = (tick: () => void, ms: number) => () => void;

const everyInterval: Repeater = (tick, ms) => {
  const timer = setInterval(tick, ms);
  return () => clearInterval(timer);
};

/** The holder found its lease taken over: it stops, and the new holder's run is the one that counts. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}

/** Past a lease's end, before a watch looks again: clocks of two instances differ a little. */
const WATCH_GRACE_MS = 1_000;

export interface TaskEngineOptions<Svc> {
  readonly store: TaskStore;
  readonly queue: JsonQueue<TaskMessage>;
  readonly definitions: readonly AnyTaskDefinition<Svc>[];
  /** What the definitions' steps talk to; each step sees them as `ctx.ports`. */
  readonly ports: Svc;
  readonly timing?: Partial<TaskTiming>;
  readonly now?: () => Date;
  /** The back-off's jitter, in [0, 1). */
  readonly random?: () => number;
  /** Who holds a lease, as the task shows it; by default this host and process. */
  readonly instanceId?: string;
  readonly every?: Repeater;
  /** Told when a task settles (alarms listen here). Best effort: its failure changes nothing about the task. */
  readonly onFinished?: (event: TaskFinishedEvent) => Promise<void>;
  /**
   * After a customer's task was created or changed State (the Tenants list's activity columns recount). Best effort
   * like the index: the task row is the truth, and a periodic reconciliation repairs what a failed call left.
   */
  readonly onTasksChanged?: (customerId: string) => Promise<void>;
}

export interface TaskFinishedEvent {
  readonly task: TaskRecord;
  /** succeeded / failed: a run ended so; cancelled: an operator cancelled it; deleted: it left the list. */
  readonly outcome: 'succeeded' | 'failed' | 'cancelled' | 'deleted';
}

/** An operator's action (resume, cancel, delete) races at most the task's own run: a few tries win it. */
const CONFLICT_RETRY = { attempts: 8, baseDelayMs: 20 } as const;
/** Log lines kept per task; older ones beyond it are dropped from the middle (the start and the end stay). */
const MAX_LOG_LINES = 2_000;
const MAX_CHANGES = 2_000;
const MAX_LINE_CHARS = 2_000;

/**
 * What a step threw, classified once for the engine: the task's own classifier knows its peers' errors; a
 * DomainError is retried only when a later try may meet another answer (an outage, a row changed meanwhile).
 * Anything else stays as thrown and is retried until the step's attempts run out.
 */
function taskErrorOf(error: unknown, classify: TaskErrorClassifier | undefined): unknown {
  if (error instanceof TransientTaskError || error instanceof PermanentTaskError) return error;
  const classified = classify?.(error);
  if (classified) return classified;
  if (error instanceof DomainError) {
    if (error.kind === 'transient' || error.kind === 'version_mismatch') {
      // Its retryAfterSeconds is what an HTTP caller is told; a step's next try is the engine's back-off.
      return new TransientTaskError(error.message, undefined, { cause: error });
    }
    return new PermanentTaskError(error.message, { cause: error });
  }
  return error;
}

export function createTaskEngine<Svc>(options: TaskEngineOptions<Svc>): TaskEngine {
  const { store, queue } = options;
  const timing = { ...DEFAULT_TASK_TIMING, ...options.timing };
  const now = options.now ?? (() => new Date());
  const random = options.random ?? Math.random;
  const every = options.every ?? everyInterval;
  const instanceId = options.instanceId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const leaseEnd = () => new Date(now().getTime() + timing.leaseMs).toISOString();
  const definitions = new Map(options.definitions.map((d) => [d.type, d]));
  const postponingTypes = options.definitions.filter((d) => d.postponesCustomerTasks).map((d) => d.type);
  const postpones = (task: Pick<TaskRecord, 'type' | 'dryRun'>) =>
    !task.dryRun && postponingTypes.includes(task.type);

  const definitionOf = (type: string) => {
    const definition = definitions.get(type as TaskType);
    if (!definition) throw new Error(`No task definition for '${type}'.`);
    return definition;
  };

  async function enqueue(taskId: string, delayMs = 0): Promise<void> {
    await queue.send({ taskId }, { delayMs });
  }

  async function watch(task: TaskRecord): Promise<void> {
    if (!task.leaseUntil || !task.leaseRun) return;
    const delayMs = Math.max(0, Date.parse(task.leaseUntil) - now().getTime()) + WATCH_GRACE_MS;
    await queue.send({ taskId: task.id, watch: task.leaseRun }, { delayMs });
  }

  async function mirror(task: TaskRecord): Promise<void> {
    // The index only serves listings; the task row is the truth, so a failed mirror is not the task's failure.
    await store.mirror(task).catch(() => undefined);
    await tasksChanged(task.customerId);
  }

  async function tasksChanged(customerId: string): Promise<void> {
    await options.onTasksChanged?.(customerId).catch(() => undefined);
  }

  async function finished(task: TaskRecord, outcome: TaskFinishedEvent['outcome']): Promise<void> {
    await options.onFinished?.({ task, outcome }).catch(() => undefined);
  }

  async function getOrThrow(taskId: string): Promise<VersionedTask> {
    const found = await store.get(taskId);
    if (!found) throw domainErrors.notFound(`There is no task ${taskId}.`);
    return found;
  }

  /**
   * The customer's unfinished task (an upgrade) that keeps `task` from running, or null. A dry run holds nothing
   * back; of two such tasks the older goes first, so they never wait for each other.
   */
  async function postponer(task: TaskRecord): Promise<TaskRecord | null> {
    if (postponingTypes.length === 0) return null;
    const active = await store.unfinishedOfTypes(task.customerId, postponingTypes);
    return (
      active.find(
        (other) => other.id !== task.id && postpones(other) && (!postpones(task) || other.id < task.id),
      ) ?? null
    );
  }

  const postponedWait = (by: TaskRecord) => ({
    reason: `${TASK_STATE_LABELS['queue-postponed']}: waits for task ${by.id} (${by.type}) of ${by.customerId}.`,
    resumeOn: 'customer' as const,
  });

  /** An upgrade was queued (or re-run): the customer's Queued tasks show Queue Postponed until it finishes. */
  async function postponeOthers(by: TaskRecord): Promise<void> {
    for (const { task, etag } of await store.inState(by.customerId, 'queued')) {
      if (task.id === by.id || (postpones(task) && task.id < by.id)) continue;
      const next: TaskRecord = {
        ...task,
        state: 'queue-postponed',
        nextExecutionAt: null,
        waiting: postponedWait(by),
        updatedAt: now().toISOString(),
      };
      try {
        await store.replace(next, etag);
      } catch (error) {
        // Taken by an invocation meanwhile: its acquire finds the upgrade and postpones it.
        if (error instanceof VersionConflictError) continue;
        throw error;
      }
      await mirror(next);
    }
  }

  /** The upgrade finished (or was cancelled): the customer's postponed tasks are Queued again, and run in order. */
  async function resumePostponed(customerId: string): Promise<void> {
    for (const { task, etag } of await store.inState(customerId, 'queue-postponed')) {
      if (await postponer(task)) continue;
      const at = now().toISOString();
      // A step that was retrying starts its retry window afresh: the upgrade's time was not its failures'.
      const next: TaskRecord = {
        ...task,
        state: 'queued',
        waiting: null,
        retry: null,
        nextExecutionAt: at,
        updatedAt: at,
      };
      try {
        await store.replace(next, etag);
      } catch (error) {
        if (error instanceof VersionConflictError) continue;
        throw error;
      }
      await mirror(next);
      await enqueue(next.id);
    }
  }

  async function wakeNextOf(customerId: string, exceptId: string): Promise<void> {
    const next = await store.oldestQueued(customerId, exceptId);
    if (next) {
      const due = next.nextExecutionAt ? Date.parse(next.nextExecutionAt) - now().getTime() : 0;
      await enqueue(next.id, Math.max(0, due));
    }
  }

  /**
   * One run of a task by this invocation: the record, its ETag, and the secrets met on the way. Its writes go one
   * after the other, the heartbeat's among them, so that each is made on the ETag the one before returned.
   */
  class Run {
    secrets: string[] = [];
    private writes: Promise<unknown> = Promise.resolve();
    private stopHeartbeat: (() => void) | null = null;
    private readonly lostLease = new AbortController();
    constructor(
      public task: TaskRecord,
      public etag: string,
    ) {}

    get signal(): AbortSignal {
      return this.lostLease.signal;
    }

    /**
     * Throws once the lease is lost: called before anything that changes the outside world. A lease this run could
     * not renew in time counts as lost (the process froze, storage was away): another holder may have it already,
     * and only the ETag of a later write would tell, too late for a change made meanwhile.
     */
    ensureHeld(): void {
      const until = this.task.leaseUntil;
      if (!this.lostLease.signal.aborted && until !== null && Date.parse(until) <= now().getTime())
        this.lose();
      if (this.lostLease.signal.aborted) {
        throw new LeaseLostError(`Task ${this.task.id}: the lease was lost; this run stops.`);
      }
    }

    write<T>(body: () => Promise<T>): Promise<T> {
      const result = this.writes.then(body);
      this.writes = result.catch(() => undefined);
      return result;
    }

    async save(patch: Partial<TaskRecord>): Promise<void> {
      await this.write(async () => {
        this.ensureHeld();
        const updatedAt = now().toISOString();
        try {
          this.etag = await store.replace({ ...this.task, ...patch, updatedAt }, this.etag);
        } catch (error) {
          if (error instanceof VersionConflictError) this.lose();
          throw error;
        }
        // The step goes on while a write (a heartbeat's) is under way: the log lines and changes it recorded
        // meanwhile stay in memory for the next write, rather than the copy this write sent replacing them.
        this.task = { ...this.task, ...patch, updatedAt };
      });
    }

    startHeartbeat(): void {
      this.stopHeartbeat = every(() => {
        // A failed renewal that is not a conflict (storage down a moment) is tried again on the next beat; save
        // gives up the run once the lease has lapsed.
        this.save({ leaseUntil: leaseEnd() }).catch(() => undefined);
      }, timing.renewMs);
    }

    endHeartbeat(): void {
      this.stopHeartbeat?.();
      this.stopHeartbeat = null;
    }

    private lose(): void {
      this.endHeartbeat();
      this.lostLease.abort(new LeaseLostError(`Task ${this.task.id}: the lease was taken over.`));
    }

    log(line: string): void {
      const clean = redactText(line, this.secrets).slice(0, MAX_LINE_CHARS);
      let log: TaskLogLine[] = [...this.task.log, { at: now().toISOString(), line: clean }];
      let dropped = this.task.logDropped;
      if (log.length > MAX_LOG_LINES) {
        const keepHead = 200;
        const drop = log.length - MAX_LOG_LINES;
        log = [...log.slice(0, keepHead), ...log.slice(keepHead + drop)];
        dropped += drop;
      }
      this.task = { ...this.task, log, logDropped: dropped };
    }

    change(step: string, change: TaskChange): void {
      const recorded: RecordedChange = {
        step,
        kind: change.kind,
        description: redactText(change.description, this.secrets),
        ...(change.detail !== undefined ? { detail: redactDeep(change.detail, this.secrets) } : {}),
      };
      if (this.task.changes.length >= MAX_CHANGES) {
        this.task = { ...this.task, changesDropped: this.task.changesDropped + 1 };
        return;
      }
      this.task = { ...this.task, changes: [...this.task.changes, recorded] };
    }
  }

  function stepPatch(task: TaskRecord, index: number, patch: Partial<TaskStepRecord>): TaskStepRecord[] {
    return task.steps.map((step, i) => (i === index ? { ...step, ...patch } : step));
  }

  /** Takes the customer's lock, or leaves the task Queued behind the task that holds it (FIFO per customer). */
  async function acquire(run: Run): Promise<boolean> {
    const task = run.task;
    const upgrade = await postponer(task);
    if (upgrade) {
      // No message is queued for it: the upgrade's end queues it again (resumePostponed), the sweep if that is lost.
      await run.save({
        state: 'queue-postponed',
        leaseUntil: null,
        leaseHolder: null,
        leaseRun: null,
        nextExecutionAt: null,
        waiting: postponedWait(upgrade),
      });
      await mirror(run.task);
      return false;
    }
    for (let attempt = 0; attempt < 5; attempt++) {
      const older = await store.oldestQueued(task.customerId, task.id);
      const lock = await store.lock(task.customerId);
      let holder = lock.holder && lock.holder !== task.id ? await store.get(lock.holder) : null;
      // A holder that finished or waits for the operator without freeing the lock (a crash) holds nothing.
      if (holder && (isFinal(holder.task.state) || holder.task.state === 'paused')) holder = null;
      const olderFirst =
        older !== null &&
        older.id < task.id &&
        (!older.nextExecutionAt || Date.parse(older.nextExecutionAt) <= now().getTime());
      if (holder || olderFirst) {
        const waitFor = holder ? holder.task.id : (older?.id ?? '');
        await run.save({
          state: 'queued',
          leaseUntil: null,
          leaseHolder: null,
          leaseRun: null,
          nextExecutionAt: new Date(now().getTime() + timing.customerWaitMs).toISOString(),
          waiting: { reason: `Waits for task ${waitFor} of ${task.customerId}.`, resumeOn: 'customer' },
        });
        await mirror(run.task);
        if (olderFirst && older) await enqueue(older.id);
        await enqueue(task.id, timing.customerWaitMs);
        return false;
      }
      const executing: TaskRecord = {
        ...run.task,
        state: 'executing',
        waiting: null,
        executedAt: run.task.executedAt ?? now().toISOString(),
        leaseUntil: leaseEnd(),
        leaseHolder: instanceId,
        leaseRun: randomUUID(),
        updatedAt: now().toISOString(),
      };
      try {
        run.etag = await store.replaceAndLock(executing, run.etag, lock);
        run.task = executing;
        await mirror(executing);
        // Without its watch a crashed run is still found, by the minutely sweep: a lost one costs time, not the task.
        await watch(executing).catch(() => undefined);
        return true;
      } catch (error) {
        if (!(error instanceof VersionConflictError)) throw error;
        const fresh = await store.getIn(task.customerId, task.id);
        if (!fresh || fresh.task.state !== 'reserved') return false;
        run.task = fresh.task;
        run.etag = fresh.etag;
      }
    }
    return false;
  }

  async function release(run: Run, changes: Partial<TaskRecord>): Promise<void> {
    run.endHeartbeat();
    await run.write(async () => {
      run.ensureHeld();
      const lock = await store.lock(run.task.customerId);
      const next: TaskRecord = {
        ...run.task,
        ...changes,
        leaseUntil: null,
        leaseHolder: null,
        leaseRun: null,
        updatedAt: now().toISOString(),
      };
      run.etag = await store.replaceAndUnlock(next, run.etag, lock);
      run.task = next;
    });
    const next = run.task;
    await mirror(next);
    if (isFinal(next.state)) await finished(next, next.wasSuccessful ? 'succeeded' : 'failed');
    if (isFinal(next.state) && postpones(next)) await resumePostponed(next.customerId);
    await wakeNextOf(next.customerId, next.id);
  }

  async function execute(run: Run): Promise<void> {
    const definition = definitionOf(run.task.type);
    for (let index = run.task.currentStep; index < definition.steps.length; index++) {
      const step = definition.steps[index];
      const record = run.task.steps[index];
      if (!step || !record) break;
      const maxAttempts = step.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
      const attempt = record.attempts + 1;
      const resumedByOperator = record.resumedByOperator;
      await run.save({
        currentStep: index,
        attempts: run.task.attempts + 1,
        retries: run.task.retries + (attempt > 1 ? 1 : 0),
        leaseUntil: leaseEnd(),
        steps: stepPatch(run.task, index, {
          state: 'running',
          attempts: attempt,
          startedAt: now().toISOString(),
          resumedByOperator: false,
        }),
      });
      const stateBag: TaskStateBag = { ...run.task.data };
      /** The changes the step described when it was prepared: the only ones its real run may record. */
      let described: readonly TaskChange[] | null = null;
      const ctx: StepContext<unknown, TaskStateBag, Svc> = {
        taskId: run.task.id,
        customerId: run.task.customerId,
        type: run.task.type,
        input: run.task.input,
        state: stateBag,
        attempt,
        maxAttempts,
        resumedByOperator,
        dryRun: run.task.dryRun,
        clock: { now },
        signal: run.signal,
        ports: options.ports,
        log: (line) => run.log(line),
        applied: (change) => {
          if (run.task.dryRun) return;
          // The change is made, but a run that lost its lease makes no further one: the new holder redoes the step.
          run.ensureHeld();
          if (described && !described.includes(change)) {
            throw new Error(`Step ${step.name} made a change it did not describe: ${change.description}`);
          }
          run.change(step.name, change);
        },
        secret: (value) => {
          if (value && value.length >= 4) run.secrets.push(value);
        },
        save: async () => {
          await run.save({ data: redactDeep(stateBag, run.secrets) as TaskStateBag, leaseUntil: leaseEnd() });
        },
      };

      let outcome: StepOutcome;
      try {
        outcome = await withOutboundGuard(
          () => run.ensureHeld(),
          async (): Promise<StepOutcome> => {
            if (step.prepare) {
              const prepared = await step.prepare(ctx);
              if (run.task.dryRun) {
                for (const change of prepared.changes) run.change(step.name, change);
                return { done: true };
              }
              described = prepared.changes;
              run.ensureHeld();
              return prepared.apply();
            }
            if (run.task.dryRun) {
              for (const change of (await step.plan?.(ctx)) ?? []) run.change(step.name, change);
              return { done: true };
            }
            return step.run(ctx);
          },
        );
      } catch (thrown) {
        // What the step met after its lease was lost is no failure of the task: the new holder runs the step.
        run.ensureHeld();
        const error = taskErrorOf(thrown, definition.classifyError);
        const message = redactText(error instanceof Error ? error.message : String(error), run.secrets);
        const data = redactDeep(stateBag, run.secrets) as TaskStateBag;
        const transient = error instanceof TransientTaskError;
        const decision = decideRetry({
          step: step.name,
          error: message,
          previous: run.task.retry,
          retryAfterMs: transient ? error.retryAfterMs : undefined,
          now: now(),
          timing,
          random,
        });
        // Transient failures retry for the window; what no classifier knows (a bug, likely) only for maxAttempts.
        const outOfAttempts = !transient && attempt >= maxAttempts;
        if (error instanceof PermanentTaskError || outOfAttempts || !decision.retry) {
          const windowEnded = !decision.retry && !(error instanceof PermanentTaskError) && !outOfAttempts;
          const result = windowEnded ? decision.message : message;
          run.log(`-- ${step.name} failed: ${result} --`);
          await release(run, {
            data,
            state: 'finish-failure',
            result,
            retry: null,
            wasSuccessful: false,
            nextExecutionAt: null,
            finishedAt: now().toISOString(),
            steps: stepPatch(run.task, index, {
              state: 'failed',
              error: message,
              finishedAt: now().toISOString(),
            }),
          });
          return;
        }
        const at = decision.at.toISOString();
        const tries = transient ? `attempt ${attempt + 1}` : `attempt ${attempt + 1}/${maxAttempts}`;
        run.log(`-- ${step.name}: ${message} (retrying at ${at}, ${tries}) --`);
        await release(run, {
          data,
          state: 'queued',
          nextExecutionAt: at,
          retry: decision.record,
          waiting: { reason: `Retrying at ${at} after: ${message}`, resumeOn: 'timer' },
          steps: stepPatch(run.task, index, { state: 'pending', error: message }),
        });
        // The queue holds the message until then: no invocation waits, and a restart loses nothing.
        await enqueue(run.task.id, Math.max(0, decision.at.getTime() - now().getTime()));
        return;
      }

      const data = redactDeep(stateBag, run.secrets) as TaskStateBag;
      if ('wait' in outcome) {
        const reason = redactText(outcome.wait.reason, run.secrets);
        if (outcome.wait.resumeOn === 'operator') {
          await release(run, {
            data,
            state: 'paused',
            nextExecutionAt: null,
            waiting: { reason, resumeOn: 'operator' },
            steps: stepPatch(run.task, index, { state: 'waiting', attempts: attempt - 1 }),
          });
          return;
        }
        const delay = outcome.wait.resumeOn.afterMs;
        await release(run, {
          data,
          state: 'queued',
          nextExecutionAt: new Date(now().getTime() + delay).toISOString(),
          waiting: { reason, resumeOn: 'timer' },
          steps: stepPatch(run.task, index, { state: 'waiting' }),
        });
        await enqueue(run.task.id, delay);
        return;
      }
      await run.save({
        data,
        currentStep: index + 1,
        retry: null,
        steps: stepPatch(run.task, index, { state: 'done', error: null, finishedAt: now().toISOString() }),
      });
    }
    await release(run, {
      state: 'finish-success',
      result: run.task.dryRun
        ? `Dry run: ${run.task.changes.length} change(s) would be made.`
        : `Completed with ${run.task.changes.length} change(s).`,
      wasSuccessful: true,
      waiting: null,
      nextExecutionAt: null,
      finishedAt: now().toISOString(),
    });
  }

  return {
    async start({ type, customerId, input, dryRun = false, idempotencyKey, delayMs = 0 }) {
      const definition = definitions.get(type);
      if (!definition) throw domainErrors.notFound(`There is no task type ${type}.`);
      const parsed = definition.input.safeParse(input);
      if (!parsed.success) throw domainErrors.validation(toFieldErrors(parsed.error, 'body', input));
      const at = now();
      const record: TaskRecord = {
        id: newTaskId(at),
        type,
        customerId,
        state: 'queued',
        dryRun,
        input: redactValue(parsed.data, definition.secretFields).value,
        data: {},
        steps: definition.steps.map((step) => ({
          name: step.name,
          state: 'pending',
          attempts: 0,
          startedAt: null,
          finishedAt: null,
          error: null,
          resumedByOperator: false,
        })),
        currentStep: 0,
        attempts: 0,
        retries: 0,
        nextExecutionAt: new Date(at.getTime() + delayMs).toISOString(),
        leaseUntil: null,
        leaseHolder: null,
        leaseRun: null,
        retry: null,
        waiting: null,
        log: [],
        logDropped: 0,
        result: null,
        wasSuccessful: null,
        changes: [],
        changesDropped: 0,
        createdAt: at.toISOString(),
        updatedAt: at.toISOString(),
        executedAt: null,
        finishedAt: null,
        idempotencyKey: idempotencyKey ? `${dryRun ? 'dry:' : ''}${idempotencyKey}` : null,
      };
      const { task, created } = await store.create(record);
      if (created) {
        if (postpones(task.task)) await postponeOthers(task.task);
        await tasksChanged(task.task.customerId);
        await enqueue(task.task.id, delayMs);
      }
      return task.task;
    },

    async amend(taskId, change) {
      return withOptimisticRetry(async () => {
        const { task, etag } = await getOrThrow(taskId);
        if (task.state !== 'queued' || task.attempts > 0) return null;
        const definition = definitionOf(task.type);
        const proposed = change(task.input);
        const parsed = definition.input.safeParse(proposed);
        if (!parsed.success) throw domainErrors.validation(toFieldErrors(parsed.error, 'body', proposed));
        const next: TaskRecord = {
          ...task,
          input: redactValue(parsed.data, definition.secretFields).value,
          updatedAt: now().toISOString(),
        };
        await store.replace(next, etag);
        return next;
      }, CONFLICT_RETRY);
    },

    async get(taskId) {
      return (await store.get(taskId))?.task ?? null;
    },

    list: (query) => store.list(query),

    unfinished: (customerId, type) => store.unfinishedOfTypes(customerId, [type]),

    async resume(taskId) {
      const next = await withOptimisticRetry(async () => {
        const { task, etag } = await getOrThrow(taskId);
        if (task.state !== 'paused') {
          throw new DomainError('conflict', {
            code: 'task_not_paused',
            title: 'Task is not waiting',
            detail: `Task ${taskId} is ${TASK_STATE_LABELS[task.state]}; only a Paused task can be resumed.`,
          });
        }
        const next: TaskRecord = {
          ...task,
          state: 'queued',
          waiting: null,
          nextExecutionAt: now().toISOString(),
          updatedAt: now().toISOString(),
          steps: stepPatch(task, task.currentStep, { state: 'pending', resumedByOperator: true }),
        };
        await store.replace(next, etag);
        return next;
      }, CONFLICT_RETRY);
      await mirror(next);
      await enqueue(taskId);
      return next;
    },

    async rerun(taskId) {
      const next = await withOptimisticRetry(async () => {
        const { task, etag } = await getOrThrow(taskId);
        if (task.state !== 'finish-failure') {
          throw new DomainError('conflict', {
            code: 'task_not_failed',
            title: 'Task has not failed',
            detail: `Task ${taskId} is ${TASK_STATE_LABELS[task.state]}; only a failed task can be re-run.`,
          });
        }
        const next: TaskRecord = {
          ...task,
          state: 'queued',
          result: null,
          wasSuccessful: null,
          finishedAt: null,
          waiting: null,
          retry: null,
          nextExecutionAt: now().toISOString(),
          updatedAt: now().toISOString(),
          steps: stepPatch(task, task.currentStep, { state: 'pending', attempts: 0, error: null }),
        };
        await store.replace(next, etag);
        return next;
      }, CONFLICT_RETRY);
      await mirror(next);
      if (postpones(next)) await postponeOthers(next);
      await enqueue(taskId);
      return next;
    },

    async process(taskId, watching) {
      const found = await store.get(taskId);
      if (!found) return;
      const { task, etag } = found;
      if (isFinal(task.state) || task.state === 'paused') return;
      const at = now().getTime();
      const held = task.state === 'reserved' || task.state === 'executing';
      // A watch has done its work once the run it watches has ended; the task's own messages drive it from there.
      if (watching !== undefined && (!held || task.leaseRun !== watching)) return;
      const leaseLive = task.leaseUntil !== null && Date.parse(task.leaseUntil) > at;
      if (held && leaseLive) {
        if (watching !== undefined) await watch(task);
        return;
      }
      // A postponed task waits for the upgrade's end, which queues it again; a stray message leaves it so.
      if (task.state === 'queue-postponed' && (await postponer(task))) return;
      if (task.state === 'queued' && task.nextExecutionAt && Date.parse(task.nextExecutionAt) > at + 1_000) {
        // Early (a duplicate or a clock's rounding): the message that was sent for the due time will come.
        return;
      }
      const reserved: TaskRecord = {
        ...task,
        state: 'reserved',
        leaseUntil: new Date(at + timing.leaseMs).toISOString(),
        leaseHolder: instanceId,
        leaseRun: null,
        updatedAt: new Date(at).toISOString(),
      };
      let reservedEtag: string;
      try {
        reservedEtag = await store.replace(reserved, etag);
      } catch (error) {
        if (error instanceof VersionConflictError) return;
        throw error;
      }
      const run = new Run(reserved, reservedEtag);
      if (!(await acquire(run))) return;
      run.startHeartbeat();
      try {
        await execute(run);
      } catch (error) {
        // Someone else took the task over (our lease ran out): their run is the one that counts.
        if (error instanceof VersionConflictError || error instanceof LeaseLostError) return;
        throw error;
      } finally {
        run.endHeartbeat();
      }
    },

    async cancel(taskId, by) {
      const next = await withOptimisticRetry(async () => {
        const { task, etag } = await getOrThrow(taskId);
        if (task.state !== 'queued' && task.state !== 'queue-postponed' && task.state !== 'paused') {
          throw new DomainError('conflict', {
            code: 'task_not_pending',
            title: 'Task is not pending',
            detail: `Task ${taskId} is ${TASK_STATE_LABELS[task.state]}; only a Queued, Queue Postponed or Paused task can be cancelled.`,
          });
        }
        const at = now().toISOString();
        const done = task.steps.filter((step) => step.state === 'done').map((step) => step.name);
        const next: TaskRecord = {
          ...task,
          state: 'finish-failure',
          waiting: null,
          nextExecutionAt: null,
          leaseUntil: null,
          finishedAt: at,
          updatedAt: at,
          retry: null,
          result: `Cancelled by ${by}.${done.length > 0 ? ` Steps done before: ${done.join(', ')}.` : ''}`,
          log: [...task.log, { at, line: `-- Cancelled by ${by} --` }],
        };
        const lock = await store.lock(task.customerId);
        if (lock.holder === task.id) await store.replaceAndUnlock(next, etag, lock);
        else await store.replace(next, etag);
        return next;
      }, CONFLICT_RETRY);
      await mirror(next);
      await finished(next, 'cancelled');
      if (postpones(next)) await resumePostponed(next.customerId);
      await wakeNextOf(next.customerId, next.id);
      return next;
    },

    async processAll(customerId) {
      let queued = 0;
      const at = now();
      for (const ref of await store.listActive(5_000)) {
        if (customerId && ref.customerId.toLowerCase() !== customerId.toLowerCase()) continue;
        const found = await store.getIn(ref.customerId, ref.taskId);
        if (!found || found.task.state !== 'queued') continue;
        const { task, etag } = found;
        if (task.nextExecutionAt && Date.parse(task.nextExecutionAt) > at.getTime()) {
          const due: TaskRecord = { ...task, nextExecutionAt: at.toISOString(), updatedAt: at.toISOString() };
          try {
            await store.replace(due, etag);
          } catch (error) {
            if (error instanceof VersionConflictError) continue;
            throw error;
          }
          // The list shows Next Execution Minutes from the index's copy.
          await store.mirror(due).catch(() => undefined);
        }
        await enqueue(task.id);
        queued++;
      }
      return queued;
    },

    async remove(taskId) {
      const task = await withOptimisticRetry(async () => {
        const { task, etag } = await getOrThrow(taskId);
        if (!isFinal(task.state)) {
          throw new DomainError('conflict', {
            code: 'task_not_finished',
            title: 'Task has not finished',
            detail: `Task ${taskId} is ${TASK_STATE_LABELS[task.state]}; cancel it before deleting it.`,
          });
        }
        await store.delete(task, etag);
        return task;
      }, CONFLICT_RETRY);
      await finished(task, 'deleted');
    },

    async sweep() {
      let queued = 0;
      const at = now().getTime();
      for (const ref of await store.listActive(500)) {
        const found = await store.getIn(ref.customerId, ref.taskId);
        if (!found) continue;
        const { task } = found;
        if (task.state === 'queued') {
          // Lost or not yet sent messages: anything due for more than a minute gets one.
          if (!task.nextExecutionAt || Date.parse(task.nextExecutionAt) < at - 60_000) {
            await enqueue(task.id);
            queued++;
          }
        } else if (
          (task.state === 'reserved' || task.state === 'executing') &&
          task.leaseUntil &&
          Date.parse(task.leaseUntil) <= at
        ) {
          await enqueue(task.id);
          queued++;
        } else if (task.state === 'queue-postponed') {
          // Its upgrade ended without queuing it again (a crash between the two): it runs now.
          if (!(await postponer(task))) {
            await enqueue(task.id);
            queued++;
          }
        } else if (isFinal(task.state) || task.state === 'paused') {
          await mirror(task);
        }
      }
      return queued;
    },
  };
}
