import type { HttpResponseInit } from '@azure/functions';
import type { ApiResult } from './context.js';
import type { EdgeStep } from './compose.js';

/** The handler's result as the HTTP response: a body is always JSON. */
export const respond: EdgeStep = async (ctx, next) => {
  await next();
  if (!ctx.result) throw new Error(`${ctx.route.name} answered nothing.`);
  ctx.response = toResponse(ctx.result);
};

function toResponse(result: ApiResult): HttpResponseInit {
  if (result.body === undefined) return { status: result.status, headers: { ...result.headers } };
  return {
    status: result.status,
    headers: { ...result.headers, 'content-type': 'application/json' },
    body: JSON.stringify(result.body),
  };
}
