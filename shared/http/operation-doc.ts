import type { z } from 'zod';

/** The methods an operation may have; the function definitions share it (they carry an operation's doc). */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

// Re-exported so a route takes an operation's roles from where it takes the rest of its description.
import type { Role } from '../auth/roles.js';

export type { Role };

export interface ResponseDoc {
  readonly description: string;
  readonly schema?: z.ZodType;
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
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  readonly responses: Readonly<Record<number, ResponseDoc>>;
}
