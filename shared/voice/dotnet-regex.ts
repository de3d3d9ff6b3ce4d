import { z } from 'zod';

/**
 * Teams evaluates voice routes' NumberPattern and dial plans' normalization rules (Pattern, Translation) as .NET
 * regular expressions with the default options ("Normalization rules use .NET Framework regular expressions",
 * learn.microsoft.com/microsoftteams/what-are-dial-plans; New-CsVoiceNormalizationRule, New-CsOnlineVoiceRoute).
 * JavaScript's dialect differs (`\d` is ASCII only, `$` does not match before a final newline, group names and
 * numbering differ, unknown escapes are literals), so a pattern is parsed here by .NET's rules (learn.microsoft.com
 * /dotnet/standard/base-types/regular-expression-language-quick-reference, "Character escapes", "Grouping
 * constructs", "Substitutions") and rewritten into an equivalent JS RegExp (flag `u`).
 *
 * What .NET refuses is refused with .NET's reason (`pattern_invalid`); what .NET accepts but this module cannot
 * evaluate faithfully in JS is refused as unsupported (`pattern_unsupported`), never evaluated differently:
 * atomic groups, conditionals, balancing groups, inline options, class subtraction, `\G`, Unicode blocks (`\p{IsX}`),
 * `\W`/`\S` inside a character class, quantified anchors, duplicate or numeric group names.
 */

export type PatternProblemCode = 'pattern_invalid' | 'pattern_unsupported';

export interface PatternProblem {
  readonly code: PatternProblemCode;
  /** What is wrong, with the offset in the pattern (0-based) where it was found. */
  readonly message: string;
  readonly offset: number;
}

/** A parsed .NET pattern, ready to run. */
export interface DotNetRegex {
  readonly pattern: string;
  readonly regex: RegExp;
  /** .NET group number → the JS group index that holds it (0 is the whole match). */
  readonly groupIndex: ReadonlyMap<number, number>;
  /** .NET group name → its .NET number. */
  readonly groupNames: ReadonlyMap<string, number>;
}

export type ParseResult =
  | { readonly ok: true; readonly value: DotNetRegex }
  | { readonly ok: false; readonly problem: PatternProblem };

class PatternError extends Error {
  constructor(
    readonly code: PatternProblemCode,
    readonly reason: string,
    readonly offset: number,
  ) {
    super(reason);
  }
}

const invalid = (reason: string, offset: number) => new PatternError('pattern_invalid', reason, offset);
const unsupported = (reason: string, offset: number) =>
  new PatternError('pattern_unsupported', `${reason} is valid .NET but not supported here`, offset);

// .NET's class shorthands without RegexOptions.ECMAScript ("Character classes in .NET regular expressions").
const WORD = '\\p{L}\\p{Mn}\\p{Nd}\\p{Pc}';
const SPACE = '\\f\\n\\r\\t\\v\\x85\\p{Z}';
const SHORTHANDS: Readonly<Record<string, { readonly inClass: string | null; readonly outside: string }>> = {
  d: { inClass: '\\p{Nd}', outside: '\\p{Nd}' },
  D: { inClass: '\\P{Nd}', outside: '\\P{Nd}' },
  w: { inClass: WORD, outside: `[${WORD}]` },
  W: { inClass: null, outside: `[^${WORD}]` },
  s: { inClass: SPACE, outside: `[${SPACE}]` },
  S: { inClass: null, outside: `[^${SPACE}]` },
};

/** The Unicode general categories .NET's `\p{…}` knows (blocks, `IsGreek` etc., are not supported). */
const CATEGORIES = new Set(
  'L Lu Ll Lt Lm Lo M Mn Mc Me N Nd Nl No P Pc Pd Ps Pe Pi Pf Po S Sm Sc Sk So Z Zs Zl Zp C Cc Cf Cs Co Cn'.split(
    ' ',
  ),
);

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  t: 0x09,
  n: 0x0a,
  r: 0x0d,
  f: 0x0c,
  v: 0x0b,
  e: 0x1b,
  a: 0x07,
};

