import { z } from 'zod';
import { domainErrors } from '../shared/errors/domain-errors.js';
import { productLog, withLogFields } from '../shared/platform/product-log.js';
import { SHORT_NAME_PATTERN } from '../shared/customers/short-name.js';
import { type ApiEdge, type ApiResult, defineApiRoute } from '../shared/http/api-route.js';
import { nextLinkOf, pageSchema, pagingQuery } from '../shared/paging/paging.js';
import { customerParams } from '../shared/http/route-kit.js';
import { defineQueueHandler, defineTimer } from '../shared/platform/background.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import { TASKS_QUEUE } from '../shared/tasks/task-engine.js';
import type { TaskListEntry } from '../shared/tasks/task-store.js';
import {
  isFinal,
  TASK_ID_PATTERN,
  TASK_STATE_LABELS,
  TASK_STATES,
  type TaskRecord,
} from '../shared/tasks/task-record.js';
import { labelledValues } from '../shared/validation/enum-labels.js';
import type { AppServices } from './app-services.js';

const TAGS = ['Tasks'];
const ROLES = ['provider-admin'] as const;

export const taskViewSchema = z
  .object({
    id: z.string(),
    type: z.string().meta({ description: "The manual's Cmd Type, e.g. CreateCustomer." }),
    customerId: z.string(),
    state: z.enum(TASK_STATES).meta({ id: 'TaskState', description: labelledValues(TASK_STATE_LABELS) }),
    dryRun: z.boolean(),
    input: z.unknown(),
    steps: z.array(
      z.object({
        name: z.string(),
        state: z.string(),
        attempts: z.number().int(),
        startedAt: z.string().nullable(),
        finishedAt: z.string().nullable(),
        error: z.string().nullable(),
      }),
    ),
    currentStep: z.number().int(),
    retries: z.number().int().meta({ description: 'Step runs that repeated a step (Retries).' }),
    nextExecutionAt: z.string().nullable(),
    nextExecutionMinutes: z
      .number()
      .int()
      .nullable()
      .meta({ description: 'Next Execution Minutes: minutes until a Queued task runs again (0: due).' }),
    waiting: z.object({ reason: z.string(), resumeOn: z.enum(['operator', 'timer', 'customer']) }).nullable(),
    nextAttemptAt: z
      .string()
      .nullable()
      .meta({ description: 'While a step retries a failure: when it runs again.' }),
    lastTransientError: z
      .string()
      .nullable()
      .meta({ description: 'While a step retries a failure: the last error it met.' }),
    retryingSince: z.string().nullable().meta({
      description: 'While a step retries a failure: its first one; the retry window ends this long after it.',
    }),
    leaseUntil: z.string().nullable().meta({
      description:
        'While Reserved or Executing: the lease, renewed as the holder works; once past, it is taken over.',
    }),
    leaseHolder: z
      .string()
      .nullable()
      .meta({ description: 'While Reserved or Executing: the instance holding it.' }),
    log: z.array(z.object({ at: z.iso.datetime(), line: z.string() })),
    logDropped: z.number().int(),
    result: z.string().nullable().meta({ description: 'Execution Result.' }),
    changes: z
      .array(
        z.object({
          step: z.string(),
          kind: z.string(),
          description: z.string(),
          detail: z.unknown().optional(),
        }),
      )
      .meta({ description: 'Planned (dry run) or applied (real run) changes, in order.' }),
    createdAt: z.iso.datetime(),
    executedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Task' });

export type TaskView = z.output<typeof taskViewSchema>;

/** The record as the portal sees it: input and changes were redacted when stored; the state bag stays inside. */
export function toTaskView(task: TaskRecord): TaskView {
  return {
    id: task.id,
    type: task.type,
    customerId: task.customerId,
    state: task.state,
    dryRun: task.dryRun,
    input: task.input,
    steps: task.steps.map((s) => ({
      name: s.name,
      state: s.state,
      attempts: s.attempts,
      startedAt: s.startedAt,
      finishedAt: s.finishedAt,
      error: s.error,
    })),
    currentStep: task.currentStep,
    retries: task.retries,
    nextExecutionAt: task.nextExecutionAt,
    nextExecutionMinutes: nextExecutionMinutes(task),
    waiting: task.waiting,
    nextAttemptAt: task.state === 'queued' ? (task.retry?.nextAttemptAt ?? null) : null,
    lastTransientError: task.retry?.lastError ?? null,
    retryingSince: task.retry?.since ?? null,
    leaseUntil: task.leaseUntil,
    leaseHolder: task.leaseHolder,
    log: [...task.log],
    logDropped: task.logDropped,
    result: task.result,
    changes: [...task.changes],
    createdAt: task.createdAt,
    executedAt: task.executedAt,
    finishedAt: task.finishedAt,
    updatedAt: task.updatedAt,
  };
}

/** A row of the Queued Tasks page: the manual's columns; the task itself (GET) has its steps, log and changes. */
export const taskListItemSchema = taskViewSchema
  .pick({
    id: true,
    type: true,
    customerId: true,
    state: true,
    dryRun: true,
    retries: true,
    nextExecutionAt: true,
    nextExecutionMinutes: true,
    waiting: true,
    result: true,
    createdAt: true,
    executedAt: true,
    finishedAt: true,
  })
  .meta({ id: 'TaskListItem' });

function toTaskListItem(task: TaskListEntry): z.output<typeof taskListItemSchema> {
  return {
    id: task.id,
    type: task.type,
    customerId: task.customerId,
    state: task.state,
    dryRun: task.dryRun,
    retries: task.retries,
    nextExecutionAt: task.nextExecutionAt,
    nextExecutionMinutes: nextExecutionMinutes(task),
    waiting: task.waiting,
    result: task.result,
    createdAt: task.createdAt,
    executedAt: task.executedAt,
    finishedAt: task.finishedAt,
  };
}

function nextExecutionMinutes(task: Pick<TaskRecord, 'state' | 'nextExecutionAt'>): number | null {
  return task.state === 'queued' && task.nextExecutionAt
    ? Math.max(0, Math.ceil((Date.parse(task.nextExecutionAt) - Date.now()) / 60_000))
    : null;
}

/** What a route that starts work answers: 202, the task's URL in Location, the task as it is now. */
export function acceptedTask(task: TaskRecord): ApiResult {
  return { status: 202, headers: { location: `/api/v1/tasks/${task.id}` }, body: toTaskView(task) };
}

const taskParams = z.strictObject({ taskId: z.string().regex(TASK_ID_PATTERN) });
/**
 * A task is its customer's: channel and customer admins reach it through the customer scope. One of a removed
 * customer is no one's but the provider's, whoever its Short Name names now (docs/decisions.md, 69).
 */
const taskAccess = (services: Pick<AppServices, 'taskEngine' | 'removedCustomers'>) => ({
  customerOf: async (params: { taskId: string }) => {
    const task = await services.taskEngine.get(params.taskId);
    if (!task) return null;
    const released = await services.removedCustomers.releasedAt(task.customerId);
    return released !== null && task.createdAt <= released ? null : task.customerId;
  },
});
const listQuery = pagingQuery((key) => /^[0-9A-Z]{26}$/.test(key)).extend({
  customerId: z.string().max(64).regex(SHORT_NAME_PATTERN, 'customerId is a Short Name.').optional(),
  state: z
    .enum(TASK_STATES, { error: `state is one of ${TASK_STATES.join(', ')}.` })
    .meta({ description: labelledValues(TASK_STATE_LABELS) })
    .optional(),
});
const listSchema = pageSchema(taskListItemSchema, 'TaskPage');
const taskMessage = z.strictObject({
  taskId: z.string().regex(TASK_ID_PATTERN),
  watch: z.string().min(1).max(64).optional(),
});

async function listed(
  services: Pick<AppServices, 'taskEngine' | 'removedCustomers'>,
  query: z.output<typeof listQuery>,
  path: string,
): Promise<ApiResult> {
  const { cursor, ...filters } = query;
  // A customer's tasks are those since its Short Name's last release: a former customer's stay the provider's.
  const since = query.customerId ? await services.removedCustomers.releasedAt(query.customerId) : null;
  const page = await services.taskEngine.list({
    ...filters,
    ...(since ? { since } : {}),
    ...(cursor ? { after: cursor } : {}),
  });
  const next = nextLinkOf(
    path,
    {
      customerId: path === '/api/v1/tasks' ? query.customerId : undefined,
      state: query.state,
      top: query.top,
    },
    page.nextKey,
  );
  return { status: 200, body: { value: page.tasks.map(toTaskListItem), nextLink: next } };
}

export type TaskFunctionsDeps = ApiEdge & Pick<AppServices, 'taskEngine' | 'removedCustomers'>;

export function createTaskFunctions(services: TaskFunctionsDeps): FunctionDefinition[] {
  return [
    defineApiRoute(services, {
      name: 'tasks-get',
      access: taskAccess(services),
      method: 'GET',
      route: 'api/v1/tasks/{taskId}',
      summary: 'A task: its state, steps, log, result and changes (poll it after a 202)',
      tags: TAGS,
      roles: ROLES,
      params: taskParams,
      responses: { 200: { description: 'The task.', schema: taskViewSchema } },
      handler: async ({ params }) => {
        const task = await services.taskEngine.get(params.taskId);
        if (!task) throw domainErrors.notFound(`There is no task ${params.taskId}.`);
        return { status: 200, body: toTaskView(task) };
      },
    }),
    defineApiRoute(services, {
      name: 'tasks-list',
      method: 'GET',
      route: 'api/v1/tasks',
      summary: 'Queued Tasks: every customer, newest first',
      tags: TAGS,
      roles: ROLES,
      query: listQuery,
      responses: { 200: { description: 'A page of tasks.', schema: listSchema } },
      handler: ({ query }) => listed(services, query, '/api/v1/tasks'),
    }),
    defineApiRoute(services, {
      name: 'customers-tasks-list',
      method: 'GET',
      route: 'api/v1/customers/{customerId}/tasks',
      summary: "A customer's tasks, newest first",
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: listQuery.omit({ customerId: true }),
      responses: { 200: { description: 'A page of tasks.', schema: listSchema } },
      handler: ({ params, query }) =>
        listed(
          services,
          { ...query, customerId: params.customerId },
          `/api/v1/customers/${params.customerId}/tasks`,
        ),
    }),
    defineApiRoute(services, {
      name: 'tasks-resume',
      access: taskAccess(services),
      method: 'POST',
      route: 'api/v1/tasks/{taskId}/resume',
      summary: 'Resume a Paused task (e.g. Verify And Configure Domain)',
      tags: TAGS,
      roles: ROLES,
      params: taskParams,
      responses: {
        202: {
          description: 'Queued again; poll the task at Location.',
          schema: taskViewSchema,
          headers: ['location'],
        },
      },
      errors: { conflict: 'The task is not Paused.' },
      handler: async ({ params }) => acceptedTask(await services.taskEngine.resume(params.taskId)),
    }),
    defineApiRoute(services, {
      name: 'tasks-rerun',
      access: taskAccess(services),
      method: 'POST',
      route: 'api/v1/tasks/{taskId}/rerun',
      summary: 'Re-run a failed task from its failed step',
      tags: TAGS,
      roles: ROLES,
      params: taskParams,
      responses: {
        202: {
          description: 'Queued again; poll the task at Location.',
          schema: taskViewSchema,
          headers: ['location'],
        },
      },
      errors: { conflict: 'The task has not failed.' },
      handler: async ({ params }) => acceptedTask(await services.taskEngine.rerun(params.taskId)),
    }),
    defineApiRoute(services, {
      name: 'tasks-cancel',
      access: taskAccess(services),
      method: 'POST',
      route: 'api/v1/tasks/{taskId}/cancel',
      summary:
        'Cancel a pending change: a `queued` or `paused` task ends `finish-failure`, naming who cancelled it',
      tags: TAGS,
      roles: ROLES,
      params: taskParams,
      responses: { 200: { description: 'Cancelled.', schema: taskViewSchema } },
      errors: { conflict: 'The task is executing or finished.' },
      handler: async ({ params, principal }) => ({
        status: 200,
        body: toTaskView(
          await services.taskEngine.cancel(params.taskId, principal?.subject ?? 'an operator'),
        ),
      }),
    }),
    defineApiRoute(services, {
      name: 'tasks-delete',
      access: taskAccess(services),
      method: 'DELETE',
      route: 'api/v1/tasks/{taskId}',
      summary: 'Delete a finished task from Queued Tasks',
      tags: TAGS,
      roles: ROLES,
      params: taskParams,
      responses: { 204: { description: 'Deleted.' } },
      errors: { conflict: 'The task has not finished; cancel it first.' },
      handler: async ({ params }) => {
        await services.taskEngine.remove(params.taskId);
        return { status: 204 };
      },
    }),
    defineApiRoute(services, {
      name: 'tasks-delete-selected',
      method: 'POST',
      route: 'api/v1/tasks/delete-selected',
      summary: 'Delete Selected: the given finished tasks; none is deleted when one of them has not finished',
      tags: TAGS,
      roles: ROLES,
      body: z.strictObject({
        taskIds: z
          .array(z.string().regex(TASK_ID_PATTERN, 'is not a task id.'))
          .min(1, 'Select at least one task.')
          .max(100, 'Select at most 100 tasks.'),
      }),
      responses: { 200: { description: 'Deleted.', schema: z.object({ deleted: z.number().int() }) } },
      errors: {
        not_found: 'A selected task does not exist.',
        conflict: 'A selected task has not finished; nothing was deleted.',
      },
      handler: async ({ body }) => {
        const ids = [...new Set(body.taskIds)];
        const tasks = await Promise.all(ids.map((id) => services.taskEngine.get(id)));
        const missing = ids.filter((_, i) => !tasks[i]);
        if (missing.length > 0) throw domainErrors.notFound(`There is no task ${missing.join(', ')}.`);
        const pending = tasks.filter((t): t is TaskRecord => t !== null && !isFinal(t.state));
        if (pending.length > 0) {
          throw domainErrors.conflict(
            'task_not_finished',
            'Task has not finished',
            `Not finished: ${pending.map((t) => `${t.id} (${TASK_STATE_LABELS[t.state]})`).join(', ')}; cancel them first. Nothing was deleted.`,
          );
        }
        for (const id of ids) await services.taskEngine.remove(id);
        return { status: 200, body: { deleted: ids.length } };
      },
    }),
    defineApiRoute(services, {
      name: 'tasks-delete-all',
      method: 'POST',
      route: 'api/v1/tasks/delete-all',
      summary: 'Delete All: every finished task (of one customer, or of one final State)',
      tags: TAGS,
      roles: ROLES,
      body: z
        .strictObject({
          customerId: z.string().max(64).regex(SHORT_NAME_PATTERN, 'customerId is a Short Name.').optional(),
          state: z
            .enum(['finish-success', 'finish-failure'], {
              error: 'state is finish-success or finish-failure.',
            })
            .meta({ description: labelledValues(TASK_STATE_LABELS) })
            .optional(),
        })
        .default({}),
      responses: { 200: { description: 'Deleted.', schema: z.object({ deleted: z.number().int() }) } },
      handler: async ({ body }) => {
        let deleted = 0;
        for (const state of body.state ? [body.state] : (['finish-success', 'finish-failure'] as const)) {
          for (;;) {
            const page = await services.taskEngine.list({
              state,
              top: 100,
              ...(body.customerId ? { customerId: body.customerId } : {}),
            });
            if (page.tasks.length === 0) break;
            for (const task of page.tasks) {
              await services.taskEngine.remove(task.id);
              deleted++;
            }
          }
        }
        return { status: 200, body: { deleted } };
      },
    }),
    defineApiRoute(services, {
      name: 'tasks-process-all',
      method: 'POST',
      route: 'api/v1/tasks/process-all',
      summary: 'Process All: Queued tasks waiting for their Next Execution run now, in order per customer',
      tags: TAGS,
      roles: ROLES,
      body: z
        .strictObject({
          customerId: z.string().max(64).regex(SHORT_NAME_PATTERN, 'customerId is a Short Name.').optional(),
        })
        .default({}),
      responses: { 202: { description: 'Queued.', schema: z.object({ queued: z.number().int() }) } },
      handler: async ({ body }) => ({
        status: 202,
        body: { queued: await services.taskEngine.processAll(body.customerId) },
      }),
    }),
    defineQueueHandler({
      name: 'tasks-run',
      queueName: TASKS_QUEUE,
      message: {
        schema: taskMessage,
        describe: 'A tasks message is { "taskId": "<task id>" } (and "watch": "<run>" for a lease watch).',
      },
      logFields: ({ taskId }) => ({ taskId }),
      async run({ taskId, watch }, context) {
        const engine = services.taskEngine;
        const before = await engine.get(taskId);
        await withLogFields({ taskId, customerId: before?.customerId ?? null }, async () => {
          await engine.process(taskId, watch);
          const after = await engine.get(taskId);
          if (after && after.updatedAt !== before?.updatedAt) {
            productLog(
              context,
              after.state === 'finish-failure' ? 'warn' : 'info',
              `Task ${after.type} is ${TASK_STATE_LABELS[after.state]}.`,
              {
                type: after.type,
                state: after.state,
                step: after.steps[after.currentStep]?.name ?? null,
                ...(after.state === 'finish-failure' ? { result: after.result } : {}),
              },
            );
          }
        });
      },
    }),
    defineTimer({
      name: 'tasks-sweep',
      // Every minute: lost messages and crashed holders wait at most this long.
      schedule: '0 */1 * * * *',
      async run(context) {
        const queued = await services.taskEngine.sweep();
        if (queued > 0) productLog(context, 'info', `Task sweep queued ${queued} task(s).`);
      },
    }),
  ];
}
