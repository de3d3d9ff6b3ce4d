import type { HttpResponseInit } from '@azure/functions';
import type { FieldError } from '../errors/domain-errors.js';
import type { ProblemCode } from '../errors/problem-codes.js';

/** RFC 9457 problem details, with the product's stable `code` and per-field errors. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: ProblemCode;
  readonly detail?: string;
  readonly errors?: readonly FieldError[];
  /** The task the problem is about, as a path to poll (`/api/v1/tasks/{taskId}`). */
  readonly task?: string;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function problemType(code: ProblemCode): string {
  return `urn:direct-routing-hub:problem:${code}`;
}

export function problemResponse(
  problem: Problem,
  headers: Readonly<Record<string, string>> = {},
): HttpResponseInit {
  return {
    status: problem.status,
    headers: { ...headers, 'content-type': PROBLEM_CONTENT_TYPE },
    body: JSON.stringify(problem),
  };
}