const isWordChar = (ch: string) => /[\p{L}\p{Mn}\p{Nd}\p{Pc}]/u.test(ch);
const isDigit = (ch: string | undefined) => ch !== undefined && ch >= '0' && ch <= '9';
const isHex = (ch: string | undefined) => ch !== undefined && /^[0-9a-fA-F]$/.test(ch);

/** A code point as JS source that means only itself, in or out of a class. */
function literal(codePoint: number): string {
  const ch = String.fromCodePoint(codePoint);
  return /^[A-Za-z0-9 _,:;'"%&@=<>!~`]$/.test(ch) ? ch : `\\u{${codePoint.toString(16)}}`;
}

interface Group {
  /** Offset of its `(` in the pattern. */
  readonly at: number;
  readonly kind: 'capture' | 'plain' | 'look';
  /** The .NET name, for a named group. */
  readonly name?: string;
}

/**
 * Parses a .NET pattern. Two passes, as .NET does: the first numbers the groups (unnamed groups 1…n left to right,
 * then named groups n+1… in order), so that a backreference may name a later group; the second writes the JS source.
 */
export function parseDotNetPattern(pattern: string): ParseResult {
  try {
    const groups = scanGroups(pattern);
    const unnamed = groups.filter((g) => g.kind === 'capture' && g.name === undefined);
    const named = groups.filter((g) => g.kind === 'capture' && g.name !== undefined);
    const groupNames = new Map<string, number>();
    named.forEach((g, i) => groupNames.set(g.name!, unnamed.length + 1 + i));
    // The JS index of each capture is its position among all captures, left to right.
    const captures = groups.filter((g) => g.kind === 'capture');
    const dotNetNumberAt = new Map<number, number>();
    unnamed.forEach((g, i) => dotNetNumberAt.set(g.at, i + 1));
    for (const g of named) dotNetNumberAt.set(g.at, groupNames.get(g.name!)!);
    const groupIndex = new Map<number, number>([[0, 0]]);
    captures.forEach((g, i) => groupIndex.set(dotNetNumberAt.get(g.at)!, i + 1));
    const source = new Writer(pattern, groupIndex, groupNames).write();
    return { ok: true, value: { pattern, regex: new RegExp(source, 'u'), groupIndex, groupNames } };
  } catch (error) {
    if (error instanceof PatternError) {
      return { ok: false, problem: { code: error.code, message: error.reason, offset: error.offset } };
    }
    // The rewrite is meant never to produce a source JS refuses; if it does, say so rather than guess.
    if (error instanceof SyntaxError) {
      return {
        ok: false,
        problem: {
          code: 'pattern_unsupported',
          message: `cannot be evaluated here: ${error.message}`,
          offset: 0,
        },
      };
    }
    throw error;
  }
}

/** The groups of a pattern in order of their `(`; checks parentheses balance and group names. */
function scanGroups(pattern: string): Group[] {
  const groups: Group[] = [];
  const open: number[] = [];
  const names = new Set<string>();
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i]!;
    if (ch === '\\') {
      i += 2;
      continue;
    }
    if (ch === '[') {
      i = skipClass(pattern, i);
      continue;
    }
    if (ch === ')') {
      if (open.pop() === undefined) throw invalid("Too many )'s", i);
      i++;
      continue;
    }
    if (ch !== '(') {
      i++;
      continue;
    }
    open.push(i);
    if (pattern[i + 1] !== '?') {
      groups.push({ at: i, kind: 'capture' });
      i++;
      continue;
    }
    const construct = pattern[i + 2];
    if (construct === '#') {
      // A comment runs to the first `)`, which closes it.
      const end = pattern.indexOf(')', i);
      if (end < 0) throw invalid('Unterminated (?#...) comment', i);
      open.pop();
      i = end + 1;
      continue;
    }
    if ((construct === '<' || construct === "'") && !['=', '!'].includes(pattern[i + 3] ?? '')) {
      const close = construct === '<' ? '>' : "'";
      const end = pattern.indexOf(close, i + 3);
      const name = end < 0 ? pattern.slice(i + 3) : pattern.slice(i + 3, end);
      checkGroupName(name, i, end < 0);
      if (names.has(name)) throw unsupported(`The group name '${name}' used twice`, i);
      names.add(name);
      groups.push({ at: i, kind: 'capture', name });
      i = end + 1;
      continue;
    }
    groups.push({ at: i, kind: construct === ':' ? 'plain' : 'look' });
    i += 2;
  }
  const unclosed = open.pop();
  if (unclosed !== undefined) throw invalid("Not enough )'s", unclosed);
  return groups;
}

