import { z } from 'zod';
import { domainErrors, type FieldError } from '../errors/domain-errors.js';
import { parseDotNetPattern, parseTranslation, patternMessage, translate } from './dotnet-regex.js';

/**
 * The manual's "Add new Normalization Rule" page (issue 13 item 1): it "assists in the building of the required
 * regular Pattern and Translation expressions" from Starting digits, Length, Digits to remove and Digits to add.
 * The manual gives no generated form, so the forms here are the ones docs/voice-routing.md ("Rule builder")
 * documents and docs/decisions.md §60 explains. A rule may also be proposed from examples of dialed and normalized
 * numbers. Every proposal is run through the .NET regex engine against its examples (or a sample number) before it
 * is offered.
 */

/** The longest dialed number, and so Length, the builder takes (issue 13: Length 1..50). */
export const MAX_RULE_LENGTH = 50;
export const MAX_RULE_EXAMPLES = 20;

/** The manual's fields, as the builder takes them. */
export interface RuleFields {
  /** Digits, `*` and `#`, with an optional leading `+`; empty: any number. */
  readonly startingDigits: string;
  /** The whole dialed number's length, starting digits (and a `+`) included; null: any length. */
  readonly length: number | null;
  /** How many characters are removed from the start of the dialed number. */
  readonly digitsToRemove: number;
  /** What is put before the digits kept, e.g. `+44`. */
  readonly digitsToAdd: string;
}

export interface RuleExample {
  readonly dialed: string;
  readonly normalized: string;
}

export interface RuleCheck {
  readonly dialed: string;
  readonly expected: string;
  /** What the rule turns the number into; null: the pattern does not match it. */
  readonly produced: string | null;
  readonly matches: boolean;
}

export interface BuiltRule {
  /** The fields the rule was built from: the caller's, or the ones inferred from the examples. */
  readonly fields: RuleFields;
  readonly pattern: string;
  readonly translation: string;
  readonly checks: readonly RuleCheck[];
}

