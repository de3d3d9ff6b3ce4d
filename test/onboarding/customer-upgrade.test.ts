import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { TaskPorts } from '../../functions/app.js';
import { createCredentialStore } from '../../shared/credentials/credential-store.js';
import { createTaskStore } from '../../shared/tasks/task-store.js';
import { type AnyTaskDefinition, defineTask } from '../../shared/tasks/task-definition.js';
import { type ApiResponse, apiClient } from '../support/api-client.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';

/** Another task of the customer: it notes that it ran, so the test sees when (and in which order) it does. */
const ran: string[] = [];
const PROBE = 'Sync upgrade probe';
const definitions = [
  defineTask<{ note: string }>({
    type: PROBE,
    input: z.strictObject({ note: z.string() }),
    steps: [
      {
        name: 'Note',
        run: async (ctx) => {
          ran.push(ctx.input.note);
          return { done: true };
        },
      },
    ],
  }),
] as unknown as AnyTaskDefinition<TaskPorts>[];

const USER_LICENSES = 30;
let stack: MemoryStack;
let call: ReturnType<typeof apiClient>;

beforeAll(async () => {
  // Queues are not delivered: each test runs the tasks itself, so it sees the states in between.
  stack = await startMemoryStack({
    deliverQueues: false,
    userLicenses: USER_LICENSES,
    overrides: { taskDefinitions: definitions },
  });
  call = apiClient(stack.api, () => stack.token());
}, 60_000);
afterAll(() => stack?.close());

interface TaskBody {
  id: string;
  type: string;
  state: string;
  result: string | null;
  waiting: { reason: string; resumeOn: string } | null;
  log: Array<{ line: string }>;
}