function checkGroupName(name: string, at: number, unterminated: boolean): void {
  if (name.includes('-')) throw unsupported('A balancing group', at);
  if (name === '' || !isWordChar(name[0]!)) {
    throw invalid('Invalid group name: Group names must begin with a word character', at);
  }
  if (isDigit(name[0])) {
    if (/^\d+$/.test(name)) throw unsupported(`The numbered group (?<${name}>…)`, at);
    throw invalid('Invalid group name: Group names must begin with a word character', at);
  }
  if (![...name].every(isWordChar))
    throw invalid('Invalid group name: Group names must be word characters', at);
  if (unterminated) throw invalid('Unrecognized grouping construct', at);
}

/** Where a character class that starts at `start` (its `[`) ends, one past its `]`. */
function skipClass(pattern: string, start: number): number {
  let i = start + 1;
  if (pattern[i] === '^') i++;
  // In .NET a `]` first in a class is a member, not its end.
  if (pattern[i] === ']') i++;
  while (i < pattern.length) {
    if (pattern[i] === '\\') i += 2;
    else if (pattern[i] === ']') return i + 1;
    else i++;
  }
  throw invalid('Unterminated [] set', start);
}

/** The second pass: .NET syntax in, JS source out. */
class Writer {
  private i = 0;
  private out = '';
  /** Whether the last thing written may take a quantifier, and whether it already has one. */
  private quantifiable: 'no' | 'yes' | 'anchor' = 'no';

  constructor(
    private readonly pattern: string,
    private readonly groupIndex: ReadonlyMap<number, number>,
    private readonly groupNames: ReadonlyMap<string, number>,
  ) {}

