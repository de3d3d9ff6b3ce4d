import { principalBucket, type Reach, type RateBucket, sbcBucket } from '../../access/rate-limits.js';
import type { RateLimiter } from '../../access/rate-limiter.js';
import type { RateLimitSettings } from '../../provider/provider-settings.js';
import type { EdgeStep } from './compose.js';
import type { EdgeContext } from './context.js';

/** Where the rate limits come from, and how an operation's SBCs are found (shared/access/rate-limits.ts). */
export interface RateLimitPort {
  readonly limiter: RateLimiter;
  /** The provider's settings (System > Rate Limits). */
  limits(): Promise<RateLimitSettings>;
  /** The Known SBCs the customer's sites are on. */
  sbcsOfCustomer(customerId: string): Promise<readonly string[]>;
  sbcOfSite(customerId: string, siteName: string): Promise<string | null>;
  sbcOfRegion(regionId: string): Promise<string | null>;
}

/**
 * An operation that reaches an SBC or a customer's tenant counts against its caller's limit and each SBC's (429 with
 * Retry-After once one is used up). After the input is validated: a request refused as malformed or forbidden never
 * reaches a device, so it spends nothing; before the handler, which is what reaches it.
 */
export function rateLimit(port: RateLimitPort): EdgeStep {
  return async (ctx, next) => {
    const { reach } = ctx.route;
    if (reach && ctx.principal) {
      const limits = await port.limits();
      const buckets: RateBucket[] = [principalBucket(ctx.principal, limits)];
      for (const sbcId of await sbcsOf(port, reach, ctx)) buckets.push(sbcBucket(sbcId, limits));
      await port.limiter.admit(buckets, limits.windowSeconds);
    }
    await next();
  };
}

async function sbcsOf(port: RateLimitPort, reach: Reach, ctx: EdgeContext): Promise<readonly string[]> {
  const params = (ctx.params ?? {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null);
  const one = (sbcId: string | null) => (sbcId === null ? [] : [sbcId]);
  switch (reach.sbc) {
    case 'path':
      return one(text(params.sbcId));
    case 'region': {
      const regionId = text(params.regionId);
      return regionId === null ? [] : one(await port.sbcOfRegion(regionId));
    }
    case 'body-region': {
      const body = (ctx.body ?? {}) as { regionId?: unknown; sbc?: { regionId?: unknown } };
      const regionId = text(body.regionId) ?? text(body.sbc?.regionId);
      return regionId === null ? [] : one(await port.sbcOfRegion(regionId));
    }
    case 'site': {
      const customerId = text(params.customerId);
      const siteName = text(params.siteName);
      return customerId === null || siteName === null ? [] : one(await port.sbcOfSite(customerId, siteName));
    }
    case 'customer': {
      const customerId = ctx.route.customerOf
        ? await ctx.route.customerOf(ctx.params)
        : text(params.customerId);
      return customerId === null ? [] : [...new Set(await port.sbcsOfCustomer(customerId))];
    }
    case 'unnamed':
    case undefined:
      return [];
  }
}
