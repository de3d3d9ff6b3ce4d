import { CONTROL_CHARACTERS_TEXT, hasControlCharacter } from '../validation/control-characters.js';
import type { ScriptFamily } from './script-types.js';
import { TemplateRenderError } from './template-errors.js';

/**
 * Escaping by default (DESIGN §4): every `{{value}}` of a template goes through its family's escaper, chosen by where
 * the value sits in the template text, so that no value can close a quote and add a parameter of its own:
 *
 * - `double`: inside a `"…"` the template wrote (`name "{{CustomerId}}-c"`);
 * - `single`: inside a `'…'` the template wrote (M365 only; the SBC CLI has no single quotes);
 * - `bare`: a word of its own, outside quotes (`password {{x}}`, `-Fqdn {{x}}`): the escaper adds the quotes;
 * - `word`: outside quotes but glued to other text (`tag:{{x}}`): no quoting can keep that one word, so the value
 *   must be a plain token.
 *
 * `{{raw x}}` prints a value as it is; it is the only way around the escaper and no built-in template uses it.
 */
export type Slot = 'bare' | 'word' | 'double' | 'single';

/** The helper names the renderer substitutes for `{{x}}` and `{{sbcEscape x}}`; `raw` prints as is. */
export const RAW_HELPER = 'raw';
export const EXPLICIT_ESCAPE_HELPER = 'sbcEscape';
export const SLOTS: readonly Slot[] = ['bare', 'word', 'double', 'single'];
export const ESCAPE_HELPERS: Readonly<Record<ScriptFamily, Readonly<Record<Slot, string>>>> = {
  sbc: Object.fromEntries(SLOTS.map((s) => [s, `escape-sbc-${s}`])) as Record<Slot, string>,
  m365: Object.fromEntries(SLOTS.map((s) => [s, `escape-m365-${s}`])) as Record<Slot, string>,
};

function toText(value: unknown, name: string): string {
  const result = value === undefined || value === null ? '' : String(value);
  if (hasControlCharacter(result)) {
    throw new TemplateRenderError('unsafe_value', `{{${name}}} holds ${CONTROL_CHARACTERS_TEXT}.`);
  }
  return result;
}

/** Letters, digits and `+ - _ . @ : /`: what the AudioCodes CLI reads as one word without quotes. */
const SBC_TOKEN = /^[A-Za-z0-9+\-_.@:/]+$/;

/**
 * The AudioCodes CLI escaper: inside the template's `"…"`, `"` and `\` are backslash-escaped; as a word of its own a
 * plain token is written as is and anything else in double quotes, escaped the same way; glued to other text only a
 * plain token (or nothing) is accepted. The manual uses `sbcEscape` without defining it; this is our definition.
 */
