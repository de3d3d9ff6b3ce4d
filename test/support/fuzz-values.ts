import fc from 'fast-check';

/**
 * What the fuzz suite sends: values its operations' JSON Schemas accept, and the hostile ones an attacker or a
 * broken client would (wrong types, huge and out-of-range numbers, control and format characters, lone surrogates,
 * deep nesting, duplicate keys, malformed JSON and CSV).
 */

export type JsonSchema = { readonly [keyword: string]: unknown };

/** JSON text placed verbatim where a value goes: what JSON.stringify cannot write (1e400, deep nesting). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** JSON text of a value that may hold RawJson anywhere. */
export function toJsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value).map(
      ([key, member]) => `${JSON.stringify(key)}:${toJsonText(member)}`,
    );
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Percent-encoding that keeps a lone surrogate as the bytes a WTF-8 client sends (encodeURIComponent throws on it):
 * the server then meets invalid UTF-8, as it would from the wire.
 */
export function percentEncode(text: string): string {
  let encoded = '';
  for (const char of text) {
    const unit = char.charCodeAt(0);
    if (char.length === 1 && unit >= 0xd800 && unit <= 0xdfff) {
      encoded += [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]
        .map((byte) => `%${byte.toString(16).toUpperCase()}`)
        .join('');
    } else encoded += encodeURIComponent(char);
  }
  return encoded;
}

/** Characters that break parsers, logs, scripts and renderers when they get through. */
const HOSTILE_CHARACTERS = [
  '\u0000',
  '\u0007',
  '\u001b',
  '\t',
  '\r',
  '\n',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u2028',
  '\u2029',
  '\u200b',
  '\u202e',
  '\ufeff',
  '\ufffd',
  '\ud800',
  '\udbff',
  '\udfff',
  '\u{1f600}',
  'e\u0301',
  'İ',
  'ß',
  '"',
  "'",
  '`',
  '\\',
  '/',
  '%',
  '<',
  '>',
  '&',
  '$',
  '{',
  '}',
  '*',
  '.',
  '+',
  ',',
  ';',
  '#',
  '?',
] as const;

/** Strings with a meaning somewhere: injections, traversals, look-alikes of numbers, booleans and prototypes. */
const HOSTILE_STRINGS = [
  '',
  ' ',
  '   ',
  'null',
  'true',
  'undefined',
  'NaN',
  '-1',
  '0',
  '1e999',
  '0x10',
  '__proto__',
  'constructor',
  'prototype',
  '../../../etc/passwd',
  '..',
  '%00',
  '%E0%A4%A',
  '<script>alert(1)</script>',
  "' OR '1'='1",
  '"; Remove-Item -Recurse C:\\ #',
  '$(whoami)',
  '{{constructor.constructor}}',
  '${7*7}',
  'C1" ip-profile-name "Teams',
  '10.0.0.0" -Identity "Global',
  '(a+)+$',
  '(.*a){25}',
  '[',
  '\\',
  'tel:+',
  '+',
  '+4420794600000000000000000',
  'sip:',
  'a@b',
  '@',
  '2026-02-30T25:61:61Z',
  '9999-12-31T23:59:59.999Z',
  '00000000-0000-0000-0000-000000000000',
  '256.256.256.256',
  'http://169.254.169.254/',
];

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 4, arbitrary: fc.string({ unit: fc.constantFrom(...HOSTILE_CHARACTERS), maxLength: 12 }) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.stringMatching(/^[A-Za-z0-9]{1,12}$/), fc.constantFrom(...HOSTILE_CHARACTERS))
      .map(([word, char]) => `${word}${char}${word}`),
  },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  // Past every documented maxLength, and past what a regular expression should get to backtrack on.
  { weight: 1, arbitrary: fc.integer({ min: 257, max: 70_000 }).map((n) => 'a'.repeat(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 40_000 }).map((n) => `${'\u{1f600}'.repeat(n)}!`) },
);

const HOSTILE_NUMBERS = [
  -1,
  0,
  -0,
  0.5,
  1.5e-320,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 32,
  Number.MAX_SAFE_INTEGER + 2,
  -Number.MAX_SAFE_INTEGER - 2,
  1e21,
  1.7976931348623157e308,
  -1.7976931348623157e308,
];

export const hostileNumber: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...HOSTILE_NUMBERS),
  // What a JavaScript number cannot hold: JSON.parse makes them Infinity, 0 or an imprecise integer.
  fc
    .constantFrom('1e400', '-1e400', '1e-400', '123456789012345678901234567890', '-0.0e0')
    .map((t) => new RawJson(t)),
  fc.double(),
);

/** `depth` levels of arrays or objects around one value, as raw text: deeper than any stack-bound recursion. */
export const deepNesting: fc.Arbitrary<RawJson> = fc
  .tuple(fc.integer({ min: 50, max: 20_000 }), fc.boolean())
  .map(([depth, arrays]) =>
    arrays
      ? new RawJson(`${'['.repeat(depth)}1${']'.repeat(depth)}`)
      : new RawJson(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
  );

/** A value of the wrong kind for whatever it replaces. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 3, arbitrary: hostileNumber },
  { weight: 2, arbitrary: fc.constantFrom(null, true, false, [], {}, [null], { '': null }) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}')
      .map((text) => new RawJson(text)),
  },
  { weight: 1, arbitrary: deepNesting },
  { weight: 1, arbitrary: fc.array(hostileString, { maxLength: 3 }) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1_000, max: 20_000 })
      .map((n) => Array.from({ length: n }, (_, i) => `${i}`)),
  },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

export interface SchemaContext {
  /** The document's `components.schemas`, for `$ref`. */
  readonly schemas: Readonly<Record<string, JsonSchema>>;
}

