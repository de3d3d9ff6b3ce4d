import { describe, expect, it } from 'vitest';
import type { MirrorVoiceObject } from '../../shared/replication/mirror-store.js';
import { renderPowerShell } from '../../shared/teams/powershell.js';
import {
  commandsOf,
  fieldChanges,
  stateOf,
  VoiceConfig,
  type VoiceObjectChange,
  type VoiceState,
} from '../../shared/voice/voice-change.js';
import { fieldErrorsOf, gatewayWarnings, referencesTo } from '../../shared/voice/voice-change-rules.js';
import type { DesiredVoiceObject } from '../../shared/voice/voice-change-store.js';
import { desiredDrift, restoreChanges } from '../../shared/voice/voice-desired.js';

/** A tenant as the mirror has it: a gateway a route lists, a spare one, and a network site. */
const MIRROR: MirrorVoiceObject[] = [
  { policyName: 'OnlinePstnUsages', identity: 'Global', data: { Identity: 'Global', Usage: ['UK'] } },
  {
    policyName: 'OnlinePSTNGateway',
    identity: 'sbc1.contoso.com',
    data: {
      Identity: 'sbc1.contoso.com',
      Fqdn: 'sbc1.contoso.com',
      SipSignalingPort: 5061,
      MaxConcurrentSessions: 100,
      Enabled: true,
      BypassMode: 'OnlyForLocalUsers',
      FailoverTimeSeconds: 10,
      FailoverResponseCodes: '408, 503, 504',
    },
  },
  {
    policyName: 'OnlinePSTNGateway',
    identity: 'sbc2.contoso.com',
    data: { Identity: 'sbc2.contoso.com', SipSignalingPort: 5061, Enabled: true },
  },
  {
    policyName: 'OnlineVoiceRoute',
    identity: 'UK',
    data: {
      Identity: 'UK',
      NumberPattern: '^\\+44(\\d{10})$',
      Priority: 1,
      OnlinePstnGatewayList: ['SBC1.contoso.com'],
      OnlinePstnUsages: ['UK'],
    },
  },
  {
    policyName: 'TenantNetworkSite',
    identity: 'London',
    data: { Identity: 'London', NetworkSiteID: 'London', NetworkRegionID: 'EMEA' },
  },
];
const config = new VoiceConfig(MIRROR);

/** The API's defaults (functions/voice-objects.ts), as a create body gives them. */
const DEFAULTS: VoiceState = {
  description: '',
  sipSignalingPort: 5061,
  maxConcurrentSessions: null,
  enabled: true,
  forwardCallHistory: false,
  forwardPai: false,
  sendSipOptions: true,
  mediaBypass: false,
  bypassMode: 'none',
  failoverTimeSeconds: 10,
  failoverResponseCodes: '408, 503, 504',
  gatewaySiteId: '',
  gatewaySiteLbrEnabled: false,
  gatewayLbrEnabledUserOverride: false,
  pidfLoSupported: false,
  mediaRelayRoutingLocationOverride: null,
  proxySbc: null,
};
const create = (identity: string, after: Partial<VoiceState> = {}): VoiceObjectChange => ({
  kind: 'pstn-gateways',
  identity,
  before: null,
  after: { ...DEFAULTS, ...after } as VoiceState,
});
const edit = (identity: string, after: Partial<VoiceState>): VoiceObjectChange => {
  const before = config.state('pstn-gateways', identity);
  return { kind: 'pstn-gateways', identity, before, after: { ...before, ...after } as VoiceState };
};
const errors = (change: VoiceObjectChange) => fieldErrorsOf(config, [change]).map((e) => [e.field, e.code]);

