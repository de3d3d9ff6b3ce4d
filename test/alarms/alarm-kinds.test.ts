import { InvocationContext, type Timer } from '@azure/functions';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEMO_SBC } from '../../dev/sandbox/index.js';
import {
  QUEUE_POISONED_ALARM,
  SBC_UNREACHABLE_ALARM,
  TASK_FAILED_ALARM,
  USER_LICENSE_THRESHOLD_ALARM,
} from '../../shared/alarms/alarm-kinds.js';
import { checkSbcReachability } from '../../shared/alarms/sbc-alarms.js';
import type { TaskPorts } from '../../functions/app.js';
import type { AppServices } from '../../functions/app-services.js';
import {
  type AnyTaskDefinition,
  defineTask,
  PermanentTaskError,
} from '../../shared/tasks/task-definition.js';
import { waitFor } from '../consent/consent-fixture.js';
import { apiClient } from '../support/api-client.js';
import { startStack, type TestStack } from '../support/stack.js';

/** What the test task does on its next run, by its input's note: fail, wait an hour, or succeed. */
const behaviour = new Map<string, 'fail' | 'wait' | 'succeed'>();

const definitions = [
  defineTask<{ note: string }>({
    type: 'Sync alarmed',
    input: z.strictObject({ note: z.string().min(1) }),
    steps: [
      {
        name: 'Push',
        async run(ctx) {
          const mode = behaviour.get(ctx.input.note) ?? 'succeed';
          if (mode === 'fail') throw new PermanentTaskError('The SBC refused the script (400)');
          if (mode === 'wait')
            return { wait: { reason: 'Try again in an hour', resumeOn: { afterMs: 3_600_000 } } };
          return { done: true };
        },
      },
    ],
  }),
] as unknown as AnyTaskDefinition<TaskPorts>[];

const OPERATOR = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';

let stack: TestStack;
let services: AppServices;
let call: ReturnType<typeof apiClient>;

beforeAll(async () => {
  stack = await startStack({
    userLicenses: 100,
    overrides: { taskDefinitions: definitions, taskTiming: { backoffMs: 100, customerWaitMs: 300 } },
  });
  const token = await stack.token({ subject: OPERATOR });
  call = apiClient(stack.apiUrl, async () => token);
  services = stack.services;
}, 60_000);
afterAll(async () => stack?.close());

interface AlarmView {
  id: string;
  name: string;
  severity: string;
  source: string;
  text: string;
  raisedAt: string;
  clearedAt: string | null;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
}

const alarms = async (active = false) => {
  const response = await call('GET', `/api/v1/alarms${active ? '?active=true' : ''}`);
  expect(response.status).toBe(200);
  return (response.body as { value: AlarmView[] }).value;
};
const activeAlarm = async (name: string, source: string) =>
  (await alarms(true)).find((a) => a.name === name && a.source === source);
const alarmOf = async (name: string, source: string) =>
  (await alarms()).find((a) => a.name === name && a.source === source);

/** Runs a timer function of the registry as the host would on its schedule. */
async function runTimer(name: string): Promise<void> {
  const definition = stack.registry.find((d) => d.kind === 'timer' && d.name === name);
  if (definition?.kind !== 'timer') throw new Error(`No timer ${name}`);
  expect(definition.schedule).toBe('0 */5 * * * *');
  await definition.handler(
    { isPastDue: false } as Timer,
    new InvocationContext({ functionName: name, logHandler: () => {} }),
  );
}

const taskState = async (id: string) =>
  waitFor(`task ${id} settled`, async () => {
    const task = (await call('GET', `/api/v1/tasks/${id}`)).body as { state: string; waiting: unknown };
    return task.state === 'finish-success' || task.state === 'finish-failure' || task.waiting
      ? task.state
      : undefined;
  });

