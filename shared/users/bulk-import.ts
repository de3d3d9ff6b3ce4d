import { csvParse, csvStringify } from '../platform/csv.js';
import { z } from 'zod';
import { DomainError, type FieldError } from '../errors/domain-errors.js';
import type { MirrorUser } from '../replication/mirror-user.js';
import type { UserChangeExecution } from './ports.js';
import { hasControlCharacter } from '../validation/control-characters.js';
import { mirrorValueOf } from './user-change-fields.js';
import {
  USER_POLICY_TYPE_IDS,
  USER_POLICY_TYPES,
  type UserChange,
  type UserPolicyType,
} from './user-change.js';

/**
 * Item 5's import (issue 11): a CSV of user changes, one row per user, read into the `UserChange`s each row asks
 * for. Validation is whole before anything is queued: the header, then each row's cells, then the mirror (the user
 * exists, the values differ), then the per-user engine's own rules (`UserChangeExecution.check`). A row whose values
 * already match the mirror is `unchanged` and is never sent, so importing the same file twice changes nothing.
 */

export const IMPORT_LIMITS = {
  maxBytes: 5 * 1024 * 1024,
  maxRows: 10_000,
  /**
   * A row's cells, as JSON: a row is stored whole with its plan, in a property of at most 32 K characters, next to
   * the error that may quote a cell again. A user, a number, a location and a dozen policy names are far shorter.
   */
  maxRowChars: 4_000,
  reportedErrors: 100,
} as const;

/** The cell that unassigns a number or clears the usage location; an empty cell changes nothing. */
export const CLEAR_KEYWORD = 'none';
/** The cell that grants a policy type's org-wide default (the manual's "Global"). */
export const GLOBAL_POLICY = 'Global';

/** A column of the file: the user, one of the three telephony fields, or a policy type. */
export type ImportColumn =
  | { readonly kind: 'user' }
  | { readonly kind: 'line-uri' }
  | { readonly kind: 'enterprise-voice' }
  | { readonly kind: 'usage-location' }
  | { readonly kind: 'policy'; readonly policyType: UserPolicyType };

/** Header spellings compare without case, spaces, hyphens or underscores: `Line URI`, `lineuri`, `line_uri`. */
const squash = (header: string) => header.toLowerCase().replace(/[\s_-]+/g, '');

const HEADERS: ReadonlyMap<string, ImportColumn> = new Map<string, ImportColumn>([
  ...['User', 'UserPrincipalName', 'UPN', 'SipAddress', 'ObjectId', 'Id'].map(
    (name) => [squash(name), { kind: 'user' }] as const,
  ),
  ...['LineUri', 'OnPremLineUri'].map((name) => [squash(name), { kind: 'line-uri' }] as const),
  ...['EnterpriseVoice', 'EnterpriseVoiceEnabled'].map(
    (name) => [squash(name), { kind: 'enterprise-voice' }] as const,
  ),
  [squash('UsageLocation'), { kind: 'usage-location' }],
  ...USER_POLICY_TYPE_IDS.flatMap((policyType) =>
    [policyType, USER_POLICY_TYPES[policyType].label, USER_POLICY_TYPES[policyType].teamsType].map(
      (name) => [squash(name), { kind: 'policy', policyType }] as const,
    ),
  ),
]);

const columnKey = (column: ImportColumn) =>
  column.kind === 'policy' ? `policy:${column.policyType}` : column.kind;

/** One problem of one row: `row` counts as a spreadsheet does (the header is row 1). */
export interface RowError {
  readonly row: number;
  /** The header as the file spells it; null for the row as a whole. */
  readonly column: string | null;
  readonly code: string;
  readonly message: string;
}

/** A change with the value the mirror had before it, for the dry run. */
export interface PlannedChange {
  readonly change: UserChange;
  readonly before: string | boolean | null;
}

/** A row as validated: what it changes, or why it cannot be applied. Stored with the import for its task. */
export interface PlannedRow {
  readonly row: number;
  /** The row's cells as the file had them, for the result CSV. */
  readonly cells: readonly string[];
  readonly status: 'change' | 'unchanged' | 'invalid';
  readonly userId: string | null;
  readonly userPrincipalName: string | null;
  readonly changes: readonly UserChange[];
  /** Every problem of an invalid row, joined: the result CSV's Error cell. */
  readonly error: string | null;
}

