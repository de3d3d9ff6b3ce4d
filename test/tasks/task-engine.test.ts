import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DomainError } from '../../shared/errors/domain-errors.js';
import type { TaskPorts } from '../../functions/app.js';
import type { AppServices } from '../../functions/app-services.js';
import {
  type AnyTaskDefinition,
  defineTask,
  PermanentTaskError,
  TransientTaskError,
} from '../../shared/tasks/task-definition.js';
import { TASKS_QUEUE } from '../../shared/tasks/task-engine.js';
import type { TaskRecord } from '../../shared/tasks/task-record.js';
import { createTaskStore } from '../../shared/tasks/task-store.js';
import { waitFor } from '../consent/consent-fixture.js';
import { apiClient } from '../support/api-client.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';

/** What the test steps did, by task id: the test's view into the runs. */
const calls = new Map<string, string[]>();
const did = (taskId: string, what: string) => calls.set(taskId, [...(calls.get(taskId) ?? []), what]);
const callsOf = (taskId: string) => calls.get(taskId) ?? [];
/** Behaviour switches the tests flip while a task waits or has failed. */
const switches = { healed: false, releaseSlow: false };

const input = z.strictObject({
  note: z.string().min(1, 'note is required.'),
  password: z.string().optional(),
});
type Input = z.output<typeof input>;

const definitions = [
  defineTask<Input>({
    type: 'Sync happy',
    input,
    steps: [
      {
        name: 'First',
        async run(ctx) {
          did(ctx.taskId, 'First');
          ctx.log('-- First step --');
          ctx.state.seen = ctx.input.note;
          return { done: true };
        },
        async plan() {
          return [{ kind: 'store', description: 'First would write' }];
        },
      },
      {
        name: 'Second',
        async run(ctx) {
          did(ctx.taskId, `Second:${String(ctx.state.seen)}`);
          ctx.applied({ kind: 'store', description: 'Second wrote' });
          return { done: true };
        },
        async plan() {
          return [{ kind: 'store', description: 'Second would write' }];
        },
      },
    ],
  }),
  defineTask<Input>({
    type: 'Sync flaky',
    input,
    steps: [
      {
        name: 'Flaky',
        async run(ctx) {
          did(ctx.taskId, `Flaky#${ctx.attempt}`);
          if (ctx.attempt < 3) throw new TransientTaskError('Throttled (429)', 50);
          return { done: true };
        },
      },
    ],
  }),
  defineTask<Input>({
    type: 'Sync broken',
    input,
    steps: [
      {
        name: 'Before',
        async run(ctx) {
          did(ctx.taskId, 'Before');
          return { done: true };
        },
      },
      {
        name: 'Broken',
        maxAttempts: 2,
        async run(ctx) {
          did(ctx.taskId, `Broken#${ctx.attempt}`);
          if (!switches.healed) throw new Error('The SBC answered 500');
          return { done: true };
        },
      },
    ],
  }),
  defineTask<Input>({
    type: 'Sync refused',
    input,
    steps: [
      {
        name: 'Refused',
        async run(ctx) {
          did(ctx.taskId, 'Refused');
          throw new PermanentTaskError(
            'No License Plan Available! Make sure to free the license(s) for a plan and reload',
          );
        },
      },
    ],
  }),
  defineTask<Input>({
    type: 'Sync waits',
    input,
    steps: [
      {
        name: 'Operator',
        async run(ctx) {
          did(ctx.taskId, `Operator:${ctx.resumedByOperator}`);
          return ctx.resumedByOperator
            ? { done: true }
            : { wait: { reason: 'Press Verify And Configure Domain.', resumeOn: 'operator' } };
        },
      },
      {
        name: 'Timer',
        async run(ctx) {
          did(ctx.taskId, `Timer#${ctx.attempt}`);
          if (ctx.state.waited) return { done: true };
          ctx.state.waited = true;
          return { wait: { reason: 'DNS takes a moment', resumeOn: { afterMs: 200 } } };
        },
      },
    ],
  }),
  defineTask<Input>({
    type: 'Sync slow',
    input,
    steps: [
      {
        name: 'Slow',
        async run(ctx) {
          did(ctx.taskId, 'Slow:start');
          await waitFor('the release', async () => (switches.releaseSlow ? true : undefined), 20_000);
          did(ctx.taskId, 'Slow:end');
          return { done: true };
        },
      },
    ],
  }),
  defineTask<Input>({
    type: 'Sync later',
    input,
    steps: [
      {
        name: 'Later',
        async run(ctx) {
          did(ctx.taskId, `Later#${ctx.attempt}`);
          if (ctx.state.waited) return { done: true };
          ctx.state.waited = true;
          return { wait: { reason: 'Try again in an hour', resumeOn: { afterMs: 60 * 60_000 } } };
        },
      },
    ],
  }),
  defineTask<Input>({
    type: 'Sync secret',
    input,
    steps: [
      {
        name: 'Secret',
        async run(ctx) {
          const password = 'Sbc-Admin-Pa55!';
          ctx.secret(password);
          ctx.log(`Connecting with ${password}`);
          ctx.applied({
            kind: 'sbc',
            description: `Login ${password}`,
            detail: { script: `password "${password}"` },
          });
          throw new PermanentTaskError(`Login refused for password ${password}`);
        },
      },
    ],
  }),
] as unknown as AnyTaskDefinition<TaskPorts>[];

