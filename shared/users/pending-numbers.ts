import { numberKey } from '../replication/user-index.js';
import type { TaskEngine } from '../tasks/task-engine.js';
import { isFinal } from '../tasks/task-record.js';
import type { MirrorNumberIndex, NumberHolder } from './ports.js';
import { sameValue } from './user-change-fields.js';
import type { NumberClaim, UserChangeStore } from './user-change-store.js';
import { USER_CHANGE_TASK, type UserChangeTaskInput } from './user-change-task.js';

/**
 * The mirror's users by number, with the numbers queued for users and not yet applied counted as held: the number
 * inventory then neither offers a number already on its way to one user as the next free one for another, nor
 * lets a second user be given it (issue 11: "next free number" and `number_in_use`). Once the task has run, the
 * mirror itself shows the number; a claim whose task finished, or no longer assigns that number, is dropped.
 */
export function withPendingNumbers(
  index: MirrorNumberIndex,
  deps: {
    readonly store: Pick<UserChangeStore, 'numberClaimsBetween' | 'dropNumberClaim'>;
    readonly engine: Pick<TaskEngine, 'get'>;
  },
): MirrorNumberIndex {
  async function stillQueued(claim: NumberClaim): Promise<boolean> {
    const task = await deps.engine.get(claim.taskId);
    if (!task || task.type !== USER_CHANGE_TASK || isFinal(task.state)) return false;
    const input = task.input as UserChangeTaskInput;
    return input.changes.some((c) => c.field === 'line-uri' && sameValue(c.value, claim.lineUri));
  }

  return {
    async usersWithNumbersBetween(customerId, from, to) {
      const [held, claims] = await Promise.all([
        index.usersWithNumbersBetween(customerId, from, to),
        deps.store.numberClaimsBetween(customerId, from, to),
      ]);
      const pending: NumberHolder[] = [];
      for (const claim of claims) {
        if (await stillQueued(claim)) pending.push(claim);
        else await deps.store.dropNumberClaim(customerId, claim);
      }
      if (pending.length === 0) return held;
      const key = (h: NumberHolder) => numberKey(h.lineUri) ?? '';
      return [...held, ...pending].sort((a, b) => key(a).localeCompare(key(b)));
    },
  };
}
