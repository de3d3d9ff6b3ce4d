/** What the Azure SDKs' RestError (from @azure/core-rest-pipeline or @typespec/ts-http-runtime) carries. */
export interface RestErrorLike extends Error {
  readonly statusCode?: number;
  readonly code?: string;
  readonly details?: unknown;
}

/**
 * An Azure SDK's RestError, told by its name as core-rest-pipeline's own `isRestError` also tells it: checking a
 * failure then loads no SDK at start-up (docs/decisions.md, 75), and an SDK's own copy of the pipeline is recognised.
 */
export function isRestError(error: unknown): error is RestErrorLike {
  return error instanceof Error && error.name === 'RestError';
}
