import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MirrorVoiceObject } from '../../shared/replication/mirror-store.js';
import { type ApiResponse, apiClient } from '../support/api-client.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';
import { mirrorUser } from '../support/mirror-user.js';

/**
 * Issue 13 item 3: `POST …/voice/simulate` over the customer's mirrored voice objects, for a user or a policy and
 * dial plan, and over a pending configuration laid on top of them.
 */

let stack: MemoryStack;
let call: ReturnType<typeof apiClient>;

const CUSTOMER = 'SimCo';
const ESSENTIALS = 'SimEss';
const SIMULATE = `/api/v1/customers/${CUSTOMER}/voice/simulate`;
const USER = '00000000-0000-4000-8000-000000000001';
const NOBODY = '00000000-0000-4000-8000-000000000099';

const ok = async (response: Promise<ApiResponse>, status = 200) => {
  const answered = await response;
  expect(answered.status, JSON.stringify(answered.body)).toBe(status);
  return answered;
};

const OBJECTS: MirrorVoiceObject[] = [
  { policyName: 'OnlinePSTNGateway', identity: 'sbc1.simco.example', data: { Enabled: true } },
  { policyName: 'OnlinePSTNGateway', identity: 'sbc2.simco.example', data: { Enabled: false } },
  { policyName: 'OnlinePstnUsages', identity: 'Global', data: { Usage: ['UK', 'International'] } },
  {
    policyName: 'OnlineVoiceRoute',
    identity: 'UK',
    data: {
      NumberPattern: '^\\+44(\\d{10})$',
      Priority: 1,
      OnlinePstnGatewayList: ['sbc1.simco.example', 'sbc2.simco.example'],
      OnlinePstnUsages: ['UK'],
    },
  },
  {
    policyName: 'OnlineVoiceRoute',
    identity: 'International',
    data: {
      NumberPattern: '^\\+(\\d+)$',
      Priority: 2,
      OnlinePstnGatewayList: ['sbc1.simco.example'],
      OnlinePstnUsages: ['International'],
    },
  },
  { policyName: 'OnlineVoiceRoutingPolicy', identity: 'Tag:VRP-London', data: { OnlinePstnUsages: ['UK'] } },
  { policyName: 'OnlineVoiceRoutingPolicy', identity: 'Global', data: { OnlinePstnUsages: [] } },
  {
    policyName: 'TenantDialPlan',
    identity: 'Tag:DP-London',
    data: {
      NormalizationRules: [
        { Name: 'Extension', Pattern: '^(\\d{4})$', Translation: '+44207946$1', IsInternalExtension: true },
        { Name: 'National', Pattern: '^0(\\d{10})$', Translation: '+44$1', IsInternalExtension: false },
      ],
    },
  },
];

beforeAll(async () => {
  stack = await startMemoryStack();
  const token = await stack.token();
  call = apiClient(stack.api, async () => token);
  for (const [shortName, licenseType, licensedUsers] of [
    [CUSTOMER, 'hosted-pro', 10],
    [ESSENTIALS, 'hosted-essentials', 0],
  ] as const) {
    await ok(
      call('POST', '/api/v1/customers', {
        json: { fullName: `${shortName} Ltd`, shortName, licenseType, licensedUsers },
      }),
      201,
    );
  }
  await stack.services.mirror.putUsers(
    CUSTOMER,
    [
      mirrorUser({
        id: USER,
        userPrincipalName: 'ann@simco.example',
        enterpriseVoiceEnabled: true,
        policies: { OnlineVoiceRoutingPolicy: 'VRP-London', TenantDialPlan: 'DP-London' },
      }),
    ],
    'seed',
  );
  await stack.services.mirror.putVoiceObjects(CUSTOMER, OBJECTS, [], 'seed');
}, 60_000);
afterAll(async () => stack?.close());

