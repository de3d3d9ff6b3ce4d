import { z } from 'zod';
import { defineTask } from '../tasks/task-definition.js';
import { USER_IMPORT_TASK_TYPE, type UserImportService } from './bulk-import-service.js';

export const userImportInputSchema = z.strictObject({
  customerId: z.string().min(1).max(64),
  importId: z.uuid(),
  initiatedBy: z.string().min(1).max(256),
});
export type UserImportInput = z.output<typeof userImportInputSchema>;

/** What `Office365 import` talks to. */
export interface UserImportTaskPorts {
  readonly userImports: Pick<UserImportService, 'apply'>;
}

/**
 * `Office365 import`: a CSV of user changes, applied as one task, chunk by chunk. Every chunk's outcome is stored
 * before the next begins, so a re-run (a retry, a host that died) continues after the last stored chunk.
 */
export const userImportTask = defineTask<UserImportInput, Record<string, never>, UserImportTaskPorts>({
  type: USER_IMPORT_TASK_TYPE,
  input: userImportInputSchema,
  steps: [
    {
      name: 'ApplyRows',
      async run(ctx) {
        ctx.log(`-- ${USER_IMPORT_TASK_TYPE} ${ctx.input.importId} started --`);
        await ctx.ports.userImports.apply({
          ...ctx.input,
          taskId: ctx.taskId,
          signal: ctx.signal,
          log: (line) => ctx.log(line),
          checkpoint: async (outcome) => {
            const first = outcome.rows[0]?.row;
            const last = outcome.rows.at(-1)?.row;
            const failed = outcome.rows.filter((r) => r.error !== null).length;
            if (first !== undefined) {
              ctx.log(`Rows ${first}–${last}: ${outcome.rows.length - failed} applied, ${failed} failed.`);
            }
            await ctx.save();
          },
        });
        ctx.log(`-- ${USER_IMPORT_TASK_TYPE} ${ctx.input.importId} completed --`);
        return { done: true };
      },
    },
  ],
});
