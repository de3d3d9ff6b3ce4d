import { z } from 'zod';
import { DomainError, domainErrors } from '../errors/domain-errors.js';

/** One dial-plan rule of a customer: the manual's "Dial Plan Name | Prefix | Tag". */
export interface DialPlanPrefix {
  readonly dialPlanName: string;
  readonly prefix: string;
  /** "One of the following: Tenant ID, IP Group Name"; the PSTN gateway when empty. */
  readonly tag: string;
}

export const MAX_PREFIXES = 5_000;

/**
 * Bounds on "Update from CSV", so that a large or hostile file costs little and its error body stays small: the
 * widest valid line (a 60-character name, the longest prefix, a 100-character tag, quotes) fits in 256 characters,
 * and the first 100 problems are named, the rest counted (as the users' CSV import does).
 */
export const PREFIX_CSV_LIMITS = { maxLineChars: 256, reportedProblems: 100 } as const;
/** `+`, 20 digits and a range of 6-digit ends: the longest prefix the syntax allows. */
const MAX_PREFIX_CHARS = 36;

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
      // Aborts so that the message below, which quotes the prefix, never quotes a long one.
      .max(MAX_PREFIX_CHARS, {
        error: `Prefix can be at most ${MAX_PREFIX_CHARS} characters long.`,
        abort: true,
      })
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

export interface ParsedPrefixCsv {
  readonly prefixes: DialPlanPrefix[];
  /** The first PREFIX_CSV_LIMITS.reportedProblems problems, in line order. */
  readonly problems: CsvProblem[];
  readonly problemCount: number;
  /** Non-blank lines under the header. */
  readonly dataLines: number;
}

/**
 * "Update from CSV": `dialPlanName,prefix,tag`, a header line first (the product's own format; the manual does
 * not give one). Every bad line is counted and the first ones reported with their numbers; nothing is taken unless
 * the whole file is good. A file with more lines than a customer may have prefixes is not read further.
 */
export function parsePrefixCsv(text: string): ParsedPrefixCsv {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const problems: CsvProblem[] = [];
  let problemCount = 0;
  const problem = (line: number, message: string) => {
    problemCount++;
    if (problems.length < PREFIX_CSV_LIMITS.reportedProblems) problems.push({ line, message });
  };
  const prefixes: DialPlanPrefix[] = [];
  const dataLines = lines.slice(1).filter((raw) => raw.trim() !== '').length;
  const header = lines[0]?.trim().toLowerCase().replace(/\s+/g, '');
  if (header !== 'dialplanname,prefix,tag') {
    problem(1, 'The first line must be the header dialPlanName,prefix,tag.');
    return { prefixes, problems, problemCount, dataLines };
  }
  if (dataLines > MAX_PREFIXES) return { prefixes, problems, problemCount, dataLines };
  lines.slice(1).forEach((raw, index) => {
    const line = index + 2;
    if (!raw.trim()) return;
    if (raw.length > PREFIX_CSV_LIMITS.maxLineChars) {
      problem(line, `The line is longer than ${PREFIX_CSV_LIMITS.maxLineChars} characters.`);
      return;
    }
    const cells = raw.split(',').map((cell) => cell.trim().replace(/^"(.*)"$/, '$1'));
    if (cells.length < 2 || cells.length > 3) {
      problem(line, 'Expected dialPlanName,prefix,tag.');
      return;
    }
    const parsed = dialPlanPrefixSchema.safeParse({
      dialPlanName: cells[0],
      prefix: cells[1],
      tag: cells[2] ?? '',
    });
    if (!parsed.success) {
      problem(line, parsed.error.issues.map((issue) => issue.message).join(' '));
      return;
    }
    prefixes.push(parsed.data);
  });
  return { prefixes: dedupe(prefixes), problems, problemCount, dataLines };
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

/**
 * The body's prefixes; a CSV with any invalid line is refused whole, naming the first 100 such lines and counting
 * the rest; a CSV with more lines than a customer may have prefixes is refused unread.
 */
export function prefixesFromBody(body: z.output<typeof prefixesBodySchema>): DialPlanPrefix[] {
  if (body.csv === undefined) return dedupe(body.prefixes ?? []);
  const parsed = parsePrefixCsv(body.csv);
  if (parsed.dataLines > MAX_PREFIXES) {
    throw new DomainError('too_large', {
      code: 'csv_too_many_rows',
      title: 'Too many lines',
      detail: `The file has ${parsed.dataLines} lines under its header; a customer can have at most ${MAX_PREFIXES} prefixes.`,
    });
  }
  if (parsed.problemCount > 0) {
    const unreported = parsed.problemCount - parsed.problems.length;
    throw domainErrors.validation(
      [
        ...parsed.problems.map((p) => ({
          field: 'csv',
          in: 'body' as const,
          code: 'invalid_csv_line',
          message: `Line ${p.line}: ${p.message}`,
        })),
        ...(unreported > 0
          ? [
              {
                field: 'csv',
                in: 'body' as const,
                code: 'more_invalid_csv_lines',
                message: `${unreported} more lines have problems; fix the lines above and send the file again.`,
              },
            ]
          : []),
      ],
      `The CSV file has ${parsed.problemCount} invalid lines; nothing was taken.`,
    );
  }
  return parsed.prefixes;
}
