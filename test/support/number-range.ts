import { expect } from 'vitest';
import type { ApiResponse } from './api-client.js';
import type { MemoryStack } from './memory-stack.js';
import { sbcSite } from './sbc-site.js';

type Call = (method: string, path: string, init?: { json?: unknown }) => Promise<ApiResponse>;

/**
 * What a customer's number range needs, made the operator's way: a known SBC, a region it serves, the customer's site
 * on that region (as onboarding leaves it), and the range on the site. Returns the range's id.
 */
export async function customerRange(
  stack: Pick<MemoryStack, 'services'>,
  call: Call,
  options: {
    readonly customerId: string;
    /** Names the SBC (`sbc-<key>`) and the region (`region-<key>`). */
    readonly key: string;
    readonly ipAddress: string;
    readonly start: string;
    readonly end: string;
    readonly siteName?: string;
  },
): Promise<string> {
  const created = async (path: string, json: unknown) => {
    const response = await call('POST', path, { json });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body as { id: string };
  };
  const siteName = options.siteName ?? 'London';
  const sbc = `sbc-${options.key}`;
  await created('/api/v1/settings/sbcs', {
    name: sbc,
    ipAddress: options.ipAddress,
    gatewayUser: 'admin',
    gatewayPassword: 'secret-1',
  });
  await created('/api/v1/settings/regions', {
    name: `region-${options.key}`,
    sbcId: sbc,
    fqdn: `${sbc}.example.com`,
    ipAddress: options.ipAddress,
  });
  await stack.services.sites.create(sbcSite(options.customerId, `region-${options.key}`, siteName));
  const range = await created(`/api/v1/customers/${options.customerId}/number-ranges`, {
    name: `${siteName} DR`,
    start: options.start,
    end: options.end,
    siteName,
  });
  return range.id;
}
