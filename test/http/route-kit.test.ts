import { describe, expect, it } from 'vitest';
import {
  customerParams,
  describedDryRunQuery,
  dryRunQuery,
  ifMatchOf,
  nextLinkOf,
  topQuery,
  versioned,
} from '../../shared/http/route-kit.js';
import { request } from './edge-fixtures.js';

describe('the route kit', () => {
  it('reads a Short Name as the customer of the path', () => {
    expect(customerParams.safeParse({ customerId: 'Own-Co' }).success).toBe(true);
    expect(customerParams.safeParse({ customerId: 'a.b' }).success).toBe(false);
    expect(customerParams.safeParse({ customerId: 'a'.repeat(65) }).success).toBe(false);
  });

  it('pages with top, its default and its bounds', () => {
    const top = topQuery(100, 25);
    expect(top.parse(undefined)).toBe(25);
    expect(top.parse('7')).toBe(7);
    expect(top.safeParse('101').error?.issues[0]?.message).toBe('top can be at most 100.');
    expect(top.safeParse('1.5').error?.issues[0]?.message).toBe('top must be a whole number.');
  });

  it('links the next page with the same query, and none after the last', () => {
    expect(nextLinkOf('/api/v1/tasks', { state: undefined, top: '10' }, { name: 'after', key: 'K 1' })).toBe(
      '/api/v1/tasks?top=10&after=K+1',
    );
    expect(nextLinkOf('/api/v1/tasks', { top: '10' }, { name: 'after', key: null })).toBeNull();
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
