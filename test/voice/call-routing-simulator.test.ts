import { describe, expect, it } from 'vitest';
import type { MirrorVoiceObject } from '../../shared/replication/mirror-store.js';
import {
  type SimulationOutcome,
  simulateCall,
  withPending,
} from '../../shared/voice/call-routing-simulator.js';

/**
 * The simulator against Microsoft's documented examples: the routes, usages and policies of "Configure call routing
 * for Direct Routing" (Redmond 1 / Redmond 2 / Other +1 / International, policies "US Only" and "No Restrictions")
 * and the normalization rules of "What are dial plans?" (4digitExtension … NoTranslation, with their examples).
 */

const gateway = (identity: string, enabled = true): MirrorVoiceObject => ({
  policyName: 'OnlinePSTNGateway',
  identity,
  data: { Fqdn: identity, Enabled: enabled },
});
const voiceRoute = (
  identity: string,
  NumberPattern: string,
  Priority: number,
  OnlinePstnGatewayList: string[],
  OnlinePstnUsages: string[],
): MirrorVoiceObject => ({
  policyName: 'OnlineVoiceRoute',
  identity,
  data: { NumberPattern, Priority, OnlinePstnGatewayList, OnlinePstnUsages },
});
const policy = (identity: string, OnlinePstnUsages: string[]): MirrorVoiceObject => ({
  policyName: 'OnlineVoiceRoutingPolicy',
  identity,
  data: { OnlinePstnUsages, RouteType: 'BYOT' },
});
const rule = (Name: string, Pattern: string, Translation: string, IsInternalExtension = false) => ({
  Name,
  Pattern,
  Translation,
  IsInternalExtension,
});
const dialPlan = (identity: string, NormalizationRules: ReturnType<typeof rule>[]): MirrorVoiceObject => ({
  policyName: 'TenantDialPlan',
  identity,
  data: { NormalizationRules },
});

const REDMOND = '^\\+1(425|206)(\\d{7})$';
const OBJECTS: MirrorVoiceObject[] = [
  ...['sbc1', 'sbc2', 'sbc3', 'sbc4', 'sbc5', 'sbc6'].map((s) => gateway(`${s}.contoso.com`)),
  gateway('sbc7.contoso.com', false),
  {
    policyName: 'OnlinePstnUsages',
    identity: 'Global',
    data: { Usage: ['US and Canada', 'International', 'Emergency', 'UK'] },
  },
  // Listed out of priority order on purpose: the simulator sorts by Priority.
  voiceRoute('Redmond 2', REDMOND, 2, ['sbc3.contoso.com', 'sbc4.contoso.com'], ['US and Canada']),
  voiceRoute('Redmond 1', REDMOND, 1, ['sbc1.contoso.com', 'sbc2.contoso.com'], ['US and Canada']),
  voiceRoute('Other +1', '^\\+1(\\d{10})$', 3, ['sbc5.contoso.com', 'sbc6.contoso.com'], ['US and Canada']),
  voiceRoute('International', '\\d+', 4, ['sbc2.contoso.com', 'sbc5.contoso.com'], ['International']),
  voiceRoute('Emergency', '^\\+?911$', 5, ['sbc7.contoso.com', 'sbc1.contoso.com'], ['Emergency']),
  voiceRoute('UK', '^\\+44(\\d+)$', 6, ['sbc7.contoso.com'], ['UK']),
  voiceRoute('UK mobile', '^\\+447(\\d+)$', 7, ['sbc9.contoso.com', 'sbc6.contoso.com'], ['UK']),
  policy('Global', ['US and Canada']),
  policy('Tag:US Only', ['US and Canada']),
  policy('Tag:No Restrictions', ['US and Canada', 'International']),
  policy('Tag:Intl First', ['International', 'US and Canada']),
  policy('Tag:UK', ['UK']),
  policy('Tag:Nothing', []),
  dialPlan('Global', [
    rule('4digitExtension', '^(\\d{4})$', '+1425555$1', true),
    rule('7digitcallingRedmond', '^(\\d{7})$', '+1425$1'),
  ]),
  dialPlan('Tag:Redmond', [
    rule('5digitExtension', '^5(\\d{4})$', '+1425555$1', true),
    rule('7digitcallingRedmond', '^(\\d{7})$', '+1425$1'),
    rule('RedmondSitePrefix', '^6222(\\d{4})$', '+1425555$1', true),
    rule('RedmondOperator', '^0$', '+14255550100'),
    rule('5digitRange', '^([3-7]\\d{4})$', '+142555$1', true),
    rule('PrefixAdded', '^([2-9]\\d\\d[2-9]\\d{6})$', '1$1'),
    rule('NoTranslation', '^(\\d{5})$', '$1'),
  ]),
  dialPlan('Tag:Order', [rule('First', '^(\\d{4})$', '+1111$1'), rule('Second', '^(\\d{4})$', '+2222$1')]),
  dialPlan('Tag:Intl', [rule('Intl', '^00(\\d+)$', '+$1'), rule('National', '^0(\\d{10})$', '+44$1')]),
  dialPlan('Tag:Named', [rule('Named', '^9(?<area>\\d{3})(?<local>\\d{7})$', '+1${area}${local}')]),
  dialPlan('Tag:Unsupported', [rule('Atomic', '^(?>\\d+)$', '+$0'), rule('Any', '^(\\d+)$', '+$1')]),
  {
    policyName: 'TeamsEmergencyCallRoutingPolicy',
    identity: 'Global',
    data: {
      EmergencyNumbers: [
        { EmergencyDialString: '911', EmergencyDialMask: '112;999', OnlinePSTNUsage: 'Emergency' },
      ],
    },
  },
];

