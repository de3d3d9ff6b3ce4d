import { describe, expect, it } from 'vitest';
import type { MirrorVoiceObject } from '../../shared/replication/mirror-store.js';
import { renderPowerShell } from '../../shared/teams/powershell.js';
import { parseIp } from '../../shared/voice/location-rules.js';
import {
  commandsOf,
  fieldChanges,
  stateOf,
  VoiceConfig,
  type VoiceKind,
  type VoiceObjectChange,
  type VoiceState,
} from '../../shared/voice/voice-change.js';
import { fieldErrorsOf, referencesTo } from '../../shared/voice/voice-change-rules.js';

/**
 * A tenant's location-based routing topology as the mirror has it: region EMEA with site London (subnet
 * 10.1.0.0/16, an emergency call routing policy), a PSTN gateway at site Paris, a trusted IP, and the emergency
 * policies.
 */
const MIRROR: MirrorVoiceObject[] = [
  {
    policyName: 'OnlinePstnUsages',
    identity: 'Global',
    data: { Identity: 'Global', Usage: ['UK', 'US911'] },
  },
  {
    policyName: 'TenantNetworkRegion',
    identity: 'EMEA',
    data: { Identity: 'EMEA', NetworkRegionID: 'EMEA' },
  },
  {
    policyName: 'TenantNetworkSite',
    identity: 'London',
    data: {
      Identity: 'London',
      NetworkRegionID: 'EMEA',
      EnableLocationBasedRouting: true,
      EmergencyCallingPolicy: 'NotifySecurity',
      EmergencyCallRoutingPolicy: 'Tag:US-911',
    },
  },
  {
    policyName: 'TenantNetworkSite',
    identity: 'Paris',
    data: { Identity: 'Paris', NetworkRegionID: 'EMEA', EnableLocationBasedRouting: false },
  },
  {
    policyName: 'TenantNetworkSubnet',
    identity: '10.1.0.0',
    data: { Identity: '10.1.0.0', MaskBits: 16, NetworkSiteID: 'London' },
  },
  {
    policyName: 'TenantTrustedIPAddress',
    identity: '203.0.113.10',
    data: { Identity: '203.0.113.10', MaskBits: 32 },
  },
  {
    policyName: 'OnlinePSTNGateway',
    identity: 'sbc-paris.example.com',
    data: { Identity: 'sbc-paris.example.com', Enabled: true, GatewaySiteId: 'Paris' },
  },
  {
    policyName: 'TeamsEmergencyCallingPolicy',
    identity: 'Tag:NotifySecurity',
    data: { Identity: 'Tag:NotifySecurity', NotificationMode: 'ConferenceUnMuted' },
  },
  {
    policyName: 'TeamsEmergencyCallRoutingPolicy',
    identity: 'Tag:US-911',
    data: {
      Identity: 'Tag:US-911',
      AllowEnhancedEmergencyServices: true,
      EmergencyNumbers: [{ EmergencyDialString: '911', EmergencyDialMask: '933', OnlinePSTNUsage: 'US911' }],
    },
  },
];
const config = new VoiceConfig(MIRROR);

const create = (kind: VoiceKind, identity: string, after: VoiceState): VoiceObjectChange => ({
  kind,
  identity,
  before: null,
  after,
});
const site = (after: Partial<VoiceState>): VoiceState => ({
  description: '',
  networkRegionId: 'EMEA',
  enableLocationBasedRouting: true,
  networkRoamingPolicy: null,
  emergencyCallingPolicy: null,
  emergencyCallRoutingPolicy: null,
  ...after,
});
const subnet = (maskBits: number, networkSiteId = 'Paris'): VoiceState => ({
  description: '',
  maskBits,
  networkSiteId,
});
const errors = (...changes: VoiceObjectChange[]) =>
  fieldErrorsOf(config, changes).map((e) => [e.field, e.code]);

