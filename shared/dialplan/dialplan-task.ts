import { z } from 'zod';
import { classifyPeerError } from '../onboarding/tasks/peer-task-errors.js';
import { SbcDialPlanError } from '../sbc/sbc-dial-plans.js';
import {
  defineTask,
  PermanentTaskError,
  type TaskChange,
  TransientTaskError,
} from '../tasks/task-definition.js';
import type { DialPlanService, SbcSyncResult } from './dialplan-service.js';
import {
  type DialPlanRefusal,
  type DialPlanScript,
  describeApplied,
  describeRefusal,
} from './dialplan-sync.js';

export const updatePrefixesInputSchema = z.strictObject({ customerId: z.string().min(1).max(64) });
export type UpdatePrefixesInput = z.output<typeof updatePrefixesInputSchema>;

const change = (script: DialPlanScript): TaskChange => ({
  kind: 'sbc',
  description: script.description,
  detail: { templateId: script.templateId, script: script.script },
});

/**
 * A sent script's entries in the change list: the rules the SBC applied, then each rule change it refused, marked
 * refused (a partly applied script is answered 200; only its output names the refused lines, decision 79).
 */
function appliedChanges(script: DialPlanScript, refused: readonly DialPlanRefusal[]): TaskChange[] {
  const applied = describeApplied(script, refused);
  return [
    ...(applied === null ? [] : [{ ...change(script), description: applied }]),
    ...refused.map((refusal): TaskChange => ({
      kind: 'sbc',
      description: `Refused by the SBC: ${describeRefusal(refusal)}`,
      detail: {
        templateId: script.templateId,
        refused: true,
        command: refusal.command,
        error: refusal.error,
      },
    })),
  ];
}

/** What the SBC now holds of the diff: the refused changes are not counted as made. */
export function syncSummary(result: SbcSyncResult): string {
  const { diff } = result.plan;
  const refused = (action: 'add' | 'remove') => result.refused.filter((r) => r.action === action).length;
  return (
    `SBC ${result.sbcId}: ${diff.added - refused('add')} prefix(es) added, ${diff.removed - refused('remove')} ` +
    `removed, ${diff.unchanged} unchanged${result.refused.length > 0 ? `, ${result.refused.length} refused` : ''}.`
  );
}

/** The SBC's refusals, one line each, for the task's log and the timer's: which rule, which dial plan, why. */
export function refusalLines(result: SbcSyncResult): string[] {
  if (result.refused.length === 0) return [];
  return [
    `SBC ${result.sbcId} refused ${result.refused.length} rule change(s):`,
    ...result.refused.map((r) => `  ${describeRefusal(r)}`),
  ];
}

/** Dial plans the SBC lacks: the prefix scripts address dial plans by name and cannot create them. */
function missingPlans(results: readonly SbcSyncResult[]): string | null {
  const missing = results.flatMap((r) => r.plan.diff.missingPlans.map((plan) => `${plan} (SBC ${r.sbcId})`));
  return missing.length === 0
    ? null
    : `The SBC has no dial plan ${missing.join(', ')}: create it on the SBC, then run the task again.`;
}

/**
 * `SbcUpdatePrefixes`: the customer's prefixes made true on its SBCs: `sbc-remove-prefix` for rules the SBC has and
 * the sites do not, `sbc-add-prefix` for the reverse. Every run reads the SBC first, so a re-run after a 409 or a
 * crash sends only what is still missing.
 */
/** What `SbcUpdatePrefixes` talks to. */
export interface DialPlanTaskPorts {
  readonly dialPlans: Pick<DialPlanService, 'syncAll'>;
}

export const updatePrefixesTask = defineTask<UpdatePrefixesInput, Record<string, never>, DialPlanTaskPorts>({
  type: 'SbcUpdatePrefixes',
  input: updatePrefixesInputSchema,
  steps: [
    {
      name: 'UpdatePrefixes',
      async plan(ctx) {
        const results = await ctx.ports.dialPlans.syncAll({ customerId: ctx.input.customerId, dryRun: true });
        return results.flatMap((r) => r.plan.scripts.map(change));
      },
      async run(ctx) {
        ctx.log('-- SbcUpdatePrefixes task started --');
        const results = await ctx.ports.dialPlans.syncAll({
          customerId: ctx.input.customerId,
          onApplied: async (script, refused) => {
            for (const made of appliedChanges(script, refused)) ctx.applied(made);
            ctx.log(
              script.description.length > 200 ? `${script.description.slice(0, 197)}...` : script.description,
            );
            await ctx.save();
          },
        });
        if (results.length === 0) ctx.log('The customer has no SBC site with prefixes to synchronise.');
        for (const result of results) {
          ctx.log(syncSummary(result));
          for (const line of refusalLines(result)) ctx.log(line);
        }
        const problem = missingPlans(results);
        if (problem) throw new PermanentTaskError(problem);
        const refused = results.flatMap((r) =>
          r.refused.map((refusal) => `${describeRefusal(refusal)} (SBC ${r.sbcId})`),
        );
        // The next run reads the SBC again and sends only what it still lacks (or holds): a retry is idempotent.
        if (refused.length > 0) {
          throw new TransientTaskError(
            `The SBC refused ${refused.length} rule change(s): ${refused.join('; ')}. The task sends them again.`,
          );
        }
        ctx.log('-- SbcUpdatePrefixes task completed --');
        return { done: true };
      },
    },
  ],
  // A device whose dial plans cannot be read will not read better on a retry: the task stops, saying why.
  classifyError: (error) =>
    error instanceof SbcDialPlanError
      ? new PermanentTaskError(error.message, { cause: error })
      : classifyPeerError(error),
});
