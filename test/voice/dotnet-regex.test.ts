import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  checkNormalizationRule,
  dotNetPatternSchema,
  parseDotNetPattern,
  parseTranslation,
  translate,
} from '../../shared/voice/dotnet-regex.js';

/** Runs a normalization rule as Teams would: the translation of the first match, or null. */
function normalize(pattern: string, translation: string, dialed: string): string | null {
  const parsed = parseDotNetPattern(pattern);
  if (!parsed.ok) throw new Error(parsed.problem.message);
  const parts = parseTranslation(translation, parsed.value);
  if (!parts.ok) throw new Error(parts.message);
  const match = parsed.value.regex.exec(dialed);
  return match ? translate(match, parts.parts, parsed.value) : null;
}

const matches = (pattern: string, number: string) => {
  const parsed = parseDotNetPattern(pattern);
  if (!parsed.ok) throw new Error(parsed.problem.message);
  return parsed.value.regex.test(number);
};

describe('.NET patterns: what Teams accepts', () => {
  // Microsoft's documented patterns: what-are-dial-plans, direct-routing-voice-routing, New-CsOnlineVoiceRoute,
  // New-CsTenantDialPlan ('^(d{11})$' is the docs' own example, a literal "d").
  it.each([
    '^(\\d{4})$',
    '^5(\\d{4})$',
    '^6222(\\d{4})$',
    '^0$',
    '^([3-7]\\d{4})$',
    '^([2-9]\\d\\d[2-9]\\d{6})$',
    '^\\+1(425|206)(\\d{7})$',
    '^\\+1(\\d{10})$',
    '\\d+',
    '.*',
    '^\\+?911',
    '^(d{11})$',
    '^\\+1(425|206)(\\d{7})',
    '^(?<area>\\d{3})(?<local>\\d{7})$',
    "^(?'area'\\d{3})-\\k'area'$",
    '^(?:00|\\+)(\\d+)$',
    '^(?!\\+1)\\+(\\d+)$',
    '^(?<=x)?',
    '[]0-9]',
    '^\\p{Nd}{3}$',
    '^x{,3}$',
    '^a{2,}$',
    '^\\x2B\\u0031$',
    '(?#a comment)^\\d$',
    '^[\\d\\-\\s]+$',
    '^\\+?(\\d*)$',
  ])('%s', (pattern) => {
    const parsed = parseDotNetPattern(pattern);
    if (pattern === '^(?<=x)?') {
      // Valid .NET (a quantified lookbehind); JS refuses to quantify it, so it is refused as unsupported.
      expect(parsed).toMatchObject({ ok: false, problem: { code: 'pattern_unsupported' } });
      return;
    }
    expect(parsed.ok, JSON.stringify(parsed)).toBe(true);
  });
});

describe('.NET patterns: what .NET refuses, with its reason', () => {
  it.each([
    ['^(\\+1[0-9]{10}$', "Not enough )'s", 1],
    ['^\\+1[0-9]{10})$', "Too many )'s", 13],
    ['^[0-9', 'Unterminated [] set', 1],
    ['^\\d**$', "Nested quantifier '*'", 4],
    ['^\\d{2}+$', "Nested quantifier '+'", 6],
    ['*123', "Quantifier '*' following nothing", 0],
    ['^(|+)', "Quantifier '+' following nothing", 3],
    ['^\\d{5,3}$', 'Illegal {x,y} with x > y', 3],
    ['^[9-0]$', '[x-y] range in reverse order', 3],
    ['^\\q$', 'Unrecognized escape sequence \\q', 1],
    ['^\\_$', 'Unrecognized escape sequence \\_', 1],
    ['^\\x4$', 'Insufficient hex digits', 1],
    ['^\\u12$', 'Insufficient hex digits', 1],
    ['^(\\d)\\2$', 'Reference to undefined group number 2', 5],
    ['^\\k<area>$', 'Reference to undefined group name area', 1],
    ['^(?<1x>\\d)$', 'Invalid group name: Group names must begin with a word character', 1],
    ['^(?<>\\d)$', 'Invalid group name: Group names must begin with a word character', 1],
    ['^(?<a b>\\d)$', 'Invalid group name: Group names must be word characters', 1],
    ['^(?Q\\d)$', 'Unrecognized grouping construct', 1],
    ['^[\\d-9]$', 'Cannot include class \\d in character range', 2],
    ['^\\p{Foo}$', "Unknown property 'Foo'", 1],
    ['\\', 'Illegal \\ at end of pattern', 0],
  ])('%s: %s', (pattern, message, offset) => {
    expect(parseDotNetPattern(pattern)).toEqual({
      ok: false,
      problem: { code: 'pattern_invalid', message, offset },
    });
  });

  it.each([
    ['^(?>\\d+)$', 'atomic group'],
    ['^(?(1)a|b)$', 'conditional'],
    ['^(?i)abc$', 'inline option'],
    ['^(?<a-b>x)$', 'balancing group'],
    ['^[a-z-[aeiou]]$', 'class subtraction'],
    ['\\G\\d', '\\G'],
    ['^\\p{IsGreek}$', 'Unicode block'],
    ['^[\\W]$', '\\W inside a character class'],
    ['^*', 'quantifier on an anchor'],
    ['^(?<a>1)(?<a>2)$', 'used twice'],
    ['^(?<2>1)$', 'numbered group'],
  ])('%s is refused as unsupported (%s), not mis-evaluated', (pattern, what) => {
    const parsed = parseDotNetPattern(pattern);
    expect(parsed).toMatchObject({ ok: false, problem: { code: 'pattern_unsupported' } });
    if (!parsed.ok) expect(parsed.problem.message.toLowerCase()).toContain(what.toLowerCase());
  });
});