export interface ImportPlan {
  readonly header: readonly string[];
  readonly rows: readonly PlannedRow[];
  /** Each change with its old value, by row number (rows with changes only). */
  readonly planned: ReadonlyMap<number, readonly PlannedChange[]>;
  /** The first IMPORT_LIMITS.reportedErrors problems, in row order. */
  readonly errors: readonly RowError[];
  readonly errorCount: number;
}

/** The users an import names, looked up in the mirror by object id or UPN (case-insensitive). */
export interface ImportDirectory {
  /** The mirror's users among `keys` (ids and UPNs, lower case), by the key that found them. */
  findUsers(customerId: string, keys: ReadonlySet<string>): Promise<ReadonlyMap<string, MirrorUser>>;
}

/** A problem the caller found in a row before the file was written (a template's user without a phone number). */
export type PresetProblem = Omit<RowError, 'row'>;

export interface ImportPlanOptions {
  /** Problems by row number (the header is row 1), reported as the row's own. */
  readonly rowProblems?: ReadonlyMap<number, readonly PresetProblem[]>;
}

export interface ImportPlanDeps {
  readonly directory: ImportDirectory;
  readonly execution: Pick<UserChangeExecution, 'check'>;
}

const LINE_URI = /^tel:\+[1-9]\d{6,14}(;ext=\d{1,10})?$/i;

function cellSchema(column: ImportColumn) {
  switch (column.kind) {
    case 'user':
      return z
        .string()
        .min(1, 'The user is missing: give the UPN or the object id.')
        .max(256, 'The user is longer than a UPN can be.');
    case 'line-uri':
      return z
        .string()
        .transform((value) => (value.startsWith('+') ? `tel:${value}` : value))
        .refine(
          (value) => value.toLowerCase() === CLEAR_KEYWORD || LINE_URI.test(value),
          `A Line URI is tel:+ and 7 to 15 digits (E.164), optionally ;ext=<digits>, or ${CLEAR_KEYWORD} to unassign.`,
        )
        .transform((value) =>
          value.toLowerCase() === CLEAR_KEYWORD ? null : value.replace(/^tel:/i, 'tel:'),
        );
    case 'enterprise-voice':
      return z
        .string()
        .toLowerCase()
        .pipe(z.enum(['true', 'false'], { error: 'Enterprise Voice is true or false.' }))
        .transform((value) => value === 'true');
    case 'usage-location':
      return z
        .string()
        .refine(
          (value) => value.toLowerCase() === CLEAR_KEYWORD || /^[A-Za-z]{2}$/.test(value),
          `A usage location is a two-letter country code (ISO 3166-1, e.g. GB), or ${CLEAR_KEYWORD} to clear it.`,
        )
        .transform((value) => (value.toLowerCase() === CLEAR_KEYWORD ? null : value.toUpperCase()));
    case 'policy':
      return z
        .string()
        .max(256, 'A policy name is at most 256 characters.')
        .refine((value) => !hasControlCharacter(value), 'A policy name has no control characters.')
        .transform((value) =>
          value.replace(/^Tag:/i, '').toLowerCase() === 'global' ? null : value.replace(/^Tag:/i, ''),
        );
  }
}

/** Reads the file's header: every column known, none twice, the user's column present. */
function readHeader(header: readonly string[]): ImportColumn[] {
  const fields: FieldError[] = [];
  const seen = new Map<string, string>();
  const columns = header.map((name, index) => {
    const column = HEADERS.get(squash(name));
    if (!column) {
      fields.push({
        field: name || `column ${index + 1}`,
        in: 'body',
        code: 'unknown_column',
        message: `"${name}" is no column of a user import.`,
        allowed: allowedHeaders(),
      });
      return undefined;
    }
    const earlier = seen.get(columnKey(column));
    if (earlier !== undefined) {
      fields.push({
        field: name,
        in: 'body',
        code: 'duplicate_column',
        message: `"${name}" names the same column as "${earlier}".`,
      });
    }
    seen.set(columnKey(column), name);
    return column;
  });
  if (!seen.has('user')) {
    fields.push({
      field: '',
      in: 'body',
      code: 'missing_column',
      message: 'The header has no user column (User, UserPrincipalName or ObjectId).',
    });
  }
  if (fields.length > 0) {
    throw new DomainError('validation', {
      code: 'csv_header_invalid',
      title: 'The CSV header is not one of a user import',
      detail: fields.map((f) => f.message).join(' '),
      fields,
    });
  }
  return columns.filter((column): column is ImportColumn => column !== undefined);
}