let stack: MemoryStack;
let call: ReturnType<typeof apiClient>;
let services: AppServices;

beforeAll(async () => {
  stack = await startMemoryStack({
    overrides: { taskDefinitions: definitions, taskTiming: { backoffMs: 100, customerWaitMs: 300 } },
  });
  const token = await stack.token();
  call = apiClient(stack.api, async () => token);
  services = stack.services;
}, 60_000);
afterAll(async () => stack?.close());

interface View {
  id: string;
  state: string;
  nextExecutionMinutes: number | null;
  retries: number;
  result: string | null;
  log: Array<{ line: string }>;
  changes: Array<{ step: string; description: string; detail?: unknown }>;
  steps: Array<{ name: string; state: string; attempts: number; error: string | null }>;
  waiting: { reason: string } | null;
  input: unknown;
}

/** Until the task has looked and found another task of its customer running (it is Queued behind it). */
const waitForTurn = (id: string) =>
  waitFor(`task ${id} to queue behind its customer's running task`, async () => {
    const task = await view(id);
    return task.state === 'queued' && task.waiting?.reason.startsWith('Waits for task') ? task : undefined;
  });
const view = async (id: string) => (await call('GET', `/api/v1/tasks/${id}`)).body as View;
const until = (id: string, states: string[]) =>
  waitFor(`task ${id} in ${states.join('/')}`, async () => {
    const task = await view(id);
    return states.includes(task.state) ? task : undefined;
  });
const start = (
  type: string,
  customerId: string,
  extra: Partial<{ dryRun: boolean; idempotencyKey: string; input: unknown }> = {},
) =>
  services.taskEngine.start({
    type: type as never,
    customerId,
    input: extra.input ?? { note: 'hello' },
    ...(extra.dryRun !== undefined ? { dryRun: extra.dryRun } : {}),
    ...(extra.idempotencyKey ? { idempotencyKey: extra.idempotencyKey } : {}),
  });