/** A dialed or normalized number: what a user dials (digits, `*`, `#`) with an optional leading `+`. */
const NUMBER = /^\+?[0-9*#]+$/;
const STARTING = /^\+?[0-9*#]*$/;

const issue = (path: string, code: string, message: string) => ({
  code: 'custom' as const,
  path: [path],
  message,
  params: { code },
});

export const ruleFieldsSchema = z
  .strictObject({
    startingDigits: z
      .string()
      .max(MAX_RULE_LENGTH)
      .regex(STARTING, 'startingDigits are digits, * and #, with an optional leading +.')
      .default('')
      .meta({ description: "The manual's Starting digits; empty: any number.", example: '0' }),
    length: z.number().int().min(1).max(MAX_RULE_LENGTH).nullable().default(null).meta({
      description:
        "The manual's Length: the whole dialed number's, starting digits included (a + counts); null: any length.",
      example: 11,
    }),
    digitsToRemove: z.number().int().min(0).max(MAX_RULE_LENGTH).default(0).meta({
      description: "The manual's Digits to remove, from the start of the dialed number.",
      example: 1,
    }),
    digitsToAdd: z
      .string()
      .max(MAX_RULE_LENGTH)
      .regex(STARTING, 'digitsToAdd are digits, * and #, with an optional leading +.')
      .default('')
      .meta({ description: "The manual's Digits to add, before the digits kept.", example: '+44' }),
  })
  .superRefine((fields, ctx) => {
    const starting = fields.startingDigits.length;
    if (fields.length !== null && fields.length < starting) {
      ctx.addIssue(
        issue(
          'length',
          'length_below_starting_digits',
          `length ${fields.length} is shorter than the ${starting} starting digits.`,
        ),
      );
      return;
    }
    if (fields.length !== null && fields.digitsToRemove > fields.length) {
      ctx.addIssue(
        issue(
          'digitsToRemove',
          'remove_beyond_length',
          `digitsToRemove ${fields.digitsToRemove} is more than the length, ${fields.length}.`,
        ),
      );
      return;
    }
    if (fields.digitsToAdd === '' && fields.length !== null && fields.digitsToRemove === fields.length) {
      ctx.addIssue(
        issue(
          'digitsToAdd',
          'rule_normalizes_to_nothing',
          'Every digit dialed is removed and none added: the rule would normalize the number to nothing.',
        ),
      );
    }
  })
  .meta({ id: 'NormalizationRuleFields' });

const numberText = (what: string) =>
  z.string().max(MAX_RULE_LENGTH).regex(NUMBER, `${what} is digits, * and #, with an optional leading +.`);

export const ruleExamplesSchema = z
  .array(
    z.strictObject({
      dialed: numberText('dialed').meta({ description: 'What a user dials.', example: '02079460123' }),
      normalized: numberText('normalized').meta({
        description: 'What the rule should make of it.',
        example: '+442079460123',
      }),
    }),
  )
  .min(1)
  .max(MAX_RULE_EXAMPLES);

/** Written in a pattern as itself: `+` and `*` are quantifiers unescaped; `#` is literal without `(?x)`. */
const literal = (text: string) => text.replace(/[+*]/g, '\\$&');
const anyDigits = (count: number) => (count === 0 ? '' : count === 1 ? '\\d' : `\\d{${count}}`);

/**
 * The pattern and translation of the fields: `^` removed-part `(` kept-part `)$` → digits-to-add `$1`.
 *
 * - The removed part is the first digitsToRemove starting digits, then `\d{n}` for any removed beyond them.
 * - The group holds the starting digits not removed, then `\d{n}` up to the length — or, with no length, `\d*`,
 *   except `\d+` when no starting digit is kept, so that a number of only the removed digits is not normalized to
 *   the digits to add alone.
 * - With nothing to keep (everything removed), there is no group and the translation is the digits to add.
 */
export function ruleExpressions(fields: RuleFields): { pattern: string; translation: string } {
  const { startingDigits: start, length, digitsToRemove: remove, digitsToAdd: add } = fields;
  const removed =
    remove <= start.length
      ? literal(start.slice(0, remove))
      : literal(start) + anyDigits(remove - start.length);
  const keptStart = literal(start.slice(remove));
  const rest =
    length !== null ? anyDigits(length - Math.max(start.length, remove)) : keptStart === '' ? '\\d+' : '\\d*';
  const kept = keptStart + rest;
  return {
    pattern: `^${removed}${kept === '' ? '' : `(${kept})`}$`,
    translation: kept === '' ? add : `${add}$1`,
  };
}

/**
 * What a rule makes of a dialed number, as the simulator applies it (call-routing-simulator.ts): the .NET pattern
 * matched, then the translation's substitutions filled in; null when it does not match.
 */
export function applyRule(pattern: string, translation: string, dialed: string): string | null {
  const parsed = parseDotNetPattern(pattern);
  // The builder writes its patterns from escaped literals and `\d`: one .NET refuses is a bug here, not bad input.
  if (!parsed.ok) throw new Error(`Generated pattern ${pattern}: ${patternMessage(parsed.problem)}`);
  const parts = parseTranslation(translation, parsed.value);
  if (!parts.ok) throw new Error(`Generated translation ${translation}: ${parts.message}`);
  const match = parsed.value.regex.exec(dialed);
  return match ? translate(match, parts.parts, parsed.value) : null;
}

/** What the fields' rule should make of a number: the digits to add, then the dialed number less the removed. */
const expectedOf = (fields: RuleFields, dialed: string) =>
  fields.digitsToAdd + dialed.slice(fields.digitsToRemove);

function check(rule: { pattern: string; translation: string }, example: RuleExample): RuleCheck {
  const produced = applyRule(rule.pattern, rule.translation, example.dialed);
  return {
    dialed: example.dialed,
    expected: example.normalized,
    produced,
    matches: produced === example.normalized,
  };
}

/**
 * A number the fields' rule is for: the starting digits, then digits up to the length (or, with no length, seven
 * more after the starting or removed digits).
 */
export function sampleNumber(fields: RuleFields): string {
  const start = fields.startingDigits;
  const total = fields.length ?? Math.max(start.length, fields.digitsToRemove) + 7;
  let filler = '';
  for (let i = start.length; i < total; i++) filler += String((i - start.length + 1) % 10);
  return start + filler;
}

/** The rule of the manual's fields, checked on a sample number it is meant for. */
export function buildFromFields(fields: RuleFields): BuiltRule {
  const rule = ruleExpressions(fields);
  const dialed = sampleNumber(fields);
  return { fields, ...rule, checks: [check(rule, { dialed, normalized: expectedOf(fields, dialed) })] };
}

const unexplained = (index: number, part: 'dialed' | 'normalized', message: string): FieldError => ({
  field: `examples.${index}.${part}`,
  in: 'body',
  code: 'example_unexplained',
  message,
});

const refuse = (error: FieldError) =>
  domainErrors.validation([error], `No single normalization rule explains every example: ${error.message}`);

function commonPrefix(values: readonly string[]): string {
  let prefix = values[0]!;
  for (const value of values) {
    let i = 0;
    while (i < prefix.length && i < value.length && prefix[i] === value[i]) i++;
    prefix = prefix.slice(0, i);
  }
  return prefix;
}

/**
 * The removal and addition every example agrees on: each is a way example 1 can be read (remove r, add what is left
 * of its normalized number), fewest removed first; the first that explains every example wins. When none does, the
 * error names the example the reading that got furthest breaks on.
 */
function removalAndAddition(examples: readonly RuleExample[]): { remove: number; add: string } {
  const first = examples[0]!;
  let best: { remove: number; add: string; breaks: number } | null = null;
  for (let remove = 0; remove <= first.dialed.length; remove++) {
    const kept = first.dialed.slice(remove);
    if (!first.normalized.endsWith(kept)) continue;
    const add = first.normalized.slice(0, first.normalized.length - kept.length);
    const breaks = examples.findIndex(
      (e) => e.dialed.length < remove || add + e.dialed.slice(remove) !== e.normalized,
    );
    if (breaks < 0) return { remove, add };
    if (best === null || breaks > best.breaks) best = { remove, add, breaks };
  }
  // Removing every digit of example 1 and adding its normalized number always reads it, so best is set.
  const { remove, add, breaks } = best!;
  const broken = examples[breaks]!;
  const n = breaks + 1;
  throw refuse(
    unexplained(
      breaks,
      'normalized',
      broken.dialed.length < remove
        ? `example ${n}, ${broken.dialed}, is shorter than the ${remove} digits example 1 needs removed.`
        : `removing ${remove} and adding "${add}", as example 1 needs, turns example ${n}, ${broken.dialed}, ` +
            `into ${add + broken.dialed.slice(remove)}, not ${broken.normalized}.`,
    ),
  );
}

/**
 * The rule the examples imply: starting digits are what every dialed number begins with, the length theirs when
 * they share one (else any), and the digits removed and added the ones every example agrees on.
 */
export function inferFields(examples: readonly RuleExample[]): RuleFields {
  const startingDigits = commonPrefix(examples.map((e) => e.dialed));
  // After the starting digits the pattern has only `\d`: a `*`, `#` or `+` there cannot be matched.
  examples.forEach((example, index) => {
    const stray = /[^0-9]/.exec(example.dialed.slice(startingDigits.length));
    if (stray) {
      throw refuse(
        unexplained(
          index,
          'dialed',
          `example ${index + 1}, ${example.dialed}, has "${stray[0]}" after the starting digits every example shares ` +
            `("${startingDigits}"); a rule of starting digits and a length matches only digits there.`,
        ),
      );
    }
  });
  const { remove, add } = removalAndAddition(examples);
  const lengths = new Set(examples.map((e) => e.dialed.length));
  return {
    startingDigits,
    length: lengths.size === 1 ? examples[0]!.dialed.length : null,
    digitsToRemove: remove,
    digitsToAdd: add,
  };
}

/** The rule the examples imply, checked on every one of them. */
export function buildFromExamples(examples: readonly RuleExample[]): BuiltRule {
  const fields = inferFields(examples);
  const rule = ruleExpressions(fields);
  const checks = examples.map((example) => check(rule, example));
  const failed = checks.findIndex((c) => !c.matches);
  if (failed >= 0) {
    const { dialed, produced } = checks[failed]!;
    throw refuse(
      unexplained(
        failed,
        'dialed',
        `the rule the examples imply, ${rule.pattern} → ${rule.translation}, ` +
          (produced === null
            ? `does not match example ${failed + 1}, ${dialed}.`
            : `turns example ${failed + 1}, ${dialed}, into ${produced}.`),
      ),
    );
  }
  return { fields, ...rule, checks };
}

/** A rule name from the fields, for when none is given: a dial plan's rule names have no `#`. */
export function defaultRuleName(fields: RuleFields): string {
  const start =
    fields.startingDigits === '' ? 'Any number' : `Starting ${fields.startingDigits.replace(/#/g, 'hash')}`;
  return `${start}, ${fields.length === null ? 'any length' : `${fields.length} digits`}`;
}
