import type { TeamsCommand, TeamsListEdit, TeamsParamValue, TeamsRecord } from './teams-command.js';

/**
 * Teams commands as PowerShell lines (DESIGN §3): `renderPowerShell` writes the line a person would type (the
 * manual's "Queued Change"), `parsePowerShellLine` reads the subset back — one cmdlet, `-Param value` pairs,
 * quoted strings, numbers, `$true`/`$false`/`$null`, arrays and `@{Add=…; Remove=…}` list edits. Anything that
 * would make PowerShell evaluate something (pipes, variables, sub-expressions, script blocks) is refused.
 */

/** A line outside the supported subset; `column` is 1-based. */
export class PowerShellParseError extends Error {
  override readonly name = 'PowerShellParseError';
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(`${message} (column ${column})`);
  }
}

const CMDLET = /^[A-Za-z]+-[A-Za-z][A-Za-z0-9]*$/;
const PARAM = /^[A-Za-z][A-Za-z0-9]*$/;
const NUMBER = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
/** Unquoted words PowerShell passes as strings in argument mode, limited to harmless characters. */
const BARE_WORD = /^[A-Za-z0-9_.:+\-/\\*]+$/;

/** The PowerShell line a command stands for, e.g. `Set-CsOnlinePstnUsage -Identity 'Global' -Usage @{Add='x'}`. */
export function renderPowerShell(command: TeamsCommand): string {
  if (!CMDLET.test(command.cmdlet)) throw new Error(`'${command.cmdlet}' is not a cmdlet name.`);
  const parts = [command.cmdlet];
  for (const [name, value] of Object.entries(command.params)) {
    if (!PARAM.test(name)) throw new Error(`'${name}' is not a parameter name.`);
    parts.push(`-${name}`, renderValue(value, name));
  }
  return parts.join(' ');
}

function renderValue(value: TeamsParamValue, name: string): string {
  if (value === null) return '$null';
  if (typeof value === 'boolean') return value ? '$true' : '$false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`-${name}: ${value} cannot be written in PowerShell.`);
    return String(value);
  }
  if (typeof value === 'string') return quote(value);
  if (isRecordArray(value)) return `@(${value.map((record) => renderRecord(record, name)).join(', ')})`;
  if (isStringArray(value)) return renderArray(value);
  const edit = value as TeamsListEdit;
  const entries: string[] = [];
  // Inside a list edit a single value always means a one-element list, so `'x'` suffices.
  const items = (values: readonly string[]) =>
    values.length === 1 ? quote(values[0] ?? '') : renderArray(values);
  if (edit.add !== undefined) entries.push(`Add=${items(edit.add)}`);
  if (edit.remove !== undefined) entries.push(`Remove=${items(edit.remove)}`);
  return `@{${entries.join('; ')}}`;
}

/** `'a','b'`; one element as `'a'` inside a list edit would read back as a string, hence `@('a')`. */
function renderArray(values: readonly string[]): string {
  if (values.length === 1) return `@(${quote(values[0] ?? '')})`;
  if (values.length === 0) return '@()';
  return values.map(quote).join(',');
}

/** Single-quoted: nothing is expanded; embedded quotes (including the typographic ones) are doubled. */
function quote(value: string): string {
  return `'${value.replace(/['\u2018\u2019\u201a\u201b]/g, (q) => q + q)}'`;
}

function isStringArray(value: TeamsParamValue): value is readonly string[] {
  return Array.isArray(value);
}

function isRecordArray(value: TeamsParamValue): value is readonly TeamsRecord[] {
  return Array.isArray(value) && value.some((item) => typeof item === 'object' && item !== null);
}

/** `@{Name='Intl'; IsInternalExtension=$false}`: what `New-CsVoiceNormalizationRule -InMemory` stands for here. */
function renderRecord(record: TeamsRecord, name: string): string {
  const entries = Object.entries(record).map(([key, value]) => {
    if (!PARAM.test(key)) throw new Error(`-${name}: '${key}' is not a property name.`);
    return `${key}=${renderValue(value, name)}`;
  });
  return `@{${entries.join('; ')}}`;
}

const SINGLE_QUOTES = new Set(["'", '\u2018', '\u2019', '\u201a', '\u201b']);
const DOUBLE_QUOTES = new Set(['"', '\u201c', '\u201d', '\u201e']);

/** Reads one line of the supported PowerShell subset; throws `PowerShellParseError` naming the column. */
export function parsePowerShellLine(line: string): TeamsCommand {
  return new LineParser(line).parse();
}

class LineParser {
  private index = 0;

  constructor(private readonly text: string) {}

