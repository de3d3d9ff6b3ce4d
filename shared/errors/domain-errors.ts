/**
 * What domain code throws when a request cannot be met. Domain code knows nothing of HTTP: one mapper at the edge
 * (shared/http/problem-mapper.ts) turns each kind into its status and problem+json; timers, queues and tasks read the
 * kind too (a `transient` error is retried, the others are not).
 */

import type { ProblemCode } from './problem-codes.js';

export type FieldLocation = 'body' | 'query' | 'path' | 'header';

export interface FieldError {
  /** Dotted path of the offending field (`licensedUsers`, `items.0.name`); empty for the whole value. */
  readonly field: string;
  readonly in: FieldLocation;
  /** Stable, machine-readable reason, e.g. `too_short`, `short_name_forbidden_character`. */
  readonly code: string;
  readonly message: string;
  /** The values the field may take, when they come from configuration (e.g. the carriers on the chosen SBC). */
  readonly allowed?: readonly string[];
}

export type DomainErrorKind =
  /** The input breaks a rule of its own fields. */
  | 'validation'
  /** The caller is not known (no or a bad token). */
  | 'unauthenticated'
  /** The caller is known and may not do this. */
  | 'forbidden'
  | 'not_found'
  /** The resource's current state does not allow this (a task not pending, a customer being removed). */
  | 'conflict'
  /** A count the license or the manual caps is used up. */
  | 'limit_reached'
  /** The caller's copy is out of date (If-Match, ETag). */
  | 'version_mismatch'
  /** It existed and is gone for good (an expired wizard session). */
  | 'gone'
  /** Well-formed, but the outside world says no (an app registration Entra refuses, an FQDN that does not resolve). */
  | 'unprocessable'
  /** A peer (Graph, an SBC) answered with an error or not at all. */
  | 'upstream_failed'
  /** The caller, or the SBC the call reaches, used up its requests of the current window (a rate limit). */
  | 'rate_limited'
  /** Ours or a peer's outage that a retry may cure (storage, signing keys). */
  | 'transient'
  /** The request body is larger than allowed. */
  | 'too_large'
  /** The request body is of a media type we do not read. */
  | 'unsupported_media_type';

export interface DomainErrorInit {
  readonly code: ProblemCode;
  readonly title: string;
  readonly detail?: string;
  readonly fields?: readonly FieldError[];
  /** Seconds after which a retry may succeed (`transient`, `rate_limited`). */
  readonly retryAfterSeconds?: number;
  /** The task the problem is about (e.g. the one a submitted wizard session queued): the caller may poll it. */
  readonly taskId?: string;
  readonly cause?: unknown;
}

export class DomainError extends Error {
  override readonly name: string = 'DomainError';
  readonly code: ProblemCode;
  readonly title: string;
  readonly detail: string | undefined;
  readonly fields: readonly FieldError[];
  readonly retryAfterSeconds: number | undefined;
  readonly taskId: string | undefined;

  constructor(
    readonly kind: DomainErrorKind,
    init: DomainErrorInit,
  ) {
    super(init.detail ?? init.title, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.title = init.title;
    this.detail = init.detail;
    this.fields = init.fields ?? [];
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.taskId = init.taskId;
  }
}

/** The one conflict a versioned row raises when someone else changed it first (storage kit, If-Match). */
export class VersionConflictError extends DomainError {
  override readonly name = 'VersionConflictError';
  constructor(detail = 'The resource was changed by someone else; reload it and try again.') {
    super('version_mismatch', { code: 'precondition_failed', title: 'Precondition failed', detail });
  }
}

/** An outage (storage, a peer) that a retry may cure; never read as "not found". */
export class TransientError extends DomainError {
  override readonly name = 'TransientError';
  constructor(detail: string, cause?: unknown, retryAfterSeconds = 5) {
    super('transient', {
      code: 'service_unavailable',
      title: 'Service unavailable',
      detail,
      retryAfterSeconds,
      ...(cause === undefined ? {} : { cause }),
    });
  }
}

export function isDomainError(error: unknown, kind?: DomainErrorKind): error is DomainError {
  return error instanceof DomainError && (kind === undefined || error.kind === kind);
}

/** Shorthands for the common kinds, so a throw reads as the rule it enforces. */
export const domainErrors = {
  validation: (fields: readonly FieldError[], detail = 'The request has invalid fields; see errors.') =>
    new DomainError('validation', { code: 'validation_failed', title: 'Invalid request', detail, fields }),
  unauthenticated: (detail: string) =>
    new DomainError('unauthenticated', { code: 'unauthenticated', title: 'Authentication required', detail }),
  forbidden: (detail: string) =>
    new DomainError('forbidden', { code: 'forbidden', title: 'Forbidden', detail }),
  notFound: (detail: string) =>
    new DomainError('not_found', { code: 'not_found', title: 'Not found', detail }),
  conflict: (code: ProblemCode, title: string, detail: string, fields?: readonly FieldError[]) =>
    new DomainError('conflict', { code, title, detail, ...(fields ? { fields } : {}) }),
  limitReached: (code: ProblemCode, title: string, detail: string) =>
    new DomainError('limit_reached', { code, title, detail }),
  /**
   * The caller's copy is stale (its If-Match): final, unlike the storage kit's VersionConflictError, which a
   * bounded optimistic retry may still win.
   */
  versionMismatch: (detail: string) =>
    new DomainError('version_mismatch', {
      code: 'precondition_failed',
      title: 'Precondition failed',
      detail,
    }),
  gone: (code: ProblemCode, title: string, detail: string) =>
    new DomainError('gone', { code, title, detail }),
  unprocessable: (code: ProblemCode, title: string, detail: string, fields?: readonly FieldError[]) =>
    new DomainError('unprocessable', { code, title, detail, ...(fields ? { fields } : {}) }),
  upstreamFailed: (code: ProblemCode, title: string, detail: string) =>
    new DomainError('upstream_failed', { code, title, detail }),
  transient: (detail: string, cause?: unknown, retryAfterSeconds?: number) =>
    new TransientError(detail, cause, retryAfterSeconds),
};