async function essentials(shortName: string, connected = true): Promise<void> {
  const created = await call('POST', '/api/v1/customers', {
    json: { fullName: `${shortName} Ltd`, shortName, licenseType: 'hosted-essentials' },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  if (!connected) return;
  // The tenant connected as the wizard's M365 Authentication would leave it: a verified credential.
  await createCredentialStore(stack.tables).put({
    customerId: shortName,
    method: 'app-registration',
    tenantId: '9c1e1b3a-6f0e-4a53-9d1f-2f4f2a1d7b10',
    m365Email: null,
    m365AdminObjectId: null,
    initialDomain: `${shortName.toLowerCase()}.onmicrosoft.com`,
    tenantDisplayName: `${shortName} Ltd`,
    clientId: 'f1b8f2f4-5d5a-4c9e-8a0b-3c2d1e0f9a8b',
    clientSecretExpiresAt: null,
    sealedSecret: 'sealed',
    whenLastVerified: new Date().toISOString(),
    lastVerificationStatus: 'successful',
    lastVerificationMessage: null,
    heldByWizardSession: null,
  });
}

const customer = async (id: string) => {
  const response = await call('GET', `/api/v1/customers/${id}`);
  expect(response.status).toBe(200);
  return response.body as { licenseType: string; licensedUsers: number; state: string };
};

const tenants = async () => {
  const response = await call('GET', '/api/v1/customers?top=100');
  expect(response.status).toBe(200);
  return response.body as {
    availableUsers: number;
    value: Array<{ shortName: string; activity: { queuedCommands: number } }>;
  };
};

const task = async (id: string): Promise<TaskBody> => {
  const response = await call('GET', `/api/v1/tasks/${id}`);
  expect(response.status).toBe(200);
  return response.body as TaskBody;
};

const probe = (customerId: string, note: string) =>
  stack.services.taskEngine.start({ type: PROBE, customerId, input: { note } });

const run = (id: string) => stack.services.taskEngine.process(id);

const upgrade = (id: string, json: unknown): Promise<ApiResponse> =>
  call('POST', `/api/v1/customers/${id}/upgrade`, { json });

const tasksOf = async (id: string) => {
  const response = await call('GET', `/api/v1/customers/${id}/tasks?top=100`);
  expect(response.status).toBe(200);
  return (response.body as { value: TaskBody[] }).value;
};

describe('Upgrade Customer', () => {
  it('moves the customer to Hosted Pro; its other tasks show Queue Postponed meanwhile and run after it', async () => {
    await essentials('Upgrade1');
    const before = await probe('Upgrade1', 'queued before');
    const availableBefore = (await tenants()).availableUsers;

    const accepted = await upgrade('Upgrade1', { licenseType: 'hosted-pro', licensedUsers: 10 });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    const upgradeTask = accepted.body as TaskBody;
    expect(upgradeTask.type).toBe('TenantUpgrade');
    expect(accepted.headers.get('location')).toBe(`/api/v1/tasks/${upgradeTask.id}`);

    // Queued before the upgrade: postponed at once. Queued during it: postponed when its turn comes.
    expect((await task(before.id)).state).toBe('queue-postponed');
    const during = await probe('Upgrade1', 'queued during');
    await run(during.id);
    for (const id of [before.id, during.id]) {
      const postponed = await task(id);
      expect(postponed.state).toBe('queue-postponed');
      expect(postponed.waiting?.reason).toContain('Queue Postponed due to customer upgrade');
      expect(postponed.waiting?.reason).toContain(upgradeTask.id);
    }
    // A stray message for a postponed task runs nothing.
    await run(before.id);
    expect(ran).toEqual([]);
    const listed = await call('GET', '/api/v1/tasks?state=queue-postponed&customerId=Upgrade1');
    expect((listed.body as { value: TaskBody[] }).value.map((t) => t.id).sort()).toEqual(
      [before.id, during.id].sort(),
    );
    // Nothing changed yet: the tier and the licenses move when the task gets there.
    expect(await customer('Upgrade1')).toMatchObject({ licenseType: 'hosted-essentials', licensedUsers: 0 });
    const row = (await tenants()).value.find((c) => c.shortName === 'Upgrade1');
    expect(row?.activity.queuedCommands).toBe(3);

    await run(upgradeTask.id);
    const done = await task(upgradeTask.id);
    expect(done.state, done.result ?? '').toBe('finish-success');
    const lines = done.log.map((l) => l.line);
    expect(lines[0]).toBe('-- UpgradeCustomer task started --');
    expect(lines).toContain('Tenant definition updated');
    expect(lines.at(-1)).toBe('-- UpgradeCustomer task completed --');
    expect(await customer('Upgrade1')).toMatchObject({ licenseType: 'hosted-pro', licensedUsers: 10 });
    expect((await tenants()).availableUsers).toBe(availableBefore - 10);
    const filtered = await call('GET', '/api/v1/customers?licenseType=hosted-pro&search=Upgrade1');
    expect((filtered.body as { value: unknown[] }).value).toHaveLength(1);

    // After the upgrade, the postponed tasks are Queued again and run in order.
    expect((await task(before.id)).state).toBe('queued');
    expect((await task(during.id)).state).toBe('queued');
    await run(before.id);
    await run(during.id);
    expect((await task(before.id)).state).toBe('finish-success');
    expect((await task(during.id)).state).toBe('finish-success');
    expect(ran).toEqual(['queued before', 'queued during']);
  });

  it('a failed upgrade leaves the customer on Hosted Essentials and the license pool as it was', async () => {
    ran.length = 0;
    await essentials('Upgrade2');
    const accepted = await upgrade('Upgrade2', { licenseType: 'hosted-essentials-plus', licensedUsers: 15 });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    const upgradeTask = accepted.body as TaskBody;
    // The licenses were checked, not taken: another customer takes them before the upgrade runs.
    const taker = await call('POST', '/api/v1/customers', {
      json: { fullName: 'Taker Ltd', shortName: 'Taker', licenseType: 'hosted-pro', licensedUsers: 10 },
    });
    expect(taker.status).toBe(201);
    const other = await probe('Upgrade2', 'after the failure');
    await run(other.id);
    expect((await task(other.id)).state).toBe('queue-postponed');
    const available = (await tenants()).availableUsers;

    await run(upgradeTask.id);
    const failed = await task(upgradeTask.id);
    expect(failed.state).toBe('finish-failure');
    expect(failed.result).toMatch(/user licenses|licensed users/i);
    expect(await customer('Upgrade2')).toMatchObject({
      licenseType: 'hosted-essentials',
      licensedUsers: 0,
      state: 'ready-for-deployment',
    });
    expect((await tenants()).availableUsers).toBe(available);

    // Still usable: its queued work runs.
    expect((await task(other.id)).state).toBe('queued');
    await run(other.id);
    expect((await task(other.id)).state).toBe('finish-success');
    expect(ran).toEqual(['after the failure']);
  });

  it('a postponed task whose upgrade ended without waking it runs after the sweep', async () => {
    ran.length = 0;
    await essentials('Upgrade8');
    const accepted = await upgrade('Upgrade8', { licenseType: 'hosted-pro', licensedUsers: 1 });
    const upgradeTask = accepted.body as TaskBody;
    const other = await probe('Upgrade8', 'swept');
    await run(other.id);
    expect((await task(other.id)).state).toBe('queue-postponed');
    // A crash right after the upgrade finished: its end is stored, the postponed task was never queued again.
    const store = createTaskStore(stack.tables);
    const stored = await store.getIn('Upgrade8', upgradeTask.id);
    if (!stored) throw new Error('The upgrade task is not stored.');
    await store.replace({ ...stored.task, state: 'finish-failure', result: 'Crashed.' }, stored.etag);
    expect((await task(other.id)).state).toBe('queue-postponed');
    // The sweep queues it; its message finds no upgrade holding it back, and it runs.
    expect(await stack.services.taskEngine.sweep()).toBeGreaterThanOrEqual(1);
    await run(other.id);
    expect((await task(other.id)).state).toBe('finish-success');
    expect(ran).toEqual(['swept']);
  });

  describe("with an invitation to the customer's IT administrator", () => {
    beforeAll(async () => {
      // The invitation's prerequisites; queues are not delivered, so no email leaves.
      const settings = await Promise.all([
        call('PUT', '/api/v1/settings/token-app', {
          json: { clientId: '0f6c7a4e-2b1d-4c8e-9a3f-5d6e7f8a9b0c', clientSecret: 'token-app-secret' },
        }),
        call('PUT', '/api/v1/settings/email', {
          json: { transport: 'smtp', from: 'hub@provider.example', host: 'smtp.example.com', port: 587 },
        }),
      ]);
      for (const response of settings) expect(response.status, JSON.stringify(response.body)).toBe(200);
    });

    /** An upgrade by invitation that has run as far as the consent: it waits, and a probe waits behind it. */
    async function waitingForConsent(shortName: string) {
      await essentials(shortName, false);
      const accepted = await upgrade(shortName, {
        licenseType: 'hosted-pro',
        licensedUsers: 5,
        m365Authentication: { method: 'invite', invitationEmail: `it@${shortName.toLowerCase()}.example` },
      });
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
      const upgradeTask = accepted.body as TaskBody;
      const other = await probe(shortName, `${shortName} probe`);
      await run(upgradeTask.id);
      const waiting = await task(upgradeTask.id);
      expect(waiting.state).toBe('queued');
      expect(waiting.waiting).toMatchObject({ resumeOn: 'timer' });
      expect(waiting.waiting?.reason).toContain('IT administrator');
      // The customer is still upgrading: its other task stays postponed even while the upgrade waits.
      await run(other.id);
      expect((await task(other.id)).state).toBe('queue-postponed');
      expect(await customer(shortName)).toMatchObject({ licenseType: 'hosted-essentials' });
      return { upgradeTask, other };
    }

    /** The upgrade's next look, now rather than in a minute (Process All). */
    async function lookAgain(customerId: string, taskId: string) {
      await stack.services.taskEngine.processAll(customerId);
      await run(taskId);
      return task(taskId);
    }

    it('waits for the consent, then upgrades', async () => {
      ran.length = 0;
      const { upgradeTask, other } = await waitingForConsent('Invited1');
      const invitation = await call('GET', '/api/v1/invitations/Invited1');
      expect(invitation.body).toMatchObject({ invitationType: 'request', licenseType: 'hosted-pro' });
      // The admin authenticates: the consent stores the customer's credentials.
      await createCredentialStore(stack.tables).put({
        customerId: 'Invited1',
        method: 'token',
        tenantId: '9c1e1b3a-6f0e-4a53-9d1f-2f4f2a1d7b10',
        m365Email: 'admin@invited1.example',
        m365AdminObjectId: null,
        initialDomain: null,
        tenantDisplayName: null,
        clientId: null,
        clientSecretExpiresAt: null,
        sealedSecret: 'sealed',
        whenLastVerified: new Date().toISOString(),
        lastVerificationStatus: 'successful',
        lastVerificationMessage: null,
        heldByWizardSession: null,
      });
      const done = await lookAgain('Invited1', upgradeTask.id);
      expect(done.state, done.result ?? '').toBe('finish-success');
      expect(await customer('Invited1')).toMatchObject({ licenseType: 'hosted-pro', licensedUsers: 5 });
      await run(other.id);
      expect(ran).toEqual(['Invited1 probe']);
    });

    it('fails when the invitation is revoked, and the customer stays Hosted Essentials', async () => {
      const { upgradeTask, other } = await waitingForConsent('Invited2');
      const pool = (await tenants()).availableUsers;
      expect((await call('DELETE', '/api/v1/invitations/Invited2')).status).toBe(204);
      const failed = await lookAgain('Invited2', upgradeTask.id);
      expect(failed.state).toBe('finish-failure');
      expect(failed.result).toContain('revoked');
      expect(await customer('Invited2')).toMatchObject({
        licenseType: 'hosted-essentials',
        licensedUsers: 0,
      });
      expect((await tenants()).availableUsers).toBe(pool);
      expect((await task(other.id)).state).toBe('queued');
    });

    it('a Delete while it waits ends the upgrade at its next look, and the removal runs', async () => {
      const { upgradeTask } = await waitingForConsent('Invited4');
      const removal = await call('DELETE', '/api/v1/customers/Invited4');
      expect(removal.status).toBe(202);
      const removeTaskId = removal.headers.get('location')?.split('/').at(-1) ?? '';
      await run(removeTaskId);
      expect((await task(removeTaskId)).state).toBe('queue-postponed');
      const failed = await lookAgain('Invited4', upgradeTask.id);
      expect(failed.state).toBe('finish-failure');
      expect(failed.result).toContain('Ready for remove');
      expect((await task(removeTaskId)).state).toBe('queued');
    });

    it('cancelling the upgrade lets the postponed tasks run', async () => {
      const { upgradeTask, other } = await waitingForConsent('Invited3');
      expect((await call('POST', `/api/v1/tasks/${upgradeTask.id}/cancel`)).status).toBe(200);
      expect((await task(other.id)).state).toBe('queued');
      await run(other.id);
      expect((await task(other.id)).state).toBe('finish-success');
      expect(await customer('Invited3')).toMatchObject({ licenseType: 'hosted-essentials' });
    });
  });

  describe('is refused, and nothing changes', () => {
    async function refused(id: string, json: unknown, status: number, code: string, field?: string) {
      const tasksBefore = await tasksOf(id).catch(() => []);
      const before = await call('GET', `/api/v1/customers/${id}`);
      const pool = (await tenants()).availableUsers;
      const response = await upgrade(id, json);
      expect(response.status, JSON.stringify(response.body)).toBe(status);
      expect(response.contentType).toBe('application/problem+json');
      expect(response.problem.code).toBe(code);
      if (field) expect(response.problem.errors?.map((e) => e.field)).toContain(field);
      expect((await call('GET', `/api/v1/customers/${id}`)).body).toEqual(before.body);
      expect((await tenants()).availableUsers).toBe(pool);
      if (before.status === 200) expect(await tasksOf(id)).toEqual(tasksBefore);
      return response;
    }

    it('for a customer that is not Hosted Essentials', async () => {
      const pro = await call('POST', '/api/v1/customers', {
        json: { fullName: 'Pro Ltd', shortName: 'ProAlready', licenseType: 'hosted-pro', licensedUsers: 1 },
      });
      expect(pro.status).toBe(201);
      await refused(
        'ProAlready',
        { licenseType: 'hosted-pro', licensedUsers: 2 },
        409,
        'customer_not_essentials',
      );
    });

    it('when the pool has too few user licenses', async () => {
      await essentials('Upgrade3');
      const available = (await tenants()).availableUsers;
      await refused(
        'Upgrade3',
        { licenseType: 'hosted-pro', licensedUsers: available + 1 },
        409,
        'user_licenses_exhausted',
      );
    });

    it.each([
      [
        'a License Type that is no upgrade',
        { licenseType: 'hosted-essentials', licensedUsers: 1 },
        'licenseType',
      ],
      ['no License Type', { licensedUsers: 1 }, 'licenseType'],
      ['no Licensed Users', { licenseType: 'hosted-pro' }, 'licensedUsers'],
      ['0 Licensed Users', { licenseType: 'hosted-pro', licensedUsers: 0 }, 'licensedUsers'],
      ['too many Licensed Users', { licenseType: 'hosted-pro', licensedUsers: 501 }, 'licensedUsers'],
      [
        'an unknown M365 Authentication',
        { licenseType: 'hosted-pro', licensedUsers: 1, m365Authentication: { method: 'password' } },
        'm365Authentication.method',
      ],
      [
        'an app registration without its secret',
        {
          licenseType: 'hosted-pro',
          licensedUsers: 1,
          m365Authentication: {
            method: 'app-registration',
            tenantId: '9c1e1b3a-6f0e-4a53-9d1f-2f4f2a1d7b10',
            clientId: 'f1b8f2f4-5d5a-4c9e-8a0b-3c2d1e0f9a8b',
          },
        },
        'm365Authentication.clientSecret',
      ],
      ['an unknown field', { licenseType: 'hosted-pro', licensedUsers: 1, tier: 'gold' }, ''],
    ])('with %s', async (_, json, field) => {
      await essentials('Upgrade4').catch(() => undefined);
      await refused('Upgrade4', json, 400, 'validation_failed', field || undefined);
    });

    it('without M365 Authentication for a customer whose tenant is not connected', async () => {
      await essentials('Upgrade5', false);
      await refused('Upgrade5', { licenseType: 'hosted-pro', licensedUsers: 1 }, 409, 'm365_not_connected');
    });

    it('while the customer is being removed', async () => {
      await essentials('Upgrade6');
      expect((await call('DELETE', '/api/v1/customers/Upgrade6')).status).toBe(202);
      await refused(
        'Upgrade6',
        { licenseType: 'hosted-pro', licensedUsers: 1 },
        409,
        'customer_being_removed',
      );
    });

    it('while another upgrade of the customer runs', async () => {
      await essentials('Upgrade7');
      const first = await upgrade('Upgrade7', { licenseType: 'hosted-pro', licensedUsers: 1 });
      expect(first.status).toBe(202);
      const second = await refused(
        'Upgrade7',
        { licenseType: 'hosted-essentials-plus', licensedUsers: 1 },
        409,
        'customer_upgrade_running',
      );
      expect(second.problem.task).toBe(`/api/v1/tasks/${(first.body as TaskBody).id}`);
    });

    it('for a customer that does not exist', async () => {
      const response = await upgrade('Nobody', { licenseType: 'hosted-pro', licensedUsers: 1 });
      expect(response.status).toBe(404);
    });
  });
});
