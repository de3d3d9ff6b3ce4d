import { z } from 'zod';
import { domainErrors } from '../errors/domain-errors.js';

/** One dial-plan rule of a customer: the manual's "Dial Plan Name | Prefix | Tag". */
export interface DialPlanPrefix {
  readonly dialPlanName: string;
  readonly prefix: string;
  /** "One of the following: Tenant ID, IP Group Name"; the PSTN gateway when empty. */
  readonly tag: string;
}

export const MAX_PREFIXES = 5_000;

/**
 * The manual's prefix syntax: "+4455896552 ; +44587996[01-20]. Do not use any notations in the prefixes (e.g. x,
 * n, z or #)." An optional `+`, digits, and an optional trailing range of digits of equal width, low ≤ high.
 */
export function prefixProblem(prefix: string): string | null {
  if (/[xnz#]/i.test(prefix)) {
    return `"${prefix}": do not use any notations in the prefixes (e.g. x, n, z or #).`;
  }
  const match = /^\+?(\d{1,20})(?:\[(\d{1,6})-(\d{1,6})\])?$/.exec(prefix);
  if (!match) {
    return `"${prefix}" is not a prefix: an optional +, digits, and an optional range such as [01-20].`;
  }
  const [, , low, high] = match;
  if (low !== undefined && high !== undefined) {
    if (low.length !== high.length)
      return `"${prefix}": both ends of the range need the same number of digits.`;
    if (Number(low) > Number(high)) return `"${prefix}": the range must go from low to high.`;
  }
  return null;
}

const name = (label: string) =>
  z
    .string({ error: `${label} is required.` })
    .trim()
    .min(1, `${label} is required.`)
    .max(60, `${label} can be at most 60 characters long.`)
    .regex(/^[\w .@+-]+$/u, `${label} may hold letters, digits, blanks and . _ @ + - only.`);

export const dialPlanPrefixSchema = z
  .strictObject({
    dialPlanName: name('Dial Plan Name'),
    prefix: z
      .string({ error: 'Prefix is required.' })
      .trim()
      .superRefine((value, ctx) => {
        const problem = prefixProblem(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem, params: { code: 'invalid_prefix' } });
      }),
    tag: z.string().trim().max(100, 'Tag can be at most 100 characters long.').default(''),
  })
  .meta({ id: 'DialPlanPrefix' });

export interface CsvProblem {
  readonly line: number;
  readonly message: string;
}

/**
 * "Update from CSV": `dialPlanName,prefix,tag`, a header line first (the product's own format; the manual does
 * not give one). Every bad line is reported with its number; nothing is taken unless the whole file is good.
 */
export function parsePrefixCsv(text: string): { prefixes: DialPlanPrefix[]; problems: CsvProblem[] } {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const problems: CsvProblem[] = [];
  const prefixes: DialPlanPrefix[] = [];
  const header = lines[0]?.trim().toLowerCase().replace(/\s+/g, '');
  if (header !== 'dialplanname,prefix,tag') {
    return {
      prefixes,
      problems: [{ line: 1, message: 'The first line must be the header dialPlanName,prefix,tag.' }],
    };
  }
  lines.slice(1).forEach((raw, index) => {
    const line = index + 2;
    if (!raw.trim()) return;
    const cells = raw.split(',').map((cell) => cell.trim().replace(/^"(.*)"$/, '$1'));
    if (cells.length < 2 || cells.length > 3) {
      problems.push({ line, message: 'Expected dialPlanName,prefix,tag.' });
      return;
    }
    const parsed = dialPlanPrefixSchema.safeParse({
      dialPlanName: cells[0],
      prefix: cells[1],
      tag: cells[2] ?? '',
    });
    if (!parsed.success) {
      problems.push({ line, message: parsed.error.issues.map((issue) => issue.message).join(' ') });
      return;
    }
    prefixes.push(parsed.data);
  });
  if (prefixes.length > MAX_PREFIXES) {
    problems.push({ line: lines.length, message: `At most ${MAX_PREFIXES} prefixes per customer.` });
  }
  return { prefixes: dedupe(prefixes), problems };
}

/** The same rule twice is one rule. */
export function dedupe(prefixes: readonly DialPlanPrefix[]): DialPlanPrefix[] {
  const seen = new Map<string, DialPlanPrefix>();
  for (const p of prefixes) seen.set(`${p.dialPlanName.toLowerCase()}\n${p.prefix}\n${p.tag}`, p);
  return [...seen.values()];
}

/** The prefixes of a page or a site: typed, or "Update from CSV" (`dialPlanName,prefix,tag`). */
export const prefixesBodySchema = z
  .strictObject({
    prefixes: z.array(dialPlanPrefixSchema).max(MAX_PREFIXES).optional(),
    csv: z
      .string()
      .max(1_000_000)
      .optional()
      .meta({ description: 'A CSV file: header dialPlanName,prefix,tag.' }),
  })
  .refine((value) => (value.prefixes === undefined) !== (value.csv === undefined), {
    message: 'Send either prefixes or csv.',
  })
  .meta({ id: 'DialPlanPrefixes' });

/** The body's prefixes; a CSV with any invalid line is refused whole, naming every such line. */
export function prefixesFromBody(body: z.output<typeof prefixesBodySchema>): DialPlanPrefix[] {
  if (body.csv === undefined) return dedupe(body.prefixes ?? []);
  const parsed = parsePrefixCsv(body.csv);
  if (parsed.problems.length > 0) {
    throw domainErrors.validation(
      parsed.problems.map((p) => ({
        field: 'csv',
        in: 'body' as const,
        code: 'invalid_csv_line',
        message: `Line ${p.line}: ${p.message}`,
      })),
      'The CSV file has invalid lines; nothing was taken.',
    );
  }
  return parsed.prefixes;
}
