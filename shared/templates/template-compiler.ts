import type Handlebars from 'handlebars';
import { lazyRequire, once } from '../platform/lazy.js';
import { parsePowerShellLine } from '../teams/powershell.js';
import type { TeamsCommand } from '../teams/teams-command.js';
import { CONTROL_CHARACTERS_TEXT, hasControlCharacter } from '../validation/control-characters.js';
import {
  analyzeSlots,
  ESCAPE_HELPERS,
  ESCAPERS,
  EXPLICIT_ESCAPE_HELPER,
  RAW_HELPER,
  SLOTS,
  type TemplateNode,
} from './escaping.js';
import { familyOf, type RenderableTemplate, type ScriptFamily } from './script-types.js';
import { contextShape, SAMPLE_CONTEXT, type Shape, type TemplateContext } from './template-context.js';
import { TemplateRenderError } from './template-errors.js';

export { sbcEscape, powerShellEscape } from './escaping.js';
export { TemplateRenderError } from './template-errors.js';

/** Why a template cannot be stored; `line`/`column` (1-based) point into the template body where known. */
export interface TemplateIssue {
  readonly code:
    | 'handlebars_syntax'
    | 'unknown_variable'
    | 'retired_variable'
    | 'not_a_value'
    | 'not_a_list'
    | 'stray_brace'
    | 'helper_not_allowed'
    | 'command_invalid'
    | 'quote_unbalanced'
    | 'render_failed';
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
}

/** Helpers a template may use; everything else (`with`, `lookup`, `log`, partials, decorators) is refused. */
const BLOCK_HELPERS = new Set(['each', 'if', 'unless']);
const RETIRED = /SysAdmin\.O365OnlinePSTNGateway/i;
const DATA_IN_EACH = new Set(['index', 'first', 'last', 'key']);

interface Position {
  readonly line: number;
  readonly column: number;
}
interface AstNode {
  readonly type: string;
  readonly loc?: { readonly start: Position };
  readonly path?: AstNode;
  readonly params?: readonly AstNode[];
  readonly hash?: { readonly pairs: readonly unknown[] };
  readonly program?: { readonly body: readonly AstNode[]; readonly blockParams?: readonly string[] };
  readonly inverse?: { readonly body: readonly AstNode[] };
  readonly original?: string;
  readonly parts?: readonly string[];
  readonly depth?: number;
  readonly data?: boolean;
}

/**
 * Every reason the template would not do what its author expects (DESIGN §4): Handlebars syntax, variables the
 * context does not have (typos such as the manual's `{{SBC.OfflinePstnGateway}}`), the retired
 * `SysAdmin.O365OnlinePSTNGateway`, stray single braces (the manual's `{SBC.SbcSiteName}`), helpers other than
 * `sbcEscape`, `#each`, `#if` and `#unless`; for an M365 template also every rendered line that is no Teams command.
 */
export function checkTemplate(template: RenderableTemplate): TemplateIssue[] {
  let program: { body: TemplateNode[] };
  try {
    program = handlebarsApi().parse(template.body) as unknown as { body: TemplateNode[] };
  } catch (error) {
    return [syntaxIssue(error)];
  }
  const issues: TemplateIssue[] = [];
  const family = familyOf(template.type);
  const root = contextShape(template.variables.map((v) => v.name));
  walk(program.body, [root], family, issues);
  for (const node of analyzeSlots(program.body, family).unbalanced) {
    issues.push({ code: 'quote_unbalanced', message: unbalancedMessage(node), ...at(node) });
  }
  if (issues.length > 0 || family !== 'm365') return issues;
  try {
    renderM365Commands(template, { ...SAMPLE_CONTEXT, CustomVar: sampleCustomValues(template) });
  } catch (error) {
    if (!(error instanceof TemplateRenderError)) throw error;
    issues.push({
      code: error.code === 'command_invalid' ? 'command_invalid' : 'render_failed',
      message: `With a sample customer: ${error.message}`,
    });
  }
  return issues;
}

function sampleCustomValues(template: RenderableTemplate): Record<string, string> {
  return Object.fromEntries(template.variables.map((v) => [v.name, v.default || `sample-${v.name}`]));
}

function syntaxIssue(error: unknown): TemplateIssue {
  const message = error instanceof Error ? error.message : String(error);
  const described = error as { lineNumber?: unknown; column?: unknown };
  const line =
    typeof described.lineNumber === 'number'
      ? described.lineNumber
      : Number(/on line (\d+)/.exec(message)?.[1] ?? NaN);
  const column = typeof described.column === 'number' ? described.column + 1 : undefined;
  const summary = message.includes('\n') ? message.split('\n').slice(-1)[0]! : message;
  return {
    code: 'handlebars_syntax',
    message: `The template is not valid Handlebars: ${summary}`,
    ...(Number.isFinite(line) ? { line } : {}),
    ...(column !== undefined ? { column } : {}),
  };
}

