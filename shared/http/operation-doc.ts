import type { z } from 'zod';
import type { Reach } from '../access/rate-limits.js';
import type { DomainErrorKind } from '../errors/domain-errors.js';

/** The methods an operation may have; the function definitions share it (they carry an operation's doc). */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

// Re-exported so a route takes an operation's roles from where it takes the rest of its description.
import type { Role } from '../auth/roles.js';

export type { Role };

/**
 * The statuses a handler answers itself; every other error status comes from a domain error's kind or an edge step.
 * 503 is here for a report that says what is down (health), which a problem could not carry.
 */
export type AnswerStatus = 200 | 201 | 202 | 204 | 503;

/**
 * Headers a success response carries, declared so a generated client can type them: `etag` (the version for the
 * next If-Match) and `location` (the created resource, or the task to poll after a 202).
 */
export type SuccessHeader = 'etag' | 'location';

/** A body that is not JSON: a CSV file in or out (a bulk import, an export). */
export type TextMediaType = 'text/csv';

export interface ResponseDoc {
  readonly description: string;
  readonly schema?: z.ZodType;
  /** The body is this text rather than JSON; `schema` then describes the text (a z.string()). */
  readonly mediaType?: TextMediaType;
  readonly headers?: readonly SuccessHeader[];
}

/**
 * The domain errors the handler can throw, by kind, each with what it means for this operation. The kinds the edge's
 * steps raise (401, 403, 404, 400, 413, 415, 412 with If-Match, 503) are derived and need not be listed.
 */
export type ErrorDocs = Readonly<Partial<Record<DomainErrorKind, string>>>;

export interface TextBody {
  readonly mediaType: TextMediaType;
  readonly maxBytes: number;
}

/** What the OpenAPI document says about one operation; built from the same zod schemas the handler validates with. */
export interface OperationDoc {
  readonly operationId: string;
  readonly method: HttpMethod;
  readonly route: string;
  readonly summary: string;
  readonly tags: readonly string[];
  /** `null` for operations anyone may call. */
  readonly roles: readonly Role[] | null;
  /** Anyone may call it; a bearer token, when sent, is verified and may get a fuller answer. */
  readonly optionalAuthentication?: boolean;
  readonly description?: string;
  /** The caller must reach the operation's customer (403 otherwise). */
  readonly customerScoped: boolean;
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  /** The request body is this text (its `body` schema a z.string()) of at most `maxBytes`, not JSON. */
  readonly textBody?: TextBody;
  /** Reads If-Match and refuses a stale version with 412. */
  readonly ifMatch?: boolean;
  /** What it reaches of the outside, so it is rate limited (429 with Retry-After). */
  readonly reach?: Reach;
  readonly responses: Readonly<Partial<Record<AnswerStatus, ResponseDoc>>>;
  readonly errors?: ErrorDocs;
}