async function failedTask(note: string, customerId: string): Promise<string> {
  behaviour.set(note, 'fail');
  const task = await services.taskEngine.start({
    type: 'Sync alarmed' as never,
    customerId,
    input: { note },
  });
  expect(await taskState(task.id)).toBe('finish-failure');
  return task.id;
}

describe('Task failed', () => {
  it('is raised by a task ending FinishFailure and cleared when its re-run succeeds', async () => {
    const id = await failedTask('rerun', 'Alarmed1');
    // The engine tells the alarms once the task has settled: the alarm follows the state, not with it.
    const alarm = await waitFor('the Task failed alarm', () => activeAlarm(TASK_FAILED_ALARM, `task:${id}`));
    expect(alarm).toMatchObject({ severity: 'major', clearedAt: null });
    expect(alarm?.text).toContain('Sync alarmed');
    expect(alarm?.text).toContain('Alarmed1');
    expect(alarm?.text).toContain('at step Push');
    expect(alarm?.text).not.toContain('The SBC refused the script (400)');

    behaviour.set('rerun', 'succeed');
    expect((await call('POST', `/api/v1/tasks/${id}/rerun`)).status).toBe(202);
    expect(await taskState(id)).toBe('finish-success');
    await waitFor('the alarm cleared', async () =>
      (await activeAlarm(TASK_FAILED_ALARM, `task:${id}`)) ? undefined : true,
    );
    expect((await alarmOf(TASK_FAILED_ALARM, `task:${id}`))?.clearedAt).toEqual(expect.any(String));
  });

  it('stays while the re-run has not succeeded, and clears when the task is cancelled or deleted', async () => {
    const waiting = await failedTask('cancel', 'Alarmed2');
    behaviour.set('cancel', 'wait');
    expect((await call('POST', `/api/v1/tasks/${waiting}/rerun`)).status).toBe(202);
    expect(await taskState(waiting)).toBe('queued');
    await waitFor('the Task failed alarm', () => activeAlarm(TASK_FAILED_ALARM, `task:${waiting}`));
    expect((await call('POST', `/api/v1/tasks/${waiting}/cancel`)).status).toBe(200);
    expect(await activeAlarm(TASK_FAILED_ALARM, `task:${waiting}`)).toBeUndefined();

    const deleted = await failedTask('delete', 'Alarmed3');
    await waitFor('the Task failed alarm', () => activeAlarm(TASK_FAILED_ALARM, `task:${deleted}`));
    expect((await call('DELETE', `/api/v1/tasks/${deleted}`)).status).toBe(204);
    expect(await activeAlarm(TASK_FAILED_ALARM, `task:${deleted}`)).toBeUndefined();
  });
});

