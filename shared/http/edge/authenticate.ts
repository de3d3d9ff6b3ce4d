import type { Authenticator } from '../../auth/authenticator.js';
import type { EdgeStep } from './compose.js';

/** Who calls: a route open to anyone reads no token; every other route needs a valid one (401 otherwise). */
export function authenticate(authenticator: Pick<Authenticator, 'authenticate'>): EdgeStep {
  return async (ctx, next) => {
    if (ctx.route.roles) {
      ctx.principal = await authenticator.authenticate(ctx.request.headers.get('authorization'));
    }
    await next();
  };
}
