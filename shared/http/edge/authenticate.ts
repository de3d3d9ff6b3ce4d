import type { Authenticator } from '../../auth/authenticator.js';
import type { EdgeStep } from './compose.js';

/**
 * Who calls: a route open to anyone reads no token; every other route needs a valid one (401 otherwise). A route with
 * optional authentication verifies a token only when one is sent: a bad token is refused rather than silently read
 * as anonymous, so the caller learns why they got the anonymous answer.
 */
export function authenticate(authenticator: Pick<Authenticator, 'authenticate'>): EdgeStep {
  return async (ctx, next) => {
    const authorization = ctx.request.headers.get('authorization');
    if (ctx.route.roles || (ctx.route.optionalAuthentication && authorization !== null)) {
      ctx.principal = await authenticator.authenticate(authorization);
    }
    await next();
  };
}
