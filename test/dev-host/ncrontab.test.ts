import { describe, expect, it } from 'vitest';
import { NcrontabError, nextOccurrence, parseNcrontab } from '../../dev/host/ncrontab.js';

// Pure functions: this file needs neither Azurite nor a host.

const next = (expression: string, after: string) =>
  nextOccurrence(parseNcrontab(expression), new Date(after)).toISOString();

describe('nextOccurrence', () => {
  it.each([
    // every 5 minutes
    ['0 */5 * * * *', '2024-01-01T10:02:30.000Z', '2024-01-01T10:05:00.000Z'],
    ['0 */5 * * * *', '2024-01-01T10:05:00.000Z', '2024-01-01T10:10:00.000Z'],
    ['0 */5 * * * *', '2023-12-31T23:58:00.000Z', '2024-01-01T00:00:00.000Z'],
    // every 10 seconds; strictly after, whole seconds
    ['*/10 * * * * *', '2024-01-01T10:00:05.000Z', '2024-01-01T10:00:10.000Z'],
    ['*/10 * * * * *', '2024-01-01T10:00:10.000Z', '2024-01-01T10:00:20.000Z'],
    ['*/10 * * * * *', '2024-01-01T10:00:59.500Z', '2024-01-01T10:01:00.000Z'],
    // weekdays at 09:30: Friday 2024-03-01 after the run goes to Monday
    ['0 30 9 * * 1-5', '2024-03-01T09:00:00.000Z', '2024-03-01T09:30:00.000Z'],
    ['0 30 9 * * 1-5', '2024-03-01T10:00:00.000Z', '2024-03-04T09:30:00.000Z'],
    ['0 30 9 * * 1-5', '2024-03-02T08:00:00.000Z', '2024-03-04T09:30:00.000Z'],
    // first of the month, across month ends including February of a leap year
    ['0 0 0 1 * *', '2024-01-31T12:00:00.000Z', '2024-02-01T00:00:00.000Z'],
    ['0 0 0 1 * *', '2024-02-15T00:00:00.000Z', '2024-03-01T00:00:00.000Z'],
    ['0 0 0 1 * *', '2024-12-31T23:59:59.000Z', '2025-01-01T00:00:00.000Z'],
    ['0 0 0 29 * *', '2024-01-30T00:00:00.000Z', '2024-02-29T00:00:00.000Z'],
    ['0 0 0 29 * *', '2023-01-30T00:00:00.000Z', '2023-03-29T00:00:00.000Z'],
    ['0 0 0 31 * *', '2024-02-01T00:00:00.000Z', '2024-03-31T00:00:00.000Z'],
    ['0 0 0 29 2 *', '2023-03-01T00:00:00.000Z', '2024-02-29T00:00:00.000Z'],
    // names: noon on Mondays in January (2024-01-01 and 2024-01-29 are Mondays; 2025-01-06 is the next)
    ['0 0 12 * Jan Mon', '2024-01-01T12:00:00.000Z', '2024-01-08T12:00:00.000Z'],
    ['0 0 12 * Jan Mon', '2024-01-29T12:00:00.000Z', '2025-01-06T12:00:00.000Z'],
    ['0 0 12 * jan mon', '2024-02-10T00:00:00.000Z', '2025-01-06T12:00:00.000Z'],
    ['0 0 0 1 jan,JULY *', '2024-02-01T00:00:00.000Z', '2024-07-01T00:00:00.000Z'],
    ['0 0 0 * * sunday', '2024-03-01T00:00:00.000Z', '2024-03-03T00:00:00.000Z'],
    // ranges with steps, and NCrontab's `a/n` = `a-max/n`
    ['0 0 8-18/2 * * *', '2024-05-10T08:00:00.000Z', '2024-05-10T10:00:00.000Z'],
    ['0 0 8-18/2 * * *', '2024-05-10T18:00:00.000Z', '2024-05-11T08:00:00.000Z'],
    ['15-45/15 * * * * *', '2024-05-10T10:00:46.000Z', '2024-05-10T10:01:15.000Z'],
    ['0 0 0 * * Mon-Fri/2', '2024-03-01T00:00:00.000Z', '2024-03-04T00:00:00.000Z'],
    ['0 0 0 * * Mon-Fri/2', '2024-03-04T00:00:00.000Z', '2024-03-06T00:00:00.000Z'],
    ['0 5/20 * * * *', '2024-05-10T10:25:00.000Z', '2024-05-10T10:45:00.000Z'],
    ['0 5/20 * * * *', '2024-05-10T10:45:00.000Z', '2024-05-10T11:05:00.000Z'],
    // lists
    ['0 0 6,18 * * *', '2024-05-10T06:00:00.000Z', '2024-05-10T18:00:00.000Z'],
    // NCrontab reads a reversed range in order
    ['0 0 0 * * 5-1', '2024-03-02T00:00:00.000Z', '2024-03-04T00:00:00.000Z'],
  ])('%s after %s → %s', (expression, after, expected) => {
    expect(next(expression, after)).toBe(expected);
  });

  it('requires both day-of-month and day-of-week when both are restricted (NCrontab, not Vixie cron)', () => {
    // Friday the 13th: Vixie cron would also fire on every 13th and every Friday.
    expect(next('0 0 0 13 * Fri', '2024-01-01T00:00:00.000Z')).toBe('2024-09-13T00:00:00.000Z');
    expect(next('0 0 0 13 * Fri', '2024-09-13T00:00:00.000Z')).toBe('2024-12-13T00:00:00.000Z');
    // A leap day that is also a Monday is twenty years away.
    expect(next('0 0 0 29 Feb Mon', '2024-03-01T00:00:00.000Z')).toBe('2044-02-29T00:00:00.000Z');
  });

  it('treats a restricted day-of-week alone like cron does', () => {
    expect(next('0 0 0 * * Fri', '2024-01-01T00:00:00.000Z')).toBe('2024-01-05T00:00:00.000Z');
  });
});