describe('SBC unreachable', () => {
  const eu1 = DEMO_SBC.devices.eu1;
  const statusPath = `^/sbc/${eu1.ipAddress.replaceAll('.', '\\.')}/api/v1/status$`;

  beforeAll(async () => {
    const created = await call('POST', '/api/v1/settings/sbcs', {
      json: {
        name: eu1.name,
        ipAddress: eu1.ipAddress,
        gatewayUser: eu1.username,
        gatewayPassword: eu1.password,
      },
    });
    expect(created.status).toBe(201);
  });

  it('is raised when a Known SBC does not answer and cleared when it answers again', async () => {
    expect(await checkSbcReachability(services)).toEqual({ checked: 1, unreachable: [] });
    expect(await activeAlarm(SBC_UNREACHABLE_ALARM, 'sbc:sbc-eu1')).toBeUndefined();

    const fault = stack.sandbox.faults.add({ pathPattern: statusPath, kind: 'drop' });
    try {
      expect(await checkSbcReachability(services)).toEqual({ checked: 1, unreachable: ['sbc-eu1'] });
      const alarm = await activeAlarm(SBC_UNREACHABLE_ALARM, 'sbc:sbc-eu1');
      expect(alarm).toMatchObject({ severity: 'critical', clearedAt: null });
      expect(alarm?.text).toContain(`SBC sbc-eu1 (${eu1.ipAddress})`);
    } finally {
      stack.sandbox.faults.remove(fault.id);
    }

    await runTimer('alarms-sbc-check');
    expect(await activeAlarm(SBC_UNREACHABLE_ALARM, 'sbc:sbc-eu1')).toBeUndefined();
    expect((await alarmOf(SBC_UNREACHABLE_ALARM, 'sbc:sbc-eu1'))?.clearedAt).toEqual(expect.any(String));
  });

  it('is cleared when the SBC is no longer a Known SBC', async () => {
    const ghost = await call('POST', '/api/v1/settings/sbcs', {
      json: {
        name: 'sbc-ghost',
        ipAddress: '203.0.113.99',
        gatewayUser: 'Admin',
        gatewayPassword: 'Ghost-Pa55',
      },
    });
    expect(ghost.status).toBe(201);
    expect((await checkSbcReachability(services)).unreachable).toEqual(['sbc-ghost']);
    expect(await activeAlarm(SBC_UNREACHABLE_ALARM, 'sbc:sbc-ghost')).toBeDefined();

    expect((await call('DELETE', '/api/v1/settings/sbcs/sbc-ghost')).status).toBe(204);
    expect(await checkSbcReachability(services)).toEqual({ checked: 1, unreachable: [] });
    expect(await activeAlarm(SBC_UNREACHABLE_ALARM, 'sbc:sbc-ghost')).toBeUndefined();
  });
});

describe('Queue messages poisoned', () => {
  it('is raised when a message lands in a poison queue and cleared once the poison queue is emptied', async () => {
    const queues = QueueServiceClient.fromConnectionString(stack.storageConnectionString);
    const poison = queues.getQueueClient('tasks-poison');
    await runTimer('alarms-poison-check');
    expect(await activeAlarm(QUEUE_POISONED_ALARM, 'queue:tasks-poison')).toBeUndefined();

    // A message no retry can fix: the host gives up after five deliveries and moves it to tasks-poison.
    await queues
      .getQueueClient('tasks')
      .sendMessage(Buffer.from(JSON.stringify({ nope: true })).toString('base64'));
    await waitFor('the message in tasks-poison', async () => {
      // The host creates the poison queue when it moves the first message there.
      const properties = await poison.getProperties().catch(() => null);
      return (properties?.approximateMessagesCount ?? 0) > 0 ? true : undefined;
    });

    await runTimer('alarms-poison-check');
    const alarm = await activeAlarm(QUEUE_POISONED_ALARM, 'queue:tasks-poison');
    expect(alarm).toMatchObject({ severity: 'major', clearedAt: null });
    expect(alarm?.text).toMatch(/^1 message\(s\) in tasks-poison/);

    await poison.clearMessages();
    await runTimer('alarms-poison-check');
    expect(await activeAlarm(QUEUE_POISONED_ALARM, 'queue:tasks-poison')).toBeUndefined();
  });
});

describe('User License Threshold', () => {
  it('is raised when used user licenses reach 90 % of the pool and cleared below it', async () => {
    const customer = await call('POST', '/api/v1/customers', {
      json: { fullName: 'Big Bank', shortName: 'BigBank', licenseType: 'hosted-pro', licensedUsers: 89 },
    });
    expect(customer.status).toBe(201);
    await runTimer('alarms-license-check');
    expect(await activeAlarm(USER_LICENSE_THRESHOLD_ALARM, 'license:users')).toBeUndefined();

    // The change itself checks: no need to wait for the timer.
    const grown = await call('PATCH', '/api/v1/customers/BigBank', { json: { licensedUsers: 90 } });
    expect(grown.status).toBe(200);
    const alarm = await activeAlarm(USER_LICENSE_THRESHOLD_ALARM, 'license:users');
    expect(alarm).toMatchObject({ severity: 'warning', clearedAt: null });
    expect(alarm?.text).toMatch(/^90 of 100 user licenses are in use \(90%\)/);

    const shrunk = await call('PATCH', '/api/v1/customers/BigBank', { json: { licensedUsers: 80 } });
    expect(shrunk.status).toBe(200);
    expect(await activeAlarm(USER_LICENSE_THRESHOLD_ALARM, 'license:users')).toBeUndefined();
    await runTimer('alarms-license-check');
    expect(await activeAlarm(USER_LICENSE_THRESHOLD_ALARM, 'license:users')).toBeUndefined();
  });
});

