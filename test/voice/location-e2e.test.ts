import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../dev/sandbox/index.js';
import type { apiClient } from '../support/api-client.js';
import type { MemoryStackWithPeers } from '../support/memory-stack.js';
import { deployedVoiceCustomer, type VoiceProblem, voiceCalls } from '../support/voice-e2e.js';

/**
 * Location-based routing day two (issue 13 item 1), end to end: the product's API in process, Contoso's tenant in
 * the HTTPS sandbox. A network region, a site in it, a subnet of the site and a trusted IP are created through the
 * API, each a queued Office365 voice task; removing the region while the site is in it is refused; an emergency
 * call routing policy routes 911 by its usage, which the simulator then shows from the mirror alone.
 */
const CUSTOMER = 'LbrCo';
const BASE = `/api/v1/customers/${CUSTOMER}`;
const VOICE = `${BASE}/voice`;
const TENANT = DEMO.customers.contoso.tenantId;

type Call = ReturnType<typeof apiClient>;
let stack: MemoryStackWithPeers;
let call: Call;
let gateway: string;

type Problem = VoiceProblem;

const teams = (policyName: string) => stack.sandbox.teams.list(TENANT, policyName);

const { ok, applied, taskCount } = voiceCalls(() => call, BASE);

beforeAll(async () => {
  ({ stack, call, gateway } = await deployedVoiceCustomer(CUSTOMER));
}, 120_000);
afterAll(async () => stack?.close());

