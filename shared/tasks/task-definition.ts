import type { z } from 'zod';

/**
 * The manual's Cmd Type vocabulary (Queued Tasks page, part B §4.4) plus the onboarding tasks of the wizard logs
 * (part C §3.4–3.5, §6). Sub-kinds are written after a space, as the manual shows "Sync all" or "Sync psq".
 */
export const CMD_TYPES = [
  'CreateCustomer',
  'CreatePstnGateway',
  'O365Initialization',
  'O365Cleanup',
  'CleanupSbc',
  'SbcUpdatePrefixes',
  'SBCInit',
  'Sync',
  'TenantRemove',
  'TenantUpgrade',
  'IpPbxImport',
  'Upgrade License',
  'OcNumberCleanup',
  // A user's queued changes (number, Enterprise Voice, usage location, policy grants): the Customer portal's
  // Pending changes and Queued Changes rows show this Cmd Type (manual-part-D §1.3, §1.19).
  'Office365',
] as const;

export type CmdType = (typeof CMD_TYPES)[number];
/** A Cmd Type, optionally with a sub-kind: `CreatePstnGateway`, `Sync all`. */
export type TaskType = CmdType | `${CmdType} ${string}`;

export function isTaskType(value: string): value is TaskType {
  return CMD_TYPES.some((type) => value === type || value.startsWith(`${type} `));
}

/** What a change is made to: DNS zone, Teams configuration, the SBC, Graph (Entra ID / M365), or our own store. */
export type ChangeKind = 'dns' | 'teams' | 'sbc' | 'graph' | 'store';

/** One change to an outside system: planned by a dry run, or applied by a real run. No secrets in it. */
export interface TaskChange {
  readonly kind: ChangeKind;
  readonly description: string;
  readonly detail?: unknown;
}

/** What the task's persisted state bag may hold: JSON values only (it is stored as JSON). */
export type TaskStateBag = Record<string, unknown>;

export interface TaskClock {
  now(): Date;
}

export interface StepContext<I, S extends TaskStateBag, Svc> {
  readonly taskId: string;
  readonly customerId: string;
  readonly type: TaskType;
  /** The validated input, as stored: secret fields are `[redacted]` (secrets are read through the ports instead). */
  readonly input: I;
  /** The task's persisted state bag; assign to its fields, they are saved after the step whatever its outcome. */
  readonly state: Partial<S>;
  /** This step's run, 1-based: counts retries, re-runs after a crash and re-runs after a timed wait. */
  readonly attempt: number;
  /** The step's `maxAttempts`. */
  readonly maxAttempts: number;
  /** True when this run follows the operator's resume of a pause this step asked for. */
  readonly resumedByOperator: boolean;
  readonly dryRun: boolean;
  readonly clock: TaskClock;
  /**
   * Aborted when this run loses its lease (another holder took the task over): a long step passes it on or checks
   * it between changes, so that only the new holder makes further changes.
   */
  readonly signal: AbortSignal;
  /** The stores and services the task's steps talk to, narrowed to what its definition declares. */
  readonly ports: Svc;
  /** Appends a line to the task log (timestamped, secret values blanked). */
  log(line: string): void;
  /**
   * Records a change this run made (real runs); the task result lists them. A prepared step passes one of the
   * changes it described.
   */
  applied(change: TaskChange): void;
  /** Blanks this value wherever it might appear in the log, errors or changes of this run (a password read now). */
  secret(value: string | undefined | null): void;
  /** Saves the log and state now and renews the lease: a checkpoint inside a long step. */
  save(): Promise<void>;
}

export type StepOutcome =
  | { readonly done: true }
  | {
      readonly wait: {
        readonly reason: string;
        /** `operator`: the task is Paused until POST .../resume; `{ afterMs }`: the step runs again then. */
        readonly resumeOn: 'operator' | { readonly afterMs: number };
      };
    };

/**
 * What one run of a step will change, and how: one description serves the dry run and the real run, so what a dry
 * run lists is what a real run records.
 */
export interface PreparedStep {
  /** The changes `apply` makes, in order: a dry run records these and stops. */
  readonly changes: readonly TaskChange[];
  /**
   * Makes the changes; a real run only. Records each change it made with `ctx.applied`, passing the object from
   * `changes` itself: the engine refuses any other. Must be idempotent: after a crash the step is prepared again.
   */
  apply(): Promise<StepOutcome>;
}

interface StepBase {
  /** Unique within the task, e.g. `CreateDomain`; the record tracks steps by name. */
  readonly name: string;
  /**
   * Runs allowed for errors no classifier knows (a bug, likely) before the task fails. Default 5. Transient errors
   * are retried for the engine's retry window instead; a step that counts its own tries (the manual's
   * `[Try: 1/3]`) throws PermanentTaskError at its last.
   */
  readonly maxAttempts?: number;
}

