import type { HttpResponseInit, InvocationContext } from '@azure/functions';
import { productLog } from '../../platform/product-log.js';
import type { ApiResult, EdgeRoute } from './context.js';
import type { EdgeStep } from './compose.js';

/** The handler's result as the HTTP response: a body is JSON unless the result names a text media type. */
export const respond: EdgeStep = async (ctx, next) => {
  await next();
  if (!ctx.result) throw new Error(`${ctx.route.name} answered nothing.`);
  warnIfUndocumented(ctx.route, ctx.result.status, ctx.context);
  ctx.response = toResponse(ctx.result);
};

/**
 * A status the OpenAPI document does not list breaks the portal's generated client; the route tests catch it
 * (test/support/memory-stack.ts), and this line makes a case they missed visible in the logs instead of silent.
 */
export function warnIfUndocumented(
  route: Pick<EdgeRoute, 'name' | 'documentedStatuses'>,
  status: number,
  context: InvocationContext,
): void {
  if (route.documentedStatuses && !route.documentedStatuses.has(status)) {
    productLog(
      context,
      'warn',
      `${route.name} answered ${status}, which its OpenAPI description does not document.`,
    );
  }
}

function toResponse(result: ApiResult): HttpResponseInit {
  if (result.body === undefined) return { status: result.status, headers: { ...result.headers } };
  if (result.contentType) {
    if (typeof result.body !== 'string') throw new Error(`A ${result.contentType} answer must be text.`);
    return {
      status: result.status,
      headers: { ...result.headers, 'content-type': `${result.contentType}; charset=utf-8` },
      body: result.body,
    };
  }
  return {
    status: result.status,
    headers: { ...result.headers, 'content-type': 'application/json' },
    body: JSON.stringify(result.body),
  };
}
