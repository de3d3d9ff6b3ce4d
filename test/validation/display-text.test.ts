import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { toFieldErrors } from '../../shared/errors/zod-field-errors.js';
import { isSafeDisplayText, safeDisplayText } from '../../shared/validation/display-text.js';

describe('safe display text', () => {
  it.each([
    ['a right-to-left override', 'Contoso\u202Eetib\u202C'],
    ['a left-to-right embedding', '\u202AContoso'],
    ['a pop directional formatting', 'Contoso\u202C'],
    ['a first-strong isolate', 'Contoso \u2068Ltd\u2069'],
    ['a right-to-left isolate', '\u2067Contoso'],
    ['a lone high surrogate', 'Contoso \uD83D'],
    ['a lone low surrogate', '\uDE00 Contoso'],
    ['two halves in the wrong order', 'Contoso \uDE00\uD83D'],
  ])('refuses %s', (_what, value) => {
    expect(isSafeDisplayText(value)).toBe(false);
  });

  it.each([
    'Contoso Ltd',
    'Zürich Telekom AG',
    'شركة الاتصالات',
    'שלום בע"מ',
    '株式会社テスト',
    // A well-formed pair is one character: emoji and other astral characters are names too.
    'Contoso 😀 𝔘nicode',
    // The implicit marks (LRM, RLM, ALM) are not overrides and only affect neutral characters next to them.
    'Contoso\u200F',
  ])('accepts %s', (value) => {
    expect(isSafeDisplayText(value)).toBe(true);
  });

  it('gives a field error with a stable code and a message naming the field', () => {
    const schema = z.object({ fullName: safeDisplayText(z.string().trim().min(1), 'Full Name') });
    const input = { fullName: 'Contoso\u202Eetib' };
    const result = schema.safeParse(input);
    expect(result.success).toBe(false);
    expect(toFieldErrors(result.error!, 'body', input)).toEqual([
      {
        field: 'fullName',
        in: 'body',
        code: 'unsafe_characters',
        message: expect.stringMatching(/^Full Name cannot contain bidirectional control characters/),
      },
    ]);
  });
});
