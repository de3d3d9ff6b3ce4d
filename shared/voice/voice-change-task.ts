import { z } from 'zod';
import { classifyPeerError } from '../onboarding/tasks/peer-task-errors.js';
import { defineTask } from '../tasks/task-definition.js';
import type { VoiceChangeExecution } from './voice-change.js';
import { voiceObjectChangeSchema } from './voice-change-store.js';

/** The Queued Tasks' Cmd Type of a voice change: an Office365 command about the tenant's voice configuration. */
export const VOICE_CHANGE_TASK = 'Office365 voice' as const;

export const voiceChangeTaskInput = z.strictObject({
  changes: z.array(voiceObjectChangeSchema).min(1).max(500),
  initiatedBy: z.string().min(1).max(1024),
  rollbackOf: z.string().max(64).nullable(),
  /** The PowerShell of each command, in order: the Queued Change column. */
  queuedChanges: z.array(z.string()),
});
export type VoiceChangeTaskInput = z.output<typeof voiceChangeTaskInput>;

export interface VoiceChangeTaskPorts {
  readonly voiceChanges: VoiceChangeExecution;
}

/** One voice change: its Teams commands in order, then the mirror and the audit (see VoiceChangeExecution). */
export const voiceChangeTask = defineTask<VoiceChangeTaskInput, Record<string, never>, VoiceChangeTaskPorts>({
  type: VOICE_CHANGE_TASK,
  input: voiceChangeTaskInput,
  classifyError: classifyPeerError,
  steps: [
    {
      name: 'ApplyVoiceChanges',
      async plan(ctx) {
        return ctx.input.queuedChanges.map((description) => ({ kind: 'teams', description }));
      },
      async run(ctx) {
        await ctx.ports.voiceChanges.apply({
          customerId: ctx.customerId,
          taskId: ctx.taskId,
          changes: ctx.input.changes,
          initiatedBy: ctx.input.initiatedBy,
          rollbackOf: ctx.input.rollbackOf,
        });
        for (const description of ctx.input.queuedChanges) ctx.applied({ kind: 'teams', description });
        return { done: true };
      },
    },
  ],
});
