import { describe, expect, it } from 'vitest';
import { DomainError } from '../../shared/errors/domain-errors.js';
import { createNumberInventory } from '../../shared/numbers/number-inventory.js';
import { rangeInputSchema, reservationInputSchema } from '../../shared/numbers/number-views.js';
import type { CustomerSite } from '../../shared/onboarding/customer-site.js';
import { memoryTables } from '../../shared/storage/memory-tables.js';
import type { Tables } from '../../shared/storage/versioned-table.js';
import type { MirrorNumberIndex, NumberHolder } from '../../shared/users/ports.js';
import { writeLog } from '../support/write-log.js';

/** Sites Own/Site1 and Other/Site1 on SBC sbc-a (region a), Far/Site1 on sbc-b. */
const SITE_REGION: Record<string, string> = { own: 'a', other: 'a', far: 'b' };

/** The mirror's index, as a list of holders: what the mirror store answers, without its storage. */
function memoryIndex(holders: Array<NumberHolder & { customerId: string }>): MirrorNumberIndex {
  return {
    async usersWithNumbersBetween(customerId, from, to) {
      const digits = (uri: string) => BigInt(/\+(\d+)/.exec(uri)?.[1] ?? '0');
      return holders
        .filter((h) => h.customerId === customerId)
        .filter((h) => digits(h.lineUri) >= BigInt(from.slice(1)) && digits(h.lineUri) <= BigInt(to.slice(1)))
        .sort((a, b) => (digits(a.lineUri) < digits(b.lineUri) ? -1 : 1));
    },
  };
}

function world(
  holders: Array<NumberHolder & { customerId: string }> = [],
  today = '2026-12-03',
  tables: Tables = memoryTables(),
) {
  const inventory = createNumberInventory({
    tables,
    sites: {
      async get(customerId, siteName) {
        // Every customer also has a site "Far1" on SBC sbc-b.
        const region = siteName === 'Far1' ? 'b' : SITE_REGION[customerId.toLowerCase()];
        if (!region || !['Site1', 'Far1'].includes(siteName)) return null;
        return {
          site: { customerId, siteName, sbc: { regionId: region } } as unknown as CustomerSite,
          etag: 'x',
        };
      },
    },
    regions: {
      async region(id) {
        return { id, name: id, sbcId: `sbc-${id}`, fqdn: `${id}.example`, ipAddress: '192.0.2.1' };
      },
    },
    numberIndex: memoryIndex(holders),
    now: () => new Date(`${today}T10:00:00Z`),
  });
  return inventory;
}

const range = (start: string, end: string, name = 'R') =>
  rangeInputSchema.parse({ name, start, end, siteName: 'Site1' });
const seeAll = () => true;
const seeOwnOnly = (id: string) => id === 'Own';