  write(): string {
    const p = this.pattern;
    while (this.i < p.length) {
      const at = this.i;
      const ch = p[at]!;
      switch (ch) {
        case '\\':
          this.escape();
          break;
        case '[':
          this.characterClass();
          break;
        case '(':
          this.openGroup();
          break;
        case ')':
          this.out += ')';
          this.i++;
          this.quantifiable = 'yes';
          break;
        case '|':
          this.out += '|';
          this.i++;
          this.quantifiable = 'no';
          break;
        case '.':
          // .NET's `.` is anything but \n; JS's also excludes \r, \u2028 and \u2029.
          this.emit('[^\\n]', 1);
          break;
        case '^':
          this.emit('^', 1, 'anchor');
          break;
        case '$':
          // Without RegexOptions.Multiline, .NET's `$` also matches before a final \n.
          this.emit('(?=\\n?$)', 1, 'anchor');
          break;
        case '*':
        case '+':
        case '?':
          this.quantifier(at, ch, 1);
          break;
        case '{': {
          const bounds = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(at));
          // A `{` that does not start {n}, {n,} or {n,m} is a literal in .NET.
          if (!bounds) this.emit(literal(0x7b), 1);
          else {
            const min = Number(bounds[1]);
            const max = bounds[3] ? Number(bounds[3]) : null;
            if (max !== null && min > max) throw invalid('Illegal {x,y} with x > y', at);
            this.quantifier(at, bounds[0], bounds[0].length);
          }
          break;
        }
        default:
          this.emit(literal(p.codePointAt(at)!), String.fromCodePoint(p.codePointAt(at)!).length);
      }
    }
    return this.out;
  }

  private emit(source: string, consumed: number, kind: 'yes' | 'anchor' = 'yes'): void {
    this.out += source;
    this.i += consumed;
    this.quantifiable = kind;
  }

  private quantifier(at: number, text: string, consumed: number): void {
    if (this.quantifiable === 'no') {
      const previous = this.pattern[at - 1];
      // Nothing quantifiable before, yet a quantifier's last character: the second of two quantifiers.
      if (previous !== undefined && /[*+?}]/.test(previous)) {
        throw invalid(`Nested quantifier '${text[0]}'`, at);
      }
      throw invalid(`Quantifier '${text}' following nothing`, at);
    }
    if (this.quantifiable === 'anchor') throw unsupported('A quantifier on an anchor', at);
    let source = text;
    let length = consumed;
    if (this.pattern[at + consumed] === '?') {
      source += '?';
      length++;
    }
    this.out += source;
    this.i += length;
    this.quantifiable = 'no';
  }

  private openGroup(): void {
    const p = this.pattern;
    const at = this.i;
    if (p[at + 1] !== '?') {
      this.out += '(';
      this.i++;
      this.quantifiable = 'no';
      return;
    }
    const construct = p[at + 2];
    const rest = p.slice(at + 2);
    if (construct === '#') {
      this.i = p.indexOf(')', at) + 1;
      return;
    }
    if (construct === ':' || construct === '=' || construct === '!') {
      this.out += `(?${construct}`;
      this.i += 3;
    } else if (rest.startsWith('<=') || rest.startsWith('<!')) {
      this.out += `(?${rest.slice(0, 2)}`;
      this.i += 4;
    } else if (construct === '<' || construct === "'") {
      // Named groups become plain JS captures: the numbering maps .NET names and numbers to them.
      this.out += '(';
      this.i = p.indexOf(construct === '<' ? '>' : "'", at + 3) + 1;
    } else if (construct === '>') {
      throw unsupported('An atomic group (?>…)', at);
    } else if (construct === '(') {
      throw unsupported('A conditional (?(…)…)', at);
    } else if (construct !== undefined && /[imnsx-]/.test(construct)) {
      if (!/^[imnsx]*(-[imnsx]*)?[:)]/.test(rest)) throw invalid('Unrecognized grouping construct', at);
      throw unsupported('An inline option (?imnsx-imnsx)', at);
    } else {
      throw invalid('Unrecognized grouping construct', at);
    }
    this.quantifiable = 'no';
  }

  /** A backslash outside a class. */
  private escape(): void {
    const p = this.pattern;
    const at = this.i;
    const next = p[at + 1];
    if (next === undefined) throw invalid('Illegal \\ at end of pattern', at);
    const shorthand = SHORTHANDS[next];
    if (shorthand) return this.emit(shorthand.outside, 2);
    switch (next) {
      case 'b':
      case 'B': {
        // .NET's word boundary uses its (Unicode) word characters; JS's `\b` would use ASCII ones.
        const w = `[${WORD}]`;
        const boundary =
          next === 'b'
            ? `(?:(?<=${w})(?!${w})|(?<!${w})(?=${w}))`
            : `(?:(?<=${w})(?=${w})|(?<!${w})(?!${w}))`;
        return this.emit(boundary, 2, 'anchor');
      }
      case 'A':
        return this.emit('^', 2, 'anchor');
      case 'z':
        return this.emit('$', 2, 'anchor');
      case 'Z':
        return this.emit('(?=\\n?$)', 2, 'anchor');
      case 'G':
        throw unsupported('\\G', at);
      case 'k':
        return this.namedBackreference(at);
      case 'p':
      case 'P': {
        const [consumed, , source] = unicodeCategory(p, at);
        return this.emit(source, consumed);
      }
    }
    if (isDigit(next) && next !== '0') return this.numberedBackreference(at);
    const [codePoint, consumed] = charEscape(p, at, false);
    this.emit(literal(codePoint), consumed);
  }

  private numberedBackreference(at: number): void {
    const digits = /^\d+/.exec(this.pattern.slice(at + 1))![0];
    const index = this.groupIndex.get(Number(digits));
    if (index !== undefined) return this.emit(`\\${index}`, 1 + digits.length);
    if (digits.length === 1) throw invalid(`Reference to undefined group number ${digits}`, at);
    throw unsupported(`\\${digits} (an octal escape, as there is no group ${digits})`, at);
  }

  private namedBackreference(at: number): void {
    const p = this.pattern;
    const open = p[at + 2];
    if (open !== '<' && open !== "'") throw invalid('Malformed \\k<...> named back reference', at);
    const end = p.indexOf(open === '<' ? '>' : "'", at + 3);
    if (end < 0) throw invalid('Malformed \\k<...> named back reference', at);
    const name = p.slice(at + 3, end);
    const number = /^\d+$/.test(name) ? Number(name) : this.groupNames.get(name);
    const index = number === undefined ? undefined : this.groupIndex.get(number);
    if (index === undefined) throw invalid(`Reference to undefined group name ${name}`, at);
    this.emit(`\\${index}`, end + 1 - at);
  }

  private characterClass(): void {
    const p = this.pattern;
    const start = this.i;
    const end = skipClass(p, start) - 1;
    let i = start + 1;
    let out = '[';
    if (p[i] === '^') {
      out += '^';
      i++;
    }
    const first = i;
    /** The previous member, when it was a single character (a range may start there). */
    let previous: number | null = null;
    while (i < end) {
      const at = i;
      const ch = p[i]!;
      if (ch === '[' && p[i - 1] === '-' && i - 1 > first)
        throw unsupported('A class subtraction [a-z-[…]]', at);
      if (ch === '-' && previous !== null && i + 1 < end) {
        const [high, consumed, isClass] = this.classAtom(i + 1);
        if (isClass)
          throw invalid(`Cannot include class ${p.slice(i + 1, i + 1 + consumed)} in character range`, at);
        if (p[i + 1] === '[') throw unsupported('A class subtraction [a-z-[…]]', at);
        if (high < previous) throw invalid('[x-y] range in reverse order', at);
        out += `-${literal(high)}`;
        i += 1 + consumed;
        previous = null;
        continue;
      }
      const [codePoint, consumed, isClass, source] = this.classAtom(i);
      if (isClass) {
        if (p[i + consumed] === '-' && i + consumed + 1 < end) {
          throw invalid(`Cannot include class ${p.slice(i, i + consumed)} in character range`, at);
        }
        out += source;
        previous = null;
      } else {
        out += literal(codePoint);
        previous = codePoint;
      }
      i += consumed;
    }
    this.emit(`${out}]`, end + 1 - start);
  }

  /** One member of a class at `at`: a character (code point) or a class escape (its JS source). */
  private classAtom(at: number): [codePoint: number, consumed: number, isClass: boolean, source: string] {
    const p = this.pattern;
    if (p[at] !== '\\') {
      const codePoint = p.codePointAt(at)!;
      return [codePoint, String.fromCodePoint(codePoint).length, false, ''];
    }
    const next = p[at + 1];
    const shorthand = next === undefined ? undefined : SHORTHANDS[next];
    if (shorthand) {
      if (shorthand.inClass === null) throw unsupported(`\\${next} inside a character class`, at);
      return [0, 2, true, shorthand.inClass];
    }
    if (next === 'p' || next === 'P') {
      const [consumed, , source] = unicodeCategory(p, at);
      return [0, consumed, true, source];
    }
    // Inside a class `\b` is a backspace.
    if (next === 'b') return [0x08, 2, false, ''];
    const [codePoint, consumed] = charEscape(p, at, true);
    return [codePoint, consumed, false, ''];
  }
}