function at(node: AstNode | undefined): { line?: number; column?: number } {
  const start = node?.loc?.start;
  return start ? { line: start.line, column: start.column + 1 } : {};
}

function walk(
  body: readonly AstNode[],
  scopes: readonly Shape[],
  family: ScriptFamily,
  issues: TemplateIssue[],
): void {
  for (const node of body) {
    switch (node.type) {
      case 'ContentStatement':
        strayBraces(node, family, issues);
        break;
      case 'CommentStatement':
        break;
      case 'MustacheStatement':
        mustache(node, scopes, family, issues);
        break;
      case 'BlockStatement':
        block(node, scopes, family, issues);
        break;
      default:
        issues.push({
          code: 'helper_not_allowed',
          message:
            'Partials and decorators are not allowed; use {{#each}}, {{#if}}, {{#unless}}, sbcEscape and raw.',
          ...at(node),
        });
    }
  }
}

function mustache(
  node: AstNode,
  scopes: readonly Shape[],
  family: ScriptFamily,
  issues: TemplateIssue[],
): void {
  const path = node.path;
  const params = node.params ?? [];
  if (path?.type !== 'PathExpression') {
    issues.push({ code: 'helper_not_allowed', message: 'A literal is not a variable.', ...at(node) });
    return;
  }
  const hasHash = (node.hash?.pairs.length ?? 0) > 0;
  if (params.length === 0 && !hasHash) {
    expectValue(path, scopes, issues);
    return;
  }
  const helpers = family === 'sbc' ? [EXPLICIT_ESCAPE_HELPER, RAW_HELPER] : [RAW_HELPER];
  if (!helpers.includes(path.original ?? '')) {
    issues.push({
      code: 'helper_not_allowed',
      message:
        path.original === EXPLICIT_ESCAPE_HELPER
          ? 'sbcEscape is for SBC templates; M365 values are quoted by PowerShell rules already ({{x}}).'
          : `"${path.original}" is not an allowed helper; only ${helpers.join(', ')}, #each, #if and #unless are.`,
      ...at(path),
    });
    return;
  }
  const [param] = params;
  if (params.length !== 1 || hasHash || param?.type !== 'PathExpression') {
    issues.push({
      code: 'helper_not_allowed',
      message: `${path.original} takes exactly one variable, e.g. {{${path.original} PbxUser.E164}}.`,
      ...at(path),
    });
    return;
  }
  expectValue(param, scopes, issues);
}

function unbalancedMessage(node: TemplateNode): string {
  return `{{#${node.path?.original ?? ''}}} opens or closes a quote; a block must end inside the same quotes it starts in, so that every value's quoting is known.`;
}

function block(node: AstNode, scopes: readonly Shape[], family: ScriptFamily, issues: TemplateIssue[]): void {
  const name = node.path?.original ?? '';
  const params = node.params ?? [];
  const [param] = params;
  if (!BLOCK_HELPERS.has(name)) {
    issues.push({
      code: 'helper_not_allowed',
      message: `{{#${name}}} is not allowed; only #each, #if and #unless are.`,
      ...at(node.path ?? node),
    });
    return;
  }
  if (
    params.length !== 1 ||
    param?.type !== 'PathExpression' ||
    (node.hash?.pairs.length ?? 0) > 0 ||
    (node.program?.blockParams?.length ?? 0) > 0
  ) {
    issues.push({
      code: 'helper_not_allowed',
      message: `{{#${name}}} takes exactly one variable, e.g. {{#${name} SBC.DialPlanPrefixes}}.`,
      ...at(node.path ?? node),
    });
    return;
  }
  const shape = resolve(param, scopes, issues);
  let inner = scopes;
  if (name === 'each' && shape) {
    if (shape.kind !== 'list') {
      issues.push({
        code: 'not_a_list',
        message: `{{#each ${param.original}}} needs a list; ${param.original} is a ${shape.kind}.`,
        ...at(param),
      });
    } else {
      inner = [...scopes, shape.item];
    }
  }
  if (node.program) walk(node.program.body, name === 'each' ? inner : scopes, family, issues);
  if (node.inverse) walk(node.inverse.body, scopes, family, issues);
}

