import { z } from 'zod';
import { defineTask } from '../tasks/task-definition.js';
import type { UserChangeExecution } from './ports.js';
import type { UserChangeApplier } from './user-change.js';
import { userChangeSchema } from './user-change-store.js';

export const USER_CHANGE_TASK = 'Office365' as const;

export const userChangeTaskInput = z.strictObject({
  userId: z.string().min(1).max(64),
  userPrincipalName: z.string().min(1).max(256),
  changes: z.array(userChangeSchema).min(1).max(64),
  /** Who asked: several names when debounced changes of several admins joined one task. */
  initiatedBy: z.string().min(1).max(1024),
  rollbackOf: z.string().max(128).nullable(),
  /** Each change's PowerShell, in applying order: the Queued Change column of Queued Tasks and Pending changes. */
  queuedChanges: z.array(z.string()),
});
export type UserChangeTaskInput = z.output<typeof userChangeTaskInput>;

export interface UserChangeTaskPorts {
  readonly userChanges: UserChangeExecution;
  readonly userChangeApplier: Pick<UserChangeApplier, 'render'>;
}

/** One user's queued changes: applied in order, each audited and mirrored once (see UserChangeExecution). */
export const userChangeTask = defineTask<UserChangeTaskInput, Record<string, never>, UserChangeTaskPorts>({
  type: USER_CHANGE_TASK,
  input: userChangeTaskInput,
  steps: [
    {
      name: 'ApplyUserChanges',
      async plan(ctx) {
        return ctx.input.queuedChanges.map((description) => ({ kind: 'teams', description }));
      },
      async run(ctx) {
        const { userId, changes, initiatedBy, rollbackOf } = ctx.input;
        await ctx.ports.userChanges.applyToUser({
          customerId: ctx.customerId,
          userId,
          changes,
          initiatedBy,
          taskId: ctx.taskId,
          rollbackOf,
        });
        for (const description of ctx.input.queuedChanges) ctx.applied({ kind: 'teams', description });
        return { done: true };
      },
    },
  ],
});
