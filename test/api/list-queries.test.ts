import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newInvitationLink } from '../../shared/invitations/invitation.js';
import { createInvitationStore } from '../../shared/invitations/invitation-store.js';
import { newTaskId, type TaskRecord } from '../../shared/tasks/task-record.js';
import { createTaskStore } from '../../shared/tasks/task-store.js';
import { apiClient } from '../support/api-client.js';
import { type CountingTables, countingTables } from '../support/counting-tables.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';

/**
 * The provider's lists stay fast with thousands of customers: whatever the page size, a list request makes the same
 * small number of storage queries (no read per row). The Tenants list has its own, fuller test
 * (test/customers/customer-summary.test.ts).
 */
let stack: MemoryStack;
let counter: CountingTables;
let call: ReturnType<typeof apiClient>;

const ROWS = 110;
const id = (i: number) => `Row${String(i).padStart(3, '0')}`;

beforeAll(async () => {
  stack = await startMemoryStack({
    // No delivery of the seeded emails meanwhile: only the list's own queries are counted.
    deliverQueues: false,
    wrapTables: (tables) => {
      counter = countingTables(tables);
      return counter.tables;
    },
  });
  call = apiClient(stack.api, () => stack.token());
  const invitations = createInvitationStore(stack.tables);
  const tasks = createTaskStore(stack.tables);
  const { access, outbox } = stack.services;
  for (let i = 0; i < ROWS; i++) {
    await access.putChannel({ id: id(i), name: `Channel ${i}` });
    await access.grantChannel(id(i), `0000000${i % 10}-0000-0000-0000-000000000000`);
    const emailId = await outbox.enqueue({
      to: `admin${i}@example.com`,
      subject: 'Invitation',
      text: 'Hello',
      html: '<p>Hello</p>',
    });
    await invitations.create(
      {
        id: id(i),
        fullName: `Customer ${i}`,
        licenseType: 'hosted-pro',
        licensedUsers: 1,
        invitationEmail: `admin${i}@example.com`,
        m365AdminEmail: null,
        emailIds: [emailId],
        createdAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
        deviceAuthenticated: false,
        invitationType: 'invite',
        tenantInstalled: false,
        revokedAt: null,
        linkHash: newInvitationLink().linkHash,
      },
      null,
    );
    // A task for each of ten customers in turn, and as many again for one of them: both task lists page.
    await tasks.create(task(`Cust${i % 10}`, i));
    await tasks.create(task('Busy', i));
  }
}, 120_000);

function task(customerId: string, i: number): TaskRecord {
  const at = new Date(Date.UTC(2026, 0, 1, 0, 0, i));
  return {
    id: newTaskId(at),
    type: 'CreateCustomer',
    customerId,
    state: i % 2 === 0 ? 'finish-success' : 'queued',
    dryRun: false,
    input: { customerId },
    data: {},
    steps: [],
    currentStep: 0,
    attempts: 0,
    retries: i % 3,
    nextExecutionAt: i % 2 === 0 ? null : new Date(Date.now() + 3_600_000).toISOString(),
    leaseUntil: null,
    leaseHolder: null,
    leaseRun: null,
    retry: null,
    waiting: null,
    log: [{ at: at.toISOString(), line: 'A line of the log.' }],
    logDropped: 0,
    result: i % 2 === 0 ? 'Completed with 0 change(s).' : null,
    wasSuccessful: i % 2 === 0 ? true : null,
    changes: [],
    changesDropped: 0,
    createdAt: at.toISOString(),
    updatedAt: at.toISOString(),
    executedAt: i % 2 === 0 ? at.toISOString() : null,
    finishedAt: i % 2 === 0 ? at.toISOString() : null,
    idempotencyKey: null,
  };
}
afterAll(() => stack?.close());

describe('A page of 100 costs the storage queries of a page of 10', () => {
  it.each([
    ['Channels', '/api/v1/channels'],
    ['Customer Invitations', '/api/v1/invitations'],
    ['Authentication Status', '/api/v1/authentication-status'],
    ['Queued Tasks', '/api/v1/tasks'],
    ['Queued Tasks in one State', '/api/v1/tasks?state=queued'],
    ["A customer's tasks", '/api/v1/customers/Busy/tasks'],
  ])('%s', async (_, path) => {
    const sep = path.includes('?') ? '&' : '?';
    const small = await counter.count(async () =>
      expect((await call('GET', `${path}${sep}top=10`)).status).toBe(200),
    );
    let body: { value: unknown[] } | undefined;
    const large = await counter.count(async () => {
      const response = await call('GET', `${path}${sep}top=100`);
      expect(response.status).toBe(200);
      body = response.body as { value: unknown[] };
    });
    if (path !== '/api/v1/authentication-status') expect(body?.value).toHaveLength(100);
    expect(large.length).toBe(small.length);
    expect(large.length).toBeLessThanOrEqual(4);
  });

  it('shows each invitation with its email delivery, read with the others', async () => {
    const response = await call('GET', '/api/v1/invitations?top=3');
    const value = (response.body as { value: { id: string; emailSent: boolean }[] }).value;
    expect(value.map((v) => [v.id, v.emailSent])).toEqual([
      [id(0), false],
      [id(1), false],
      [id(2), false],
    ]);
  });

  it('shows each channel with its admins, read with the others', async () => {
    const response = await call('GET', '/api/v1/channels?top=2');
    const value = (response.body as { value: { id: string; admins: string[] }[] }).value;
    expect(value).toEqual([
      { id: id(0), name: 'Channel 0', admins: ['00000000-0000-0000-0000-000000000000'] },
      { id: id(1), name: 'Channel 1', admins: ['00000001-0000-0000-0000-000000000000'] },
    ]);
  });

  it("shows each task's Queued Tasks columns from the index's copy", async () => {
    const response = await call('GET', '/api/v1/tasks?top=2');
    const value = (response.body as { value: Record<string, unknown>[] }).value;
    // Created in the same second: newest first, then by the ids' random part.
    expect(value.map((t) => [t.customerId, t.state, t.retries, t.result]).sort()).toEqual([
      ['Busy', 'queued', 109 % 3, null],
      ['Cust9', 'queued', 109 % 3, null],
    ]);
    expect(value[0]?.nextExecutionMinutes).toBe(60);
    expect(value[0]).not.toHaveProperty('log');
  });
});
