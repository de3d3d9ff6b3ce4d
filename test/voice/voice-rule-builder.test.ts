import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiResponse, apiClient } from '../support/api-client.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';

/**
 * Issue 13 item 1: `POST …/voice/normalization-rules/build`, the manual's "Add new Normalization Rule" builder, from
 * its fields or from examples; the rule it answers is one a dial plan's body takes as it is.
 */

let stack: MemoryStack;
let call: ReturnType<typeof apiClient>;

const CUSTOMER = 'RuleCo';
const ESSENTIALS = 'RuleEss';
const VOICE = `/api/v1/customers/${CUSTOMER}/voice`;
const BUILD = `${VOICE}/normalization-rules/build`;

const ok = async (response: Promise<ApiResponse>, status = 200) => {
  const answered = await response;
  expect(answered.status, JSON.stringify(answered.body)).toBe(status);
  return answered;
};

interface Built {
  rule: Record<string, unknown>;
  fields: Record<string, unknown>;
  checks: { dialed: string; expected: string; produced: string | null; matches: boolean }[];
}

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
}, 60_000);
afterAll(async () => stack?.close());

describe('POST …/voice/normalization-rules/build', () => {
  it("builds the manual's fields into a rule, checked on a sample number, that a dial plan takes as it is", async () => {
    const { body } = await ok(
      call('POST', BUILD, {
        json: {
          fields: { startingDigits: '0', length: 11, digitsToRemove: 1, digitsToAdd: '+44' },
          description: 'UK national',
        },
      }),
    );
    expect(body).toEqual({
      rule: {
        name: 'Starting 0, 11 digits',
        pattern: '^0(\\d{10})$',
        translation: '+44$1',
        isInternalExtension: false,
        description: 'UK national',
      },
      fields: { startingDigits: '0', length: 11, digitsToRemove: 1, digitsToAdd: '+44' },
      checks: [
        { dialed: '01234567890', expected: '+441234567890', produced: '+441234567890', matches: true },
      ],
    });
    const { rule } = body as Built;
    const dry = await ok(
      call('POST', `${VOICE}/dial-plans?dryRun=true`, {
        json: { identity: 'DP-Built', normalizationRules: [rule] },
      }),
    );
    expect(JSON.stringify(dry.body)).toContain("Pattern='^0(\\\\d{10})$'; Translation='+44$1'");
    expect(await stack.services.mirror.voiceObjects(CUSTOMER)).toEqual([]);
  });

  it('proposes a rule from examples, with what it makes of each', async () => {
    const examples = [
      { dialed: '5100', normalized: '+14255555100' },
      { dialed: '5299', normalized: '+14255555299' },
    ];
    const { body } = await ok(
      call('POST', BUILD, { json: { examples, name: 'Extensions', isInternalExtension: true } }),
    );
    expect(body).toEqual({
      rule: {
        name: 'Extensions',
        pattern: '^(5\\d{3})$',
        translation: '+1425555$1',
        isInternalExtension: true,
        description: '',
      },
      fields: { startingDigits: '5', length: 4, digitsToRemove: 0, digitsToAdd: '+1425555' },
      checks: examples.map((e) => ({
        dialed: e.dialed,
        expected: e.normalized,
        produced: e.normalized,
        matches: true,
      })),
    });
  });

  it('refuses examples no single rule explains, naming the one that breaks it', async () => {
    const bad = await call('POST', BUILD, {
      json: {
        examples: [
          { dialed: '02079460123', normalized: '+442079460123' },
          { dialed: '0612345678', normalized: '+33612345678' },
        ],
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({
      code: 'validation_failed',
      errors: [
        {
          field: 'examples.1.normalized',
          code: 'example_unexplained',
          message:
            'removing 1 and adding "+44", as example 1 needs, turns example 2, 0612345678, into +44612345678, not +33612345678.',
        },
      ],
    });
  });

  it('refuses fields that make no rule, both forms at once, and neither', async () => {
    const fields = await call('POST', BUILD, {
      json: { fields: { startingDigits: '0044', length: 3 }, name: 'a#b' },
    });
    expect(fields.status).toBe(400);
    expect(fields.body).toMatchObject({
      code: 'validation_failed',
      errors: expect.arrayContaining([
        expect.objectContaining({ field: 'fields.length', code: 'length_below_starting_digits' }),
        expect.objectContaining({ field: 'name' }),
      ]),
    });
    const both = await call('POST', BUILD, {
      json: { fields: {}, examples: [{ dialed: '1', normalized: '+1' }] },
    });
    expect(both.status).toBe(400);
    expect(both.body).toMatchObject({ errors: [{ field: 'examples', code: 'not_allowed' }] });
    const neither = await call('POST', BUILD, { json: { name: 'Nothing' } });
    expect(neither.status).toBe(400);
    expect(neither.body).toMatchObject({ errors: [{ field: 'fields', code: 'required' }] });
  });

  it('answers 409 for Hosted Essentials, which has no Teams users to dial', async () => {
    const essentials = await call('POST', `/api/v1/customers/${ESSENTIALS}/voice/normalization-rules/build`, {
      json: { fields: { startingDigits: '0', length: 11, digitsToRemove: 1, digitsToAdd: '+44' } },
    });
    expect(essentials.status).toBe(409);
    expect(essentials.body).toMatchObject({ code: 'no_m365_for_essentials' });
  });
});
