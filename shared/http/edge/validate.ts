import type { z } from 'zod';
import { domainErrors, type FieldLocation } from '../../errors/domain-errors.js';
import { toFieldErrors } from '../../errors/zod-field-errors.js';
import { readJsonBody, readTextBody } from './body.js';
import type { EdgeStep } from './compose.js';

/** A path that cannot name a resource (a Short Name with a dot, say) names nothing: 404, not 400. */
export const validatePath: EdgeStep = async (ctx, next) => {
  const schema = ctx.route.params;
  if (schema) {
    const parsed = schema.safeParse(ctx.request.params);
    if (!parsed.success) throw domainErrors.notFound('Nothing exists at this address.');
    ctx.params = parsed.data;
  }
  await next();
};

/**
 * Query schemas are declared as plain objects (they are shared and extended across routes); the edge makes them
 * strict, as body schemas are, so a misspelt or foreign parameter (`$top` for `top`, `filter`) is a 400 naming it
 * rather than silently ignored: the caller would otherwise believe the page size or the filter applied. Built once
 * per schema.
 */
const strictQueries = new WeakMap<z.ZodObject, z.ZodObject>();

function strictQueryOf(schema: z.ZodObject): z.ZodObject {
  let strict = strictQueries.get(schema);
  if (!strict) {
    strict = schema.strict();
    strictQueries.set(schema, strict);
  }
  return strict;
}

/** Query, then body, against the schemas the OpenAPI document shows: nothing reaches the handler unvalidated. */
export const validateInput: EdgeStep = async (ctx, next) => {
  const { query, body } = ctx.route;
  if (query) ctx.query = parseOrThrow(strictQueryOf(query), Object.fromEntries(ctx.request.query), 'query');
  if (body) {
    const { textBody } = ctx.route;
    const document = textBody
      ? await readTextBody(ctx.request, textBody.mediaType, textBody.maxBytes)
      : await readJsonBody(ctx.request);
    ctx.body = parseOrThrow(body, document, 'body');
  }
  await next();
};

function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, location: FieldLocation): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw domainErrors.validation(toFieldErrors(result.error, location, value));
  return result.data;
}
