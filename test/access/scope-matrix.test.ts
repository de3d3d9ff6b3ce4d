import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpFunctionDefinition } from '../../shared/platform/function-definitions.js';
import { apiClient } from '../support/api-client.js';
import { offlineApp } from '../support/offline-app.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';
import { CHANNEL, grantRoles, OTHER, OWN, type Role, roleTokens } from '../support/roles.js';

/**
 * Every API route of the registry × provider admin, channel admin and customer admin × own and other customer.
 * The policy, stated here independently of the code: a provider admin may do everything; a customer admin may read
 * the customers it administers (and list them), manage their numbers and templates, change their users and their
 * Online Voice Routing; a channel admin may do what its customers' admins may, and run their tasks on, re-read them
 * and name their admins (and list them); everything else — the customer's record, Licensed Users, license type and
 * factors, removal, sites, prefixes, DNS, the Microsoft 365 connection — is the provider's (deny by default).
 */

/** Operations about no one customer that are nevertheless open to channel and customer admins (filtered lists). */
const OPEN_LISTS = new Set(['customers-list']);
/** Operations about one customer that stay the provider's. */
const PROVIDER_ONLY = new Set(['customer-channel-set']);
/**
 * Changes a customer admin may make to its own customer: its number ranges and reserved numbers, its users'
 * changes and imports (manual-part-D §6, Users view/edit; issue 11 item 8), its user templates and their
 * security-group bindings (the Customer portal's Manage Templates and Lifecycle Management); and the call-routing
 * simulator and the normalization rule builder, POSTs that change nothing (their body is the question), which they
 * may run like any read.
 */
/** The provider's changes a channel admin may make to its customers, beyond their admins'. */
const CHANNEL_ADMIN_CHANGES = new Set([
  'tasks-resume',
  'tasks-rerun',
  'tasks-cancel',
  'replication-queue',
  'authentication-status-check',
  'prefixes-reload',
  'customer-admins-grant',
  'customer-admins-revoke',
]);

const CUSTOMER_ADMIN_CHANGES = new Set([
  'number-ranges-create',
  'number-ranges-update',
  'number-ranges-delete',
  'reserved-numbers-create',
  'reserved-numbers-update',
  'reserved-numbers-delete',
  'users-update',
  'users-assign-number',
  'users-unassign-number',
  'audit-user-change-rollback',
  'user-imports-create',
  'user-templates-create',
  'user-templates-update',
  'user-templates-delete',
  'user-templates-clone',
  'user-templates-apply',
  'user-templates-apply-file',
  'lifecycle-bindings-create',
  'lifecycle-bindings-update',
  'lifecycle-bindings-move',
  'lifecycle-bindings-delete',
  'voice-simulate',
  'voice-normalization-rules-build',
  // The Customer portal's Online Voice Routing (manual-part-D, License Model Menus: Hosted Essentials + and Pro).
  'voice-pstn-usages-create',
  'voice-pstn-usages-delete',
  'voice-routes-create',
  'voice-routes-update',
  'voice-routes-delete',
  'voice-routes-reorder',
  'voice-routing-policies-create',
  'voice-routing-policies-update',
  'voice-routing-policies-delete',
  'voice-routing-policy-groups-create',
  'voice-routing-policy-groups-update',
  'voice-routing-policy-groups-delete',
  'voice-dial-plans-create',
  'voice-dial-plans-update',
  'voice-dial-plans-delete',
  'voice-network-regions-create',
  'voice-network-regions-update',
  'voice-network-regions-delete',
  'voice-network-sites-create',
  'voice-network-sites-update',
  'voice-network-sites-delete',
  'voice-network-subnets-create',
  'voice-network-subnets-update',
  'voice-network-subnets-delete',
  'voice-trusted-ips-create',
  'voice-trusted-ips-update',
  'voice-trusted-ips-delete',
  'voice-emergency-calling-policies-create',
  'voice-emergency-calling-policies-update',
  'voice-emergency-calling-policies-delete',
  'voice-emergency-call-routing-policies-create',
  'voice-emergency-call-routing-policies-update',
  'voice-emergency-call-routing-policies-delete',
  'voice-pstn-gateways-create',
  'voice-pstn-gateways-update',
  'voice-pstn-gateways-delete',
  'voice-audit-rollback',
  'voice-reconcile',
]);

let stack: MemoryStack;
let call: (token: string, method: string, path: string) => Promise<number>;
let tokens: Record<Role, string>;
let taskOf: Record<string, string>;

