import { beforeEach, describe, expect, it } from 'vitest';
import { TeamsAdminState, TeamsAdminStateError } from '../../dev/sandbox/teams-state.js';

/**
 * The sandbox's Teams admin API refuses in location-based routing and emergency policies what the service does
 * (sources in dev/sandbox/teams-state.ts), so that a change that passed the product's checks but raced another one
 * fails its task with Teams' reason.
 */
const TENANT = '11111111-1111-4111-8111-111111111111';
let teams: TeamsAdminState;

const refused = (action: () => unknown): string => {
  try {
    action();
  } catch (error) {
    if (error instanceof TeamsAdminStateError) return `${error.status} ${error.message}`;
    throw error;
  }
  throw new Error('not refused');
};

beforeEach(() => {
  teams = new TeamsAdminState();
  teams.update(TENANT, 'OnlinePstnUsages', 'Global', { Usage: ['US911'] });
  teams.create(TENANT, 'TenantNetworkRegion', { Identity: 'EMEA' });
  teams.create(TENANT, 'TeamsEmergencyCallRoutingPolicy', {
    Identity: 'US-911',
    EmergencyNumbers: [{ EmergencyDialString: '911', EmergencyDialMask: '933', OnlinePSTNUsage: 'US911' }],
  });
  teams.create(TENANT, 'TenantNetworkSite', {
    Identity: 'London',
    NetworkRegionID: 'EMEA',
    EmergencyCallRoutingPolicy: 'US-911',
  });
});

describe('the sandbox: location-based routing as Teams checks it', () => {
  it('refuses a site naming an unknown emergency policy, and a subnet or trusted IP that is no address', () => {
    expect(
      refused(() =>
        teams.create(TENANT, 'TenantNetworkSite', {
          Identity: 'Paris',
          NetworkRegionID: 'EMEA',
          EmergencyCallingPolicy: 'Nobody',
        }),
      ),
    ).toBe("400 The emergency calling policy 'Nobody' does not exist.");
    expect(
      refused(() =>
        teams.create(TENANT, 'TenantNetworkSubnet', {
          Identity: '10.0.0',
          MaskBits: 8,
          NetworkSiteID: 'London',
        }),
      ),
    ).toBe("400 The SubnetID '10.0.0' is not a valid IP address.");
    expect(
      refused(() =>
        teams.create(TENANT, 'TenantNetworkSubnet', {
          Identity: '10.0.0.0',
          MaskBits: 33,
          NetworkSiteID: 'London',
        }),
      ),
    ).toBe('400 MaskBits 33 is out of range for IPv4: from 0 to 32 inclusive.');
    expect(
      refused(() =>
        teams.create(TENANT, 'TenantTrustedIPAddress', { Identity: '2001:db8::1', MaskBits: 129 }),
      ),
    ).toBe('400 MaskBits 129 is out of range for IPv6: from 0 to 128 inclusive.');
    expect(
      teams.create(TENANT, 'TenantTrustedIPAddress', { Identity: '2001:db8::1', MaskBits: 128 }),
    ).toMatchObject({
      IPAddress: '2001:db8::1',
    });
  });

  it('refuses an emergency number of an unknown usage or with a bad dial mask, and a bad notification mode', () => {
    const policy = (number: Record<string, string>) => () =>
      teams.create(TENANT, 'TeamsEmergencyCallRoutingPolicy', {
        Identity: 'EU-112',
        EmergencyNumbers: [number],
      });
    expect(refused(policy({ EmergencyDialString: '112', OnlinePSTNUsage: 'EU112' }))).toBe(
      "400 The PSTN usage 'EU112' is not in the tenant's Global PSTN usage list.",
    );
    expect(
      refused(policy({ EmergencyDialString: '112', EmergencyDialMask: '9a', OnlinePSTNUsage: 'US911' })),
    ).toMatch(/^400 The EmergencyDialMask '9a' is not a list of numbers/);
    expect(
      refused(() =>
        teams.create(TENANT, 'TeamsEmergencyCallingPolicy', { Identity: 'Desk', NotificationMode: 'Loud' }),
      ),
    ).toMatch(/^400 Cannot convert value 'Loud' of NotificationMode/);
  });

  it('refuses to remove what a site or an emergency number still names', () => {
    expect(refused(() => teams.delete(TENANT, 'TenantNetworkRegion', 'EMEA'))).toBe(
      "400 Cannot remove TenantNetworkRegion 'EMEA': it is used by TenantNetworkSite 'London'.",
    );
    expect(refused(() => teams.delete(TENANT, 'TeamsEmergencyCallRoutingPolicy', 'US-911'))).toBe(
      "400 Cannot remove TeamsEmergencyCallRoutingPolicy 'Tag:US-911': it is used by TenantNetworkSite 'London'.",
    );
    expect(refused(() => teams.update(TENANT, 'OnlinePstnUsages', 'Global', { Usage: [] }))).toBe(
      "400 Cannot remove the PSTN usage 'US911': TeamsEmergencyCallRoutingPolicy 'Tag:US-911' uses it.",
    );
  });
});