/** How deep a generated value goes before a recursive schema ends in the smallest value it allows. */
const MAX_DEPTH = 6;
const STRING_LENGTH = 40;

/** Values a JSON Schema (2020-12, as the document writes them) accepts, most of them: patterns are followed. */
export function schemaValue(schema: JsonSchema, context: SchemaContext, depth = 0): fc.Arbitrary<unknown> {
  const ref = schema.$ref;
  if (typeof ref === 'string') {
    const target = context.schemas[ref.replace('#/components/schemas/', '')];
    return target ? schemaValue(target, context, depth) : fc.constant(null);
  }
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const alternatives = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (alternatives) return fc.oneof(...alternatives.map((s) => schemaValue(s, context, depth + 1)));
  const allOf = schema.allOf as JsonSchema[] | undefined;
  if (allOf?.[0]) return schemaValue(allOf[0], context, depth);
  const type = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string | undefined];
  return fc.oneof(...type.map((t) => typedValue(t, schema, context, depth)));
}

function typedValue(
  type: string | undefined,
  schema: JsonSchema,
  context: SchemaContext,
  depth: number,
): fc.Arbitrary<unknown> {
  const number = (keyword: string) =>
    typeof schema[keyword] === 'number' ? (schema[keyword] as number) : undefined;
  switch (type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({ min: number('minimum') ?? -1_000_000, max: number('maximum') ?? 1_000_000 });
    case 'number':
      return fc.double({
        min: number('minimum') ?? -1e9,
        max: number('maximum') ?? 1e9,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case 'string':
      return stringValue(schema);
    case 'array': {
      const items = (schema.items as JsonSchema | undefined) ?? {};
      const minLength = number('minItems') ?? 0;
      const maxLength = Math.max(minLength, Math.min(number('maxItems') ?? 3, 3));
      if (depth >= MAX_DEPTH) return fc.constant([]);
      return fc.array(schemaValue(items, context, depth + 1), { minLength, maxLength });
    }
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const required = (schema.required ?? []) as string[];
      const keys = depth >= MAX_DEPTH ? required : Object.keys(properties);
      const model = Object.fromEntries(
        keys.map((key) => [key, schemaValue(properties[key] ?? {}, context, depth + 1)]),
      );
      return fc.record(model, { requiredKeys: required.filter((key) => key in model) });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function stringValue(schema: JsonSchema): fc.Arbitrary<string> {
  const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : STRING_LENGTH;
  switch (schema.format) {
    case 'uuid':
      return fc.uuid();
    case 'email':
      return fc.emailAddress();
    case 'ipv4':
      return fc.ipV4();
    case 'date':
      return fc.date({ noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
    case 'date-time':
      return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
    case 'uri':
    case 'uri-reference':
      return fc.webUrl();
  }
  if (typeof schema.pattern === 'string') {
    const pattern = compile(schema.pattern);
    // A pattern's string may exceed maxLength; cut, it stays a plausible value to send.
    if (pattern) {
      try {
        return fc.stringMatching(pattern).map((s) => s.slice(0, maxLength));
      } catch {
        // A pattern fast-check cannot generate from (a lookahead): any string, which the server refuses or not.
      }
    }
  }
  return fc.string({ minLength, maxLength: Math.max(minLength, Math.min(maxLength, STRING_LENGTH)) });
}

function compile(pattern: string): RegExp | undefined {
  for (const flags of ['u', '']) {
    try {
      return new RegExp(pattern, flags);
    } catch {
      // Not valid with these flags: try the next.
    }
  }
  return undefined;
}

/** Every path to a value inside `value`, the root (the empty path) first. */
export function pathsOf(value: unknown, path: readonly (string | number)[] = []): (string | number)[][] {
  const paths: (string | number)[][] = [[...path]];
  if (Array.isArray(value)) value.forEach((item, i) => paths.push(...pathsOf(item, [...path, i])));
  else if (value !== null && typeof value === 'object')
    for (const [key, member] of Object.entries(value)) paths.push(...pathsOf(member, [...path, key]));
  return paths;
}

/** `value` with what `path` names replaced (or removed, when `replacement` is `REMOVE`). */
export const REMOVE = Symbol('remove');
export function replaceAt(value: unknown, path: readonly (string | number)[], replacement: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return replacement === REMOVE ? undefined : replacement;
  if (Array.isArray(value)) {
    const copy = [...value];
    if (replacement === REMOVE && rest.length === 0) copy.splice(Number(head), 1);
    else copy[Number(head)] = replaceAt(copy[Number(head)], rest, replacement);
    return copy;
  }
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = { ...value };
    if (replacement === REMOVE && rest.length === 0) delete copy[head];
    else copy[head] = replaceAt(copy[head], rest, replacement);
    return copy;
  }
  return value;
}
