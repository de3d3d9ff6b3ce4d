import { createConstraint, type RouteConstraint } from './route-constraints.js';

export type { RouteConstraint } from './route-constraints.js';

/**
 * Azure Functions HTTP route templates, which are ASP.NET Core route templates: `{name}`, `{name?}`,
 * `{name=default}`, constraints (`{id:int}`, `{id:int:min(1)}`, `{code:regex(^[a-z]{{2}}$)}`), catch-all
 * `{*rest}` / `{**rest}` and complex segments (`{name}.{ext}`). Literal segments match case-insensitively.
 * Unsupported or malformed templates fail at start-up, naming the template, rather than never matching.
 */

export interface RouteParameter {
  readonly name: string;
  readonly optional: boolean;
  readonly defaultValue?: string;
  readonly catchAll: boolean;
  readonly constraints: readonly RouteConstraint[];
}

export type RouteSegment =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'parameter'; readonly parameter: RouteParameter }
  | { readonly kind: 'complex'; readonly pattern: RegExp; readonly parameters: readonly RouteParameter[] };

export interface RouteTemplate {
  readonly template: string;
  readonly segments: readonly RouteSegment[];
  /** ASP.NET Core's inbound precedence digits, one per segment; compare with comparePrecedence. */
  readonly precedence: readonly number[];
}

export class RouteTemplateError extends Error {
  override readonly name = 'RouteTemplateError';
}

type Part =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'parameter'; readonly parameter: RouteParameter };