interface Case {
  readonly name: string;
  readonly dialed: string;
  readonly dialPlan?: string | null;
  readonly policy?: string | null;
  readonly emergencyPolicy?: string | null;
  readonly objects?: MirrorVoiceObject[];
  readonly rule: string | null;
  readonly normalized: string;
  readonly internal?: boolean;
  readonly usage: string | null;
  /** Routes in the order tried, each with its enabled gateways. */
  readonly attempts: [string, ...string[]][];
  readonly outcome: SimulationOutcome;
  readonly warning?: RegExp;
}

const R1: [string, ...string[]] = ['Redmond 1', 'sbc1.contoso.com', 'sbc2.contoso.com'];
const R2: [string, ...string[]] = ['Redmond 2', 'sbc3.contoso.com', 'sbc4.contoso.com'];
const OTHER: [string, ...string[]] = ['Other +1', 'sbc5.contoso.com', 'sbc6.contoso.com'];
const INTL: [string, ...string[]] = ['International', 'sbc2.contoso.com', 'sbc5.contoso.com'];
const withoutEmergencyPolicy = OBJECTS.filter((o) => o.policyName !== 'TeamsEmergencyCallRoutingPolicy');

// A table: one case a line reads better than prettier's one property a line.
// prettier-ignore
const CASES: Case[] = [
  // Normalization: the examples of "What are dial plans?"
  { name: '5-digit extension (doc: 50100 → +14255550100)', dialed: '50100', dialPlan: 'Redmond', policy: 'US Only', rule: '5digitExtension', normalized: '+14255550100', internal: true, usage: 'US and Canada', attempts: [R1, R2, OTHER], outcome: 'routed' },
  { name: '7-digit local (doc: 5550100 → +14255550100)', dialed: '5550100', dialPlan: 'Redmond', policy: 'US Only', rule: '7digitcallingRedmond', normalized: '+14255550100', usage: 'US and Canada', attempts: [R1, R2, OTHER], outcome: 'routed' },
  { name: 'site prefix (doc: 62220100 → +14255550100)', dialed: '62220100', dialPlan: 'Redmond', policy: 'US Only', rule: 'RedmondSitePrefix', normalized: '+14255550100', internal: true, usage: 'US and Canada', attempts: [R1, R2, OTHER], outcome: 'routed' },
  { name: 'operator (doc: 0 → +14255550100)', dialed: '0', dialPlan: 'Redmond', policy: 'US Only', rule: 'RedmondOperator', normalized: '+14255550100', usage: 'US and Canada', attempts: [R1, R2, OTHER], outcome: 'routed' },
  { name: '5-digit range (doc: 54567 → +14255554567), first match wins over later rules', dialed: '44567', dialPlan: 'Redmond', policy: 'US Only', rule: '5digitRange', normalized: '+14255544567', internal: true, usage: 'US and Canada', attempts: [R1, R2, OTHER], outcome: 'routed' },
  { name: 'prefix added (doc: 4255554567 → 14255554567), not E.164: no US route', dialed: '4255554567', dialPlan: 'Redmond', policy: 'US Only', rule: 'PrefixAdded', normalized: '14255554567', usage: null, attempts: [], outcome: 'no-route' },
  { name: 'prefix added, the International usage catches it', dialed: '4255554567', dialPlan: 'Redmond', policy: 'No Restrictions', rule: 'PrefixAdded', normalized: '14255554567', usage: 'International', attempts: [INTL], outcome: 'routed' },
  { name: 'no translation (doc: 34567 → 34567) after an earlier rule did not match', dialed: '84567', dialPlan: 'Redmond', policy: 'No Restrictions', rule: 'NoTranslation', normalized: '84567', usage: 'International', attempts: [INTL], outcome: 'routed' },
  { name: 'rule order: the first of two matching rules wins', dialed: '1234', dialPlan: 'Order', policy: 'No Restrictions', rule: 'First', normalized: '+11111234', usage: 'International', attempts: [INTL], outcome: 'routed' },
  { name: 'named groups in pattern and translation', dialed: '92065550123', dialPlan: 'Named', policy: 'US Only', rule: 'Named', normalized: '+12065550123', usage: 'US and Canada', attempts: [R1, R2, OTHER], outcome: 'routed' },
  { name: 'international prefix 00 → +', dialed: '00442079460000', dialPlan: 'Intl', policy: 'No Restrictions', rule: 'Intl', normalized: '+442079460000', usage: 'International', attempts: [INTL], outcome: 'routed' },
  { name: 'national 0 → +44', dialed: '02079460000', dialPlan: 'Intl', policy: 'UK', rule: 'National', normalized: '+442079460000', usage: 'UK', attempts: [['UK']], outcome: 'no-gateway' },
  // Global fallback and the dial plan in force
  { name: 'no dial plan assigned: the tenant Global plan applies', dialed: '0100', dialPlan: null, policy: 'US Only', rule: '4digitExtension', normalized: '+14255550100', internal: true, usage: 'US and Canada', attempts: [R1, R2, OTHER], outcome: 'routed' },
  { name: '"Global" assigned is the tenant Global plan', dialed: '5550100', dialPlan: 'Global', policy: 'US Only', rule: '7digitcallingRedmond', normalized: '+14255550100', usage: 'US and Canada', attempts: [R1, R2, OTHER], outcome: 'routed' },
  { name: 'a user plan replaces the tenant Global plan (its 4-digit rule is not applied)', dialed: '0100', dialPlan: 'Redmond', policy: 'US Only', rule: null, normalized: '0100', usage: null, attempts: [], outcome: 'no-route' },
  { name: 'a dial plan that does not exist: dialed as is, with a warning', dialed: '0100', dialPlan: 'Nowhere', policy: 'US Only', rule: null, normalized: '0100', usage: null, attempts: [], outcome: 'no-route', warning: /dial plan "Nowhere" does not exist/ },
  { name: 'a rule that cannot be evaluated is skipped with a warning', dialed: '2065550123', dialPlan: 'Unsupported', policy: 'No Restrictions', rule: 'Any', normalized: '+2065550123', usage: 'International', attempts: [INTL], outcome: 'routed', warning: /Rule "Atomic".*could not be evaluated/ },
  // National and international E.164 numbers
  { name: 'national Redmond number: active route, backup route, then Other +1 (its pattern matches too)', dialed: '+14255551234', dialPlan: 'Redmond', policy: 'US Only', rule: null, normalized: '+14255551234', usage: 'US and Canada', attempts: [R1, R2, OTHER], outcome: 'routed' },
  { name: 'national 206 number', dialed: '+12065551234', policy: 'US Only', rule: null, normalized: '+12065551234', usage: 'US and Canada', attempts: [R1, R2, OTHER], outcome: 'routed' },
  { name: 'other US number: the Other +1 route only', dialed: '+13125551234', policy: 'US Only', rule: null, normalized: '+13125551234', usage: 'US and Canada', attempts: [OTHER], outcome: 'routed' },
  { name: 'international number on US Only: dropped', dialed: '+442079460000', policy: 'US Only', rule: null, normalized: '+442079460000', usage: null, attempts: [], outcome: 'no-route' },
  { name: 'international number on No Restrictions: the second usage', dialed: '+442079460000', policy: 'No Restrictions', rule: null, normalized: '+442079460000', usage: 'International', attempts: [INTL], outcome: 'routed' },
  // Several usages in order
  { name: 'usages in order: US and Canada first, International never evaluated', dialed: '+14255551234', policy: 'No Restrictions', rule: null, normalized: '+14255551234', usage: 'US and Canada', attempts: [R1, R2, OTHER], outcome: 'routed' },
  { name: 'usages in order: International first takes +1 425 (doc)', dialed: '+14255551234', policy: 'Intl First', rule: null, normalized: '+14255551234', usage: 'International', attempts: [INTL], outcome: 'routed' },
  { name: 'no policy assigned: the Global voice routing policy', dialed: '+13125551234', policy: null, rule: null, normalized: '+13125551234', usage: 'US and Canada', attempts: [OTHER], outcome: 'routed' },
  { name: 'a policy without usages routes nothing', dialed: '+13125551234', policy: 'Nothing', rule: null, normalized: '+13125551234', usage: null, attempts: [], outcome: 'no-route' },
  { name: 'a policy that does not exist', dialed: '+13125551234', policy: 'Gone', rule: null, normalized: '+13125551234', usage: null, attempts: [], outcome: 'no-policy', warning: /voice routing policy "Gone" does not exist/ },
  // Gateways
  { name: 'only gateway disabled: matched but nothing to try', dialed: '+442079460000', policy: 'UK', rule: null, normalized: '+442079460000', usage: 'UK', attempts: [['UK']], outcome: 'no-gateway' },
  { name: 'unknown gateway skipped, the next route still tried', dialed: '+447700900123', policy: 'UK', rule: null, normalized: '+447700900123', usage: 'UK', attempts: [['UK'], ['UK mobile', 'sbc6.contoso.com']], outcome: 'routed' },
  // Emergency
  { name: 'emergency dial string: routed by the emergency usage, disabled gateway skipped', dialed: '911', dialPlan: 'Redmond', policy: 'US Only', rule: null, normalized: '911', usage: 'Emergency', attempts: [['Emergency', 'sbc1.contoso.com']], outcome: 'routed' },
  { name: 'emergency dial mask 112 becomes 911', dialed: '112', policy: 'Nothing', rule: null, normalized: '911', usage: 'Emergency', attempts: [['Emergency', 'sbc1.contoso.com']], outcome: 'routed' },
  { name: 'emergency dial mask 999 becomes 911', dialed: '999', policy: 'US Only', rule: null, normalized: '911', usage: 'Emergency', attempts: [['Emergency', 'sbc1.contoso.com']], outcome: 'routed' },
  { name: 'without an emergency call routing policy 911 is an ordinary number', dialed: '911', objects: withoutEmergencyPolicy, policy: 'US Only', rule: null, normalized: '911', usage: null, attempts: [], outcome: 'no-route' },
  { name: 'an emergency policy that is not known: warned, routed as ordinary', dialed: '911', emergencyPolicy: 'Site EU', policy: 'No Restrictions', rule: null, normalized: '911', usage: 'International', attempts: [INTL], outcome: 'routed', warning: /emergency call routing policy "Site EU"/ },
];

