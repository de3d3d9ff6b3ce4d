import { describe, expect, it } from 'vitest';
import { isDomainError } from '../../shared/errors/domain-errors.js';
import {
  applyRule,
  buildFromExamples,
  buildFromFields,
  defaultRuleName,
  type RuleExample,
  ruleFieldsSchema,
} from '../../shared/voice/rule-builder.js';

/**
 * The manual's "Add new Normalization Rule" builder (issue 13 item 1): each case's pattern and translation, and
 * what they make of a number when run through the .NET regex engine, as the simulator runs a dial plan's rules.
 */

type FieldsInput = Parameters<typeof ruleFieldsSchema.parse>[0];

interface FieldsCase {
  readonly title: string;
  readonly fields: FieldsInput;
  readonly pattern: string;
  readonly translation: string;
  /** A number the rule is for, and what it becomes. */
  readonly dialed: string;
  readonly normalized: string;
  /** A number the rule must leave alone. */
  readonly notMatched: string;
}

const FIELDS_CASES: FieldsCase[] = [
  {
    title: "UK national (the manual's kind of rule): 0 and ten digits become +44",
    fields: { startingDigits: '0', length: 11, digitsToRemove: 1, digitsToAdd: '+44' },
    pattern: '^0(\\d{10})$',
    translation: '+44$1',
    dialed: '02079460123',
    normalized: '+442079460123',
    notMatched: '0207946012',
  },
  {
    title: 'an outside line 9 of any length, nothing added',
    fields: { startingDigits: '9', digitsToRemove: 1 },
    pattern: '^9(\\d+)$',
    translation: '$1',
    dialed: '914255550100',
    normalized: '14255550100',
    notMatched: '9',
  },
  {
    title: 'US ten-digit national: no starting digits, +1 added',
    fields: { length: 10, digitsToAdd: '+1' },
    pattern: '^(\\d{10})$',
    translation: '+1$1',
    dialed: '4255550100',
    normalized: '+14255550100',
    notMatched: '14255550100',
  },
  {
    title: 'US eleven digits with the country code: the starting 1 kept in the group',
    fields: { startingDigits: '1', length: 11, digitsToAdd: '+' },
    pattern: '^(1\\d{10})$',
    translation: '+$1',
    dialed: '14255550100',
    normalized: '+14255550100',
    notMatched: '24255550100',
  },
  {
    title: 'an outside line removed, the kept starting digits in the group',
    fields: { startingDigits: '9425', length: 11, digitsToRemove: 1, digitsToAdd: '+1' },
    pattern: '^9(425\\d{7})$',
    translation: '+1$1',
    dialed: '94255550100',
    normalized: '+14255550100',
    notMatched: '92065550100',
  },
  {
    title: 'German national numbers, whose length varies',
    fields: { startingDigits: '0', digitsToRemove: 1, digitsToAdd: '+49' },
    pattern: '^0(\\d+)$',
    translation: '+49$1',
    dialed: '030123456',
    normalized: '+4930123456',
    notMatched: '30123456',
  },
  {
    title: 'the German international prefix 00 becomes +',
    fields: { startingDigits: '00', digitsToRemove: 2, digitsToAdd: '+' },
    pattern: '^00(\\d+)$',
    translation: '+$1',
    dialed: '00442079460123',
    normalized: '+442079460123',
    notMatched: '030123456',
  },
  {
    title: 'four-digit extensions starting 5 (IsInternalExtension)',
    fields: { startingDigits: '5', length: 4, digitsToAdd: '+1425555' },
    pattern: '^(5\\d{3})$',
    translation: '+1425555$1',
    dialed: '5100',
    normalized: '+14255555100',
    notMatched: '4100',
  },
  {
    title: 'a site code and extension: digits removed beyond the starting digits',
    fields: { startingDigits: '6', length: 7, digitsToRemove: 3, digitsToAdd: '+44207946' },
    pattern: '^6\\d{2}(\\d{4})$',
    translation: '+44207946$1',
    dialed: '6010123',
    normalized: '+442079460123',
    notMatched: '601012',
  },
  {
    title: 'a + in the starting digits is escaped and counts in the length: +44 (0) dialed',
    fields: { startingDigits: '+440', length: 14, digitsToRemove: 4, digitsToAdd: '+44' },
    pattern: '^\\+440(\\d{10})$',
    translation: '+44$1',
    dialed: '+4402079460123',
    normalized: '+442079460123',
    notMatched: '4402079460123',
  },
  {
    title: 'a * feature code removed, + added',
    fields: { startingDigits: '*9', digitsToRemove: 2, digitsToAdd: '+' },
    pattern: '^\\*9(\\d+)$',
    translation: '+$1',
    dialed: '*9442079460123',
    normalized: '+442079460123',
    notMatched: '99442079460123',
  },
  {
    title: 'a * feature code kept whole',
    fields: { startingDigits: '*5', length: 5 },
    pattern: '^(\\*5\\d{3})$',
    translation: '$1',
    dialed: '*5123',
    normalized: '*5123',
    notMatched: '*51234',
  },
  {
    title: 'a # code removed (# is literal in .NET and needs no backslash)',
    fields: { startingDigits: '#31#', digitsToRemove: 4 },
    pattern: '^#31#(\\d+)$',
    translation: '$1',
    dialed: '#31#4255550100',
    normalized: '4255550100',
    notMatched: '#314255550100',
  },
  {
    title: 'a speed dial: everything removed, the reception number added, no group',
    fields: { startingDigits: '0', length: 1, digitsToRemove: 1, digitsToAdd: '+442079460000' },
    pattern: '^0$',
    translation: '+442079460000',
    dialed: '0',
    normalized: '+442079460000',
    notMatched: '01',
  },
  {
    title: 'any number at all becomes E.164 with +',
    fields: { digitsToAdd: '+' },
    pattern: '^(\\d+)$',
    translation: '+$1',
    dialed: '442079460123',
    normalized: '+442079460123',
    notMatched: '+442079460123',
  },
  {
    title: 'no length, starting digits partly removed: the kept ones may be all there is',
    fields: { startingDigits: '425', digitsToRemove: 1, digitsToAdd: '+1' },
    pattern: '^4(25\\d*)$',
    translation: '+1$1',
    dialed: '425',
    normalized: '+125',
    notMatched: '426',
  },
];