function unicodeCategory(p: string, at: number): [consumed: number, isClass: true, source: string] {
  const match = /^\{([^}]*)\}/.exec(p.slice(at + 2));
  if (!match) throw invalid('Incomplete \\p{X} character escape', at);
  const name = match[1]!;
  if (/^Is/.test(name)) throw unsupported(`The Unicode block \\p{${name}}`, at);
  if (!CATEGORIES.has(name)) throw invalid(`Unknown property '${name}'`, at);
  return [2 + match[0].length, true, `\\${p[at + 1]}{${name}}`];
}

/**
 * A character escape (`\t`, `\x41`, `\u0041`, `\cC`, `\0`, octal in a class, an escaped non-word character):
 * its code point and length. .NET refuses an escaped word character it does not know ("Unrecognized escape").
 */
function charEscape(p: string, at: number, inClass: boolean): [codePoint: number, consumed: number] {
  const next = p[at + 1]!;
  const simple = SIMPLE_ESCAPES[next];
  if (simple !== undefined) return [simple, 2];
  if (next === 'x' || next === 'u') {
    const length = next === 'x' ? 2 : 4;
    const hex = p.slice(at + 2, at + 2 + length);
    if (hex.length < length || ![...hex].every(isHex)) throw invalid('Insufficient hex digits', at);
    return [parseInt(hex, 16), 2 + length];
  }
  if (next === 'c') {
    const control = p[at + 2];
    if (control === undefined) throw invalid('Missing control character', at);
    const upper = control.toUpperCase();
    if (upper < '@' || upper > '_') throw invalid('Unrecognized control character', at);
    return [upper.charCodeAt(0) - 0x40, 3];
  }
  // `\0` (and in a class any `\1`–`\7`) starts an octal escape of up to three digits.
  if (next >= '0' && next <= '7' && (next === '0' || inClass)) {
    const digits = /^[0-7]{1,3}/.exec(p.slice(at + 1))![0];
    return [parseInt(digits, 8) & 0xff, 1 + digits.length];
  }
  if (isWordChar(next)) throw invalid(`Unrecognized escape sequence \\${next}`, at);
  const codePoint = p.codePointAt(at + 1)!;
  return [codePoint, 1 + String.fromCodePoint(codePoint).length];
}