/** A step whose dry run and real run share one description of its changes. */
export interface PreparingStep<I, S extends TaskStateBag, Svc> extends StepBase {
  /** Reads what the step needs, changing nothing outside; the engine calls it once per run of the step. */
  prepare(ctx: StepContext<I, S, Svc>): Promise<PreparedStep>;
  readonly run?: never;
  readonly plan?: never;
}

/** A step that describes its dry run apart from its real run. */
export interface RunningStep<I, S extends TaskStateBag, Svc> extends StepBase {
  /** Makes the change. Must be idempotent: after a crash it runs again from the start. */
  run(ctx: StepContext<I, S, Svc>): Promise<StepOutcome>;
  /** The changes `run` would make, changing nothing; a dry run calls this instead. Default: no changes. */
  plan?(ctx: StepContext<I, S, Svc>): Promise<readonly TaskChange[]>;
  readonly prepare?: never;
}

export type TaskStep<I, S extends TaskStateBag, Svc> = PreparingStep<I, S, Svc> | RunningStep<I, S, Svc>;

/**
 * Turns what a step threw into the engine's terms, or returns undefined for errors it does not know. A task's
 * definition names one for the peers its steps talk to, so the engine classifies each failure once.
 */
export type TaskErrorClassifier = (error: unknown) => TransientTaskError | PermanentTaskError | undefined;

export interface TaskDefinition<I, S extends TaskStateBag, Svc> {
  readonly type: TaskType;
  /** Validates the starter's input; its output is what steps see (after `redact`). */
  readonly input: z.ZodType<I>;
  readonly steps: readonly TaskStep<I, S, Svc>[];
  /** Input fields holding secrets besides the well-known names (password, secret, token, key…). */
  readonly secretFields?: readonly string[];
  /** Classifies the errors of the peers the steps talk to; DomainErrors the engine classifies itself. */
  readonly classifyError?: TaskErrorClassifier;
  /**
   * While a task of this type is unfinished (timed waits included), its customer's other tasks do not run: they
   * show Queue Postponed and go back to Queued once it finishes, whatever its outcome (the manual's TenantUpgrade).
   */
  readonly postponesCustomerTasks?: boolean;
}

/** Any definition, as the engine's registry holds them. */
export type AnyTaskDefinition<Svc> = TaskDefinition<unknown, TaskStateBag, Svc>;

/** A task is data (type, input schema) and code (steps). Checks the step names once, at definition time. */
export function defineTask<I, S extends TaskStateBag = TaskStateBag, Svc = unknown>(
  definition: TaskDefinition<I, S, Svc>,
): TaskDefinition<I, S, Svc> {
  if (!isTaskType(definition.type)) throw new Error(`'${definition.type}' is not a Cmd Type.`);
  if (definition.steps.length === 0) throw new Error(`Task ${definition.type} has no steps.`);
  const names = new Set<string>();
  for (const step of definition.steps) {
    if (!/^[A-Za-z][A-Za-z0-9 _-]{0,63}$/.test(step.name)) {
      throw new Error(`Task ${definition.type}: '${step.name}' is not a valid step name.`);
    }
    if (names.has(step.name)) throw new Error(`Task ${definition.type} has two steps named '${step.name}'.`);
    names.add(step.name);
    const max = step.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (!Number.isInteger(max) || max < 1) {
      throw new Error(`Task ${definition.type}, step ${step.name}: maxAttempts must be a whole number ≥ 1.`);
    }
  }
  return definition;
}

export const DEFAULT_MAX_ATTEMPTS = 5;

/** A failure worth retrying: throttling, a 5xx, a timeout. `retryAfterMs` (from Retry-After) wins over back-off. */
export class TransientTaskError extends Error {
  override readonly name = 'TransientTaskError';
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A failure no retry fixes (a missing license plan, a refused consent): the task fails now with this message. */
export class PermanentTaskError extends Error {
  override readonly name = 'PermanentTaskError';
}

/**
 * Maps an HTTP failure of an outside API to a task error: 429 and 5xx are transient (429's Retry-After honoured),
 * 408 too; other 4xx are permanent. `retryAfter` is the header's value (seconds or an HTTP date).
 */
export function httpTaskError(
  status: number,
  message: string,
  retryAfter?: string | null,
  now: Date = new Date(),
): TransientTaskError | PermanentTaskError {
  if (status === 429 || status === 408 || status >= 500) {
    return new TransientTaskError(message, parseRetryAfter(retryAfter, now));
  }
  return new PermanentTaskError(message);
}

export function parseRetryAfter(
  value: string | null | undefined,
  now: Date = new Date(),
): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}