describe('rule builder: from the fields', () => {
  it.each(FIELDS_CASES)('$title', (c) => {
    const fields = ruleFieldsSchema.parse(c.fields);
    const built = buildFromFields(fields);
    expect({ pattern: built.pattern, translation: built.translation }).toEqual({
      pattern: c.pattern,
      translation: c.translation,
    });
    expect(applyRule(built.pattern, built.translation, c.dialed)).toBe(c.normalized);
    expect(applyRule(built.pattern, built.translation, c.notMatched)).toBeNull();
    // The sample the answer checks the rule on is one the rule is for.
    expect(built.checks).toHaveLength(1);
    expect(built.checks[0]).toMatchObject({ matches: true });
    expect(built.checks[0]!.produced).toBe(built.checks[0]!.expected);
  });

  it('names a rule from its fields when none is given, without the # a rule name may not have', () => {
    expect(defaultRuleName(ruleFieldsSchema.parse({ startingDigits: '0', length: 11 }))).toBe(
      'Starting 0, 11 digits',
    );
    expect(defaultRuleName(ruleFieldsSchema.parse({ startingDigits: '#31#' }))).toBe(
      'Starting hash31hash, any length',
    );
    expect(defaultRuleName(ruleFieldsSchema.parse({}))).toBe('Any number, any length');
  });

  it.each([
    [{ startingDigits: '0044', length: 3 }, 'length', 'length_below_starting_digits'],
    [{ startingDigits: '0', length: 5, digitsToRemove: 6 }, 'digitsToRemove', 'remove_beyond_length'],
    [{ startingDigits: '0', length: 1, digitsToRemove: 1 }, 'digitsToAdd', 'rule_normalizes_to_nothing'],
    [{ startingDigits: '0+44' }, 'startingDigits', 'invalid_format'],
    [{ digitsToAdd: '+44$1' }, 'digitsToAdd', 'invalid_format'],
    [{ length: 51 }, 'length', 'too_big'],
  ])('refuses fields %j on %s (%s)', (fields, field, code) => {
    const parsed = ruleFieldsSchema.safeParse(fields);
    expect(parsed.success).toBe(false);
    const issue = parsed.error!.issues[0]!;
    expect(issue.path).toEqual([field]);
    expect(issue.code === 'custom' ? issue.params?.code : issue.code).toBe(code);
  });
});

interface ExamplesCase {
  readonly title: string;
  readonly examples: RuleExample[];
  readonly fields: {
    startingDigits: string;
    length: number | null;
    digitsToRemove: number;
    digitsToAdd: string;
  };
  readonly pattern: string;
  readonly translation: string;
}

const ex = (dialed: string, normalized: string): RuleExample => ({ dialed, normalized });