/** One part of a translation: text, or a .NET substitution. */
type TranslationPart =
  | { readonly text: string }
  | { readonly group: number }
  | { readonly special: 'match' | 'before' | 'after' | 'last' | 'input' };

export type TranslationResult =
  | { readonly ok: true; readonly parts: readonly TranslationPart[] }
  | { readonly ok: false; readonly message: string };

/**
 * Parses a translation (.NET "Substitutions in regular expressions"): `$n`, `${n}`, `${name}`, `$$`, `$&`,
 * `` $` ``, `$'`, `$+`, `$_`; any other `$` is itself. .NET would insert a `$n` naming a group the pattern lacks
 * literally; Microsoft's guidance is that "the number following the $ symbol must be less than or equal to the
 * total number of captures" (Phone Number Normalization Rule Regular Expressions), so such a reference is refused.
 */
export function parseTranslation(translation: string, regex: DotNetRegex): TranslationResult {
  const parts: TranslationPart[] = [];
  let text = '';
  let i = 0;
  const flush = () => {
    if (text !== '') parts.push({ text });
    text = '';
  };
  while (i < translation.length) {
    const ch = translation[i]!;
    if (ch !== '$' || i + 1 >= translation.length) {
      text += ch;
      i++;
      continue;
    }
    const next = translation[i + 1]!;
    const special = { '&': 'match', '`': 'before', "'": 'after', '+': 'last', _: 'input' } as const;
    if (next === '$') {
      text += '$';
      i += 2;
    } else if (next in special) {
      flush();
      parts.push({ special: special[next as keyof typeof special] });
      i += 2;
    } else if (isDigit(next)) {
      const digits = /^\d+/.exec(translation.slice(i + 1))![0];
      const number = Number(digits);
      if (!regex.groupIndex.has(number)) return missingGroup(`$${digits}`, regex);
      flush();
      parts.push({ group: number });
      i += 1 + digits.length;
    } else if (next === '{') {
      const end = translation.indexOf('}', i);
      if (end < 0) {
        text += ch;
        i++;
        continue;
      }
      const name = translation.slice(i + 2, end);
      const number = /^\d+$/.test(name) ? Number(name) : regex.groupNames.get(name);
      if (number === undefined || !regex.groupIndex.has(number)) return missingGroup(`\${${name}}`, regex);
      flush();
      parts.push({ group: number });
      i = end + 1;
    } else {
      text += ch;
      i++;
    }
  }
  flush();
  return { ok: true, parts };
}