async function refusal(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

const holder = (
  customerId: string,
  userId: string,
  lineUri: string,
  name = userId,
): NumberHolder & { customerId: string } => ({
  customerId,
  userId,
  userPrincipalName: `${userId}@${customerId.toLowerCase()}.example`,
  displayName: name,
  lineUri,
});

describe('number ranges on a shared SBC', () => {
  it('refuses a range overlapping another customer’s on the same SBC, and allows it on another SBC', async () => {
    const inventory = world();
    await inventory.createRange('Other', range('+442079460000', '+442079460099', 'Secret HQ'), 'op', seeAll);
    const refused = await refusal(
      inventory.createRange('Own', range('+442079460050', '+442079460150'), 'op', seeOwnOnly),
    );
    expect(refused.code).toBe('range_overlap');
    expect(refused.detail).not.toMatch(/Other|Secret HQ|r-[0-9a-f]{16}/);
    const seen = await refusal(
      inventory.createRange('Own', range('+442079460099', '+442079460099'), 'op', seeAll),
    );
    expect(seen.detail).toMatch(/"Secret HQ".*customer "Other"/);
    await expect(
      inventory.createRange('Far', range('+442079460050', '+442079460150'), 'op', seeAll),
    ).resolves.toMatchObject({ range: { sbcId: 'sbc-b' } });
    await expect(
      inventory.createRange('Own', range('+442079460100', '+442079460199'), 'op', seeAll),
    ).resolves.toMatchObject({ range: { sbcId: 'sbc-a' } });
  });

  it('writes nothing when it refuses an overlapping range', async () => {
    // Found by the fuzz suite: the refused create had already written the customer's pointer to the SBC.
    const log = writeLog(memoryTables());
    const inventory = world([], undefined, log.tables);
    await inventory.createRange('Other', range('+442079460000', '+442079460099'), 'op', seeAll);
    log.take();
    await refusal(inventory.createRange('Own', range('+442079460050', '+442079460150'), 'op', seeAll));
    expect(log.take()).toEqual([]);
  });

  it('lets exactly one of two concurrent overlapping creates win', async () => {
    const inventory = world();
    const results = await Promise.allSettled([
      inventory.createRange('Own', range('+3902000', '+3902200'), 'op', seeAll),
      inventory.createRange('Other', range('+3902100', '+3902300'), 'op', seeAll),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const [lost] = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect((lost?.reason as DomainError).code).toBe('range_overlap');
    const all = [...(await inventory.listRanges('Own')), ...(await inventory.listRanges('Other'))];
    expect(all).toHaveLength(1);
  });

  it('refuses a range of more than 100,000 numbers or ending before it starts', async () => {
    const inventory = world();
    for (const [start, end, code] of [
      ['+1000', '+999', 'range_end_before_start'],
      ['+100000', '+200000', 'range_too_large'],
    ] as const) {
      const refused = await refusal(inventory.createRange('Own', range(start, end), 'op', seeAll));
      expect(refused.fields[0]?.code).toBe(code);
    }
  });
});

describe('free numbers and the number guard', () => {
  const holders = [
    holder('Own', 'ann', 'tel:+2000', 'Ann Lee'),
    holder('Own', 'bob', 'tel:+2002;ext=5', 'Bob Roe'),
    holder('Own', 'cy', 'tel:+2004'),
    holder('Own', 'di', 'tel:+2005'),
    holder('Own', 'ed', 'tel:+2006'),
    holder('Own', 'fay', 'tel:+2007'),
    holder('Own', 'gus', 'tel:+2008'),
  ];

  async function setUp() {
    const inventory = world(holders);
    const created = await inventory.createRange('Own', range('2000', '2010', 'New Branch'), 'op', seeAll);
    const reserve = (lineUri: string, extra: Record<string, unknown> = {}) =>
      inventory.createReservation('Own', reservationInputSchema.parse({ lineUri, ...extra }), 'op');
    await reserve('+2001', { reason: 'Temporary employee', expireDate: '2026-12-31' });
    await reserve('+2003', { addedDate: '2026-01-01', expireDate: '2026-06-30', reason: 'Employee left' });
    return { inventory, rangeId: created.range.rangeId };
  }

  it('skips held and reserved numbers; an expired reservation frees its number', async () => {
    const { inventory, rangeId } = await setUp();
    expect(await inventory.guard.nextFree('Own', rangeId)).toBe('tel:+2003');
    const first = await inventory.availableNumbers('Own', rangeId, { top: 2 });
    expect(first.lineUris).toEqual(['tel:+2003', 'tel:+2009']);
    const second = await inventory.availableNumbers('Own', rangeId, { top: 2, after: first.nextKey ?? '' });
    expect(second).toEqual({ lineUris: ['tel:+2010'], nextKey: null });
    const [view] = await Promise.all((await inventory.listRanges('Own')).map(inventory.rangeView));
    expect(view).toMatchObject({ size: 11, availableNumbers: 3 });
  });

  it('answers range_exhausted when nothing is free', async () => {
    const inventory = world([holder('Own', 'ann', 'tel:+5000')]);
    const { range: r } = await inventory.createRange('Own', range('5000', '5000'), 'op', seeAll);
    expect((await refusal(inventory.guard.nextFree('Own', r.rangeId))).code).toBe('range_exhausted');
  });

  it('refuses a held, a reserved and an out-of-range number with their codes', async () => {
    const { inventory } = await setUp();
    const inUse = await refusal(inventory.guard.assertAssignable('Own', 'zed', 'tel:+2000'));
    expect([inUse.code, inUse.detail]).toEqual([
      'number_in_use',
      'tel:+2000 is assigned to Ann Lee (ann@own.example).',
    ]);
    const held = await refusal(inventory.guard.assertAssignable('Own', 'zed', '+2002;ext=5'));
    expect(held.code).toBe('number_in_use');
    await expect(inventory.guard.assertAssignable('Own', 'zed', '+2002;ext=6')).resolves.toBeUndefined();
    const reserved = await refusal(inventory.guard.assertAssignable('Own', 'zed', 'tel:+2001'));
    expect([reserved.code, reserved.detail]).toEqual([
      'number_reserved',
      'tel:+2001 is reserved until 2026-12-31 (Temporary employee).',
    ]);
    await expect(inventory.guard.assertAssignable('Own', 'zed', '2003')).resolves.toBeUndefined();
    expect((await refusal(inventory.guard.assertAssignable('Own', 'zed', 'tel:+2011'))).code).toBe(
      'number_outside_ranges',
    );
    // The holder itself keeps its number.
    await expect(inventory.guard.assertAssignable('Own', 'ann', 'tel:+2000')).resolves.toBeUndefined();
    expect((await refusal(inventory.guard.assertAssignable('Own', 'zed', 'tel:++97'))).code).toBe(
      'validation_failed',
    );
  });

  it('refuses deleting a range or a reservation in use, naming the first users and the count', async () => {
    const { inventory, rangeId } = await setUp();
    const range = await refusal(inventory.deleteRange('Own', rangeId, undefined));
    expect(range.code).toBe('range_in_use');
    expect(range.detail).toBe(
      'Range "New Branch" is in use by 7 users: Ann Lee (ann@own.example), Bob Roe (bob@own.example), ' +
        'cy (cy@own.example), di (di@own.example), ed (ed@own.example) and 2 more. Unassign their numbers first.',
    );
    await inventory.createReservation('Own', reservationInputSchema.parse({ lineUri: 'tel:+2004' }), 'op');
    const reservation = await refusal(inventory.deleteReservation('Own', '2004', undefined));
    expect(reservation.code).toBe('reservation_in_use');
    expect(reservation.detail).toContain('cy (cy@own.example)');
    await expect(inventory.deleteReservation('Own', '2001', undefined)).resolves.toBeUndefined();
  });

  it('refuses a reservation outside the ranges, twice the same, or expiring before it starts', async () => {
    const { inventory } = await setUp();
    const reserve = (input: Record<string, unknown>) =>
      inventory.createReservation('Own', reservationInputSchema.parse(input), 'op');
    expect((await refusal(reserve({ lineUri: '+9999' }))).code).toBe('number_outside_ranges');
    expect((await refusal(reserve({ lineUri: '+2001' }))).code).toBe('reservation_exists');
    const dates = await refusal(
      reserve({ lineUri: '+2009', addedDate: '2026-12-10', expireDate: '2026-12-09' }),
    );
    expect(dates.fields[0]?.code).toBe('expire_before_added');
  });

  it('refuses a change that leaves out held numbers, moves the range to another SBC, or comes from a stale copy', async () => {
    const { inventory, rangeId } = await setUp();
    const shrink = await refusal(
      inventory.updateRange('Own', rangeId, range('2001', '2010', 'New Branch'), undefined, seeAll),
    );
    expect([shrink.code, shrink.detail]).toEqual([
      'range_in_use',
      'The part of range "New Branch" the change leaves out is in use by 1 user: Ann Lee (ann@own.example). ' +
        'Unassign their numbers first.',
    ]);
    const moved = rangeInputSchema.parse({
      name: 'New Branch',
      start: '2000',
      end: '2010',
      siteName: 'Far1',
    });
    expect((await refusal(inventory.updateRange('Own', rangeId, moved, undefined, seeAll))).code).toBe(
      'range_sbc_fixed',
    );
    expect(
      (await refusal(inventory.updateRange('Own', rangeId, range('2000', '2020'), 'W/"stale"', seeAll))).code,
    ).toBe('precondition_failed');
    const { etag } = await inventory.getRange('Own', rangeId);
    const grown = await inventory.updateRange('Own', rangeId, range('2000', '2020', 'Renamed'), etag, seeAll);
    expect(grown.range).toMatchObject({ name: 'Renamed', end: '2020' });
    expect(grown.etag).not.toBe(etag);
    // A new first number moves the row; the range keeps its id.
    await inventory.updateRange('Own', rangeId, range('1995', '2020'), grown.etag, seeAll);
    expect((await inventory.listRanges('Own')).map((r) => [r.range.rangeId, r.range.start])).toEqual([
      [rangeId, '1995'],
    ]);
  });
});