export function allowedHeaders(): string[] {
  return [
    'User',
    'LineUri',
    'EnterpriseVoice',
    'UsageLocation',
    ...USER_POLICY_TYPE_IDS.map((id) => USER_POLICY_TYPES[id].label),
  ];
}

/** The file's records; a file the CSV grammar refuses (an unclosed quote) or with a row too long is a 400 naming it. */
function records(text: string): string[][] {
  const parsed = parseRecords(text);
  const long = parsed.findIndex((cells) => JSON.stringify(cells).length > IMPORT_LIMITS.maxRowChars);
  if (long >= 0) {
    throw new DomainError('validation', {
      code: 'csv_row_too_long',
      title: 'A row is too long',
      detail: `Row ${long + 1} holds more than ${IMPORT_LIMITS.maxRowChars} characters; a row of a user import is a user and a few short values.`,
    });
  }
  return parsed;
}

function parseRecords(text: string): string[][] {
  try {
    return csvParse().parse(text, {
      bom: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
      max_record_size: 64 * 1024,
    }) as string[][];
  } catch (error) {
    throw new DomainError('validation', {
      code: 'csv_malformed',
      title: 'The file is not valid CSV',
      detail: error instanceof Error ? error.message : 'The CSV parser refused the file.',
    });
  }
}

const same = (a: string | boolean | null, b: string | boolean | null) =>
  typeof a === 'string' && typeof b === 'string' ? a.toLowerCase() === b.toLowerCase() : a === b;

function changeOf(column: ImportColumn, value: string | boolean | null): UserChange {
  switch (column.kind) {
    case 'line-uri':
      return { field: 'line-uri', value: value as string | null };
    case 'enterprise-voice':
      return { field: 'enterprise-voice', value: value as boolean };
    case 'usage-location':
      return { field: 'usage-location', value: value as string | null };
    case 'policy':
      return { field: 'policy', policyType: column.policyType, value: value as string | null };
    case 'user':
      throw new Error('The user column is no change.');
  }
}

/** Usage location first (a number needs it), then the number, then voice, then the policies in file order. */
const ORDER: Readonly<Record<UserChange['field'], number>> = {
  'usage-location': 0,
  'line-uri': 1,
  'enterprise-voice': 2,
  policy: 3,
};

/** Refusals about the customer, not the row (a Hosted Essentials customer has no M365 users): the whole file's. */
const CUSTOMER_REFUSALS: ReadonlySet<string> = new Set([
  'no_m365_for_essentials',
  'credentials_not_verified',
]);

/** The engine's refusal of one row, kept as the row's error; an outage is no row's fault and fails the request. */
function refusalOf(error: unknown): { code: string; message: string } {
  if (
    error instanceof DomainError &&
    error.kind !== 'transient' &&
    error.kind !== 'version_mismatch' &&
    !CUSTOMER_REFUSALS.has(error.code)
  ) {
    return { code: error.code, message: error.detail ?? error.title };
  }
  throw error;
}

/** Runs `work` on each item, `width` at a time: the engine's checks read storage, one row after another is slow. */
async function eachLimited<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

/**
 * Validates a file against the mirror and the engine's rules and says what each row would change. Throws for the
 * file as a whole (malformed, bad header, no rows, too many rows); a row's problems are the plan's row errors.
 */
