import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isFinal, type TaskRecord } from '../../shared/tasks/task-record.js';
import { PermanentTaskError, TransientTaskError } from '../../shared/tasks/task-definition.js';
import { withHeldChanges } from '../../shared/users/held-changes.js';
import { createUserChangeExecution } from '../../shared/users/user-change-execution.js';
import { userEtag } from '../../shared/users/user-change-service.js';
import { createUserChangeStore } from '../../shared/users/user-change-store.js';
import { apiClient } from '../support/api-client.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';
import { mirrorUser } from '../support/mirror-user.js';
import { recordingApplier, simpleNumberGuard } from '../support/user-change-twins.js';

const PRO = 'ChangeCo';
const ESSENTIALS = 'EssCo';
const ALICE = '33333333-3333-4333-8333-333333333333';
const BOB = '66666666-6666-4666-8666-666666666666';
const ADMIN = '77777777-7777-4777-8777-777777777777';
const USERS = `/api/v1/customers/${PRO}/users`;

const applier = recordingApplier();
let stack: MemoryStack;
let call: ReturnType<typeof apiClient>;
let alice = mirrorUser({ id: ALICE, userPrincipalName: 'alice@changeco.example' });

type Queued = {
  task: TaskRecord;
  pendingChanges: Array<{ change: { field: string }; queuedChange: string }>;
};

