import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../dev/sandbox/index.js';
import { settled } from '../onboarding/onboarding-fixture.js';
import { apiClient, type ApiResponse } from '../support/api-client.js';
import { type MemoryStackWithPeers, startMemoryStackWithPeers } from '../support/memory-stack.js';
import { buildDeployedCustomer } from '../support/onboarded-world.js';

/**
 * Issue 11's first acceptance, end to end: the product's API in process, Contoso's tenant in the HTTPS sandbox,
 * the real applier and the real number inventory. A replicated user gets the next free number of a range, the
 * Office365 task applies it in Teams, the details and the audit show it, and a rollback takes it away again.
 */
const CUSTOMER = 'DayTwoCo';
const BASE = `/api/v1/customers/${CUSTOMER}`;
const CONTOSO = DEMO.customers.contoso;
const [DIRECT_ROUTING] = DEMO.directRoutingNumbers.contoso;

type Call = ReturnType<typeof apiClient>;
let stack: MemoryStackWithPeers;
let call: Call;

interface UserRow {
  readonly id: string;
  readonly userPrincipalName: string;
}
interface Details {
  readonly telephony: { lineUri: string | null; numberType: string | null; enterpriseVoiceEnabled: boolean };
  readonly pendingChanges: unknown[];
  readonly audit: {
    value: Array<{
      id: string;
      status: string;
      rollbackOf: string | null;
      fields: Array<{ field: string; oldValue: unknown; newValue: unknown; state: string }>;
    }>;
  };
}
interface Queued {
  readonly task: { id: string; type: string };
}

const ok = async (response: Promise<ApiResponse>, status = 200): Promise<ApiResponse> => {
  const answered = await response;
  expect(answered.status, JSON.stringify(answered.body)).toBe(status);
  return answered;
};
const details = async (userId: string) => (await ok(call('GET', `${BASE}/users/${userId}`))).body as Details;
/** What Teams holds for the user now: its numbers, after the operations due by now. */
const teamsNumbers = (userId: string) =>
  stack.sandbox.teams.voice.user(CONTOSO.tenantId, userId)?.numbers.map((n) => n.telephoneNumber) ?? [];
/** The customer's Queued Tasks, every row with its state. */
const queuedTasks = async () =>
  ((await ok(call('GET', `${BASE}/tasks?top=500`))).body as { value: Array<{ id: string; state: string }> })
    .value;

let rangeId: string;
let alice: UserRow;
let bob: UserRow;

beforeAll(async () => {
  stack = await startMemoryStackWithPeers({
    // A hundredth of Teams' real pace (number operations in 30 ms, grants shown after 300 ms), and a short
    // debounce: the whole journey runs in seconds.
    sandbox: { timeScale: 0.01 },
    overrides: { userChangeDebounceMs: 200 },
  });
  const token = await stack.token();
  call = apiClient(stack.api, async () => token);
  await buildDeployedCustomer(stack, call, token, CUSTOMER);

  const range = await ok(
    call('POST', `${BASE}/number-ranges`, {
      json: {
        name: 'Contoso Direct Routing',
        start: DIRECT_ROUTING?.from,
        end: DIRECT_ROUTING?.to,
        siteName: CUSTOMER,
        description: "Contoso's Direct Routing numbers",
      },
    }),
    201,
  );
  rangeId = (range.body as { id: string }).id;
  // Two licensed users (Phone System comes with their E5) without a number, as replication mirrored them.
  const users = (
    (await ok(call('GET', `${BASE}/users?licensed=true&hasNumber=false&sort=user-principal-name&top=2`)))
      .body as {
      value: UserRow[];
    }
  ).value;
  expect(users).toHaveLength(2);
  [alice, bob] = users as [UserRow, UserRow];
}, 120_000);
afterAll(async () => stack?.close());

