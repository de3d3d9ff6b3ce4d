import { describe, expect, it } from 'vitest';
import type { MirrorVoiceObject } from '../../shared/replication/mirror-store.js';
import { renderPowerShell } from '../../shared/teams/powershell.js';
import {
  commandsOf,
  fieldChanges,
  VoiceConfig,
  type VoiceObjectChange,
} from '../../shared/voice/voice-change.js';
import { fieldErrorsOf, referencesTo } from '../../shared/voice/voice-change-rules.js';

/** A tenant as the mirror has it: two usages, two gateways (one disabled), a route and a policy. */
const MIRROR: MirrorVoiceObject[] = [
  { policyName: 'OnlinePstnUsages', identity: 'Global', data: { Identity: 'Global', Usage: ['UK', 'US'] } },
  {
    policyName: 'OnlinePSTNGateway',
    identity: 'sbc1.example.com',
    data: { Identity: 'sbc1.example.com', Enabled: true },
  },
  {
    policyName: 'OnlinePSTNGateway',
    identity: 'sbc2.example.com',
    data: { Identity: 'sbc2.example.com', Enabled: false },
  },
  {
    policyName: 'OnlineVoiceRoute',
    identity: 'UK',
    data: {
      Identity: 'UK',
      NumberPattern: '^\\+44(\\d{10})$',
      Priority: 1,
      OnlinePstnGatewayList: ['sbc1.example.com'],
      OnlinePstnUsages: ['UK'],
    },
  },
  {
    policyName: 'OnlineVoiceRoutingPolicy',
    identity: 'Tag:London',
    data: { Identity: 'Tag:London', OnlinePstnUsages: ['UK', 'US'] },
  },
];
const config = new VoiceConfig(MIRROR);

const route = (identity: string, after: Partial<Record<string, unknown>>): VoiceObjectChange => ({
  kind: 'voice-routes',
  identity,
  before: config.state('voice-routes', identity),
  after: {
    description: '',
    numberPattern: '.*',
    priority: 5,
    gateways: ['sbc1.example.com'],
    usages: ['US'],
    ...(after as Record<string, string>),
  },
});
const errors = (change: VoiceObjectChange) => fieldErrorsOf(config, [change]).map((e) => [e.field, e.code]);

describe('the checks Teams would make, before queuing', () => {
  it.each([
    ['a valid route', route('New', {}), []],
    [
      'an unbalanced group',
      route('New', { numberPattern: '^(\\+1[0-9]{10}$' }),
      [['numberPattern', 'pattern_invalid']],
    ],
    ['a pattern .NET takes that the simulator cannot run', route('New', { numberPattern: '(?>\\d+)' }), []],
    [
      'an unknown gateway',
      route('New', { gateways: ['sbc9.example.com'] }),
      [['gateways.0', 'gateway_unknown']],
    ],
    [
      'a disabled gateway',
      route('New', { gateways: ['sbc2.example.com'] }),
      [['gateways.0', 'gateway_disabled']],
    ],
    ['an unknown usage', route('New', { usages: ['US', 'Mars'] }), [['usages.1', 'usage_unknown']]],
    ['a usage twice', route('New', { usages: ['US', 'us'] }), [['usages.1', 'duplicate']]],
    [
      "another route's priority in a shared usage",
      route('New', { usages: ['UK'], priority: 1 }),
      [['priority', 'priority_taken']],
    ],
    ["another route's priority in another usage", route('New', { usages: ['US'], priority: 1 }), []],
    ['its own priority, unchanged', route('UK', { usages: ['UK'], priority: 1 }), []],
    [
      'a name taken (case-insensitive)',
      { ...route('uk', { usages: ['UK'], priority: 2 }), before: null },
      [['identity', 'name_taken']],
    ],
  ] as const)('%s', (_, change, expected) => {
    expect(errors(change)).toEqual(expected);
  });

  it('names the routes and policies that still use a usage', () => {
    expect(referencesTo(config, { kind: 'pstn-usages', identity: 'uk', before: {}, after: null })).toEqual([
      'voice routing policy "London"',
      'voice route "UK"',
    ]);
    expect(referencesTo(config, { kind: 'pstn-usages', identity: 'EU', before: {}, after: null })).toEqual(
      [],
    );
  });
});

describe('the Teams commands of a change', () => {
  const powershell = (change: VoiceObjectChange) => commandsOf(change).map(renderPowerShell);

  it('adds and removes a usage on the Global list', () => {
    expect(powershell({ kind: 'pstn-usages', identity: 'EU', before: null, after: {} })).toEqual([
      "Set-CsOnlinePstnUsage -Identity 'Global' -Usage @{Add='EU'}",
    ]);
    expect(powershell({ kind: 'pstn-usages', identity: 'EU', before: {}, after: null })).toEqual([
      "Set-CsOnlinePstnUsage -Identity 'Global' -Usage @{Remove='EU'}",
    ]);
  });

  it('sets only what changes, and nothing when nothing does', () => {
    const before = config.state('voice-routes', 'UK');
    const change = route('UK', { numberPattern: '^\\+44(\\d{9,10})$', priority: 1, usages: ['UK'] });
    expect(powershell(change)).toEqual([
      "Set-CsOnlineVoiceRoute -Identity 'UK' -NumberPattern '^\\+44(\\d{9,10})$'",
    ]);
    expect(fieldChanges(change)).toEqual([
      { property: 'numberPattern', oldValue: before?.numberPattern, newValue: '^\\+44(\\d{9,10})$' },
    ]);
    expect(powershell({ ...change, after: before })).toEqual([]);
  });

  it("treats a policy's usages as ordered and a route's gateways as a set", () => {
    const policy = config.state('voice-routing-policies', 'London');
    expect(
      powershell({
        kind: 'voice-routing-policies',
        identity: 'London',
        before: policy,
        after: { ...policy, usages: ['US', 'UK'] },
      }),
    ).toEqual(["Set-CsOnlineVoiceRoutingPolicy -Identity 'London' -OnlinePstnUsages 'US','UK'"]);
    const uk = config.state('voice-routes', 'UK');
    const gateways = { ...uk, gateways: ['SBC1.example.com'] };
    expect(fieldChanges({ kind: 'voice-routes', identity: 'UK', before: uk, after: gateways })).toEqual([]);
  });

  it('empties a route of its gateways before removing it', () => {
    expect(
      powershell({
        kind: 'voice-routes',
        identity: 'UK',
        before: config.state('voice-routes', 'UK'),
        after: null,
      }),
    ).toEqual([
      "Set-CsOnlineVoiceRoute -Identity 'UK' -OnlinePstnGatewayList @()",
      "Remove-CsOnlineVoiceRoute -Identity 'UK'",
    ]);
  });
});
