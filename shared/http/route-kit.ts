import type { HttpRequest } from '@azure/functions';
import { z } from 'zod';
import { SHORT_NAME_PATTERN } from '../customers/short-name.js';
import type { ApiResult } from './edge/context.js';

/**
 * What many routes share, described once for the handlers and the OpenAPI document: the customer path parameter,
 * booleans in the query, the dry-run flag and optimistic concurrency (ETag / If-Match).
 */
export const customerIdParam = z
  .string()
  .max(64)
  .regex(SHORT_NAME_PATTERN)
  .meta({ description: "The customer's Short Name." });

/** The path of every route under `customers/{customerId}` that names nothing else. */
export const customerParams = z.strictObject({ customerId: customerIdParam });

export const siteNameParam = z
  .string()
  .max(64)
  .regex(SHORT_NAME_PATTERN)
  .meta({ description: 'The Sbc Site Name.' });

/**
 * A boolean in the query: `true` or `false`, typed as a boolean in the document, so a generated client passes one
 * (the URL carries its text).
 */
export function booleanParam(name: string, fallback: boolean) {
  return z
    .preprocess(
      (value) => (value === 'true' ? true : value === 'false' ? false : value),
      z.boolean({ error: `${name} must be true or false.` }),
    )
    .default(fallback);
}

const dryRunFlag = booleanParam('dryRun', false);

/** `?dryRun=true`: only plan, change nothing. */
export const dryRunQuery = z.object({ dryRun: dryRunFlag });

/** The same flag, saying what the dry run of this operation shows. */
export function describedDryRunQuery(description: string) {
  return z.object({ dryRun: dryRunFlag.meta({ description }) });
}

/**
 * Storage versions rows with weak ETags (`W/"…"`, Azure Tables and the memory twin alike), but If-Match is compared
 * strongly (RFC 9110 §13.1.1) and a weak tag never matches strongly. Each row version is exact, so the HTTP ETag is
 * the same opaque tag, strong; the storage form is restored when the caller sends it back.
 */
export function httpEtagOf(storageEtag: string): string {
  return storageEtag.replace(/^W\//, '');
}

/**
 * The version the caller last saw (If-Match), in the storage form the services compare; they refuse a stale one with
 * 412. `*` passes as it is. The weak form this API sent before its ETags were strong names the same version and is
 * still accepted: one prefix test, and no caller has to refetch.
 */
export function ifMatchOf(request: Pick<HttpRequest, 'headers'>): string | undefined {
  const value = request.headers.get('if-match')?.trim();
  if (value === undefined) return undefined;
  if (value === '*' || value.startsWith('W/')) return value;
  return `W/${value}`;
}

/** A result carrying the version of what it answers (a strong ETag), for the caller's next If-Match. */
export function versioned(storageEtag: string, result: ApiResult): ApiResult {
  return { ...result, headers: { etag: httpEtagOf(storageEtag), ...result.headers } };
}
