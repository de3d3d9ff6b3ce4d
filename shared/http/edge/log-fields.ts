import { traceIdOf, withLogFields } from '../../platform/product-log.js';
import type { EdgeStep } from './compose.js';

/** Every line the call logs names the caller's trace (else the invocation) and the customer of its path. */
export const logFields: EdgeStep = (ctx, next) =>
  withLogFields(
    {
      correlationId: traceIdOf(ctx.request.headers.get('traceparent')) ?? ctx.context.invocationId,
      customerId: ctx.request.params.customerId ?? null,
    },
    next,
  );
