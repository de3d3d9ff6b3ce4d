import { z } from 'zod';
import { SHORT_NAME_PATTERN } from '../customers/short-name.js';

/** Path and query parameters many routes share, described once for the handlers and the OpenAPI document. */
export const customerIdParam = z
  .string()
  .max(64)
  .regex(SHORT_NAME_PATTERN)
  .meta({ description: "The customer's Short Name." });

export const siteNameParam = z
  .string()
  .max(64)
  .regex(SHORT_NAME_PATTERN)
  .meta({ description: 'The Sbc Site Name.' });

export const dryRunQuery = z.object({
  dryRun: z
    .enum(['true', 'false'], { error: 'dryRun must be true or false.' })
    .default('false')
    .transform((value) => value === 'true'),
});
