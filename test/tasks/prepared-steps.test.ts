import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { domainErrors, TransientError } from '../../shared/errors/domain-errors.js';
import { classifyPeerError } from '../../shared/onboarding/tasks/peer-task-errors.js';
import { SbcError } from '../../shared/sbc/sbc-client.js';
import { memoryTables } from '../../shared/storage/memory-tables.js';
import {
  type AnyTaskDefinition,
  defineTask,
  type TaskChange,
  type TaskErrorClassifier,
} from '../../shared/tasks/task-definition.js';
import { createTaskEngine, type TaskMessage } from '../../shared/tasks/task-engine.js';
import type { TaskRecord } from '../../shared/tasks/task-record.js';
import { createTaskStore } from '../../shared/tasks/task-store.js';

const input = z.strictObject({});

/** A one-step task whose step is prepared, then throws what `failures` holds, one per run, before it applies. */
function failingTask(failures: unknown[], classifyError?: TaskErrorClassifier) {
  const write: TaskChange = { kind: 'sbc', description: 'Send the script' };
  return defineTask({
    type: 'Sync failing',
    input,
    ...(classifyError ? { classifyError } : {}),
    steps: [
      {
        name: 'Send',
        maxAttempts: 4,
        async prepare(ctx) {
          return {
            changes: [write],
            async apply() {
              const failure = failures.shift();
              if (failure !== undefined) throw failure;
              ctx.applied(write);
              return { done: true };
            },
          };
        },
      },
    ],
  });
}

/** Runs the task's queue until it settles; every retry is due at once (back-off of 1 ms). */
async function runTask(definition: AnyTaskDefinition<unknown>, dryRun = false): Promise<TaskRecord> {
  const queued: TaskMessage[] = [];
  const engine = createTaskEngine({
    store: createTaskStore(memoryTables()),
    queue: { send: async (message) => void queued.push(message) },
    definitions: [definition],
    ports: {},
    timing: { backoffMs: 1, maxBackoffMs: 1 },
  });
  const started = await engine.start({ type: definition.type, customerId: 'contoso', input: {}, dryRun });
  for (let message = queued.shift(); message; message = queued.shift()) {
    await new Promise((resolve) => setTimeout(resolve, 2));
    await engine.process(message.taskId);
  }
  const task = await engine.get(started.id);
  if (!task) throw new Error('The task is gone.');
  return task;
}

const sbcError = (status: number, transient: boolean) =>
  new SbcError(
    `SBC answered ${status}.`,
    status,
    'refused',
    transient ? undefined : 'line 3: bad',
    transient,
  );

describe('A prepared step', () => {
  it('lists its changes on a dry run without applying them, and records the same ones on a real run', async () => {
    const applied: string[] = [];
    const change: TaskChange = { kind: 'dns', description: 'Add A record x → 192.0.2.1 to zone example.com' };
    const definition = defineTask({
      type: 'Sync prepared',
      input,
      steps: [
        {
          name: 'AddA',
          async prepare(ctx) {
            return {
              changes: [change],
              async apply() {
                applied.push('AddA');
                ctx.applied(change);
                return { done: true };
              },
            };
          },
        },
      ],
    }) as AnyTaskDefinition<unknown>;
    const planned = await runTask(definition, true);
    expect(applied).toEqual([]);
    const real = await runTask(definition);
    expect(applied).toEqual(['AddA']);
    expect(planned.changes).toEqual(real.changes);
    expect(real.changes).toEqual([{ step: 'AddA', ...change }]);
  });

  it('may not record a change it did not describe', async () => {
    const definition = defineTask({
      type: 'Sync undescribed',
      input,
      steps: [
        {
          name: 'Drift',
          maxAttempts: 1,
          async prepare(ctx) {
            return {
              changes: [{ kind: 'dns', description: 'Add TXT record x' }],
              async apply() {
                ctx.applied({ kind: 'dns', description: 'Add TXT record x' });
                return { done: true };
              },
            };
          },
        },
      ],
    }) as AnyTaskDefinition<unknown>;
    const task = await runTask(definition);
    expect(task.state).toBe('finish-failure');
    expect(task.result).toBe('Step Drift made a change it did not describe: Add TXT record x');
    expect(task.changes).toEqual([]);
  });
});

describe('What a step throws is classified once, by the engine', () => {
  it("retries a peer's transient error (an SBC busy with HA sync), then succeeds", async () => {
    const task = await runTask(
      failingTask([sbcError(409, true)], classifyPeerError) as AnyTaskDefinition<unknown>,
    );
    expect(task.state).toBe('finish-success');
    expect(task.steps[0]).toMatchObject({ state: 'done', attempts: 2 });
    expect(task.log.map((l) => l.line)).toContainEqual(
      expect.stringMatching(/^-- Send: SBC answered 409\. \(retrying at \d{4}-\S+Z, attempt 2\) --$/),
    );
    expect(task.changes.map((c) => c.description)).toEqual(['Send the script']);
  });

  it("fails the step at once on a peer's permanent error, with the peer's detail", async () => {
    const task = await runTask(
      failingTask([sbcError(400, false)], classifyPeerError) as AnyTaskDefinition<unknown>,
    );
    expect(task.state).toBe('finish-failure');
    expect(task.steps[0]).toMatchObject({ state: 'failed', attempts: 1 });
    expect(task.result).toBe('SBC answered 400. line 3: bad');
    expect(task.changes).toEqual([]);
  });

  it('retries a transient DomainError (a storage outage) and fails at once on another kind', async () => {
    const outage = await runTask(
      failingTask([new TransientError('Table storage is unavailable.')]) as AnyTaskDefinition<unknown>,
    );
    expect(outage.state).toBe('finish-success');
    expect(outage.steps[0]).toMatchObject({ attempts: 2 });

    const missing = await runTask(
      failingTask([domainErrors.notFound('There is no customer contoso.')]) as AnyTaskDefinition<unknown>,
    );
    expect(missing.state).toBe('finish-failure');
    expect(missing.steps[0]).toMatchObject({ state: 'failed', attempts: 1 });
    expect(missing.result).toBe('There is no customer contoso.');
  });

  it("leaves a peer's error unclassified without the task's classifier: retried until the attempts run out", async () => {
    const task = await runTask(
      failingTask([
        sbcError(400, false),
        sbcError(400, false),
        sbcError(400, false),
        sbcError(400, false),
      ]) as AnyTaskDefinition<unknown>,
    );
    expect(task.state).toBe('finish-failure');
    expect(task.steps[0]).toMatchObject({ state: 'failed', attempts: 4 });
  });
});