describe('parseNcrontab', () => {
  it('expands fields into sets', () => {
    const schedule = parseNcrontab('0 */15 9-17 * Jan-Mar Mon,Wed');
    expect([...schedule.minutes]).toEqual([0, 15, 30, 45]);
    expect([...schedule.hours]).toEqual([9, 10, 11, 12, 13, 14, 15, 16, 17]);
    expect([...schedule.months]).toEqual([1, 2, 3]);
    expect([...schedule.daysOfWeek]).toEqual([1, 3]);
    expect(schedule.days.size).toBe(31);
  });

  it.each([
    ['0 */5 * * *', /must have 6 fields.*found 5/],
    ['0 0 */5 * * * *', /must have 6 fields.*found 7/],
    ['', /found 0/],
    ['60 * * * * *', /second field '60'.*outside 0–59/],
    ['0 0 24 * * *', /hour field '24'.*outside 0–23/],
    ['0 0 0 0 * *', /day field '0'.*outside 1–31/],
    ['0 0 0 * 13 *', /month field '13'.*outside 1–12/],
    ['0 0 0 * * 7', /day-of-week field '7'.*outside 0–6/],
    ['*/0 * * * * *', /second field '\*\/0'.*invalid step '0'/],
    ['*/x * * * * *', /invalid step 'x'/],
    ['0 0 */-1 * * *', /hour field/],
    ['/5 * * * * *', /step '\/5' without a range/],
    ['1,,2 * * * * *', /empty list item/],
    ['1-2-3 * * * * *', /invalid range '1-2-3'/],
    ['0 0 0 * * Funday', /'Funday', which is not a known name/],
    ['0 0 0 * Smarch *', /not a known name/],
    ['0 0 0 1.5 * *', /day field '1.5'/],
    ['a 0 0 * * *', /second field 'a'.*not a number/],
    ['0 0 0 31 Feb *', /never occurs/],
    ['0 0 0 30,31 2 *', /never occurs/],
  ])('rejects %j', (expression, message) => {
    expect(() => parseNcrontab(expression)).toThrow(NcrontabError);
    expect(() => parseNcrontab(expression)).toThrow(message);
  });
});
