/**
 * Six-field NCRONTAB (`{second} {minute} {hour} {day} {month} {day-of-week}`), evaluated in UTC, with the
 * semantics of the NCrontab library (atifaziz/NCrontab) that the Azure Functions timer trigger uses — so that a
 * schedule fires locally exactly when it would in Azure.
 *
 * Day rule: NCrontab requires a date to match BOTH the day-of-month and the day-of-week field. Vixie cron fires
 * when EITHER matches if both are restricted; NCrontab does not (its `GetNextOccurrence` first finds a matching
 * day of month, then rejects it unless `daysOfWeek.Contains(date.DayOfWeek)`). So `0 0 0 13 * Fri` means
 * "midnight of every Friday the 13th", not "every 13th and every Friday".
 *
 * Other NCrontab details kept on purpose: names are matched case-insensitively as prefixes of the full English
 * name (`Mon`, `monday`, `Jan`); `a/n` means `a-max/n`; a reversed range `5-1` is read as `1-5`. Deliberately
 * stricter than NCrontab: a step of 0 is rejected (NCrontab silently treats it as 1), and a schedule that can
 * never fire (`0 0 0 31 Feb *`) is rejected instead of yielding "never".
 */

export interface NcrontabSchedule {
  readonly expression: string;
  readonly seconds: ReadonlySet<number>;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  /** Day of month, 1–31. */
  readonly days: ReadonlySet<number>;
  /** 1–12. */
  readonly months: ReadonlySet<number>;
  /** 0–6, Sunday = 0. */
  readonly daysOfWeek: ReadonlySet<number>;
}

export class NcrontabError extends Error {
  override readonly name = 'NcrontabError';
}

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const FIELDS: readonly FieldSpec[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTH_NAMES },
  { name: 'day-of-week', min: 0, max: 6, names: DAY_NAMES },
];

/** Longest month lengths, February counted as 29 so that leap days stay reachable. */
const MAX_DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function parseNcrontab(expression: string): NcrontabSchedule {
  const tokens = expression.trim().split(/\s+/).filter(Boolean);
  if (tokens.length !== FIELDS.length) {
    throw new NcrontabError(
      `'${expression}' is not a valid NCRONTAB expression: it must have 6 fields ` +
        `({second} {minute} {hour} {day} {month} {day-of-week}), found ${tokens.length}.`,
    );
  }
  const sets = FIELDS.map((field, index) => parseField(field, tokens[index] ?? '', expression));
  const [seconds, minutes, hours, days, months, daysOfWeek] = sets as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  const reachable = [...months].some((month) =>
    [...days].some((day) => day <= (MAX_DAYS_IN_MONTH[month - 1] ?? 0)),
  );
  if (!reachable) {
    throw new NcrontabError(`'${expression}' never occurs: no selected month has any of the selected days.`);
  }
  return { expression, seconds, minutes, hours, days, months, daysOfWeek };
}

function parseField(field: FieldSpec, token: string, expression: string): Set<number> {
  const fail = (reason: string): never => {
    throw new NcrontabError(
      `'${expression}' is not a valid NCRONTAB expression: ${field.name} field '${token}' ${reason}`,
    );
  };
  const values = new Set<number>();
  for (const item of token.split(',')) {
    if (item === '') fail('has an empty list item.');
    let range = item;
    let step: number | undefined;
    const slash = item.indexOf('/');
    if (slash >= 0) {
      const stepText = item.slice(slash + 1);
      range = item.slice(0, slash);
      if (range === '') fail(`has a step '/${stepText}' without a range before it (use '*/${stepText}').`);
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0)
        fail(`has an invalid step '${stepText}' (a whole number ≥ 1).`);
      step = Number(stepText);
    }
    let start: number;
    let end: number;
    if (range === '*') {
      start = field.min;
      end = field.max;
    } else if (range.includes('-')) {
      const bounds = range.split('-');
      if (bounds.length !== 2 || bounds[0] === '' || bounds[1] === '')
        fail(`has an invalid range '${range}'.`);
      const a = parseValue(field, bounds[0] ?? '', fail);
      const b = parseValue(field, bounds[1] ?? '', fail);
      start = Math.min(a, b);
      end = Math.max(a, b);
    } else {
      start = parseValue(field, range, fail);
      end = step === undefined ? start : field.max;
    }
    for (let value = start; value <= end; value += step ?? 1) values.add(value);
  }
  return values;
}

function parseValue(field: FieldSpec, text: string, fail: (reason: string) => never): number {
  if (/^\d+$/.test(text)) {
    const value = Number(text);
    if (value < field.min || value > field.max) {
      fail(`has ${value}, outside ${field.min}–${field.max}.`);
    }
    return value;
  }
  if (field.names && /^[a-z]+$/i.test(text)) {
    const lower = text.toLowerCase();
    const index = field.names.findIndex((name) => name.toLowerCase().startsWith(lower));
    if (index >= 0) return index + field.min;
    fail(`has '${text}', which is not a known name (${field.names.map((n) => n.slice(0, 3)).join(', ')}).`);
  }
  return fail(
    `has '${text}', which is not a number between ${field.min} and ${field.max}${field.names ? ' or a name' : ''}.`,
  );
}

/** Bounds the search; a satisfiable day/month/weekday combination recurs well within one 400-year cycle. */
const SEARCH_YEARS = 400;

/** The first occurrence strictly after `after`, in whole UTC seconds. */
export function nextOccurrence(schedule: NcrontabSchedule, after: Date): Date {
  const afterMs = after.getTime();
  if (Number.isNaN(afterMs)) throw new RangeError('nextOccurrence: `after` is an invalid Date.');
  const lastYear = after.getUTCFullYear() + SEARCH_YEARS;
  let t = new Date(Math.floor(afterMs / 1000) * 1000 + 1000);
  // Each step moves to the start of the next candidate unit, so one iteration per skipped month/day/hour/minute.
  while (t.getUTCFullYear() <= lastYear) {
    const year = t.getUTCFullYear();
    const month = t.getUTCMonth();
    const day = t.getUTCDate();
    const hour = t.getUTCHours();
    const minute = t.getUTCMinutes();
    const second = t.getUTCSeconds();
    if (!schedule.months.has(month + 1)) {
      t = new Date(Date.UTC(year, month + 1, 1));
    } else if (!schedule.days.has(day) || !schedule.daysOfWeek.has(t.getUTCDay())) {
      t = new Date(Date.UTC(year, month, day + 1));
    } else if (!schedule.hours.has(hour)) {
      t = new Date(Date.UTC(year, month, day, hour + 1));
    } else if (!schedule.minutes.has(minute)) {
      t = new Date(Date.UTC(year, month, day, hour, minute + 1));
    } else if (!schedule.seconds.has(second)) {
      t = new Date(Date.UTC(year, month, day, hour, minute, second + 1));
    } else {
      return t;
    }
  }
  throw new NcrontabError(
    `'${schedule.expression}' has no occurrence within ${SEARCH_YEARS} years of ${after.toISOString()}.`,
  );
}