  parse(): TeamsCommand {
    this.skipBlanks();
    const cmdletStart = this.index;
    const cmdlet = this.word();
    if (!CMDLET.test(cmdlet)) {
      throw new PowerShellParseError(
        cmdlet ? `'${cmdlet}' is not a cmdlet name (Verb-Noun)` : 'Expected a cmdlet',
        cmdletStart + 1,
      );
    }
    const params: Record<string, TeamsParamValue> = {};
    const seen = new Set<string>();
    for (;;) {
      this.skipBlanks();
      if (this.atEnd()) break;
      const start = this.index;
      const char = this.text[this.index];
      if (char !== '-') {
        this.refuseSpecial();
        throw new PowerShellParseError(
          'Positional arguments are not supported; name the parameter',
          start + 1,
        );
      }
      this.index += 1;
      const name = this.word(true);
      if (!PARAM.test(name)) throw new PowerShellParseError(`'-${name}' is not a parameter name`, start + 1);
      if (seen.has(name.toLowerCase())) throw new PowerShellParseError(`-${name} is given twice`, start + 1);
      seen.add(name.toLowerCase());
      let value: TeamsParamValue;
      if (this.text[this.index] === ':') {
        this.index += 1;
        value = this.value(name);
      } else {
        this.skipBlanks();
        // A switch parameter: nothing, or the next parameter, follows.
        value = this.atEnd() || this.startsParameter() ? true : this.value(name);
      }
      params[name] = value;
    }
    return { cmdlet, params };
  }

  /** A parameter value: a literal, an array of literals (`a,b` or `@(…)`) or a list edit `@{…}`. */
  private value(name: string): TeamsParamValue {
    this.skipBlanks();
    if (this.atEnd()) throw new PowerShellParseError(`-${name} needs a value`, this.index + 1);
    if (this.text.startsWith('@{', this.index)) return this.listEdit();
    if (this.text.startsWith('@(', this.index)) return this.arrayExpression();
    const start = this.index;
    const first = this.literal();
    if (!this.peekComma()) return first;
    const items = [this.asArrayItem(first, start)];
    while (this.peekComma()) {
      this.skipBlanks();
      this.index += 1; // the comma
      this.skipBlanks();
      const itemStart = this.index;
      items.push(this.asArrayItem(this.literal(), itemStart));
    }
    return items;
  }

  private asArrayItem(value: TeamsParamValue, start: number): string {
    if (typeof value !== 'string') {
      throw new PowerShellParseError('Array items must be strings', start + 1);
    }
    return value;
  }

  private peekComma(): boolean {
    let i = this.index;
    while (this.text[i] === ' ' || this.text[i] === '\t') i += 1;
    return this.text[i] === ',';
  }

  /** `@()` or `@('a', 'b')`. */
  private arrayExpression(): string[] {
    const start = this.index;
    this.index += 2;
    this.skipBlanks();
    const items: string[] = [];
    if (this.text[this.index] === ')') {
      this.index += 1;
      return items;
    }
    for (;;) {
      this.skipBlanks();
      const itemStart = this.index;
      items.push(this.asArrayItem(this.literal(), itemStart));
      this.skipBlanks();
      const char = this.text[this.index];
      if (char === ',') {
        this.index += 1;
        continue;
      }
      if (char === ')') {
        this.index += 1;
        return items;
      }
      if (this.atEnd()) throw new PowerShellParseError("Missing ')' to close '@('", start + 1);
      throw new PowerShellParseError(`Unexpected '${char}' in an array`, this.index + 1);
    }
  }

  /** `@{Add='a','b'; Remove='c'}`, keys case-insensitive. */
  private listEdit(): TeamsListEdit {
    const start = this.index;
    this.index += 2;
    const edit: { add?: readonly string[]; remove?: readonly string[] } = {};
    for (;;) {
      this.skipBlanks();
      if (this.atEnd()) throw new PowerShellParseError("Missing '}' to close '@{'", start + 1);
      if (this.text[this.index] === '}') {
        this.index += 1;
        return edit;
      }
      const keyStart = this.index;
      const key = this.word(true).toLowerCase();
      if (key !== 'add' && key !== 'remove' && key !== 'replace') {
        throw new PowerShellParseError('A list edit takes Add and Remove keys', keyStart + 1);
      }
      if (key === 'replace')
        throw new PowerShellParseError('Replace list edits are not supported', keyStart + 1);
      if (edit[key] !== undefined) throw new PowerShellParseError(`${key} is given twice`, keyStart + 1);
      this.skipBlanks();
      if (this.text[this.index] !== '=') throw new PowerShellParseError("Expected '='", this.index + 1);
      this.index += 1;
      this.skipBlanks();
      const valueStart = this.index;
      const value = this.value(key);
      edit[key] = Array.isArray(value) ? value : [this.asArrayItem(value as TeamsParamValue, valueStart)];
      this.skipBlanks();
      const char = this.text[this.index];
      if (char === ';') {
        this.index += 1;
        continue;
      }
      if (char !== '}' && !this.atEnd()) {
        throw new PowerShellParseError(`Unexpected '${char}' in a list edit`, this.index + 1);
      }
    }
  }

