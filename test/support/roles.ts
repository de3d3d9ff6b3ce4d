import { expect } from 'vitest';
import type { apiClient } from './api-client.js';
import type { MemoryStack } from './memory-stack.js';
import { mirrorUser } from './mirror-user.js';

/** Two customers and an admin of each kind, as the scope matrix and the conformance run meet them. */
export const OWN = 'OwnCo';
export const OTHER = 'OtherCo';
export const CHANNEL = 'resellerA';
export const CHANNEL_ADMIN = '11111111-1111-4111-8111-111111111111';
export const CUSTOMER_ADMIN = '22222222-2222-4222-8222-222222222222';

export type Role = 'provider' | 'channel-admin' | 'customer-admin';
export const ROLES: readonly Role[] = ['customer-admin', 'channel-admin', 'provider'];

/** A token per role: the provider admin, the admin of OWN's channel, OWN's customer admin. */
export async function roleTokens(stack: Pick<MemoryStack, 'token'>): Promise<Record<Role, string>> {
  return {
    provider: await stack.token(),
    'channel-admin': await stack.token({ roles: ['channel-admin'], subject: CHANNEL_ADMIN }),
    'customer-admin': await stack.token({ roles: ['customer-admin'], subject: CUSTOMER_ADMIN }),
  };
}

/**
 * Given OWN and OTHER exist: OWN is in the channel CHANNEL_ADMIN administers, CUSTOMER_ADMIN (a user of OWN's
 * replicated directory) administers OWN, and each customer has a queued task (returned by customer). `call` is the
 * provider's.
 */
export async function grantRoles(
  stack: Pick<MemoryStack, 'services'>,
  call: ReturnType<typeof apiClient>,
): Promise<Record<string, string>> {
  const ok = async (method: string, path: string, json?: unknown) => {
    const response = await call(method, path, json ? { json } : {});
    expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
  };
  await ok('PUT', `/api/v1/channels/${CHANNEL}`, { name: 'Reseller A' });
  await ok('PUT', `/api/v1/channels/${CHANNEL}/admins/${CHANNEL_ADMIN}`);
  await ok('PUT', `/api/v1/customers/${OWN}/channel`, { channelId: CHANNEL });
  // The grant as the API stores it; a customer admin is a user of the customer's replicated directory.
  const { services } = stack;
  await services.access.grantCustomerAdmin({
    customerId: OWN,
    userId: CUSTOMER_ADMIN,
    userPrincipalName: 'admin@ownco.example',
    displayName: 'Own Admin',
    grantedAt: new Date().toISOString(),
    grantedBy: 'test',
  });
  await services.mirror.putUsers(
    OWN,
    [mirrorUser({ id: CUSTOMER_ADMIN, userPrincipalName: 'admin@ownco.example' })],
    'test',
  );
  const taskOf: Record<string, string> = {};
  for (const id of [OWN, OTHER]) {
    taskOf[id] = (
      await services.taskEngine.start({
        type: 'SbcUpdatePrefixes',
        customerId: id,
        input: { customerId: id },
      })
    ).id;
  }
  return taskOf;
}