beforeAll(async () => {
  stack = await startMemoryStack();
  const client = (token: string) => apiClient(stack.api, async () => token);
  call = async (token, method, path) => (await client(token)(method, path)).status;
  tokens = await roleTokens(stack);
  const admin = client(tokens.provider);
  for (const shortName of [OWN, OTHER]) {
    const created = await admin('POST', '/api/v1/customers', {
      json: { fullName: `${shortName} Ltd`, shortName, licenseType: 'hosted-essentials' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  }
  taskOf = await grantRoles(stack, admin);
}, 120_000);
afterAll(async () => stack?.close());

// The routes are listed before the stack starts (it.each needs them); the offline app has the same ones.
const listing = offlineApp();
afterAll(() => listing.close());
const routes = listing.registry
  .filter((d): d is HttpFunctionDefinition => d.kind === 'http' && d.openapi !== undefined)
  // Reads first, deletions last: an own customer stays there for the checks that follow.
  .sort((a, b) => order(a) - order(b));

function order(d: HttpFunctionDefinition): number {
  const method = d.openapi?.method ?? 'GET';
  if (d.name === 'customers-delete') return 3;
  return method === 'GET' ? 0 : method === 'DELETE' ? 2 : 1;
}

/** A value every route's path schema accepts, per parameter; a new parameter name must be added here. */
function pathFor(route: string, customer: string): string {
  const values: Record<string, string> = {
    customerId: customer,
    taskId: taskOf[customer] ?? '',
    siteName: 'Site1',
    userId: '33333333-3333-4333-8333-333333333333',
    groupId: '44444444-4444-4444-8444-444444444444',
    sessionId: '0123456789abcdef0123456789abcdef',
    invitationId: '0123456789abcdef0123456789abcdef',
    templateId: 'sbc-scenario7',
    version: '1',
    regionId: 'emea',
    sbcId: 'sbc-eu1',
    alarmId: '0'.repeat(64),
    entryId: `${'0'.repeat(26)}.33333333-3333-4333-8333-333333333333`,
    channelId: CHANNEL,
    subject: '55555555-5555-4555-8555-555555555555',
    rangeId: 'r-0123456789abcdef',
    reservationId: '442079460001',
    importId: '66666666-6666-4666-8666-666666666666',
    userTemplateId: '1',
    bindingId: '0123456789ab',
    voiceEntryId: '0'.repeat(26),
    usage: 'Unrestricted',
    routeId: 'Unrestricted',
    policyId: 'Unrestricted',
    dialPlanId: 'Unrestricted',
    networkRegionId: 'EMEA',
    networkSiteId: 'London',
    subnetId: '10.1.0.0',
    trustedIpId: '203.0.113.10',
    emergencyCallingPolicyId: 'NotifySecurity',
    emergencyCallRoutingPolicyId: 'US-911',
    gatewayId: 'sbc.example.com',
    // A removed customer's: the provider's alone (removed-customers-*), whoever its Short Name now names.
    uid: '77777777-7777-4777-8777-777777777777',
  };
  return `/${route.replace(/\{\*?([A-Za-z0-9_]+)[^}]*\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined)
      throw new Error(`The matrix has no value for path parameter {${name}} (${route}).`);
    return encodeURIComponent(value);
  })}`;
}

const isCustomerScoped = (d: HttpFunctionDefinition) =>
  !PROVIDER_ONLY.has(d.name) && /\{(customerId|taskId)\}/.test(d.route);

describe('who may call what', () => {
  it('enumerates every API route', () => {
    expect(routes.length).toBeGreaterThan(60);
    expect(routes.filter(isCustomerScoped).length).toBeGreaterThan(25);
  });

  it('lists a channel admin and a customer admin only their own customers', async () => {
    for (const role of ['channel-admin', 'customer-admin'] as const) {
      const response = await apiClient(stack.api, async () => tokens[role])('GET', '/api/v1/customers');
      expect(response.status).toBe(200);
      expect((response.body as { value: Array<{ id: string }> }).value.map((c) => c.id)).toEqual([OWN]);
    }
  });

  it.each(routes.map((d) => [`${d.openapi?.method} /${d.route}`, d] as const))(
    '%s',
    async (_, definition) => {
      const method = definition.openapi?.method ?? 'GET';
      if (definition.openapi?.roles === null) return;
      const scoped = isCustomerScoped(definition);
      const expectations: Array<[role: Role, customer: string, allowed: boolean]> = [
        [
          'channel-admin',
          OWN,
          (scoped &&
            (method === 'GET' ||
              CUSTOMER_ADMIN_CHANGES.has(definition.name) ||
              CHANNEL_ADMIN_CHANGES.has(definition.name))) ||
            OPEN_LISTS.has(definition.name),
        ],
        ['channel-admin', OTHER, !scoped && OPEN_LISTS.has(definition.name)],
        [
          'customer-admin',
          OWN,
          (scoped && (method === 'GET' || CUSTOMER_ADMIN_CHANGES.has(definition.name))) ||
            OPEN_LISTS.has(definition.name),
        ],
        ['customer-admin', OTHER, !scoped && OPEN_LISTS.has(definition.name)],
        ['provider', OTHER, true],
      ];
      for (const [role, customer, allowed] of expectations) {
        const status = await call(tokens[role], method, pathFor(definition.route, customer));
        if (allowed) expect(status, `${role} on ${customer}`).not.toBeOneOf([401, 403]);
        else expect(status, `${role} on ${customer}`).toBe(403);
      }
    },
  );
});
