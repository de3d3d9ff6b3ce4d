import { z } from 'zod';
import { TASK_STATE_LABELS, TASK_STATES } from '../tasks/task-record.js';
import { labelledValues } from '../validation/enum-labels.js';
import { AUDIT_STATUS_LABELS, AUDIT_STATUSES, userChangeSchema } from './user-change-store.js';

/**
 * A user's pending changes and audit entries as the API shows them: by the user-change routes and, a few of each,
 * by the user's details (one schema, so the document names each once).
 */

export const userChangeView = userChangeSchema.meta({ id: 'UserChange' });

export const pendingChangeSchema = z
  .object({
    taskId: z.string(),
    cmdType: z.string().meta({ description: 'Cmd Type: Office365.' }),
    state: z.enum(TASK_STATES).meta({ description: labelledValues(TASK_STATE_LABELS) }),
    change: userChangeView,
    queuedChange: z.string().meta({ description: 'Queued Change: the PowerShell a person would type.' }),
    createdAt: z.iso.datetime().meta({ description: 'When Created.' }),
    nextExecutionAt: z.string().nullable(),
  })
  .meta({ id: 'PendingUserChange' });

const fieldValue = z.union([z.string(), z.boolean()]).nullable();

export const userAuditEntrySchema = z
  .object({
    id: z.string(),
    customerId: z.string(),
    userId: z.string(),
    userPrincipalName: z.string().meta({ description: 'Target.' }),
    initiatedBy: z.string().meta({ description: 'InitiatedBy.' }),
    taskId: z.string(),
    status: z.enum(AUDIT_STATUSES).meta({ description: labelledValues(AUDIT_STATUS_LABELS) }),
    createdAt: z.iso.datetime().meta({ description: 'Date.' }),
    completedAt: z.iso.datetime().nullable().meta({ description: 'WhenCompleted.' }),
    error: z.string().nullable(),
    rollbackOf: z.string().nullable().meta({ description: 'The entry this change rolled back.' }),
    fields: z.array(
      z.object({
        field: z.string().meta({ description: 'What to name in a rollback.' }),
        fieldName: z.string().meta({ description: 'Field Name (OnPremLineUri, EnterpriseVoiceEnabled, …).' }),
        oldValue: fieldValue.meta({ description: 'Old Value: the mirror before the change.' }),
        newValue: fieldValue.meta({ description: 'New Value.' }),
        change: userChangeView,
        state: z.enum(['pending', 'applied', 'failed']),
      }),
    ),
  })
  .meta({ id: 'UserAuditEntry' });

/** Where a user's audit is paged (`top`, `cursor`). */
export function userAuditPath(customerId: string, userId: string): string {
  return `/api/v1/customers/${customerId}/users/${userId}/audit`;
}