beforeAll(async () => {
  stack = await startMemoryStack({
    deliverQueues: false,
    overrides: {
      userChangeApplier: applier,
      numberGuard: simpleNumberGuard({
        held: { 'tel:+441130000001': BOB },
        reserved: ['tel:+441130000002'],
        range: { id: 'leeds', from: 441130000000, to: 441130000099 },
      }),
      userChangeDebounceMs: 60_000,
      taskTiming: { backoffMs: 1, maxBackoffMs: 1 },
    },
  });
  const token = await stack.token({ subject: ADMIN });
  call = apiClient(stack.api, async () => token);
  for (const [shortName, licenseType] of [
    [PRO, 'hosted-pro'],
    [ESSENTIALS, 'hosted-essentials'],
  ] as const) {
    const created = await call('POST', '/api/v1/customers', {
      json: {
        fullName: `${shortName} Ltd`,
        shortName,
        licenseType,
        ...(licenseType === 'hosted-pro' ? { licensedUsers: 10 } : {}),
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  }
  await stack.services.mirror.putVoiceObjects(
    PRO,
    [
      {
        policyName: 'OnlineVoiceRoutingPolicy',
        identity: 'Tag:Unrestricted',
        data: { Identity: 'Tag:Unrestricted' },
      },
    ],
    [],
    'test',
  );
}, 60_000);
afterAll(async () => stack?.close());

beforeEach(async () => {
  // Each test starts from Alice without a number and no change of hers pending.
  for (const task of (await stack.services.taskEngine.list({ customerId: PRO, top: 100 })).tasks) {
    if (!isFinal(task.state)) await stack.services.taskEngine.cancel(task.id, 'test');
  }
  await createUserChangeStore(stack.tables).updatePendingTasks(PRO, ALICE, () => []);
  alice = mirrorUser({ id: ALICE, userPrincipalName: 'alice@changeco.example' });
  await stack.services.mirror.putUsers(PRO, [alice], 'test');
});

/** Runs the customer's queued tasks now, as Process All does, until none is left to run. */
async function runQueued(): Promise<void> {
  const engine = stack.services.taskEngine;
  await engine.processAll(PRO);
  for (const task of (await engine.list({ customerId: PRO, top: 100 })).tasks) {
    if (task.state === 'queued') await engine.process(task.id);
  }
}

const userNow = async () => stack.services.mirror.getUser(PRO, ALICE);
const activeTasks = async () =>
  (await stack.services.taskEngine.list({ customerId: PRO, top: 100 })).tasks.filter(
    (t) => !isFinal(t.state),
  );

describe('changing a user', () => {
  it('queues changes to one user within the window as one Office365 task, later values winning', async () => {
    const first = await call('PATCH', `${USERS}/${ALICE}`, {
      json: { lineUri: '+441130000010', policies: { 'voice-routing': 'Unrestricted' } },
    });
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    const task = (first.body as Queued).task;
    expect(first.headers.get('location')).toBe(`/api/v1/tasks/${task.id}`);
    expect(task.type).toBe('Office365');

    const second = await call('PATCH', `${USERS}/${ALICE}`, {
      json: { lineUri: 'tel:+441130000011;ext=7', enterpriseVoiceEnabled: true },
    });
    expect(second.status, JSON.stringify(second.body)).toBe(202);
    const joined = second.body as Queued;
    expect(joined.task.id).toBe(task.id);
    expect(joined.pendingChanges.map((p) => p.change)).toEqual([
      { field: 'policy', policyType: 'voice-routing', value: 'Unrestricted' },
      { field: 'enterprise-voice', value: true },
      { field: 'line-uri', value: 'tel:+441130000011;ext=7' },
    ]);
    expect(joined.pendingChanges[0]?.queuedChange).toContain('Grant-CsOnlineVoiceRoutingPolicy');

    const listed = await call('GET', `/api/v1/customers/${PRO}/tasks`);
    const rows = (listed.body as { value: Array<{ id: string; type: string }> }).value;
    expect(rows.filter((r) => r.id === task.id).map((r) => r.type)).toEqual(['Office365']);
    // The row opens the task, whose input shows each change's PowerShell (the manual's Queued Change).
    const opened = await call('GET', `/api/v1/tasks/${task.id}`);
    expect((opened.body as { input: { queuedChanges: string[] } }).input.queuedChanges).toHaveLength(3);

    const pending = await call('GET', `${USERS}/${ALICE}/pending-changes`);
    expect((pending.body as { value: unknown[] }).value).toHaveLength(3);
  });

  it('refuses a stale If-Match with 412 and queues nothing; the current one is accepted', async () => {
    const seen = userEtag(alice);
    await stack.services.mirror.putUsers(PRO, [{ ...alice, department: 'Sales' }], 'cycle');
    const stale = await call('PATCH', `${USERS}/${ALICE}`, {
      json: { enterpriseVoiceEnabled: true },
      headers: { 'if-match': seen },
    });
    expect(stale.status).toBe(412);
    expect(await activeTasks()).toHaveLength(0);
    const current = userEtag((await userNow()) ?? alice);
    const fresh = await call('PATCH', `${USERS}/${ALICE}`, {
      json: { enterpriseVoiceEnabled: true },
      headers: { 'if-match': current },
    });
    expect(fresh.status, JSON.stringify(fresh.body)).toBe(202);
  });

  it.each([
    ['a malformed number', { lineUri: '++97' }, 400, 'validation_failed'],
    ['an unknown country', { usageLocation: 'XX' }, 400, 'validation_failed'],
    ['no change at all', {}, 400, 'validation_failed'],
    ['an unknown policy type', { policies: { fax: 'x' } }, 400, 'validation_failed'],
    ['a number of another user', { lineUri: '+441130000001' }, 409, 'number_in_use'],
    ['a reserved number', { lineUri: '+441130000002' }, 409, 'number_reserved'],
    ['a number outside every range', { lineUri: '+15550000000' }, 409, 'number_outside_ranges'],
    [
      'a policy that does not exist',
      { policies: { 'voice-routing': 'Nowhere' } },
      409,
      'user_policy_unknown',
    ],
  ])('refuses %s and queues nothing', async (_, json, status, code) => {
    const response = await call('PATCH', `${USERS}/${ALICE}`, { json });
    expect(response.status, JSON.stringify(response.body)).toBe(status);
    expect((response.body as { code: string }).code).toBe(code);
    expect(await activeTasks()).toHaveLength(0);
  });

  it('refuses users of a Hosted Essentials customer', async () => {
    const response = await call('PATCH', `/api/v1/customers/${ESSENTIALS}/users/${ALICE}`, {
      json: { enterpriseVoiceEnabled: true },
    });
    expect(response.status).toBe(409);
    expect((response.body as { code: string }).code).toBe('no_m365_for_essentials');
  });

  it('applies the task: the mirror shows the new values at once and the audit old → new', async () => {
    const queued = await call('POST', `${USERS}/${ALICE}/assign-number`, { json: { rangeId: 'leeds' } });
    expect(queued.status, JSON.stringify(queued.body)).toBe(202);
    const taskId = (queued.body as Queued).task.id;
    await runQueued();
    expect((await stack.services.taskEngine.get(taskId))?.state).toBe('finish-success');
    const user = await userNow();
    expect(user?.lineUri).toBe('tel:+441130000000');
    expect(user?.enterpriseVoiceEnabled).toBe(true);
    expect((await call('GET', `${USERS}/${ALICE}/pending-changes`)).body).toEqual({ value: [] });

    const audit = await call('GET', `${USERS}/${ALICE}/audit?top=1`);
    const [entry] = (audit.body as { value: Array<Record<string, unknown>> }).value;
    expect(entry).toMatchObject({
      taskId,
      status: 'processed',
      initiatedBy: ADMIN,
      userPrincipalName: 'alice@changeco.example',
      fields: [
        { fieldName: 'EnterpriseVoiceEnabled', oldValue: false, newValue: true, state: 'applied' },
        { fieldName: 'OnPremLineUri', oldValue: null, newValue: 'tel:+441130000000', state: 'applied' },
      ],
    });
    const customerAudit = await call('GET', `/api/v1/customers/${PRO}/audit/user-changes`);
    expect((customerAudit.body as { value: Array<{ id: string }> }).value.map((e) => e.id)).toContain(
      entry?.id,
    );
  });

  it("shows the queued changes in the user's details, then the applied ones in its latest audit entries", async () => {
    type Details = {
      telephony: { lineUri: string | null };
      pendingChanges: Array<{ taskId: string; change: unknown; queuedChange: string }>;
      audit: {
        value: Array<{ id: string; taskId: string; fields: Array<{ oldValue: unknown; newValue: unknown }> }>;
        link: string;
        nextLink: string | null;
      };
    };
    const details = async () => {
      const response = await call('GET', `${USERS}/${ALICE}`);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      return response.body as Details;
    };
    const queued = await call('PATCH', `${USERS}/${ALICE}`, { json: { lineUri: '+441130000070' } });
    const taskId = (queued.body as Queued).task.id;
    const waiting = await details();
    // As the pending-changes route lists them; the telephony is still what the tenant has.
    expect(waiting.pendingChanges).toEqual(
      ((await call('GET', `${USERS}/${ALICE}/pending-changes`)).body as { value: unknown[] }).value,
    );
    expect(waiting.pendingChanges).toMatchObject([
      { taskId, change: { field: 'line-uri', value: 'tel:+441130000070' } },
    ]);
    expect(waiting.telephony.lineUri).toBeNull();

    await runQueued();
    const applied = await details();
    expect(applied.pendingChanges).toEqual([]);
    expect(applied.telephony.lineUri).toBe('tel:+441130000070');
    expect(applied.audit.value[0]).toMatchObject({
      taskId,
      fields: [{ oldValue: null, newValue: 'tel:+441130000070' }],
    });
    // A few entries, newest first; the link pages the whole audit, the same entries first.
    expect(applied.audit.value.length).toBeLessThanOrEqual(5);
    expect(applied.audit.link).toBe(`${USERS}/${ALICE}/audit`);
    const paged = (await call('GET', `${applied.audit.link}?top=5`)).body as {
      value: Array<{ id: string }>;
      nextLink: string | null;
    };
    expect(paged.value.map((e) => e.id)).toEqual(applied.audit.value.map((e) => e.id));
    expect(applied.audit.nextLink).toBe(paged.nextLink);
  });

  it('after a failure mid-task, the retry sends only the changes not yet applied, and audits each once', async () => {
    const before = applier.calls.length;
    applier.failNext(new TransientTaskError('Teams answered 429'), (change) => change.field === 'line-uri');
    const queued = await call('PATCH', `${USERS}/${ALICE}`, {
      json: { enterpriseVoiceEnabled: true, lineUri: '+441130000020' },
    });
    const taskId = (queued.body as Queued).task.id;
    await runQueued();
    const retrying = await stack.services.taskEngine.get(taskId);
    expect(retrying?.state).toBe('queued');
    // A task that has started takes no more changes: the next one is a task of its own.
    const later = await call('PATCH', `${USERS}/${ALICE}`, { json: { usageLocation: 'DE' } });
    expect((later.body as Queued).task.id).not.toBe(taskId);
    await runQueued();
    expect((await stack.services.taskEngine.get(taskId))?.state).toBe('finish-success');
    expect(applier.calls.slice(before).map((c) => c.change.field)).toEqual(['enterprise-voice', 'line-uri']);
    const entries = (await call('GET', `${USERS}/${ALICE}/audit`)).body as {
      value: Array<{ taskId: string; fields: unknown[] }>;
    };
    const mine = entries.value.filter((e) => e.taskId === taskId);
    expect(mine).toHaveLength(1);
    expect(mine[0]?.fields).toHaveLength(2);
  });

  it('a refusal fails the task and its entry with the reason; a re-run applies what was left', async () => {
    applier.failNext(
      new PermanentTaskError('The number is not in a Direct Routing range of the tenant.'),
      (change) => change.field === 'line-uri',
    );
    const queued = await call('PATCH', `${USERS}/${ALICE}`, {
      json: { enterpriseVoiceEnabled: true, lineUri: '+441130000060' },
    });
    const taskId = (queued.body as Queued).task.id;
    await runQueued();
    const failed = await stack.services.taskEngine.get(taskId);
    expect(failed?.state).toBe('finish-failure');
    expect(failed?.result).toContain('Direct Routing range');
    const audit = async () =>
      (
        (await call('GET', `${USERS}/${ALICE}/audit`)).body as {
          value: Array<{
            taskId: string;
            status: string;
            error: string | null;
            fields: Array<{ state: string }>;
          }>;
        }
      ).value.find((e) => e.taskId === taskId);
    expect(await audit()).toMatchObject({
      status: 'failed',
      error: 'The number is not in a Direct Routing range of the tenant.',
      fields: [{ state: 'applied' }, { state: 'failed' }],
    });
    expect((await userNow())?.enterpriseVoiceEnabled).toBe(true);
    expect((await userNow())?.lineUri).toBeNull();

    await stack.services.taskEngine.rerun(taskId);
    await stack.services.taskEngine.process(taskId);
    expect((await stack.services.taskEngine.get(taskId))?.state).toBe('finish-success');
    expect(await audit()).toMatchObject({
      status: 'processed',
      fields: [{ state: 'applied' }, { state: 'applied' }],
    });
    expect((await userNow())?.lineUri).toBe('tel:+441130000060');
  });

  it('a step run again after a crash sends and audits nothing twice', async () => {
    const execution = createUserChangeExecution({
      mirror: stack.services.mirror,
      store: createUserChangeStore(stack.tables),
      applier,
      numbers: stack.services.numberGuard,
      customers: stack.services.customers,
    });
    const run = {
      customerId: PRO,
      userId: ALICE,
      changes: [{ field: 'line-uri', value: 'tel:+441130000050' } as const],
      initiatedBy: ADMIN,
      taskId: '01KCRASH0000000000000000AA',
    };
    const before = applier.calls.length;
    await execution.applyToUser(run);
    await execution.applyToUser(run);
    expect(applier.calls.length - before).toBe(1);
    const entries = (
      (await call('GET', `${USERS}/${ALICE}/audit`)).body as { value: Array<{ taskId: string }> }
    ).value;
    expect(entries.filter((e) => e.taskId === run.taskId)).toHaveLength(1);
    expect((await userNow())?.lineUri).toBe('tel:+441130000050');
  });

  it('a run that stopped after the change was applied but before the mirror showed it shows it when run again', async () => {
    const store = createUserChangeStore(stack.tables);
    const mirror = stack.services.mirror;
    const run = {
      customerId: PRO,
      userId: ALICE,
      changes: [{ field: 'line-uri', value: 'tel:+441130000070' } as const],
      initiatedBy: ADMIN,
      taskId: '01KCRASH0000000000000000AB',
    };
    // The host dies right after the audit entry recorded the change as applied: the mirror write never happens.
    const crashing = createUserChangeExecution({
      mirror: {
        ...mirror,
        updateUsers: async () => {
          throw new TransientTaskError('The host stopped.');
        },
      },
      store,
      applier,
      numbers: stack.services.numberGuard,
      customers: stack.services.customers,
    });
    await expect(crashing.applyToUser(run)).rejects.toThrow('The host stopped.');
    expect((await userNow())?.lineUri).not.toBe('tel:+441130000070');
    const before = applier.calls.length;
    const execution = createUserChangeExecution({
      mirror,
      store,
      applier,
      numbers: stack.services.numberGuard,
      customers: stack.services.customers,
    });
    await execution.applyToUser(run);
    expect(applier.calls.length).toBe(before);
    expect((await userNow())?.lineUri).toBe('tel:+441130000070');
  });

  it('rolls back a field to its old value, audited too; refuses a field that moved since', async () => {
    await call('PATCH', `${USERS}/${ALICE}`, { json: { lineUri: '+441130000030', usageLocation: 'it' } });
    await runQueued();
    const [entry] = (
      (await call('GET', `${USERS}/${ALICE}/audit?top=1`)).body as { value: Array<{ id: string }> }
    ).value;
    const rollback = await call('POST', `/api/v1/customers/${PRO}/audit/${entry?.id}/rollback`, {
      json: { fields: ['line-uri'] },
    });
    expect(rollback.status, JSON.stringify(rollback.body)).toBe(202);
    await runQueued();
    const user = await userNow();
    expect(user?.lineUri).toBeNull();
    expect(user?.usageLocation).toBe('IT');
    const [rolledBack] = (
      (await call('GET', `${USERS}/${ALICE}/audit?top=1`)).body as {
        value: Array<{ rollbackOf: string; fields: Array<{ oldValue: unknown; newValue: unknown }> }>;
      }
    ).value;
    expect(rolledBack?.rollbackOf).toBe(entry?.id);
    expect(rolledBack?.fields).toEqual([
      expect.objectContaining({ oldValue: 'tel:+441130000030', newValue: null }),
    ]);

    // The usage location moves in Teams meanwhile: rolling it back now would overwrite that.
    await stack.services.mirror.putUsers(PRO, [{ ...(user ?? alice), usageLocation: 'FR' }], 'cycle');
    const moved = await call('POST', `/api/v1/customers/${PRO}/audit/${entry?.id}/rollback`, {
      json: { fields: ['usage-location'] },
    });
    expect(moved.status).toBe(409);
    expect((moved.body as { code: string }).code).toBe('audit_field_moved');
    expect(await activeTasks()).toHaveLength(0);
  });

  it('keeps a just-applied value over a replication cycle that read Teams before it landed', async () => {
    await call('PATCH', `${USERS}/${ALICE}`, { json: { lineUri: '+441130000040' } });
    await runQueued();
    const replicated = withHeldChanges(stack.services.mirror, createUserChangeStore(stack.tables));
    await replicated.putUsers(PRO, [{ ...alice, department: 'Finance' }], 'cycle');
    const user = await userNow();
    expect(user?.lineUri).toBe('tel:+441130000040');
    expect(user?.department).toBe('Finance');

    // Once the hold has ended, Teams is the truth again (a change made there since shows).
    const later = new Date(Date.now() + 16 * 60_000);
    const afterHold = withHeldChanges(
      stack.services.mirror,
      createUserChangeStore(stack.tables),
      () => later,
    );
    await afterHold.putUsers(PRO, [{ ...alice, lineUri: 'tel:+441130000041' }], 'cycle');
    expect((await userNow())?.lineUri).toBe('tel:+441130000041');
  });
});
