import type { HttpResponseInit } from '@azure/functions';
import type { FieldError } from '../errors/domain-errors.js';

export type { FieldError, FieldLocation } from '../errors/domain-errors.js';

/** RFC 9457 problem details, with the product's stable `code` and per-field errors. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: string;
  readonly detail?: string;
  readonly errors?: readonly FieldError[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function problemType(code: string): string {
  return `urn:direct-routing-hub:problem:${code}`;
}

/**
 * The edge's own refusals (a body it cannot read, a path that names nothing, a caller outside the customer).
 * Code below the edge throws a DomainError instead, which problem-mapper.ts turns into the same problem+json.
 */
export class ProblemError extends Error {
  override readonly name = 'ProblemError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail?: string,
    readonly errors?: readonly FieldError[],
  ) {
    super(detail ?? title);
  }

  toProblem(): Problem {
    return {
      type: problemType(this.code),
      title: this.title,
      status: this.status,
      code: this.code,
      ...(this.detail ? { detail: this.detail } : {}),
      ...(this.errors?.length ? { errors: this.errors } : {}),
    };
  }
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

export const problems = {
  validation: (errors: readonly FieldError[], detail = 'The request has invalid fields; see errors.') =>
    new ProblemError(400, 'validation_failed', 'Invalid request', detail, errors),
  malformedJson: (detail: string) => new ProblemError(400, 'malformed_json', 'Malformed JSON', detail),
  unsupportedMediaType: (received: string | null) =>
    new ProblemError(
      415,
      'unsupported_media_type',
      'Unsupported media type',
      `The body must be application/json${received ? `, not ${received}` : ''}.`,
    ),
  payloadTooLarge: (limitBytes: number) =>
    new ProblemError(
      413,
      'payload_too_large',
      'Payload too large',
      `The body must not exceed ${limitBytes} bytes.`,
    ),
  forbidden: (detail: string) => new ProblemError(403, 'forbidden', 'Forbidden', detail),
  notFound: (detail: string) => new ProblemError(404, 'not_found', 'Not found', detail),
};
