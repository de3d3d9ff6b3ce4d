import type { z } from 'zod';
import { domainErrors, type FieldLocation } from '../../errors/domain-errors.js';
import { toFieldErrors } from '../../errors/zod-field-errors.js';
import { readJsonBody } from './body.js';
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

/** Query, then body, against the schemas the OpenAPI document shows: nothing reaches the handler unvalidated. */
export const validateInput: EdgeStep = async (ctx, next) => {
  const { query, body } = ctx.route;
  if (query) ctx.query = parseOrThrow(query, Object.fromEntries(ctx.request.query), 'query');
  if (body) ctx.body = parseOrThrow(body, await readJsonBody(ctx.request), 'body');
  await next();
};

function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, location: FieldLocation): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw domainErrors.validation(toFieldErrors(result.error, location, value));
  return result.data;
}