const EXAMPLES_CASES: ExamplesCase[] = [
  {
    title: 'UK national numbers of different areas',
    examples: [ex('02079460123', '+442079460123'), ex('01614960000', '+441614960000')],
    fields: { startingDigits: '0', length: 11, digitsToRemove: 1, digitsToAdd: '+44' },
    pattern: '^0(\\d{10})$',
    translation: '+44$1',
  },
  {
    title: 'US extensions starting 5 (nothing removed)',
    examples: [ex('5100', '+14255555100'), ex('5299', '+14255555299')],
    fields: { startingDigits: '5', length: 4, digitsToRemove: 0, digitsToAdd: '+1425555' },
    pattern: '^(5\\d{3})$',
    translation: '+1425555$1',
  },
  {
    title: 'German numbers of different lengths: any length',
    examples: [ex('030123456', '+4930123456'), ex('0891234567', '+49891234567')],
    fields: { startingDigits: '0', length: null, digitsToRemove: 1, digitsToAdd: '+49' },
    pattern: '^0(\\d+)$',
    translation: '+49$1',
  },
  {
    title: 'an outside line 9 before US numbers: the shared 1 stays in the group',
    examples: [ex('914255550100', '+14255550100'), ex('912065550100', '+12065550100')],
    fields: { startingDigits: '91', length: 12, digitsToRemove: 1, digitsToAdd: '+' },
    pattern: '^9(1\\d{10})$',
    translation: '+$1',
  },
  {
    title: 'a * feature code before US numbers',
    examples: [ex('*674255550100', '+14255550100'), ex('*672065550100', '+12065550100')],
    fields: { startingDigits: '*67', length: 13, digitsToRemove: 3, digitsToAdd: '+1' },
    pattern: '^\\*67(\\d{10})$',
    translation: '+1$1',
  },
  {
    title: 'one example: what it shares with itself is all of it, so the rule is for that number',
    examples: [ex('02079460123', '+442079460123')],
    fields: { startingDigits: '02079460123', length: 11, digitsToRemove: 1, digitsToAdd: '+44' },
    pattern: '^0(2079460123)$',
    translation: '+44$1',
  },
];

describe('rule builder: from examples', () => {
  it.each(EXAMPLES_CASES)('$title', (c) => {
    const built = buildFromExamples(c.examples);
    expect(built.fields).toEqual(c.fields);
    expect({ pattern: built.pattern, translation: built.translation }).toEqual({
      pattern: c.pattern,
      translation: c.translation,
    });
    for (const { dialed, normalized } of c.examples) {
      expect(applyRule(built.pattern, built.translation, dialed)).toBe(normalized);
    }
    expect(built.checks).toEqual(
      c.examples.map((e) => ({
        dialed: e.dialed,
        expected: e.normalized,
        produced: e.normalized,
        matches: true,
      })),
    );
  });

  const refusal = (examples: RuleExample[]) => {
    try {
      buildFromExamples(examples);
    } catch (error) {
      if (isDomainError(error, 'validation')) return { code: error.code, fields: error.fields };
      throw error;
    }
    throw new Error('expected a refusal');
  };

  it.each([
    {
      title: 'UK and French numbers: +44 for one, +33 for the other',
      examples: [ex('02079460123', '+442079460123'), ex('0612345678', '+33612345678')],
      field: 'examples.1.normalized',
      message: 'turns example 2, 0612345678, into +44612345678, not +33612345678',
    },
    {
      title: 'one number, two normalizations',
      examples: [ex('5100', '+14255555100'), ex('5200', '+14255555200'), ex('5100', '+14255555199')],
      field: 'examples.2.normalized',
      message: 'turns example 3, 5100, into +14255555100, not +14255555199',
    },
    {
      title: 'a * where the other examples have digits',
      examples: [ex('5100', '+14255555100'), ex('*72', '*72')],
      field: 'examples.1.dialed',
      message: 'example 2, *72, has "*" after the starting digits every example shares ("")',
    },
    {
      title:
        'a number that is only the removed digits, when the lengths differ (the rule needs a digit after them)',
      examples: [ex('9', '+1'), ex('91234', '+11234')],
      field: 'examples.0.dialed',
      message: 'does not match example 1, 9',
    },
  ])('refuses examples no one rule explains: $title', ({ examples, field, message }) => {
    const { code, fields } = refusal(examples);
    expect(code).toBe('validation_failed');
    expect(fields).toHaveLength(1);
    expect(fields[0]).toMatchObject({ field, in: 'body', code: 'example_unexplained' });
    expect(fields[0]!.message).toContain(message);
  });
});