export function parseRouteTemplate(template: string): RouteTemplate {
  const fail = (reason: string): never => {
    throw new RouteTemplateError(`Invalid route template '${template}': ${reason}`);
  };
  const trimmed = template.replace(/^~?\//, '').replace(/\/$/, '');
  const rawSegments = trimmed === '' ? [] : splitTemplateSegments(trimmed, fail);
  const segments = rawSegments.map((raw) => toSegment(parseSegmentParts(raw, fail), fail));

  const names = new Set<string>();
  segments.forEach((segment, index) => {
    const parameters = segmentParameters(segment);
    for (const parameter of parameters) {
      const key = parameter.name.toLowerCase();
      if (names.has(key)) fail(`the parameter '${parameter.name}' appears more than once.`);
      names.add(key);
      if (parameter.catchAll && (segment.kind !== 'parameter' || index !== segments.length - 1)) {
        fail(`the catch-all parameter '${parameter.name}' must be the whole last segment.`);
      }
      if ((parameter.optional || parameter.defaultValue !== undefined) && segment.kind !== 'parameter') {
        fail(`the optional parameter '${parameter.name}' must be a whole segment.`);
      }
    }
    const canBeOmitted = (s: RouteSegment) =>
      s.kind === 'parameter' &&
      (s.parameter.optional || s.parameter.defaultValue !== undefined || s.parameter.catchAll);
    if (canBeOmitted(segment) && !segments.slice(index + 1).every(canBeOmitted)) {
      fail('an optional parameter can only be followed by other optional parameters.');
    }
  });
  return { template, segments, precedence: segments.map(precedenceDigit) };
}

function segmentParameters(segment: RouteSegment): readonly RouteParameter[] {
  if (segment.kind === 'parameter') return [segment.parameter];
  if (segment.kind === 'complex') return segment.parameters;
  return [];
}

/** Splits on `/` outside braces, so a regex constraint may contain a slash. */
function splitTemplateSegments(template: string, fail: (reason: string) => never): string[] {
  const segments: string[] = [];
  let current = '';
  let depth = 0;
  for (const char of template) {
    if (char === '{') depth++;
    else if (char === '}') depth = Math.max(0, depth - 1);
    if (char === '/' && depth === 0) {
      segments.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  segments.push(current);
  if (segments.some((segment) => segment === '')) fail('it has an empty segment.');
  return segments;
}

function parseSegmentParts(raw: string, fail: (reason: string) => never): Part[] {
  const parts: Part[] = [];
  let literal = '';
  let i = 0;
  const flushLiteral = () => {
    if (literal !== '') parts.push({ kind: 'literal', text: literal });
    literal = '';
  };
  while (i < raw.length) {
    const char = raw[i];
    const next = raw[i + 1];
    if ((char === '{' && next === '{') || (char === '}' && next === '}')) {
      literal += char;
      i += 2;
    } else if (char === '{') {
      flushLiteral();
      if (parts.at(-1)?.kind === 'parameter') fail(`the segment '${raw}' has two consecutive parameters.`);
      let text = '';
      i++;
      for (;;) {
        if (i >= raw.length) fail(`the segment '${raw}' has an unclosed '{'.`);
        const c = raw[i];
        // Inside a parameter `}}` and `{{` are escaped braces (e.g. in a regex quantifier).
        if ((c === '}' && raw[i + 1] === '}') || (c === '{' && raw[i + 1] === '{')) {
          text += c;
          i += 2;
        } else if (c === '}') {
          i++;
          break;
        } else if (c === '{') {
          fail(`the segment '${raw}' has a '{' inside a parameter.`);
        } else {
          text += c;
          i++;
        }
      }
      parts.push({ kind: 'parameter', parameter: parseParameter(text, fail) });
    } else if (char === '}') {
      fail(`the segment '${raw}' has an unmatched '}'.`);
    } else if (char === '?') {
      fail(`the literal '${raw}' contains '?'.`);
    } else {
      literal += char;
      i++;
    }
  }
  flushLiteral();
  return parts;
}

function toSegment(parts: readonly Part[], fail: (reason: string) => never): RouteSegment {
  const [only] = parts;
  if (parts.length === 1 && only) {
    return only.kind === 'literal'
      ? { kind: 'literal', text: only.text }
      : { kind: 'parameter', parameter: only.parameter };
  }
  if (parts.length === 0) fail('it has an empty segment.');
  const parameters: RouteParameter[] = [];
  let source = '';
  for (const part of parts) {
    if (part.kind === 'literal') {
      source += escapeRegExp(part.text);
    } else {
      // Greedy groups reproduce ASP.NET's right-to-left matching: in `{name}.{ext}`, `a.b.c` gives name `a.b`.
      source += '(.+)';
      parameters.push(part.parameter);
    }
  }
  return { kind: 'complex', pattern: new RegExp(`^${source}$`, 'i'), parameters };
}

function parseParameter(text: string, fail: (reason: string) => never): RouteParameter {
  let i = 0;
  let catchAll = false;
  if (text.startsWith('**')) {
    catchAll = true;
    i = 2;
  } else if (text.startsWith('*')) {
    catchAll = true;
    i = 1;
  }
  let nameEnd = i;
  while (nameEnd < text.length && !':=?'.includes(text[nameEnd] ?? '')) nameEnd++;
  const name = text.slice(i, nameEnd);
  if (!/^[^/{}*.:=?\s]+$/.test(name)) fail(`'{${text}}' has an invalid parameter name '${name}'.`);
  i = nameEnd;

  const constraints: RouteConstraint[] = [];
  while (text[i] === ':') {
    let end = i + 1;
    while (end < text.length && /[A-Za-z0-9_]/.test(text[end] ?? '')) end++;
    const constraintName = text.slice(i + 1, end);
    let args: string | undefined;
    if (text[end] === '(') {
      // ASP.NET ends the argument list at the first ')' that ends the parameter or starts its next part.
      let close = end + 1;
      while (
        close < text.length &&
        !(text[close] === ')' && (close + 1 === text.length || ':=?'.includes(text[close + 1] ?? '')))
      ) {
        close++;
      }
      if (close >= text.length) fail(`'{${text}}' has an unclosed '(' in a constraint.`);
      args = text.slice(end + 1, close);
      end = close + 1;
    }
    constraints.push(createConstraint(constraintName, args, fail));
    i = end;
  }

  let optional = false;
  let defaultValue: string | undefined;
  if (text[i] === '=') {
    defaultValue = text.slice(i + 1);
    if (defaultValue.endsWith('?'))
      fail(`'{${text}}' is optional and has a default value; use one or the other.`);
    i = text.length;
  } else if (text[i] === '?' && i === text.length - 1) {
    optional = true;
    i++;
  }
  if (i !== text.length) fail(`'{${text}}' is not a valid parameter.`);
  if (catchAll && optional)
    fail(`the catch-all parameter '${name}' cannot be marked optional; it already is.`);
  return { name, optional, catchAll, constraints, ...(defaultValue !== undefined ? { defaultValue } : {}) };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** 1 literal, 2 constrained parameter or complex segment, 3 parameter, 4 constrained catch-all, 5 catch-all. */
function precedenceDigit(segment: RouteSegment): number {
  if (segment.kind === 'literal') return 1;
  if (segment.kind === 'complex') return 2;
  const digit = segment.parameter.catchAll ? 5 : 3;
  return segment.parameter.constraints.length > 0 ? digit - 1 : digit;
}

/**
 * Negative when `a` is more specific than `b`. Digits compare left to right like the decimals ASP.NET builds
 * (`1.13` < `1.3`); a missing digit counts as 0, so `docs` beats `docs/{page?}` for `/docs`.
 */
export function comparePrecedence(a: RouteTemplate, b: RouteTemplate): number {
  const length = Math.max(a.precedence.length, b.precedence.length);
  for (let i = 0; i < length; i++) {
    const difference = (a.precedence[i] ?? 0) - (b.precedence[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/**
 * A request path as route segments, percent-decoded like Kestrel does (which leaves `%2F` encoded, so an
 * encoded slash never splits a segment). One trailing slash is ignored, as ASP.NET routing does.
 */
export function splitRequestPath(pathname: string): string[] {
  const trimmed = pathname.replace(/^\//, '').replace(/\/$/, '');
  if (trimmed === '') return [];
  return trimmed.split('/').map((segment) => {
    try {
      return decodeURIComponent(segment.replace(/%2F/gi, '%252F'));
    } catch {
      return segment;
    }
  });
}

/** The route values when the path matches, else undefined. Optional parameters with no value are absent. */
export function matchRouteTemplate(
  route: RouteTemplate,
  path: readonly string[],
): Record<string, string> | undefined {
  const values: Record<string, string> = {};
  const accept = (parameter: RouteParameter, value: string): boolean => {
    if (!parameter.constraints.every((constraint) => constraint.test(value))) return false;
    values[parameter.name] = value;
    return true;
  };
  for (let i = 0; i < route.segments.length; i++) {
    const segment = route.segments[i];
    if (!segment) return undefined;
    if (segment.kind === 'parameter' && segment.parameter.catchAll) {
      const rest = path.slice(i).join('/');
      if (rest === '') return values;
      return accept(segment.parameter, rest) ? values : undefined;
    }
    const actual = path[i];
    if (actual === undefined) {
      if (segment.kind !== 'parameter') return undefined;
      if (segment.parameter.defaultValue !== undefined)
        values[segment.parameter.name] = segment.parameter.defaultValue;
      else if (!segment.parameter.optional) return undefined;
      continue;
    }
    if (segment.kind === 'literal') {
      if (segment.text.toUpperCase() !== actual.toUpperCase()) return undefined;
    } else if (segment.kind === 'parameter') {
      if (actual === '' || !accept(segment.parameter, actual)) return undefined;
    } else {
      const match = segment.pattern.exec(actual);
      if (!match) return undefined;
      const ok = segment.parameters.every((parameter, index) => accept(parameter, match[index + 1] ?? ''));
      if (!ok) return undefined;
    }
  }
  return path.length > route.segments.length ? undefined : values;
}