describe('day two end to end, against the sandbox', () => {
  it('assigns the next free number, shows it everywhere, audits it, and rolls it back', async () => {
    expect(teamsNumbers(alice.id)).toEqual([]);
    const free = await ok(call('GET', `${BASE}/number-ranges/${rangeId}/next-free-number`));
    const next = (free.body as { lineUri: string }).lineUri;
    expect(next).toBe(`tel:${DIRECT_ROUTING?.from}`);

    const assigned = await ok(
      call('POST', `${BASE}/users/${alice.id}/assign-number`, { json: { rangeId } }),
      202,
    );
    const { task } = assigned.body as Queued;
    expect(task.type).toBe('Office365');
    expect((await details(alice.id)).pendingChanges).not.toEqual([]);

    const finished = await settled(call, assigned.headers.get('location') ?? '');
    expect(finished.state, JSON.stringify(finished.log)).toBe('finish-success');
    expect(teamsNumbers(alice.id)).toEqual([DIRECT_ROUTING?.from]);
    expect(stack.sandbox.teams.voice.user(CONTOSO.tenantId, alice.id)?.enterpriseVoiceEnabled).toBe(true);

    const after = await details(alice.id);
    expect(after.telephony).toMatchObject({
      lineUri: next,
      numberType: 'direct-routing',
      enterpriseVoiceEnabled: true,
    });
    expect(after.pendingChanges).toEqual([]);
    const [entry] = after.audit.value;
    expect(entry).toMatchObject({ status: 'processed', rollbackOf: null });
    expect(entry?.fields.find((f) => f.field === 'line-uri')).toMatchObject({
      oldValue: null,
      newValue: next,
      state: 'applied',
    });
    // The range's next free number has moved on.
    const moved = await ok(call('GET', `${BASE}/number-ranges/${rangeId}/next-free-number`));
    expect((moved.body as { lineUri: string }).lineUri).not.toBe(next);

    const rollback = await ok(
      call('POST', `${BASE}/audit/${entry?.id}/rollback`, { json: { fields: ['line-uri'] } }),
      202,
    );
    const rolledBack = await settled(call, rollback.headers.get('location') ?? '');
    expect(rolledBack.state, JSON.stringify(rolledBack.log)).toBe('finish-success');
    expect(teamsNumbers(alice.id)).toEqual([]);

    const back = await details(alice.id);
    expect(back.telephony).toMatchObject({ lineUri: null, numberType: null });
    expect(back.pendingChanges).toEqual([]);
    expect(back.audit.value[0]).toMatchObject({
      status: 'processed',
      rollbackOf: entry?.id,
      fields: [{ field: 'line-uri', oldValue: next, newValue: null, state: 'applied' }],
    });
    expect(back.audit.value[1]?.id).toBe(entry?.id);
  }, 60_000);

  it('gives two users assigned within the debounce window two numbers, not the one still pending', async () => {
    const first = await ok(
      call('POST', `${BASE}/users/${alice.id}/assign-number`, { json: { rangeId } }),
      202,
    );
    const second = await ok(
      call('POST', `${BASE}/users/${bob.id}/assign-number`, { json: { rangeId } }),
      202,
    );
    const [mine, theirs] = [first, second].map(
      (r) =>
        (r.body as { pendingChanges: Array<{ change: { field: string; value: unknown } }> }).pendingChanges,
    );
    const numberOf = (pending: typeof mine) =>
      pending?.find((p) => p.change.field === 'line-uri')?.change.value;
    expect(numberOf(theirs)).not.toBe(numberOf(mine));
    // A number pending for one user is in use for another.
    const taken = await call('PATCH', `${BASE}/users/${bob.id}`, { json: { lineUri: numberOf(mine) } });
    expect(taken.status).toBe(409);
    expect(taken.problem.code).toBe('number_in_use');
    for (const queued of [first, second]) {
      const task = await settled(call, queued.headers.get('location') ?? '');
      expect(task.state, JSON.stringify(task.log)).toBe('finish-success');
    }
    expect(teamsNumbers(alice.id)).toEqual([String(numberOf(mine)).replace('tel:', '')]);
    expect(teamsNumbers(bob.id)).toEqual([String(numberOf(theirs)).replace('tel:', '')]);
    // Both back to no number, for what follows.
    for (const user of [alice, bob]) {
      const removed = await ok(call('POST', `${BASE}/users/${user.id}/unassign-number`), 202);
      expect((await settled(call, removed.headers.get('location') ?? '')).state).toBe('finish-success');
    }
  }, 60_000);

  it('frees a queued number again when its change is cancelled', async () => {
    const nextFree = async () =>
      (
        (await ok(call('GET', `${BASE}/number-ranges/${rangeId}/next-free-number`))).body as {
          lineUri: string;
        }
      ).lineUri;
    const free = await nextFree();
    const queued = await ok(
      call('POST', `${BASE}/users/${bob.id}/assign-number`, { json: { rangeId } }),
      202,
    );
    expect(await nextFree()).not.toBe(free);
    await ok(call('POST', `/api/v1/tasks/${(queued.body as Queued).task.id}/cancel`));
    expect(await nextFree()).toBe(free);
    expect((await details(bob.id)).pendingChanges).toEqual([]);
  }, 60_000);

  it('refuses a number in use, reserved or outside every range with 409s, and queues nothing', async () => {
    const held = `${DIRECT_ROUTING?.from.slice(0, -1)}1`;
    const assigned = await ok(
      call('POST', `${BASE}/users/${alice.id}/assign-number`, { json: { lineUri: held } }),
      202,
    );
    expect((await settled(call, assigned.headers.get('location') ?? '')).state).toBe('finish-success');
    const reserved = `${DIRECT_ROUTING?.from.slice(0, -1)}2`;
    await ok(
      call('POST', `${BASE}/reserved-numbers`, { json: { lineUri: reserved, reason: 'Reception desk' } }),
      201,
    );
    // Past the last Direct Routing number of the tenant: in no range of the customer.
    const outside = `+${BigInt(DIRECT_ROUTING?.to ?? '0') + 1n}`;

    const before = await queuedTasks();
    for (const [lineUri, code] of [
      [held, 'number_in_use'],
      [reserved, 'number_reserved'],
      [outside, 'number_outside_ranges'],
    ] as const) {
      const refused = await call('POST', `${BASE}/users/${bob.id}/assign-number`, { json: { lineUri } });
      expect(refused.status, `${lineUri}: ${JSON.stringify(refused.body)}`).toBe(409);
      expect(refused.problem.code).toBe(code);
      const patched = await call('PATCH', `${BASE}/users/${bob.id}`, { json: { lineUri } });
      expect(patched.status).toBe(409);
      expect(patched.problem.code).toBe(code);
    }
    expect(await queuedTasks()).toEqual(before);
    expect((await details(bob.id)).pendingChanges).toEqual([]);
    expect(teamsNumbers(bob.id)).toEqual([]);
  }, 60_000);
});
