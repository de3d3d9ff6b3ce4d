import { describe, expect, it } from 'vitest';
import { newTaskId, TASK_ID_PATTERN } from '../../shared/tasks/task-record.js';

describe('task ids', () => {
  it('sort in creation order even when many are made in one millisecond, so a customer runs its oldest task first', () => {
    const at = new Date('2026-12-03T23:50:00.000Z');
    const ids = Array.from({ length: 2_000 }, () => newTaskId(at));
    expect(ids.every((id) => TASK_ID_PATTERN.test(id))).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids.map((id) => id.slice(0, 10))).size).toBe(1);
  });

  it('step by a random amount within a millisecond, so the next id cannot be guessed from the last', () => {
    const at = new Date('2026-12-03T23:50:00.001Z');
    const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    const random = (id: string) =>
      [...id.slice(10)].reduce((n, c) => n * 32n + BigInt(alphabet.indexOf(c)), 0n);
    const values = Array.from({ length: 50 }, () => random(newTaskId(at)));
    const steps = values.slice(1).map((v, i) => v - (values[i] ?? 0n));
    expect(steps.every((step) => step > 0n)).toBe(true);
    expect(new Set(steps).size).toBeGreaterThan(45);
  });
});
