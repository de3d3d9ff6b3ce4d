import { describe, expect, it } from 'vitest';
import {
  customerParams,
  describedDryRunQuery,
  dryRunQuery,
  ifMatchOf,
  versioned,
} from '../../shared/http/route-kit.js';
import { encodeCursor, nextLinkOf, pageOf, pagingQuery } from '../../shared/paging/paging.js';
import { request } from './edge-fixtures.js';

describe('the route kit', () => {
  it('reads a Short Name as the customer of the path', () => {
    expect(customerParams.safeParse({ customerId: 'Own-Co' }).success).toBe(true);
    expect(customerParams.safeParse({ customerId: 'a.b' }).success).toBe(false);
    expect(customerParams.safeParse({ customerId: 'a'.repeat(65) }).success).toBe(false);
  });

  it('pages with top, its default and its bounds, the same on every list', () => {
    const query = pagingQuery();
    expect(query.parse({})).toEqual({ top: 100 });
    expect(query.parse({ top: '7' })).toEqual({ top: 7 });
    expect(query.safeParse({ top: '501' }).error?.issues[0]?.message).toBe('top can be at most 500.');
    expect(query.safeParse({ top: '1.5' }).error?.issues[0]?.message).toBe('top must be a whole number.');
  });

  it('reads back only a cursor it could have written', () => {
    const query = pagingQuery((key) => /^[a-z]+$/.test(key));
    expect(query.parse({ cursor: encodeCursor('acme') })).toEqual({ top: 100, cursor: 'acme' });
    for (const cursor of ['acme', encodeCursor('ACME 1'), 'not+base64', '']) {
      expect(query.safeParse({ cursor }).error?.issues[0]?.message).toBe(
        'cursor is not one this API returned.',
      );
    }
  });

  it('links the next page with the same query and an opaque cursor, and none after the last', () => {
    const link = nextLinkOf('/api/v1/tasks', { state: undefined, customerId: '', top: 10 }, 'K 1');
    expect(link).toBe(`/api/v1/tasks?top=10&cursor=${encodeCursor('K 1')}`);
    expect(nextLinkOf('/api/v1/tasks', { top: 10 }, null)).toBeNull();
  });

  it('pages a list read whole by its key, and a cursor survives items removed before it', () => {
    const items = ['d', 'a', 'c', 'b', 'e'];
    const first = pageOf(items, (x) => x, { top: 2 });
    expect(first).toEqual({ items: ['a', 'b'], nextKey: 'b' });
    const second = pageOf(
      items.filter((x) => x !== 'b'),
      (x) => x,
      { top: 2, cursor: first.nextKey ?? '' },
    );
    expect(second).toEqual({ items: ['c', 'd'], nextKey: 'd' });
    expect(pageOf(items, (x) => x, { top: 2, cursor: 'd' })).toEqual({ items: ['e'], nextKey: null });
    expect(pageOf(items, (x) => x, { top: 5 })).toEqual({ items: ['a', 'b', 'c', 'd', 'e'], nextKey: null });
  });

  it('reads the dry-run flag as a boolean, false unless asked', () => {
    expect(dryRunQuery.parse({})).toEqual({ dryRun: false });
    expect(describedDryRunQuery('Only plan.').parse({ dryRun: 'true' })).toEqual({ dryRun: true });
    expect(dryRunQuery.safeParse({ dryRun: 'yes' }).error?.issues[0]?.message).toBe(
      'dryRun must be true or false.',
    );
  });

  it('answers a strong ETag and reads If-Match back in the storage form the services compare', () => {
    expect(versioned('W/"4"', { status: 200, headers: { location: '/x' } })).toEqual({
      status: 200,
      headers: { etag: '"4"', location: '/x' },
    });
    expect(ifMatchOf(request({ headers: { 'if-match': '"3"' } }))).toBe('W/"3"');
    expect(ifMatchOf(request({ headers: { 'if-match': '*' } }))).toBe('*');
    expect(ifMatchOf(request())).toBeUndefined();
  });

  it('still accepts the weak ETag this API sent before, which names the same version', () => {
    expect(ifMatchOf(request({ headers: { 'if-match': 'W/"3"' } }))).toBe('W/"3"');
  });
});
