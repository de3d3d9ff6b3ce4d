import { describe, expect, it } from 'vitest';
import { FaultInjector } from '../../dev/sandbox/faults.js';

describe('sandbox fault injection', () => {
  it('applies a fault only to its method and path, for as many requests as it says', () => {
    const faults = new FaultInjector();
    faults.add({
      method: 'get',
      pathPattern: '^/graph/v1\\.0/users$',
      kind: 'status',
      status: 503,
      times: 2,
    });
    expect(faults.plan('POST', '/graph/v1.0/users').outcome).toBeUndefined();
    expect(faults.plan('GET', '/graph/v1.0/users/1').outcome).toBeUndefined();
    expect(faults.plan('GET', '/graph/v1.0/users').outcome).toMatchObject({ kind: 'status', status: 503 });
    expect(faults.plan('GET', '/graph/v1.0/users').outcome).toMatchObject({ kind: 'status', status: 503 });
    expect(faults.plan('GET', '/graph/v1.0/users').outcome).toBeUndefined();
    expect(faults.list()).toEqual([expect.objectContaining({ hits: 2, remaining: 0 })]);
  });

  it('adds up latency and lets the first status or drop fault decide the outcome', () => {
    const faults = new FaultInjector();
    faults.add({ pathPattern: '^/graph/', kind: 'latency', latencyMs: 100 });
    faults.add({ pathPattern: 'users', kind: 'latency', latencyMs: 50 });
    faults.add({ pathPattern: 'users', kind: 'drop' });
    faults.add({ pathPattern: 'users', kind: 'status', status: 500 });
    const plan = faults.plan('GET', '/graph/v1.0/users');
    expect(plan.latencyMs).toBe(150);
    expect(plan.outcome?.kind).toBe('drop');
    expect(faults.list().map((f) => f.hits)).toEqual([1, 1, 1, 0]);
  });

  it('gives 429 faults a Retry-After by default and never fires at probability 0', () => {
    const faults = new FaultInjector();
    expect(faults.add({ pathPattern: '.', kind: 'status', status: 429, probability: 0 })).toMatchObject({
      retryAfterSeconds: 1,
    });
    for (let i = 0; i < 50; i++) expect(faults.plan('GET', '/graph/v1.0/users').outcome).toBeUndefined();
    expect(faults.add({ pathPattern: '.', kind: 'status', status: 500 }).retryAfterSeconds).toBeUndefined();
  });

  it('reseeded, meets the same chance faults again, request by request', () => {
    const faults = new FaultInjector();
    faults.add({ pathPattern: '^/graph/', kind: 'status', status: 429, probability: 0.1 });
    const draws = () =>
      Array.from({ length: 500 }, () => faults.plan('GET', '/graph/v1.0/users').outcome !== undefined);
    faults.reseed(7);
    const first = draws();
    faults.reseed(7);
    expect(draws()).toEqual(first);
    // About the probability asked for, and not the same sequence under another seed.
    expect(first.filter(Boolean).length).toBeGreaterThan(25);
    expect(first.filter(Boolean).length).toBeLessThan(75);
    faults.reseed(8);
    expect(draws()).not.toEqual(first);
  });

  it('refuses specs that cannot work', () => {
    const faults = new FaultInjector();
    expect(() => faults.add({ pathPattern: '(', kind: 'drop' })).toThrow('regular expression');
    expect(() => faults.add({ pathPattern: '.', kind: 'status' })).toThrow("kind 'status'");
    expect(() => faults.add({ pathPattern: '.', kind: 'latency' })).toThrow("kind 'latency'");
    expect(() => faults.add({ pathPattern: '.', kind: 'status', status: 200 })).toThrow();
    expect(faults.list()).toEqual([]);
  });
});