function missingGroup(reference: string, regex: DotNetRegex): TranslationResult {
  const count = regex.groupIndex.size - 1;
  const named = [...regex.groupNames.keys()];
  return {
    ok: false,
    message:
      `${reference} refers to a group the pattern does not have (it has ${count} group${count === 1 ? '' : 's'}` +
      `${named.length > 0 ? `, named ${named.join(', ')}` : ''}).`,
  };
}

/** The translation of a match: the translation with its substitutions filled in (Match.Result). */
export function translate(
  match: RegExpExecArray,
  parts: readonly TranslationPart[],
  regex: DotNetRegex,
): string {
  const input = match.input;
  const groupValue = (number: number) => match[regex.groupIndex.get(number)!] ?? '';
  return parts
    .map((part) => {
      if ('text' in part) return part.text;
      if ('group' in part) return groupValue(part.group);
      switch (part.special) {
        case 'match':
          return match[0];
        case 'before':
          return input.slice(0, match.index);
        case 'after':
          return input.slice(match.index + match[0].length);
        case 'input':
          return input;
        case 'last': {
          // .NET's $+ is the highest-numbered group.
          const last = Math.max(...regex.groupIndex.keys());
          return groupValue(last);
        }
      }
    })
    .join('');
}

/** A field's message for a pattern problem, with where in the pattern it is. */
export function patternMessage(problem: PatternProblem): string {
  return `${problem.message} (at offset ${problem.offset}).`;
}

/**
 * A zod refinement for a pattern field (a voice route's NumberPattern, a normalization rule's Pattern): the issue
 * carries the stable code `pattern_invalid` or `pattern_unsupported`.
 */
export const dotNetPatternSchema = z.string().superRefine((pattern, ctx) => {
  const parsed = parseDotNetPattern(pattern);
  if (!parsed.ok) {
    ctx.addIssue({
      code: 'custom',
      message: `Not a valid .NET regular expression: ${patternMessage(parsed.problem)}`,
      params: { code: parsed.problem.code },
    });
  }
});

/**
 * Checks a normalization rule's Pattern and Translation together, for a refinement of the object that holds both
 * (`path` is where that object is, the issues land on its `Pattern` and `Translation`).
 */
export function checkNormalizationRule(
  rule: { readonly Pattern?: unknown; readonly Translation?: unknown },
  ctx: { addIssue: (issue: z.core.$ZodRawIssue) => void },
  path: readonly PropertyKey[] = [],
): void {
  if (typeof rule.Pattern !== 'string') return;
  const parsed = parseDotNetPattern(rule.Pattern);
  if (!parsed.ok) {
    ctx.addIssue({
      code: 'custom',
      path: [...path, 'Pattern'],
      input: rule.Pattern,
      message: `Not a valid .NET regular expression: ${patternMessage(parsed.problem)}`,
      params: { code: parsed.problem.code },
    });
    return;
  }
  if (typeof rule.Translation !== 'string') return;
  const translation = parseTranslation(rule.Translation, parsed.value);
  if (!translation.ok) {
    ctx.addIssue({
      code: 'custom',
      path: [...path, 'Translation'],
      input: rule.Translation,
      message: translation.message,
      params: { code: 'translation_invalid' },
    });
  }
}