describe('POST …/voice/simulate', () => {
  it("simulates a user's call with their dial plan and voice routing policy", async () => {
    const { body } = await ok(
      call('POST', SIMULATE, { json: { userId: USER, dialedNumber: '02079460123' } }),
    );
    expect(body).toMatchObject({
      customerId: CUSTOMER,
      userId: USER,
      pendingChanges: 0,
      dialedNumber: '02079460123',
      outcome: 'routed',
      emergency: null,
      normalization: {
        dialPlan: 'Tag:DP-London',
        matchedRule: 'National',
        normalizedNumber: '+442079460123',
        isInternalExtension: false,
        rules: [
          { name: 'Extension', outcome: 'no-match' },
          { name: 'National', outcome: 'matched' },
        ],
      },
      routing: {
        voiceRoutingPolicy: 'Tag:VRP-London',
        selectedUsage: 'UK',
        attempts: [{ route: 'UK', gateways: ['sbc1.simco.example'] }],
        usages: [
          {
            usage: 'UK',
            outcome: 'selected',
            routes: [
              {
                route: 'UK',
                matches: true,
                gateways: [
                  { gateway: 'sbc1.simco.example', status: 'enabled' },
                  { gateway: 'sbc2.simco.example', status: 'disabled' },
                ],
              },
            ],
          },
        ],
      },
      warnings: [],
    });
  });

  it('simulates a policy and dial plan given by name', async () => {
    const { body } = await ok(
      call('POST', SIMULATE, {
        json: { voiceRoutingPolicy: 'Tag:VRP-London', dialPlan: 'DP-London', dialedNumber: '0123' },
      }),
    );
    expect(body).toMatchObject({
      outcome: 'routed',
      normalization: {
        matchedRule: 'Extension',
        normalizedNumber: '+442079460123',
        isInternalExtension: true,
      },
    });
  });

  it('simulates a pending change: the result after the change, the mirror untouched', async () => {
    const json = {
      userId: USER,
      dialedNumber: '+33142685300',
      pending: [
        {
          policyName: 'OnlineVoiceRoutingPolicy',
          identity: 'Tag:VRP-London',
          data: { OnlinePstnUsages: ['UK', 'International'] },
        },
      ],
    };
    const before = await ok(call('POST', SIMULATE, { json: { userId: USER, dialedNumber: '+33142685300' } }));
    expect(before.body).toMatchObject({
      outcome: 'no-route',
      routing: { selectedUsage: null, attempts: [] },
    });
    const after = await ok(call('POST', SIMULATE, { json }));
    expect(after.body).toMatchObject({
      pendingChanges: 1,
      outcome: 'routed',
      routing: {
        selectedUsage: 'International',
        attempts: [{ route: 'International', gateways: ['sbc1.simco.example'] }],
      },
    });
    // A removed route: the same call has nowhere to go.
    const removed = await ok(
      call('POST', SIMULATE, {
        json: {
          ...json,
          pending: [
            ...json.pending,
            { policyName: 'onlinevoiceroute', identity: 'international', data: null },
          ],
        },
      }),
    );
    expect(removed.body).toMatchObject({ outcome: 'no-route' });
    expect(await stack.services.mirror.voiceObjects(CUSTOMER)).toHaveLength(OBJECTS.length);
  });

  it("refuses a pending pattern .NET would refuse, naming the field (the issue's ^(\\+1[0-9]{10}$)", async () => {
    const bad = await call('POST', SIMULATE, {
      json: {
        voiceRoutingPolicy: 'VRP-London',
        dialedNumber: '+14255550100',
        pending: [
          {
            policyName: 'OnlineVoiceRoute',
            identity: 'US',
            data: { NumberPattern: '^(\\+1[0-9]{10}$', Priority: 3 },
          },
          {
            policyName: 'TenantDialPlan',
            identity: 'Tag:DP-London',
            data: {
              NormalizationRules: [{ Name: 'Ext', Pattern: '^(\\d{4})$', Translation: '+44207946$2' }],
            },
          },
        ],
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({
      code: 'validation_failed',
      errors: [
        {
          field: 'pending.0.data.NumberPattern',
          code: 'pattern_invalid',
          message: "Not a valid .NET regular expression: Not enough )'s (at offset 1).",
        },
        { field: 'pending.1.data.NormalizationRules.0.Translation', code: 'translation_invalid' },
      ],
    });
  });

  it('refuses userId with a policy, an unknown type, a dialed number that is not digits', async () => {
    const bad = await call('POST', SIMULATE, {
      json: {
        userId: USER,
        voiceRoutingPolicy: 'VRP-London',
        dialedNumber: 'call me',
        pending: [{ policyName: 'Mailbox', identity: 'x', data: null }],
      },
    });
    expect(bad.status).toBe(400);
    expect((bad.body as { errors: { field: string }[] }).errors.map((e) => e.field).sort()).toEqual([
      'dialedNumber',
      'pending.0.policyName',
      'voiceRoutingPolicy',
    ]);
  });

  it('answers 404 for a user not in the mirror, 409 for Hosted Essentials', async () => {
    const missing = await call('POST', SIMULATE, { json: { userId: NOBODY, dialedNumber: '0123' } });
    expect(missing.status).toBe(404);
    const essentials = await call('POST', `/api/v1/customers/${ESSENTIALS}/voice/simulate`, {
      json: { dialedNumber: '0123' },
    });
    expect(essentials.status).toBe(409);
    expect(essentials.body).toMatchObject({ code: 'no_m365_for_essentials' });
  });
});