function expectValue(path: AstNode, scopes: readonly Shape[], issues: TemplateIssue[]): void {
  const shape = resolve(path, scopes, issues);
  if (shape && (shape.kind === 'object' || shape.kind === 'list')) {
    issues.push({
      code: 'not_a_value',
      message: `${path.original} is ${shape.kind === 'list' ? 'a list; use {{#each}}' : 'an object; name one of its fields'}.`,
      ...at(path),
    });
  }
}

/** The shape a path names in the current scope, or undefined after recording why it names nothing. */
function resolve(path: AstNode, scopes: readonly Shape[], issues: TemplateIssue[]): Shape | undefined {
  const original = path.original ?? '';
  const parts = path.parts ?? [];
  if (RETIRED.test(original)) {
    issues.push({
      code: 'retired_variable',
      message: `${original} was renamed in 8.0.300; use SBC.OnlinePstnGateway.`,
      ...at(path),
    });
    return undefined;
  }
  const unknown = (why = '') => {
    issues.push({
      code: 'unknown_variable',
      message: `{{${original}}} is not a template variable${why}; see the documented context (Customer Variables are {{CustomVar.<name>}} and must be declared).`,
      ...at(path),
    });
    return undefined;
  };
  let shape: Shape | undefined;
  let rest = parts;
  if (path.data) {
    const [head, ...tail] = parts;
    if (head === 'root') {
      shape = scopes[0];
      rest = tail;
    } else if (head !== undefined && DATA_IN_EACH.has(head) && tail.length === 0 && scopes.length > 1) {
      return { kind: head === 'first' || head === 'last' ? 'boolean' : 'number', doc: '' };
    } else {
      return unknown(
        scopes.length > 1 ? '' : ' (@index, @first, @last and @key exist only inside {{#each}})',
      );
    }
  } else {
    shape = scopes[scopes.length - 1 - (path.depth ?? 0)];
    if (!shape) return unknown(' (../ goes above the template)');
  }
  for (const part of rest) {
    if (shape?.kind !== 'object' || !Object.hasOwn(shape.fields, part)) return unknown();
    shape = shape.fields[part];
  }
  return shape;
}

/**
 * Single braces outside `{{ }}`: the manual's old `{SBC.SbcSiteName}` and typos such as `{SBC.OnlinePstnGateway}}`,
 * which Handlebars would leave in the output as text. The AudioCodes CLI has no braces at all; PowerShell has
 * (`@{Add="x"}`, `{$_.Identity …}`), so there only a brace around a bare name, or a lone `}}`, is refused.
 */
function strayBraces(node: AstNode, family: ScriptFamily, issues: TemplateIssue[]): void {
  const text = node.original ?? '';
  const start = node.loc?.start ?? { line: 1, column: 0 };
  const report = (offset: number, found: string) => {
    const before = text.slice(0, offset);
    const newlines = before.split('\n').length - 1;
    const line = start.line + newlines;
    const column = newlines === 0 ? start.column + offset + 1 : offset - before.lastIndexOf('\n');
    issues.push({
      code: 'stray_brace',
      message: `"${found}" has single braces outside {{ }}; variables are written {{Name}}.`,
      line,
      column,
    });
  };
  const retired = RETIRED.exec(text);
  if (retired) {
    issues.push({
      code: 'retired_variable',
      message: `${retired[0]} was renamed in 8.0.300; use {{SBC.OnlinePstnGateway}}.`,
      ...at(node),
    });
  }
  if (family === 'sbc') {
    const pattern = /\{[^{}\s]*\}{0,2}|\}+/g;
    for (const match of text.matchAll(pattern)) report(match.index, match[0]);
    return;
  }
  const pattern = /(?<![$@])\{\s*[A-Za-z_][\w.-]*\s*\}\}?|\}\}/g;
  for (const match of text.matchAll(pattern)) report(match.index, match[0]);
}

const KNOWN_HELPERS: Record<string, boolean> = { [RAW_HELPER]: true, each: true, if: true, unless: true };
for (const family of ['sbc', 'm365'] as const) {
  for (const slot of SLOTS) KNOWN_HELPERS[ESCAPE_HELPERS[family][slot]] = true;
}
// Handlebars loads with the first template checked or rendered, not at start-up (docs/decisions.md, 82).
const handlebarsApi = lazyRequire<typeof Handlebars>('handlebars');
const handlebars = once(() => {
  const scripts = handlebarsApi().create();
  scripts.registerHelper(RAW_HELPER, (value: unknown) =>
    value === undefined || value === null ? '' : String(value),
  );
  for (const family of ['sbc', 'm365'] as const) {
    for (const slot of SLOTS) {
      scripts.registerHelper(ESCAPE_HELPERS[family][slot], (value: unknown, name: unknown) =>
        ESCAPERS[family](value, slot, String(name)),
      );
    }
  }
  return scripts;
});
const compiled = new Map<string, HandlebarsTemplateDelegate>();