export function sbcEscape(value: unknown, slot: Slot = 'bare', name = 'value'): string {
  const plain = toText(value, name);
  const escaped = () => plain.replace(/[\\"]/g, (c) => `\\${c}`);
  switch (slot) {
    case 'double':
    case 'single': // never found in an SBC template (the CLI has no single quotes); kept total
      return escaped();
    case 'bare':
      return SBC_TOKEN.test(plain) ? plain : `"${escaped()}"`;
    case 'word':
      if (plain === '' || SBC_TOKEN.test(plain)) return plain;
      throw gluedValue(name, 'sbc');
  }
}

/** What `parsePowerShellLine` (and PowerShell) treat as single and double quotes, typographic ones included. */
const SINGLE_QUOTE_CHARS = "'\u2018\u2019\u201a\u201b";
const DOUBLE_QUOTE_CHARS = '"\u201c\u201d\u201e';
const POWERSHELL_SINGLE_QUOTES = new RegExp(`[${SINGLE_QUOTE_CHARS}]`, 'g');
const POWERSHELL_DOUBLE_QUOTES = new RegExp(`[${DOUBLE_QUOTE_CHARS}]`, 'g');
/** A bare PowerShell argument that stays one plain string: no quotes, `$`, `@`, braces, and no leading `-`. */
const POWERSHELL_WORD = /^(?:[A-Za-z0-9_.:+/][A-Za-z0-9_.:+/-]*)?$/;

/**
 * PowerShell single-quote rules: a value of its own becomes `'…'` with every single quote (and the typographic ones
 * PowerShell also ends a string with) doubled — nothing inside is expanded. Inside the template's `'…'` only the
 * doubling applies. Inside the template's `"…"` double quotes are doubled, and `$` and the backtick, which PowerShell
 * would expand there, are refused. A number or boolean of its own stays one (`12`, `$true`).
 */
export function powerShellEscape(value: unknown, slot: Slot = 'bare', name = 'value'): string {
  if (slot === 'bare' && typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (slot === 'bare' && typeof value === 'boolean') return value ? '$true' : '$false';
  const plain = toText(value, name);
  switch (slot) {
    case 'bare':
      return `'${plain.replace(POWERSHELL_SINGLE_QUOTES, (q) => q + q)}'`;
    case 'single':
      return plain.replace(POWERSHELL_SINGLE_QUOTES, (q) => q + q);
    case 'double':
      if (/[$`]/.test(plain)) {
        throw new TemplateRenderError(
          'unsafe_value',
          `{{${name}}} holds $ or a backtick, which PowerShell expands inside "…"; the template should write {{${name}}} without quotes or inside '…'.`,
        );
      }
      return plain.replace(POWERSHELL_DOUBLE_QUOTES, (q) => q + q);
    case 'word':
      if (POWERSHELL_WORD.test(plain)) return plain;
      throw gluedValue(name, 'm365');
  }
}

/** The value is not echoed: it may be a password, and this message reaches task logs. */
function gluedValue(name: string, family: ScriptFamily): TemplateRenderError {
  const quotes = family === 'sbc' ? '"…"' : "'…'";
  return new TemplateRenderError(
    'unsafe_value',
    `{{${name}}} is part of an unquoted word of the template and its value is not a plain token; the template should put that word in ${quotes}.`,
  );
}

export const ESCAPERS: Readonly<Record<ScriptFamily, (value: unknown, slot: Slot, name: string) => string>> =
  {
    sbc: sbcEscape,
    m365: powerShellEscape,
  };

/** The parts of a Handlebars AST node the slot analysis reads and rewrites. */
export interface TemplateNode {
  readonly type: string;
  readonly value?: string;
  path?: TemplateNode;
  params?: TemplateNode[];
  readonly hash?: { readonly pairs: readonly unknown[] };
  readonly program?: { readonly body: TemplateNode[] };
  readonly inverse?: { readonly body: TemplateNode[] };
  readonly original?: string;
  readonly parts?: readonly string[];
  readonly data?: boolean;
  readonly depth?: number;
  readonly loc?: { readonly start: { readonly line: number; readonly column: number } };
}

type Quote = 'none' | 'single' | 'double';
interface ScanState {
  quote: Quote;
  /** Whether the output just before is text of the same word (not a blank, a line start or the template start). */
  glued: boolean;
}

/** A value's slot, for each `{{x}}`, `{{sbcEscape x}}`; and the blocks that leave a quote open or closed. */
export interface SlotAnalysis {
  readonly slots: Map<TemplateNode, Slot>;
  readonly unbalanced: Set<TemplateNode>;
}

/** Reads the quotes of the template text around every value (DESIGN §4) — see {@link Slot}. */
export function analyzeSlots(body: readonly TemplateNode[], family: ScriptFamily): SlotAnalysis {
  const analysis: SlotAnalysis = { slots: new Map(), unbalanced: new Set() };
  walk(body, { quote: 'none', glued: false }, family, analysis, false);
  return analysis;
}

const BLANK = /\s/;

function walk(
  body: readonly TemplateNode[],
  entry: ScanState,
  family: ScriptFamily,
  analysis: SlotAnalysis,
  inBlock: boolean,
): ScanState {
  const state = { ...entry };
  const output = body.filter((node) => node.type !== 'CommentStatement');
  output.forEach((node, i) => {
    if (node.type === 'ContentStatement') {
      scanText(node.value ?? '', state, family);
    } else if (node.type === 'MustacheStatement') {
      const helper = (node.params?.length ?? 0) > 0 ? node.path?.original : undefined;
      if (helper !== undefined && helper !== EXPLICIT_ESCAPE_HELPER) {
        // `{{raw x}}` (the checker refuses any other helper): printed as is, text of the current word.
        state.glued = true;
        return;
      }
      const next = output[i + 1];
      const gluedRight =
        next === undefined
          ? inBlock
          : next.type !== 'ContentStatement' || !BLANK.test((next.value ?? ' ').charAt(0) || ' ');
      const slot: Slot =
        state.quote === 'double'
          ? 'double'
          : state.quote === 'single'
            ? 'single'
            : state.glued || gluedRight
              ? 'word'
              : 'bare';
      analysis.slots.set(node, slot);
      state.glued = true;
    } else if (node.type === 'BlockStatement') {
      const isEach = node.path?.original === 'each';
      const program = node.program ? walk(node.program.body, state, family, analysis, true) : state;
      if (isEach && node.program && program.glued && !state.glued) {
        // The second item follows the first: its first value is glued to whatever the body ends with.
        walk(node.program.body, { ...state, glued: true }, family, analysis, true);
      }
      const inverse = node.inverse ? walk(node.inverse.body, state, family, analysis, true) : state;
      if (program.quote !== state.quote || inverse.quote !== state.quote) analysis.unbalanced.add(node);
      state.glued = state.glued || program.glued || inverse.glued;
    }
  });
  return state;
}

function scanText(value: string, state: ScanState, family: ScriptFamily): void {
  for (let i = 0; i < value.length; i += 1) {
    const char = value.charAt(i);
    if (char === '\n' || char === '\r') {
      state.quote = 'none';
      state.glued = false;
      continue;
    }
    state.glued = !BLANK.test(char);
    if (family === 'sbc') {
      if (state.quote === 'double' && char === '\\') i += 1;
      else if (char === '"') state.quote = state.quote === 'double' ? 'none' : 'double';
      continue;
    }
    const single = SINGLE_QUOTE_CHARS.includes(char);
    const double = DOUBLE_QUOTE_CHARS.includes(char);
    if (state.quote === 'none') {
      if (single) state.quote = 'single';
      else if (double) state.quote = 'double';
    } else if ((state.quote === 'single' && single) || (state.quote === 'double' && double)) {
      const quotes = state.quote === 'single' ? SINGLE_QUOTE_CHARS : DOUBLE_QUOTE_CHARS;
      const after = value.charAt(i + 1);
      // A doubled quote is a quote inside the string, not its end.
      if (after !== '' && quotes.includes(after)) i += 1;
      else state.quote = 'none';
    }
  }
}
