import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { Authenticator } from '../../auth/authenticator.js';
import { audit, type AuditPorts } from './audit.js';
import { authenticate } from './authenticate.js';
import { type AccessPort, authorizeCustomer, authorizeRole } from './authorize.js';
import { compose, type EdgeStep } from './compose.js';
import { type ApiResult, type EdgeContext, type EdgeRoute, newEdgeContext } from './context.js';
import { errorsToProblems } from './errors.js';
import { exposeHeaders } from './expose-headers.js';
import { logFields } from './log-fields.js';
import { rateLimit, type RateLimitPort } from './rate-limit.js';
import { respond } from './respond.js';
import { validateInput, validatePath } from './validate.js';

/** What the edge's policies talk to: who calls, which customers they reach, where changes are recorded. */
export interface ApiEdgePorts extends AuditPorts {
  readonly authenticator: Pick<Authenticator, 'authenticate'>;
  readonly access: AccessPort;
  readonly rateLimits: RateLimitPort;
}

/** The policies every API operation passes, assembled once by the composition root. */
export interface ApiPipeline {
  handle(
    route: EdgeRoute,
    request: HttpRequest,
    context: InvocationContext,
    handler: (ctx: EdgeContext) => Promise<ApiResult>,
  ): Promise<HttpResponseInit>;
}

/**
 * Outside in: the headers a cross-origin script may read, log fields, errors → problem+json, the response, who calls,
 * their role, the path, their customer, the query and body, the rate limit of calls that reach an SBC or a tenant, the
 * audit of what the handler changed. The order is the contract (docs in each step).
 */
export function apiSteps(ports: ApiEdgePorts): readonly EdgeStep[] {
  return [
    exposeHeaders,
    logFields,
    errorsToProblems,
    respond,
    authenticate(ports.authenticator),
    authorizeRole,
    validatePath,
    authorizeCustomer(ports.access),
    validateInput,
    rateLimit(ports.rateLimits),
    audit(ports),
  ];
}

export function createApiEdge(ports: ApiEdgePorts): ApiPipeline {
  const run = compose(apiSteps(ports));
  return {
    async handle(route, request, context, handler) {
      const ctx = newEdgeContext(route, request, context);
      await run(ctx, async (inner) => {
        inner.result = await handler(inner);
      });
      if (!ctx.response) throw new Error(`The edge of ${route.name} produced no response.`);
      return ctx.response;
    },
  };
}