describe('Location-based routing day two, against the sandbox', () => {
  it('creates a region, a site in it, a subnet of the site and a trusted IP, each as a queued task', async () => {
    const region = await applied(
      call('POST', `${VOICE}/network-regions`, { json: { identity: 'France', description: 'FR offices' } }),
    );
    expect(region.plan.commands).toEqual([
      "New-CsTenantNetworkRegion -NetworkRegionID 'France' -Description 'FR offices' -CentralSite $null",
    ]);
    await applied(
      call('POST', `${VOICE}/network-sites`, {
        json: {
          identity: 'Paris',
          description: 'Paris HQ',
          networkRegionId: 'France',
          enableLocationBasedRouting: true,
        },
      }),
    );
    await applied(
      call('POST', `${VOICE}/network-subnets`, {
        json: { identity: '10.33.0.0', maskBits: 16, networkSiteId: 'Paris', description: 'HQ LAN' },
      }),
    );
    await applied(
      call('POST', `${VOICE}/trusted-ips`, {
        json: { identity: '198.51.100.7', maskBits: 32, description: 'Public IP Paris Office' },
      }),
    );

    expect(teams('TenantNetworkSite').find((s) => s.Identity === 'Paris')).toMatchObject({
      NetworkRegionID: 'France',
      EnableLocationBasedRouting: true,
    });
    expect(teams('TenantNetworkSubnet').find((s) => s.Identity === '10.33.0.0')).toMatchObject({
      MaskBits: 16,
      NetworkSiteID: 'Paris',
    });
    expect(teams('TenantTrustedIPAddress').find((t) => t.Identity === '198.51.100.7')).toMatchObject({
      MaskBits: 32,
    });
    // The mirror shows them at once.
    expect((await ok(call('GET', `${VOICE}/network-sites/Paris`))).body).toMatchObject({
      identity: 'Paris',
      networkRegionId: 'France',
      enableLocationBasedRouting: true,
      emergencyCallRoutingPolicy: null,
    });
    const subnets = (await ok(call('GET', `${VOICE}/network-subnets`))).body as {
      value: Array<{ identity: string; maskBits: number }>;
    };
    expect(subnets.value).toContainEqual(expect.objectContaining({ identity: '10.33.0.0', maskBits: 16 }));

    // The Network Range of the subnet changes; the audit has old and new.
    const shown = await ok(call('GET', `${VOICE}/network-subnets/10.33.0.0`));
    await applied(
      call('PUT', `${VOICE}/network-subnets/10.33.0.0`, {
        json: { maskBits: 20, networkSiteId: 'Paris', description: 'HQ LAN' },
        headers: { 'if-match': shown.headers.get('etag') ?? '' },
      }),
    );
    expect(teams('TenantNetworkSubnet').find((s) => s.Identity === '10.33.0.0')?.MaskBits).toBe(20);
    const audit = (await ok(call('GET', `${VOICE}/audit`))).body as {
      value: Array<{ objects: Array<{ fields: unknown[] }> }>;
    };
    expect(audit.value[0]?.objects[0]?.fields).toEqual([
      { property: 'maskBits', oldValue: 16, newValue: 20 },
    ]);
  });

  it('refuses to delete a region a site is in, and a bad subnet, queuing nothing', async () => {
    const before = await taskCount();
    const refused = await ok(call('DELETE', `${VOICE}/network-regions/France`), 409);
    expect((refused.body as Problem).code).toBe('voice_object_in_use');
    expect((refused.body as Problem).detail).toContain('network site "Paris"');

    const invalid = await ok(
      call('POST', `${VOICE}/network-subnets`, {
        json: { identity: '10.34.4.0', maskBits: 24, networkSiteId: 'Lyon' },
      }),
      400,
    );
    expect((invalid.body as Problem).errors?.map((e) => [e.field, e.code])).toEqual([
      ['networkSiteId', 'site_unknown'],
    ]);
    expect(await taskCount()).toBe(before);
    expect(teams('TenantNetworkRegion').some((r) => r.Identity === 'France')).toBe(true);
  });

  it('routes 911 by an emergency call routing policy, which the simulator reads from the mirror', async () => {
    await applied(call('POST', `${VOICE}/pstn-usages`, { json: { name: 'US911' } }));
    await applied(
      call('POST', `${VOICE}/voice-routes`, {
        json: {
          identity: 'Emergency-911',
          numberPattern: '^\\+?911$',
          priority: 0,
          gateways: [gateway],
          usages: ['US911'],
        },
      }),
    );
    const created = await applied(
      call('POST', `${VOICE}/emergency-call-routing-policies`, {
        json: {
          identity: 'US-911',
          allowEnhancedEmergencyServices: true,
          emergencyNumbers: [
            { emergencyDialString: '911', emergencyDialMask: '933', onlinePstnUsage: 'US911' },
          ],
        },
      }),
    );
    expect(created.plan.commands[0]).toContain(
      "-EmergencyNumbers @(@{EmergencyDialString='911'; EmergencyDialMask='933'; OnlinePSTNUsage='US911'})",
    );
    expect(teams('TeamsEmergencyCallRoutingPolicy').find((p) => p.Identity === 'Tag:US-911')).toMatchObject({
      AllowEnhancedEmergencyServices: true,
      EmergencyNumbers: [{ EmergencyDialString: '911', EmergencyDialMask: '933', OnlinePSTNUsage: 'US911' }],
    });
    // The site names it; then neither the policy nor its usage can go.
    const site = await ok(call('GET', `${VOICE}/network-sites/Paris`));
    await applied(
      call('PUT', `${VOICE}/network-sites/Paris`, {
        json: {
          description: 'Paris HQ',
          networkRegionId: 'France',
          enableLocationBasedRouting: true,
          emergencyCallRoutingPolicy: 'US-911',
        },
        headers: { 'if-match': site.headers.get('etag') ?? '' },
      }),
    );
    const policyInUse = await ok(call('DELETE', `${VOICE}/emergency-call-routing-policies/US-911`), 409);
    expect((policyInUse.body as Problem).detail).toContain('network site "Paris"');
    const usageInUse = await ok(call('DELETE', `${VOICE}/pstn-usages/US911`), 409);
    expect((usageInUse.body as Problem).detail).toContain('emergency call routing policy "US-911"');

    const simulated = await ok(
      call('POST', `${VOICE}/simulate`, {
        json: { voiceRoutingPolicy: 'Global', emergencyCallRoutingPolicy: 'US-911', dialedNumber: '933' },
      }),
    );
    expect(simulated.body).toMatchObject({
      pendingChanges: 0,
      outcome: 'routed',
      emergency: { policy: 'Tag:US-911', dialString: '911', dialMask: '933', usage: 'US911' },
      routing: { attempts: [{ route: 'Emergency-911', gateways: [gateway] }] },
    });
  });
});