describe('.NET semantics where JS differs', () => {
  it('\\d matches any Unicode decimal digit, as .NET without RegexOptions.ECMAScript', () => {
    expect(matches('^\\d{3}$', '١٢٣')).toBe(true);
    expect(matches('^[0-9]{3}$', '١٢٣')).toBe(false);
  });

  it('$ also matches before a final newline; \\z does not', () => {
    expect(matches('^\\d+$', '123\n')).toBe(true);
    expect(matches('^\\d+\\z', '123\n')).toBe(false);
  });

  it('. matches \\r (only \\n is excluded)', () => {
    expect(matches('^1.2$', '1\r2')).toBe(true);
    expect(matches('^1.2$', '1\n2')).toBe(false);
  });

  it('numbers unnamed groups first, then named ones, as .NET does', () => {
    expect(normalize('^(?<area>\\d{3})(\\d{4})$', '$1-$2-${area}', '4255550')).toBe('5550-425-425');
  });

  it('takes an escaped non-word character, a literal { and a ] first in a class as themselves', () => {
    expect(matches('^\\+\\#\\ 1{a}$', '+# 1{a}')).toBe(true);
    expect(matches('^[]9]+$', ']9]')).toBe(true);
  });

  it('keeps patterns unanchored where they are: a match anywhere in the number', () => {
    expect(matches('\\d+', '+44')).toBe(true);
    expect(matches('^\\+1(425|206)(\\d{7})', '+14255550100999')).toBe(true);
  });
});

describe('translations', () => {
  it.each([
    ['^(\\d{4})$', '+1425555$1', '0100', '+14255550100'],
    ['^5(\\d{4})$', '+1425555$1', '50100', '+14255550100'],
    ['^(\\d{7})$', '+1425$1', '5550100', '+14255550100'],
    ['^0$', '+14255550100', '0', '+14255550100'],
    ['^6222(\\d{4})$', '+1425555$1', '62220100', '+14255550100'],
    ['^([3-7]\\d{4})$', '+142555$1', '54567', '+14255554567'],
    ['^([2-9]\\d\\d[2-9]\\d{6})$', '1$1', '4255554567', '14255554567'],
    ['^(\\d{5})$', '$1', '34567', '34567'],
    ['^9(\\d{3})(\\d{4})$', '+1425$1$2', '95550100', '+14255550100'],
    ['^9(?<n>\\d{7})$', '+1425${n}', '95550100', '+14255550100'],
    ['^00(\\d+)$', '+${1}', '0044207', '+44207'],
    ['^(\\d+)$', '$$$1', '12', '$12'],
    ['^(\\d+)$', '+$0', '12', '+12'],
    ['^(\\d+)$', 'x$&', '12', 'x12'],
    ['^(\\d+)$', '$x', '12', '$x'],
  ])('%s with %s: %s → %s', (pattern, translation, dialed, expected) => {
    expect(normalize(pattern, translation, dialed)).toBe(expected);
  });

  it('refuses a $n the pattern has no group for (Microsoft: "less than or equal to the total number of captures")', () => {
    const parsed = parseDotNetPattern('^9(\\d{3})(\\d{4})$');
    if (!parsed.ok) throw new Error('parses');
    expect(parseTranslation('+1$3', parsed.value)).toEqual({
      ok: false,
      message: '$3 refers to a group the pattern does not have (it has 2 groups).',
    });
    expect(parseTranslation('+1${area}', parsed.value)).toMatchObject({ ok: false });
    expect(parseTranslation('+1$2$1', parsed.value)).toMatchObject({ ok: true });
  });
});

describe('zod refinements', () => {
  const ruleSchema = z
    .object({ Pattern: dotNetPatternSchema, Translation: z.string() })
    .superRefine((rule, ctx) => checkNormalizationRule(rule, ctx));

  it('gives a field-level issue with a stable code', () => {
    const result = z
      .object({ NumberPattern: dotNetPatternSchema })
      .safeParse({ NumberPattern: '^(\\+1[0-9]{10}$' });
    expect(result.success).toBe(false);
    expect(result.error?.issues).toMatchObject([
      {
        path: ['NumberPattern'],
        params: { code: 'pattern_invalid' },
        message: "Not a valid .NET regular expression: Not enough )'s (at offset 1).",
      },
    ]);
  });

  it('checks a translation against its pattern', () => {
    const result = ruleSchema.safeParse({ Pattern: '^(\\d{4})$', Translation: '+1425555$2' });
    expect(result.error?.issues).toMatchObject([
      { path: ['Translation'], params: { code: 'translation_invalid' } },
    ]);
    expect(ruleSchema.safeParse({ Pattern: '^(\\d{4})$', Translation: '+1425555$1' }).success).toBe(true);
  });
});