describe('call-routing simulator', () => {
  it.each(CASES)('$name', (c) => {
    const result = simulateCall({
      objects: c.objects ?? OBJECTS,
      dialedNumber: c.dialed,
      dialPlan: c.dialPlan ?? null,
      voiceRoutingPolicy: c.policy ?? null,
      emergencyCallRoutingPolicy: c.emergencyPolicy ?? null,
    });
    expect(result.normalization.matchedRule).toBe(c.rule);
    expect(result.normalization.normalizedNumber).toBe(c.normalized);
    expect(result.normalization.isInternalExtension).toBe(c.internal ?? false);
    expect(result.routing.selectedUsage).toBe(c.usage);
    expect(result.routing.attempts.map((a) => [a.route, ...a.gateways])).toEqual(c.attempts);
    expect(result.outcome).toBe(c.outcome);
    if (c.warning) expect(result.warnings.join('\n')).toMatch(c.warning);
    else expect(result.warnings).toEqual([]);
  });

  it('lists every rule: the ones before the match, the match, the ones never evaluated', () => {
    const result = simulateCall({
      objects: OBJECTS,
      dialedNumber: '62220100',
      dialPlan: 'Tag:Redmond',
      voiceRoutingPolicy: 'Tag:US Only',
      emergencyCallRoutingPolicy: null,
    });
    expect(result.normalization.dialPlan).toBe('Tag:Redmond');
    expect(result.normalization.rules.map((r) => [r.name, r.outcome])).toEqual([
      ['5digitExtension', 'no-match'],
      ['7digitcallingRedmond', 'no-match'],
      ['RedmondSitePrefix', 'matched'],
      ['RedmondOperator', 'not-evaluated'],
      ['5digitRange', 'not-evaluated'],
      ['PrefixAdded', 'not-evaluated'],
      ['NoTranslation', 'not-evaluated'],
    ]);
    expect(result.routing.voiceRoutingPolicy).toBe('Tag:US Only');
  });

  it('shows each usage with its routes by priority, and which gateways are disabled or unknown', () => {
    const result = simulateCall({
      objects: OBJECTS,
      dialedNumber: '+442079460000',
      dialPlan: null,
      voiceRoutingPolicy: 'UK',
      emergencyCallRoutingPolicy: null,
    });
    expect(result.routing.usages).toEqual([
      {
        usage: 'UK',
        outcome: 'selected',
        routes: [
          {
            route: 'UK',
            numberPattern: '^\\+44(\\d+)$',
            priority: 6,
            matches: true,
            gateways: [{ gateway: 'sbc7.contoso.com', status: 'disabled' }],
          },
          {
            route: 'UK mobile',
            numberPattern: '^\\+447(\\d+)$',
            priority: 7,
            matches: false,
            gateways: [
              { gateway: 'sbc9.contoso.com', status: 'unknown' },
              { gateway: 'sbc6.contoso.com', status: 'enabled' },
            ],
          },
        ],
      },
    ]);
  });

  it('simulates a pending configuration: a changed route, a removed route, a new policy', () => {
    const pending = withPending(OBJECTS, [
      {
        policyName: 'OnlineVoiceRoute',
        identity: 'Redmond 1',
        data: {
          NumberPattern: '^\\+1(206)(\\d{7})$',
          Priority: 1,
          OnlinePstnGatewayList: ['sbc1.contoso.com'],
          OnlinePstnUsages: ['US and Canada'],
        },
      },
      { policyName: 'OnlineVoiceRoute', identity: 'redmond 2', data: null },
      {
        policyName: 'OnlineVoiceRoutingPolicy',
        identity: 'Tag:Everything',
        data: { OnlinePstnUsages: ['International'] },
      },
    ]);
    const call = (dialed: string, voiceRoutingPolicy: string) =>
      simulateCall({
        objects: pending,
        dialedNumber: dialed,
        dialPlan: null,
        voiceRoutingPolicy,
        emergencyCallRoutingPolicy: null,
      });
    expect(call('+14255551234', 'US Only').routing.attempts).toEqual([
      { route: 'Other +1', gateways: ['sbc5.contoso.com', 'sbc6.contoso.com'] },
    ]);
    expect(call('+12065551234', 'US Only').routing.attempts).toEqual([
      { route: 'Redmond 1', gateways: ['sbc1.contoso.com'] },
      { route: 'Other +1', gateways: ['sbc5.contoso.com', 'sbc6.contoso.com'] },
    ]);
    expect(call('+12065551234', 'Everything').routing.selectedUsage).toBe('International');
    expect(OBJECTS.filter((o) => o.identity === 'Redmond 2')).toHaveLength(1);
  });
});
