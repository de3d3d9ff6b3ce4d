import { describe, expect, it } from 'vitest';
import { firstDuplicateKey } from '../../shared/http/edge/duplicate-keys.js';

describe('firstDuplicateKey', () => {
  it.each([
    ['{"a":1,"a":2}', 'a'],
    ['{"a":{"b":1,"c":2,"b":3}}', 'a.b'],
    ['{"items":[{"n":1},{"n":2,"n":3}]}', 'items.1.n'],
    ['[[1],{"x":1,"x":1}]', '1.x'],
    // The same key once escaped: JSON.parse reads both as "a".
    ['{"a":1,"\\u0061":2}', 'a'],
    ['{ "a" : 1 , "b" : { } , "a" : [ ] }', 'a'],
  ])('finds the repeated key of %s', (text, path) => {
    JSON.parse(text);
    expect(firstDuplicateKey(text)).toBe(path);
  });

  it.each([
    '{"a":1,"b":2}',
    // The same key in sibling objects, or as a value, is no duplicate.
    '[{"a":1},{"a":2}]',
    '{"a":{"a":{"a":1}}}',
    '{"a":"a","b":"a"}',
    // Brackets, commas and escaped quotes inside strings are text.
    '{"a":"{\\"a\\":1,","b":"]}[","c":"\\\\"}',
    '"just a string"',
    '42',
    '{}',
  ])('finds none in %s', (text) => {
    JSON.parse(text);
    expect(firstDuplicateKey(text)).toBeUndefined();
  });

  it('stays linear on a large body', () => {
    const text = JSON.stringify(
      Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, [i, { i }]])),
    );
    const started = performance.now();
    expect(firstDuplicateKey(text)).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
