import type { InvocationContext } from '@azure/functions';
import { productLog } from '../../platform/product-log.js';
import { type Problem, problemResponse } from '../problem.js';
import { type MappedProblem, problemOfDomainError } from '../problem-mapper.js';
import type { EdgeStep } from './compose.js';
import { warnIfUndocumented } from './respond.js';

/**
 * Outermost: whatever a later step or the handler throws becomes problem+json. A DomainError maps by its kind; anything
 * else is our fault, logged with its stack and answered 500 with the invocation id support can look up.
 */
export const errorsToProblems: EdgeStep = async (ctx, next) => {
  try {
    await next();
  } catch (error) {
    const { problem, headers } = problemOfError(error, ctx.context, ctx.route.name);
    warnIfUndocumented(ctx.route, problem.status, ctx.context);
    ctx.response = problemResponse(problem, headers);
  }
};

function problemOfError(error: unknown, context: InvocationContext, operation: string): MappedProblem {
  const mapped = problemOfDomainError(error);
  if (mapped) return mapped;
  productLog(context, 'error', `Unhandled error in ${operation}.`, {
    error: error instanceof Error ? error.stack : String(error),
  });
  const problem: Problem = {
    type: 'urn:direct-routing-hub:problem:internal_error',
    title: 'Internal error',
    status: 500,
    code: 'internal_error',
    detail: `Something went wrong on our side; quote invocation ${context.invocationId} to support.`,
  };
  return { problem, headers: {} };
}