describe("a PSTN gateway's checks before queuing", () => {
  it.each([
    ['a valid gateway', create('sbc3.contoso.com'), []],
    ['a one-label name', create('sbc3'), [['identity', 'fqdn_invalid']]],
    ['a label ending in a hyphen', create('sbc3-.contoso.com'), [['identity', 'fqdn_invalid']]],
    ['an underscore', create('sbc_3.contoso.com'), [['identity', 'fqdn_invalid']]],
    ['a numeric top-level label', create('sbc3.contoso.123'), [['identity', 'fqdn_invalid']]],
    ['more than 63 characters', create(`${'a'.repeat(52)}.contoso.com`), [['identity', 'fqdn_invalid']]],
    ['exactly 63 characters', create(`${'a'.repeat(51)}.contoso.com`), []],
    ['an *.onmicrosoft.com name', create('sbc.contoso.onmicrosoft.com'), [['identity', 'fqdn_not_allowed']]],
    ['an FQDN taken (case-insensitive)', create('SBC2.Contoso.com'), [['identity', 'name_taken']]],
    ['port 0', create('sbc3.contoso.com', { sipSignalingPort: 0 }), [['sipSignalingPort', 'port_invalid']]],
    [
      'port 65536',
      create('sbc3.contoso.com', { sipSignalingPort: 65_536 }),
      [['sipSignalingPort', 'port_invalid']],
    ],
    ['port 65535', create('sbc3.contoso.com', { sipSignalingPort: 65_535 }), []],
    [
      'no sessions',
      create('sbc3.contoso.com', { maxConcurrentSessions: 0 }),
      [['maxConcurrentSessions', 'sessions_invalid']],
    ],
    [
      'a failover time of 0',
      create('sbc3.contoso.com', { failoverTimeSeconds: 0 }),
      [['failoverTimeSeconds', 'timeout_invalid']],
    ],
    [
      'a failover code that is no SIP error',
      create('sbc3.contoso.com', { failoverResponseCodes: '408, 200' }),
      [['failoverResponseCodes', 'sip_codes_invalid']],
    ],
    ['failover codes without spaces', create('sbc3.contoso.com', { failoverResponseCodes: '408,503' }), []],
    [
      'an unknown network site',
      create('sbc3.contoso.com', { gatewaySiteId: 'Paris' }),
      [['gatewaySiteId', 'site_unknown']],
    ],
    ['a mirrored network site', create('sbc3.contoso.com', { gatewaySiteId: 'london' }), []],
    [
      'LBR without a site',
      create('sbc3.contoso.com', { gatewaySiteLbrEnabled: true }),
      [['gatewaySiteId', 'site_required']],
    ],
    [
      'a proxy SBC that is no FQDN',
      create('sbc3.contoso.com', { proxySbc: 'proxy' }),
      [['proxySbc', 'fqdn_invalid']],
    ],
    ['an edit of an existing gateway', edit('sbc1.contoso.com', { maxConcurrentSessions: 200 }), []],
    [
      'an edit to a bad port',
      edit('sbc1.contoso.com', { sipSignalingPort: 70_000 }),
      [['sipSignalingPort', 'port_invalid']],
    ],
  ] as const)('%s', (_, change, expected) => {
    expect(errors(change)).toEqual(expected);
  });

  it('accepts a new gateway and a route through it in one change', () => {
    const route: VoiceObjectChange = {
      kind: 'voice-routes',
      identity: 'UK2',
      before: null,
      after: {
        description: '',
        numberPattern: '.*',
        priority: 7,
        gateways: ['sbc3.contoso.com'],
        usages: ['UK'],
      },
    };
    expect(fieldErrorsOf(config, [create('sbc3.contoso.com'), route])).toEqual([]);
    expect(fieldErrorsOf(config, [create('sbc3.contoso.com', { enabled: false }), route])).toMatchObject([
      { field: 'gateways.0', code: 'gateway_disabled' },
    ]);
  });

  it('names the routes that still list a gateway', () => {
    const removal = (identity: string): VoiceObjectChange => ({
      kind: 'pstn-gateways',
      identity,
      before: config.state('pstn-gateways', identity),
      after: null,
    });
    expect(referencesTo(config, removal('sbc1.contoso.com'))).toEqual(['voice route "UK"']);
    expect(referencesTo(config, removal('sbc2.contoso.com'))).toEqual([]);
  });

  it('warns when a gateway routes list is disabled, and only then', () => {
    expect(gatewayWarnings(config, edit('sbc1.contoso.com', { enabled: false }))).toEqual([
      'The PSTN gateway "sbc1.contoso.com" takes no new calls once disabled; voice route "UK" lists it, so their calls go to their other gateways, or fail if there is none.',
    ]);
    expect(gatewayWarnings(config, edit('sbc2.contoso.com', { enabled: false }))).toEqual([]);
    expect(gatewayWarnings(config, edit('sbc1.contoso.com', { maxConcurrentSessions: 5 }))).toEqual([]);
  });
});