describe('the task engine', () => {
  it('runs the steps in order, keeps their log and state, and lists the task', async () => {
    const task = await start('Sync happy', 'Alpha');
    expect(task.state).toBe('queued');
    const done = await until(task.id, ['finish-success']);
    expect(callsOf(task.id)).toEqual(['First', 'Second:hello']);
    expect(done.log.map((l) => l.line)).toEqual(['-- First step --']);
    expect(done.changes.map((c) => c.description)).toEqual(['Second wrote']);
    expect(done.steps.map((s) => s.state)).toEqual(['done', 'done']);
    const listed = (await call('GET', '/api/v1/customers/Alpha/tasks')).body as { value: View[] };
    expect(listed.value.map((t) => t.id)).toContain(task.id);
    const all = (await call('GET', '/api/v1/tasks?state=finish-success')).body as { value: View[] };
    expect(all.value.map((t) => t.id)).toContain(task.id);
  });

  it('refuses bad input with a validation problem and stores nothing', async () => {
    const error = await start('Sync happy', 'Empty', { input: { note: '' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).kind).toBe('validation');
    expect(((await call('GET', '/api/v1/customers/Empty/tasks')).body as { value: unknown[] }).value).toEqual(
      [],
    );
    expect((await call('GET', '/api/v1/tasks/01ABCDEFGHJKMNPQRSTVWXYZ00')).status).toBe(404);
  });

  it('starts one task for one idempotency key', async () => {
    const [a, b] = await Promise.all([
      start('Sync happy', 'Beta', { idempotencyKey: 'submit-1' }),
      start('Sync happy', 'Beta', { idempotencyKey: 'submit-1' }),
    ]);
    expect(a.id).toBe(b.id);
    await until(a.id, ['finish-success']);
    expect(callsOf(a.id)).toEqual(['First', 'Second:hello']);
  });

  it('retries transient failures with back-off and counts the retries', async () => {
    const task = await start('Sync flaky', 'Gamma');
    const done = await until(task.id, ['finish-success']);
    expect(callsOf(task.id)).toEqual(['Flaky#1', 'Flaky#2', 'Flaky#3']);
    expect(done.retries).toBe(2);
    expect(done.log.map((l) => l.line)).toContainEqual(
      expect.stringMatching(/^-- Flaky: Throttled \(429\) \(retrying at \d{4}-\S+Z, attempt 2\) --$/),
    );
  });

  it('fails after the last attempt with the error, and a re-run resumes from the failed step', async () => {
    switches.healed = false;
    const task = await start('Sync broken', 'Delta');
    const failed = await until(task.id, ['finish-failure']);
    expect(failed.result).toBe('The SBC answered 500');
    expect(failed.steps[1]).toMatchObject({ name: 'Broken', state: 'failed', attempts: 2 });
    expect(callsOf(task.id)).toEqual(['Before', 'Broken#1', 'Broken#2']);
    expect((await call('POST', `/api/v1/tasks/${task.id}/resume`)).problem.code).toBe('task_not_paused');

    switches.healed = true;
    const rerun = await call('POST', `/api/v1/tasks/${task.id}/rerun`);
    expect(rerun.status).toBe(202);
    expect(rerun.headers.get('location')).toBe(`/api/v1/tasks/${task.id}`);
    await until(task.id, ['finish-success']);
    expect(callsOf(task.id)).toEqual(['Before', 'Broken#1', 'Broken#2', 'Broken#1']);
    expect((await call('POST', `/api/v1/tasks/${task.id}/rerun`)).problem.code).toBe('task_not_failed');
  });

  it('fails at once on a permanent error', async () => {
    const task = await start('Sync refused', 'Epsilon');
    const failed = await until(task.id, ['finish-failure']);
    expect(callsOf(task.id)).toEqual(['Refused']);
    expect(failed.result).toMatch(/^No License Plan Available!/);
  });

  it('pauses for the operator, resumes on request, and waits for a timer', async () => {
    const task = await start('Sync waits', 'Zeta');
    const paused = await until(task.id, ['paused']);
    expect(paused.waiting?.reason).toBe('Press Verify And Configure Domain.');
    const resumed = await call('POST', `/api/v1/tasks/${task.id}/resume`);
    expect(resumed.status).toBe(202);
    await until(task.id, ['finish-success']);
    expect(callsOf(task.id)).toEqual(['Operator:false', 'Operator:true', 'Timer#1', 'Timer#2']);
  });

  it("runs one customer's tasks one after the other, in order, and other customers' meanwhile", async () => {
    switches.releaseSlow = false;
    const slow = await start('Sync slow', 'Eta');
    await waitFor('the slow step to start', async () =>
      callsOf(slow.id).includes('Slow:start') ? true : undefined,
    );
    const next = await start('Sync happy', 'Eta');
    const other = await start('Sync happy', 'Theta');
    await until(other.id, ['finish-success']);
    expect((await view(next.id)).state).toBe('queued');
    expect(callsOf(next.id)).toEqual([]);
    switches.releaseSlow = true;
    await until(next.id, ['finish-success']);
    expect(callsOf(slow.id)).toEqual(['Slow:start', 'Slow:end']);
  }, 40_000);

  it('ignores a duplicate message for a finished task', async () => {
    const task = await start('Sync happy', 'Iota');
    await until(task.id, ['finish-success']);
    await stack.queues.queue(TASKS_QUEUE).send({ taskId: task.id });
    await services.taskEngine.process(task.id);
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(callsOf(task.id)).toEqual(['First', 'Second:hello']);
  });

  it('takes over a task whose holder died, from the step it was in', async () => {
    const store = createTaskStore(stack.tables);
    const created = await services.taskEngine.start({
      type: 'Sync happy' as never,
      customerId: 'Kappa',
      input: { note: 'x' },
      dryRun: false,
    });
    await until(created.id, ['finish-success']);
    calls.delete(created.id);
    // As a crash leaves it: Executing in the second step, its lease run out.
    const found = await store.get(created.id);
    if (!found) throw new Error('stored task not found');
    const crashed: TaskRecord = {
      ...found.task,
      state: 'executing',
      result: null,
      finishedAt: null,
      currentStep: 1,
      leaseUntil: new Date(Date.now() - 1000).toISOString(),
      steps: found.task.steps.map((s, i) => (i === 1 ? { ...s, state: 'running' as const } : s)),
    };
    await store.replace(crashed, found.etag);
    await store.mirror(crashed);
    expect(await services.taskEngine.sweep()).toBeGreaterThanOrEqual(1);
    const done = await until(created.id, ['finish-success']);
    expect(callsOf(created.id)).toEqual(['Second:x']);
    expect(done.steps[1]?.attempts).toBe(2);
  });

  it('plans without running on a dry run', async () => {
    const task = await start('Sync happy', 'Lambda', { dryRun: true });
    const done = await until(task.id, ['finish-success']);
    expect(callsOf(task.id)).toEqual([]);
    expect(done.changes.map((c) => `${c.step}: ${c.description}`)).toEqual([
      'First: First would write',
      'Second: Second would write',
    ]);
  });

  it('cancels a pending change, which then never runs, and refuses to cancel a finished task', async () => {
    switches.releaseSlow = false;
    const slow = await start('Sync slow', 'Nu');
    await waitFor('the slow step to start', async () =>
      callsOf(slow.id).includes('Slow:start') ? true : undefined,
    );
    const pending = await start('Sync happy', 'Nu');
    await waitForTurn(pending.id);
    const refused = await call('POST', `/api/v1/tasks/${slow.id}/cancel`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'task_not_pending' });
    const cancelled = await call('POST', `/api/v1/tasks/${pending.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({
      state: 'finish-failure',
      result: expect.stringMatching(/^Cancelled by /),
    });
    switches.releaseSlow = true;
    await until(slow.id, ['finish-success']);
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(callsOf(pending.id)).toEqual([]);
    expect((await view(pending.id)).state).toBe('finish-failure');
    const again = await call('POST', `/api/v1/tasks/${pending.id}/cancel`);
    expect(again.status).toBe(409);
  }, 40_000);

  it('Process All runs a task waiting for its Next Execution now', async () => {
    const task = await start('Sync later', 'Xi');
    const waiting = await waitFor('the task to wait an hour', async () => {
      const current = await view(task.id);
      return current.state === 'queued' && callsOf(task.id).length === 1 ? current : undefined;
    });
    expect(waiting.nextExecutionMinutes).toBeGreaterThanOrEqual(59);
    const processed = await call('POST', '/api/v1/tasks/process-all', { json: { customerId: 'Xi' } });
    expect(processed.status).toBe(202);
    expect(processed.body).toEqual({ queued: 1 });
    await until(task.id, ['finish-success']);
    expect(callsOf(task.id)).toEqual(['Later#1', 'Later#2']);
  });

  it('Delete Selected deletes nothing when a task is unfinished; Delete All removes finished ones only', async () => {
    const first = await start('Sync happy', 'Omicron');
    const second = await start('Sync happy', 'Omicron');
    await until(second.id, ['finish-success']);
    await until(first.id, ['finish-success']);
    const paused = await start('Sync waits', 'Omicron');
    await until(paused.id, ['paused']);

    const mixed = await call('POST', '/api/v1/tasks/delete-selected', {
      json: { taskIds: [first.id, paused.id] },
    });
    expect(mixed.status).toBe(409);
    expect(mixed.body).toMatchObject({ code: 'task_not_finished' });
    expect((await call('GET', `/api/v1/tasks/${first.id}`)).status).toBe(200);

    const selected = await call('POST', '/api/v1/tasks/delete-selected', { json: { taskIds: [first.id] } });
    expect(selected.body).toEqual({ deleted: 1 });
    expect((await call('GET', `/api/v1/tasks/${first.id}`)).status).toBe(404);

    const all = await call('POST', '/api/v1/tasks/delete-all', { json: { customerId: 'Omicron' } });
    expect(all.body).toEqual({ deleted: 1 });
    const left = await call('GET', '/api/v1/customers/Omicron/tasks');
    expect((left.body as { value: View[] }).value.map((t) => t.id)).toEqual([paused.id]);

    expect((await call('DELETE', `/api/v1/tasks/${paused.id}`)).status).toBe(409);
    await call('POST', `/api/v1/tasks/${paused.id}/cancel`);
    expect((await call('DELETE', `/api/v1/tasks/${paused.id}`)).status).toBe(204);
    const bad = await call('POST', '/api/v1/tasks/delete-selected', { json: { taskIds: [] } });
    expect(bad.status).toBe(400);
  }, 40_000);

  it("shows each customer's Queued commands, Executing commands and Replication in progress", async () => {
    const created = await call('POST', '/api/v1/customers', {
      json: { fullName: 'Busy Ltd', shortName: 'BusyCo', licenseType: 'hosted-essentials' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    switches.releaseSlow = false;
    const slow = await start('Sync slow', 'BusyCo');
    await waitFor('the slow step to start', async () =>
      callsOf(slow.id).includes('Slow:start') ? true : undefined,
    );
    const queued = await start('Sync happy', 'BusyCo');
    await waitForTurn(queued.id);
    const list = await call('GET', '/api/v1/customers?search=BusyCo');
    const row = (list.body as { value: Array<{ id: string; activity: unknown }> }).value.find(
      (c) => c.id === 'BusyCo',
    );
    expect(row?.activity).toEqual({ queuedCommands: 1, executingCommands: 1, replicationInProgress: false });
    switches.releaseSlow = true;
    await until(queued.id, ['finish-success']);
    const after = await call('GET', '/api/v1/customers?search=BusyCo');
    expect((after.body as { value: Array<{ activity: unknown }> }).value[0]?.activity).toEqual({
      queuedCommands: 0,
      executingCommands: 0,
      replicationInProgress: false,
    });
  }, 40_000);

  it('never shows a secret: input fields, log lines, changes and the result are blanked', async () => {
    const task = await start('Sync secret', 'Mu', { input: { note: 'n', password: 'Input-Pa55word' } });
    const failed = await until(task.id, ['finish-failure']);
    const text = JSON.stringify(failed);
    expect(text).not.toContain('Sbc-Admin-Pa55!');
    expect(text).not.toContain('Input-Pa55word');
    expect(failed.input).toMatchObject({ password: '[redacted]' });
    expect(failed.log.map((l) => l.line)).toContain('Connecting with [redacted]');
    expect(failed.result).toBe('Login refused for password [redacted]');
  });

  it('a delayed task takes amended input until it starts, then no more', async () => {
    const task = await services.taskEngine.start({
      type: 'Sync happy',
      customerId: 'Omicron',
      input: { note: 'first' },
      delayMs: 60 * 60_000,
    });
    expect((await view(task.id)).nextExecutionMinutes).toBeGreaterThanOrEqual(59);
    const amended = await services.taskEngine.amend(task.id, () => ({ note: 'second' }));
    expect(amended?.input).toEqual({ note: 'second' });
    const refused = await services.taskEngine.amend(task.id, () => ({ note: '' })).catch((e: unknown) => e);
    expect((refused as DomainError).kind).toBe('validation');
    await call('POST', '/api/v1/tasks/process-all', { json: { customerId: 'Omicron' } });
    await until(task.id, ['finish-success']);
    expect(callsOf(task.id)).toEqual(['First', 'Second:second']);
    expect(await services.taskEngine.amend(task.id, () => ({ note: 'third' }))).toBeNull();
  });
});