export async function planImport(
  deps: ImportPlanDeps,
  customerId: string,
  text: string,
  options: ImportPlanOptions = {},
): Promise<ImportPlan> {
  const [header, ...data] = records(text);
  if (!header) throw noRows();
  const columns = readHeader(header);
  if (data.length === 0) throw noRows();
  if (data.length > IMPORT_LIMITS.maxRows) {
    throw new DomainError('too_large', {
      code: 'csv_too_many_rows',
      title: 'Too many rows',
      detail: `The file has ${data.length} data rows; an import takes at most ${IMPORT_LIMITS.maxRows}. Split it.`,
    });
  }
  const userColumn = columns.findIndex((column) => column.kind === 'user');
  const problems = new Map<number, RowError[]>();
  const problem = (row: number, column: string | null, code: string, message: string) => {
    const list = problems.get(row) ?? [];
    list.push({ row, column, code, message });
    problems.set(row, list);
  };
  for (const [row, preset] of options.rowProblems ?? []) {
    for (const p of preset) problem(row, p.column, p.code, p.message);
  }

  // Cells first: each row's values, or its problems.
  const parsed = data.map((cells, index) => {
    const row = index + 2;
    const values = new Map<number, string | boolean | null>();
    if (cells.length !== columns.length) {
      problem(
        row,
        null,
        'column_count',
        `The row has ${cells.length} cells; the header has ${columns.length}.`,
      );
      return { row, cells, values };
    }
    columns.forEach((column, i) => {
      const cell = cells[i] ?? '';
      if (cell === '' && column.kind !== 'user') return;
      const result = cellSchema(column).safeParse(cell);
      if (result.success) values.set(i, result.data);
      else
        problem(row, header[i] ?? null, 'invalid_value', result.error.issues[0]?.message ?? 'Invalid value.');
    });
    return { row, cells, values };
  });

  // Then the users: each must be in the mirror, and in one row only.
  const keyOf = (cells: readonly string[]) => (cells[userColumn] ?? '').toLowerCase();
  const keys = new Set(parsed.filter((p) => !problems.has(p.row)).map((p) => keyOf(p.cells)));
  const users = await deps.directory.findUsers(customerId, keys);
  const rowOfUser = new Map<string, number>();
  const rows: PlannedRow[] = [];
  const planned = new Map<number, PlannedChange[]>();
  for (const { row, cells, values } of parsed) {
    const user = problems.has(row) ? undefined : users.get(keyOf(cells));
    if (!problems.has(row) && !user) {
      problem(
        row,
        header[userColumn] ?? null,
        'user_not_found',
        `No user ${cells[userColumn]} in the mirror.`,
      );
    }
    if (user) {
      const earlier = rowOfUser.get(user.id);
      if (earlier !== undefined) {
        problem(
          row,
          header[userColumn] ?? null,
          'duplicate_user',
          `Row ${earlier} already changes this user.`,
        );
      } else rowOfUser.set(user.id, row);
    }
    const changes: PlannedChange[] = [];
    if (user && !problems.has(row)) {
      for (const [i, value] of values) {
        const column = columns[i] as ImportColumn;
        if (column.kind === 'user') continue;
        const change = changeOf(column, value);
        const before = mirrorValueOf(user, change);
        if (!same(before, value)) changes.push({ change, before });
      }
      changes.sort((a, b) => ORDER[a.change.field] - ORDER[b.change.field]);
      if (changes.length > 0) planned.set(row, changes);
    }
    rows.push({
      row,
      cells: cells.map((cell) => cell.slice(0, 1024)),
      status: changes.length > 0 ? 'change' : 'unchanged',
      userId: user?.id ?? null,
      userPrincipalName: user?.userPrincipalName ?? null,
      changes: changes.map((c) => c.change),
      error: null,
    });
  }

  // Last, the engine's own rules, for the rows that would change something.
  const numberColumn = header[columns.findIndex((column) => column.kind === 'line-uri')] ?? null;
  await eachLimited(
    rows.filter((r) => r.status === 'change' && r.userId !== null),
    8,
    async (r) => {
      try {
        await deps.execution.check(customerId, r.userId as string, r.changes);
      } catch (error) {
        const { code, message } = refusalOf(error);
        problem(r.row, code.startsWith('number_') ? numberColumn : null, code, message);
      }
    },
  );

  const all = [...problems.values()].flat().sort((a, b) => a.row - b.row);
  return {
    header,
    rows: rows.map((r) => {
      const rowProblems = problems.get(r.row);
      if (!rowProblems) return r;
      planned.delete(r.row);
      return {
        ...r,
        status: 'invalid',
        changes: [],
        error: rowProblems.map((p) => (p.column ? `${p.column}: ${p.message}` : p.message)).join(' '),
      };
    }),
    planned,
    errors: all.slice(0, IMPORT_LIMITS.reportedErrors),
    errorCount: all.length,
  };
}

function noRows(): DomainError {
  return new DomainError('validation', {
    code: 'csv_no_rows',
    title: 'The file has no rows',
    detail: 'The file has no data rows under its header.',
  });
}

/**
 * A cell a spreadsheet would run as a formula (=, +, -, @, and the tab and carriage return that hide one) is
 * written behind a quote character, so that opening the result shows the text (OWASP "CSV injection").
 */
export function neutralised(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

/** The result file: the input rows as they came, with an Error column (empty when the row was applied or unchanged). */
export function resultCsv(
  header: readonly string[],
  rows: ReadonlyArray<{ readonly cells: readonly string[]; readonly error: string | null }>,
): string {
  return csvStringify().stringify(
    [[...header, 'Error'], ...rows.map((r) => [...r.cells, r.error ?? ''])].map((cells) =>
      cells.map(neutralised),
    ),
    { record_delimiter: '\r\n' },
  );
}