function compile(body: string, family: ScriptFamily): HandlebarsTemplateDelegate {
  const key = `${family}:${body}`;
  let template = compiled.get(key);
  if (!template) {
    template = handlebars().compile(escapedProgram(body, family), {
      noEscape: true,
      knownHelpers: KNOWN_HELPERS,
      knownHelpersOnly: true,
    });
    if (compiled.size >= 200) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, template);
  }
  return template;
}

/**
 * The template with every `{{x}}` and `{{sbcEscape x}}` turned into a call of the family's escaper for the value's
 * slot (see escaping.ts); `{{raw x}}` stays as written. A stored template passed the same analysis when saved.
 */
function escapedProgram(body: string, family: ScriptFamily): hbs.AST.Program {
  const program = handlebarsApi().parse(body);
  const analysis = analyzeSlots(program.body as unknown as TemplateNode[], family);
  const [unbalanced] = analysis.unbalanced;
  if (unbalanced) throw new TemplateRenderError('quote_unbalanced', unbalancedMessage(unbalanced));
  for (const [node, slot] of analysis.slots) {
    const path = node.path;
    if (!path) continue;
    const helper: TemplateNode = {
      type: 'PathExpression',
      original: ESCAPE_HELPERS[family][slot],
      parts: [ESCAPE_HELPERS[family][slot]],
      data: false,
      depth: 0,
      ...(path.loc ? { loc: path.loc } : {}),
    };
    const value = path.original === EXPLICIT_ESCAPE_HELPER ? node.params?.[0] : path;
    if (!value) continue;
    // The variable's name goes along for messages, which must not echo the value (it may be a password).
    const name: TemplateNode = {
      type: 'StringLiteral',
      value: value.original ?? '',
      original: value.original ?? '',
    };
    node.params = [value, name];
    node.path = helper;
  }
  return program;
}

/**
 * Renders a stored (already checked) template: declared Customer Variables take the context's value or their
 * default, a required one without either is refused; no value in the context may hold a control character, since
 * one line of output is one CLI or Teams command. Every value is escaped for the template's family (escaping.ts).
 */
export function renderTemplate(template: RenderableTemplate, context: TemplateContext): string {
  const custom: Record<string, string> = {};
  for (const variable of template.variables) {
    const given = context.CustomVar[variable.name];
    const value = given !== undefined && given !== '' ? given : (variable.default ?? '');
    if (variable.required && value === '') {
      throw new TemplateRenderError(
        'custom_variable_missing',
        `The Customer Variable "${variable.label}" (${variable.name}) needs a value.`,
        variable.name,
      );
    }
    custom[variable.name] = value;
  }
  const data = { ...context, CustomVar: custom };
  refuseControlCharacters(data, '');
  return compile(template.body, familyOf(template.type))(data);
}

function refuseControlCharacters(value: unknown, path: string): void {
  if (typeof value === 'string') {
    if (hasControlCharacter(value)) {
      throw new TemplateRenderError('unsafe_value', `${path} holds ${CONTROL_CHARACTERS_TEXT}.`, path);
    }
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => refuseControlCharacters(item, `${path}[${i}]`));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      refuseControlCharacters(item, path ? `${path}.${key}` : key);
    }
  }
}

/** One rendered, non-blank, non-comment line of an M365 template and the command it stands for. */
export interface RenderedCommand {
  /** 1-based line of the rendered text. */
  readonly line: number;
  readonly text: string;
  readonly command: TeamsCommand;
}

/** The Teams commands an M365 template renders to: one per line, blank lines and `#` comments ignored. */
export function renderM365Commands(template: RenderableTemplate, context: TemplateContext): TeamsCommand[] {
  return parseCommandLines(renderTemplate(template, context)).map((c) => c.command);
}

/** Parses rendered M365 text line by line; a line that is no Teams command is refused with its number. */
export function parseCommandLines(text: string): RenderedCommand[] {
  const commands: RenderedCommand[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    try {
      commands.push({ line: index + 1, text: line, command: parsePowerShellLine(line) });
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new TemplateRenderError(
        'command_invalid',
        `line ${index + 1} "${line.length > 120 ? `${line.slice(0, 117)}...` : line}" is not a Teams command: ${why}`,
        index + 1,
      );
    }
  });
  return commands;
}