describe('acknowledging an alarm', () => {
  const statusPath = `^/sbc/${DEMO_SBC.devices.eu1.ipAddress.replaceAll('.', '\\.')}/api/v1/status$`;

  it('records who and when for this occurrence; the alarm raised again after it cleared is new', async () => {
    const fault = stack.sandbox.faults.add({ pathPattern: statusPath, kind: 'status', status: 503 });
    let first: AlarmView | undefined;
    try {
      await checkSbcReachability(services);
      first = await activeAlarm(SBC_UNREACHABLE_ALARM, 'sbc:sbc-eu1');
      expect(first).toMatchObject({ acknowledgedAt: null, acknowledgedBy: null });

      const acked = await call('POST', `/api/v1/alarms/${first?.id}/acknowledge`);
      expect(acked.status).toBe(200);
      expect(acked.body).toMatchObject({ id: first?.id, acknowledgedBy: OPERATOR, clearedAt: null });
      expect((acked.body as AlarmView).acknowledgedAt).toEqual(expect.any(String));

      // Still failing: the same occurrence, still acknowledged.
      await checkSbcReachability(services);
      expect(await activeAlarm(SBC_UNREACHABLE_ALARM, 'sbc:sbc-eu1')).toMatchObject({
        id: first?.id,
        raisedAt: first?.raisedAt,
        acknowledgedBy: OPERATOR,
      });
    } finally {
      stack.sandbox.faults.remove(fault.id);
    }

    await checkSbcReachability(services);
    expect(await alarmOf(SBC_UNREACHABLE_ALARM, 'sbc:sbc-eu1')).toMatchObject({
      clearedAt: expect.any(String),
      acknowledgedBy: OPERATOR,
    });

    const again = stack.sandbox.faults.add({ pathPattern: statusPath, kind: 'status', status: 503 });
    try {
      await checkSbcReachability(services);
    } finally {
      stack.sandbox.faults.remove(again.id);
    }
    const second = await activeAlarm(SBC_UNREACHABLE_ALARM, 'sbc:sbc-eu1');
    expect(second).toMatchObject({
      id: first?.id,
      clearedAt: null,
      acknowledgedAt: null,
      acknowledgedBy: null,
    });
    expect(second!.raisedAt > first!.raisedAt).toBe(true);
    await checkSbcReachability(services);
  });

  it('answers problem+json for an unknown or malformed id, a bad query and a missing token', async () => {
    const unknown = await call('POST', `/api/v1/alarms/${'0'.repeat(64)}/acknowledge`);
    expect(unknown.status).toBe(404);
    expect(unknown.contentType).toMatch(/^application\/problem\+json/);
    expect(unknown.problem.code).toBe('not_found');

    const malformed = await call('POST', '/api/v1/alarms/not-an-id/acknowledge');
    expect(malformed.status).toBe(404);
    expect(malformed.contentType).toMatch(/^application\/problem\+json/);

    const badQuery = await call('GET', '/api/v1/alarms?active=maybe');
    expect(badQuery.status).toBe(400);
    expect(badQuery.problem.errors?.[0]).toMatchObject({ field: 'active' });

    const anonymous = await call('POST', `/api/v1/alarms/${'0'.repeat(64)}/acknowledge`, { token: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.contentType).toMatch(/^application\/problem\+json/);
  });
});