describe("a PSTN gateway's state and commands", () => {
  const powershell = (change: VoiceObjectChange) => commandsOf(change).map(renderPowerShell);

  it("reads Teams' object under the API's names, BypassMode in kebab-case", () => {
    expect(stateOf('pstn-gateways', MIRROR[1]?.data ?? {})).toMatchObject({
      sipSignalingPort: 5061,
      maxConcurrentSessions: 100,
      enabled: true,
      bypassMode: 'only-for-local-users',
      // Not in the mirrored object: Teams' absent switch is off (New-CsOnlinePSTNGateway's default).
      forwardPai: false,
      gatewaySiteId: null,
    });
  });

  it('creates with every field, sets only what changes, and removes', () => {
    expect(powershell(create('sbc3.contoso.com', { bypassMode: 'always' }))[0]).toMatch(
      /^New-CsOnlinePSTNGateway -Identity 'sbc3\.contoso\.com' -Description '' -SipSignalingPort 5061 .*-BypassMode 'Always' /,
    );
    const change = edit('sbc1.contoso.com', { maxConcurrentSessions: 200, bypassMode: 'none' });
    expect(powershell(change)).toEqual([
      "Set-CsOnlinePSTNGateway -Identity 'sbc1.contoso.com' -MaxConcurrentSessions 200 -BypassMode 'None'",
    ]);
    expect(fieldChanges(change)).toEqual([
      { property: 'maxConcurrentSessions', oldValue: 100, newValue: 200 },
      { property: 'bypassMode', oldValue: 'only-for-local-users', newValue: 'none' },
    ]);
    expect(
      powershell({
        kind: 'pstn-gateways',
        identity: 'sbc2.contoso.com',
        before: config.state('pstn-gateways', 'sbc2.contoso.com'),
        after: null,
      }),
    ).toEqual(["Remove-CsOnlinePSTNGateway -Identity 'sbc2.contoso.com'"]);
  });
});

describe('restoring desired gateways', () => {
  it('brings a removed gateway back before the route that lists it, and removes it after the route', () => {
    const desired = (kind: DesiredVoiceObject['kind'], identity: string, state: VoiceState | null) => ({
      kind,
      identity,
      state,
      setBy: 'operator',
      setAt: '2026-01-01T00:00:00.000Z',
      entryId: null,
    });
    const route = {
      description: '',
      numberPattern: '.*',
      priority: 3,
      gateways: ['sbc9.contoso.com'],
      usages: ['UK'],
    };
    const back = [
      desired('voice-routes', 'UK9', route),
      desired('pstn-gateways', 'sbc9.contoso.com', DEFAULTS),
    ];
    expect(restoreChanges(config, desiredDrift(config, back), back).map((c) => c.kind)).toEqual([
      'pstn-gateways',
      'voice-routes',
    ]);
    const gone = [desired('pstn-gateways', 'sbc1.contoso.com', null), desired('voice-routes', 'UK', null)];
    expect(restoreChanges(config, desiredDrift(config, gone), gone).map((c) => c.kind)).toEqual([
      'voice-routes',
      'pstn-gateways',
    ]);
  });
});
