import { DomainError, type DomainErrorKind } from '../errors/domain-errors.js';
import { type Problem, problemType } from './problem.js';

/** The one place a domain error's kind becomes an HTTP status. */
export const STATUS_OF_KIND: Readonly<Record<DomainErrorKind, number>> = {
  validation: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  limit_reached: 409,
  version_mismatch: 412,
  gone: 410,
  unprocessable: 422,
  upstream_failed: 502,
  rate_limited: 429,
  transient: 503,
  too_large: 413,
  unsupported_media_type: 415,
};

export interface MappedProblem {
  readonly problem: Problem;
  readonly headers: Readonly<Record<string, string>>;
}

/** problem+json for a domain error; `null` for anything else (the edge logs it and answers 500). */
export function problemOfDomainError(error: unknown): MappedProblem | null {
  if (!(error instanceof DomainError)) return null;
  const headers: Record<string, string> = {};
  if (error.kind === 'unauthenticated') headers['www-authenticate'] = 'Bearer';
  if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(error.retryAfterSeconds);
  return {
    problem: {
      type: problemType(error.code),
      title: error.title,
      status: STATUS_OF_KIND[error.kind],
      code: error.code,
      ...(error.detail ? { detail: error.detail } : {}),
      ...(error.fields.length ? { errors: error.fields } : {}),
      ...(error.taskId ? { task: `/api/v1/tasks/${encodeURIComponent(error.taskId)}` } : {}),
    },
    headers,
  };
}