describe('location-based routing: what Teams would refuse, before queuing', () => {
  it.each([
    ['a site in a known region, with the Global policies', create('network-sites', 'Berlin', site({})), []],
    [
      'a site in an unknown region',
      create('network-sites', 'Berlin', site({ networkRegionId: 'APAC' })),
      [['networkRegionId', 'region_unknown']],
    ],
    [
      'a site naming unknown emergency policies',
      create(
        'network-sites',
        'Berlin',
        site({ emergencyCallingPolicy: 'Nobody', emergencyCallRoutingPolicy: 'Tag:Nowhere' }),
      ),
      [
        ['emergencyCallingPolicy', 'policy_unknown'],
        ['emergencyCallRoutingPolicy', 'policy_unknown'],
      ],
    ],
    [
      'a site naming existing emergency policies (with or without Tag:)',
      create(
        'network-sites',
        'Berlin',
        site({ emergencyCallingPolicy: 'notifysecurity', emergencyCallRoutingPolicy: 'Tag:US-911' }),
      ),
      [],
    ],
    ['a subnet of a known site', create('network-subnets', '10.2.0.0', subnet(16)), []],
    ['an IPv6 subnet', create('network-subnets', '2001:db8:1::', subnet(48)), []],
    [
      'a subnet of an unknown site',
      create('network-subnets', '10.2.0.0', subnet(16, 'Rome')),
      [['networkSiteId', 'site_unknown']],
    ],
    [
      'a subnet that is no address',
      create('network-subnets', '10.2.0', subnet(16)),
      [['identity', 'ip_invalid']],
    ],
    [
      'an IPv4 subnet with more than 32 mask bits',
      create('network-subnets', '10.2.0.0', subnet(33)),
      [['maskBits', 'mask_out_of_range']],
    ],
    [
      'a subnet address with host bits set',
      create('network-subnets', '10.2.0.1', subnet(16)),
      [['identity', 'subnet_not_network']],
    ],
    [
      "a subnet inside another site's subnet",
      create('network-subnets', '10.1.2.0', subnet(24, 'Paris')),
      [['identity', 'subnet_overlaps']],
    ],
    [
      "a subnet inside its own site's subnet",
      create('network-subnets', '10.1.2.0', subnet(24, 'London')),
      [],
    ],
    ['a subnet taken', create('network-subnets', '10.1.0.0', subnet(16)), [['identity', 'name_taken']]],
    [
      'a trusted IP with IPv6 mask bits',
      create('trusted-ips', '203.0.113.20', { description: '', maskBits: 64 }),
      [['maskBits', 'mask_out_of_range']],
    ],
    [
      'a trusted IP that is no address',
      create('trusted-ips', 'office.example.com', { description: '', maskBits: 32 }),
      [['identity', 'ip_invalid']],
    ],
    ['a trusted IPv6 address', create('trusted-ips', '2001:db8::10', { description: '', maskBits: 128 }), []],
    [
      'an emergency number routed by an unknown usage, and a dial string twice',
      create('emergency-call-routing-policies', 'EU-112', {
        description: '',
        allowEnhancedEmergencyServices: false,
        emergencyNumbers: [
          { emergencyDialString: '112', emergencyDialMask: '', onlinePstnUsage: 'EU112' },
          { emergencyDialString: '112', emergencyDialMask: '999', onlinePstnUsage: 'UK' },
        ],
      }),
      [
        ['emergencyNumbers.0.onlinePstnUsage', 'usage_unknown'],
        ['emergencyNumbers.1.emergencyDialString', 'duplicate'],
      ],
    ],
    [
      'a new Global emergency calling policy',
      create('emergency-calling-policies', 'Global', { description: '' }),
      [['identity', 'name_taken']],
    ],
  ] as const)('%s', (_, change, expected) => {
    expect(errors(change)).toEqual(expected);
  });

  it('finds a region, site and policy created in the same change', () => {
    expect(
      errors(
        create('network-regions', 'APAC', { description: '', centralSite: null }),
        create('network-sites', 'Tokyo', site({ networkRegionId: 'APAC' })),
        create('network-subnets', '10.9.0.0', subnet(16, 'Tokyo')),
      ),
    ).toEqual([]);
  });

  it('reads IPv4 and IPv6 addresses as Teams does, and refuses the rest', () => {
    expect(parseIp('192.168.1.0')).toEqual({ family: 4, value: 0xc0a80100n });
    expect(parseIp('::ffff:192.168.1.0')).toEqual({ family: 6, value: 0xffffc0a80100n });
    expect(parseIp('2001:db8::1')?.value).toBe(0x20010db8000000000000000000000001n);
    for (const bad of [
      '256.1.1.1',
      '1.2.3',
      '010.1.1.1',
      '2001:db8::1::2',
      '1:2:3:4:5:6:7:8:9',
      'fe80::1%eth0',
    ]) {
      expect(parseIp(bad), bad).toBeNull();
    }
  });
});

