import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { TaskPorts } from '../../functions/app.js';
import { TASK_FAILED_ALARM, taskAlarmSource } from '../../shared/alarms/alarm-kinds.js';
import { MAX_ALARM_TEXT_CHARS } from '../../shared/alarms/alarm-service.js';
import {
  type AnyTaskDefinition,
  defineTask,
  PermanentTaskError,
} from '../../shared/tasks/task-definition.js';
import { waitFor } from '../consent/consent-fixture.js';
import { apiClient } from '../support/api-client.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';

/** What an SBC answers to a script it refuses: the CLI transcript, many lines of it. */
const TRANSCRIPT = Array.from(
  { length: 40 },
  (_, i) => `SBC(config-voip)# sip-interface ${i}\n ^ Invalid input detected at '^' marker.`,
).join('\n');

const definitions = [
  defineTask<{ note: string }>({
    type: 'SBCInit alarmed',
    input: z.strictObject({ note: z.string().min(1) }),
    steps: [
      {
        name: 'Run CLI script',
        async run() {
          throw new PermanentTaskError(`PUT /files/cliScript/incremental: 400 Bad script ${TRANSCRIPT}`);
        },
        async plan() {
          throw new PermanentTaskError(`The script would not apply: ${TRANSCRIPT}`);
        },
      },
    ],
  }),
] as unknown as AnyTaskDefinition<TaskPorts>[];

let stack: MemoryStack;
let call: ReturnType<typeof apiClient>;

beforeAll(async () => {
  stack = await startMemoryStack({ overrides: { taskDefinitions: definitions } });
  const token = await stack.token();
  call = apiClient(stack.api, async () => token);
}, 60_000);
afterAll(async () => stack?.close());

const finished = (id: string) =>
  waitFor(`task ${id} to finish`, async () => {
    const task = (await call('GET', `/api/v1/tasks/${id}`)).body as {
      state: string;
      log: { line: string }[];
    };
    return task.state.startsWith('finish-') ? task : undefined;
  });

const alarmsOf = async (taskId: string) =>
  (await stack.services.alarms.list({ activeOnly: true })).filter(
    (a) => a.name === TASK_FAILED_ALARM && a.source === taskAlarmSource(taskId),
  );

describe('Task failed alarm', () => {
  it('is not raised by a dry run that fails; the real run raises one short sentence without the transcript', async () => {
    const dry = await stack.services.taskEngine.start({
      type: 'SBCInit alarmed' as never,
      customerId: 'Contoso',
      input: { note: 'x' },
      dryRun: true,
    });
    expect((await finished(dry.id)).state).toBe('finish-failure');

    const real = await stack.services.taskEngine.start({
      type: 'SBCInit alarmed' as never,
      customerId: 'Contoso',
      input: { note: 'x' },
    });
    const task = await finished(real.id);
    expect(task.state).toBe('finish-failure');
    // The transcript stays where the operator reads the details: the task's log.
    expect(task.log.map((l) => l.line).join('\n')).toContain('Invalid input detected');

    const [alarm] = await waitFor('the real run raises its alarm', async () => {
      const found = await alarmsOf(real.id);
      return found.length > 0 ? found : undefined;
    });
    expect(alarm?.text).toBe(
      'Task SBCInit alarmed for customer Contoso failed at step Run CLI script; its log has the details.',
    );
    expect(await alarmsOf(dry.id)).toEqual([]);
  });

  it('bounds every alarm text to one line of at most the limit', async () => {
    await stack.services.alarms.raise({
      name: 'Replication failed',
      severity: 'minor',
      source: 'customer:Contoso',
      text: `Contoso: the full replication cycle failed: ${TRANSCRIPT}`,
    });
    const [alarm] = (await stack.services.alarms.list({ activeOnly: true })).filter(
      (a) => a.source === 'customer:Contoso',
    );
    expect(alarm?.text.length).toBeLessThanOrEqual(MAX_ALARM_TEXT_CHARS);
    expect(alarm?.text).not.toContain('\n');
    expect(alarm?.text.endsWith('…')).toBe(true);
  });
});