  /** A quoted string, a number, `$true`/`$false`/`$null`, or a bare word. */
  private literal(): TeamsParamValue {
    const start = this.index;
    const char = this.text[this.index] ?? '';
    if (SINGLE_QUOTES.has(char)) return this.singleQuoted();
    if (DOUBLE_QUOTES.has(char)) return this.doubleQuoted();
    if (char === '$') {
      const word = this.word(true, true);
      const lower = word.toLowerCase();
      if (lower === '$true') return true;
      if (lower === '$false') return false;
      if (lower === '$null') return null;
      if (word.startsWith('$('))
        throw new PowerShellParseError('Sub-expressions are not supported', start + 1);
      throw new PowerShellParseError(`Variables (${word || '$'}) are not supported`, start + 1);
    }
    this.refuseSpecial();
    const word = this.word();
    if (word === '') throw new PowerShellParseError(`Unexpected '${char}'`, start + 1);
    if (NUMBER.test(word)) return Number(word);
    if (!BARE_WORD.test(word)) throw new PowerShellParseError(`Quote the value '${word}'`, start + 1);
    return word;
  }

  private singleQuoted(): string {
    const start = this.index;
    this.index += 1;
    let value = '';
    for (;;) {
      if (this.atEnd()) throw new PowerShellParseError('Unterminated string', start + 1);
      const char = this.text[this.index] ?? '';
      if (SINGLE_QUOTES.has(char)) {
        const next = this.text[this.index + 1] ?? '';
        if (SINGLE_QUOTES.has(next)) {
          value += char;
          this.index += 2;
          continue;
        }
        this.index += 1;
        return value;
      }
      value += char;
      this.index += 1;
    }
  }

  /** Double quotes expand `$…` and backtick escapes in PowerShell; here only plain text and `""` are allowed. */
  private doubleQuoted(): string {
    const start = this.index;
    this.index += 1;
    let value = '';
    for (;;) {
      if (this.atEnd()) throw new PowerShellParseError('Unterminated string', start + 1);
      const char = this.text[this.index] ?? '';
      if (DOUBLE_QUOTES.has(char)) {
        const next = this.text[this.index + 1] ?? '';
        if (DOUBLE_QUOTES.has(next)) {
          value += char;
          this.index += 2;
          continue;
        }
        this.index += 1;
        return value;
      }
      if (char === '$') {
        throw new PowerShellParseError(
          "'$' inside double quotes would be expanded; use single quotes",
          this.index + 1,
        );
      }
      if (char === '`') throw new PowerShellParseError('Backtick escapes are not supported', this.index + 1);
      value += char;
      this.index += 1;
    }
  }

  /** Characters that make PowerShell do more than pass a value. */
  private refuseSpecial(): void {
    const char = this.text[this.index] ?? '';
    const column = this.index + 1;
    if (char === '|') throw new PowerShellParseError('Pipes are not supported', column);
    if (char === ';') throw new PowerShellParseError('Only one command per line (no semicolons)', column);
    if (char === '`') throw new PowerShellParseError('Backticks are not supported', column);
    if (char === '$') throw new PowerShellParseError('Variables are not supported', column);
    if (char === '(' || char === ')')
      throw new PowerShellParseError('Sub-expressions are not supported', column);
    if (char === '{' || char === '}')
      throw new PowerShellParseError('Script blocks are not supported', column);
    if (char === '&' || char === '>' || char === '<') {
      throw new PowerShellParseError(`'${char}' is not supported`, column);
    }
    if (char === '#') throw new PowerShellParseError('Comments are not supported after a command', column);
    if (char === '@')
      throw new PowerShellParseError("Only '@(…)' arrays and '@{…}' list edits are supported", column);
  }

  /**
   * A run of characters up to a blank or a delimiter. Names stop at `:` and `=`; `$` words (`$true`) may start
   * with `$`. Special characters inside a word are refused with their column.
   */
  private word(name = false, dollar = false): string {
    const start = this.index;
    while (!this.atEnd()) {
      const char = this.text[this.index] ?? '';
      if (char === ' ' || char === '\t' || char === ',' || char === ';' || char === '}' || char === ')')
        break;
      if (name && (char === ':' || char === '=')) break;
      if (char === '$' && dollar && this.index === start) {
        this.index += 1;
        if (this.text[this.index] === '(') {
          this.index += 1;
          break;
        }
        continue;
      }
      if ('|`$(){}&<>#@"\''.includes(char) || SINGLE_QUOTES.has(char) || DOUBLE_QUOTES.has(char)) {
        if (this.index === start) break;
        this.refuseSpecial();
        throw new PowerShellParseError(`Unexpected '${char}'`, this.index + 1);
      }
      this.index += 1;
    }
    return this.text.slice(start, this.index);
  }

  private startsParameter(): boolean {
    return this.text[this.index] === '-' && /[A-Za-z]/.test(this.text[this.index + 1] ?? '');
  }

  private skipBlanks(): void {
    while (this.text[this.index] === ' ' || this.text[this.index] === '\t') this.index += 1;
  }

  private atEnd(): boolean {
    return this.index >= this.text.length;
  }
}