describe('location-based routing: references that keep an object', () => {
  const removal = (kind: VoiceKind, identity: string): VoiceObjectChange => ({
    kind,
    identity,
    before: {},
    after: null,
  });

  it.each([
    [
      'a region a site is in',
      removal('network-regions', 'emea'),
      ['network site "London"', 'network site "Paris"'],
    ],
    [
      'a site with a subnet or a gateway',
      removal('network-sites', 'Paris'),
      ['PSTN gateway "sbc-paris.example.com"'],
    ],
    ['a site with a subnet', removal('network-sites', 'London'), ['network subnet "10.1.0.0"']],
    [
      'an emergency calling policy a site names',
      removal('emergency-calling-policies', 'NotifySecurity'),
      ['network site "London"'],
    ],
    [
      'an emergency call routing policy a site names',
      removal('emergency-call-routing-policies', 'US-911'),
      ['network site "London"'],
    ],
    [
      'a usage an emergency number is routed by',
      removal('pstn-usages', 'us911'),
      ['emergency call routing policy "US-911"'],
    ],
    ['a trusted IP (nothing names it)', removal('trusted-ips', '203.0.113.10'), []],
  ] as const)('%s', (_, change, expected) => {
    expect(referencesTo(config, change)).toEqual(expected);
  });
});

describe('location-based routing: the Teams commands of a change', () => {
  const powershell = (change: VoiceObjectChange) => commandsOf(change).map(renderPowerShell);

  it('names a new network object by its own ID, an existing one by -Identity', () => {
    expect(powershell(create('network-subnets', '10.2.0.0', subnet(16)))).toEqual([
      "New-CsTenantNetworkSubnet -SubnetID '10.2.0.0' -Description '' -MaskBits 16 -NetworkSiteID 'Paris'",
    ]);
    const before = config.state('network-subnets', '10.1.0.0');
    expect(before).toEqual({ description: null, maskBits: 16, networkSiteId: 'London' });
    expect(
      powershell({
        kind: 'network-subnets',
        identity: '10.1.0.0',
        before,
        after: { ...before, maskBits: 17 },
      }),
    ).toEqual(["Set-CsTenantNetworkSubnet -Identity '10.1.0.0' -MaskBits 17"]);
  });

  it("writes a site's booleans and an emergency policy's enumerations and numbers as Teams takes them", () => {
    const london = config.state('network-sites', 'London');
    expect(london).toMatchObject({ enableLocationBasedRouting: true, networkRoamingPolicy: null });
    expect(
      powershell({
        kind: 'network-sites',
        identity: 'London',
        before: london,
        after: { ...london, enableLocationBasedRouting: false },
      }),
    ).toEqual(["Set-CsTenantNetworkSite -Identity 'London' -EnableLocationBasedRouting $false"]);

    expect(config.state('emergency-calling-policies', 'NotifySecurity')).toMatchObject({
      notificationMode: 'conference-unmuted',
    });
    expect(
      powershell(
        create('emergency-calling-policies', 'Desk', {
          description: '',
          notificationGroup: 'desk@contoso.com',
          notificationMode: 'conference-muted',
          notificationDialOutNumber: null,
          externalLocationLookupMode: 'enabled',
        }),
      ),
    ).toEqual([
      "New-CsTeamsEmergencyCallingPolicy -Identity 'Desk' -Description '' -NotificationGroup 'desk@contoso.com' -NotificationMode 'ConferenceMuted' -NotificationDialOutNumber $null -ExternalLocationLookupMode 'Enabled'",
    ]);

    const policy = config.state('emergency-call-routing-policies', 'US-911');
    expect(policy?.emergencyNumbers).toEqual([
      { emergencyDialString: '911', emergencyDialMask: '933', onlinePstnUsage: 'US911' },
    ]);
    const after = {
      ...policy,
      emergencyNumbers: [
        { emergencyDialString: '911', emergencyDialMask: '933;912', onlinePstnUsage: 'US911' },
      ],
    };
    const change: VoiceObjectChange = {
      kind: 'emergency-call-routing-policies',
      identity: 'US-911',
      before: policy,
      after,
    };
    expect(powershell(change)).toEqual([
      "Set-CsTeamsEmergencyCallRoutingPolicy -Identity 'US-911' -EmergencyNumbers @(@{EmergencyDialString='911'; EmergencyDialMask='933;912'; OnlinePSTNUsage='US911'})",
    ]);
    expect(fieldChanges(change).map((f) => f.property)).toEqual(['emergencyNumbers']);
    expect(powershell({ ...change, after: policy })).toEqual([]);
    // What the mirror holds after the change reads back as the state sent.
    expect(
      stateOf(
        'emergency-call-routing-policies',
        config.with([change]).find(change.kind, 'US-911')?.data ?? {},
      ),
    ).toEqual(after);
  });
});
