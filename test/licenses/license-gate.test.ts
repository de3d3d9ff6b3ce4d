import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CUSTOMER_LICENSE_EXHAUSTED_ALARM,
  CUSTOMER_LICENSE_GRACE_ALARM,
} from '../../shared/alarms/alarm-kinds.js';
import { createLicenseGate, GRACE_PERIOD_DAYS } from '../../shared/licenses/license-gate.js';
import { createLifecycleStore } from '../../shared/lifecycle/lifecycle-store.js';
import { waitFor } from '../consent/consent-fixture.js';
import { type ApiResponse, apiClient } from '../support/api-client.js';
import { type FakeUserChanges, fakeUserChanges } from '../support/fake-user-changes.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';
import { mirrorUser } from '../support/mirror-user.js';

/**
 * Issue 12 item 5: provisioning stops at the customer's Licensed Users plus the Grace Interval, per user, with the
 * manual's "no more available licenses" and an alarm; raising Licensed Users lets the next pass provision them.
 */

let stack: MemoryStack;
let call: ReturnType<typeof apiClient>;
let fake: FakeUserChanges;

const CUSTOMER = 'GateCo';
const GRACE_CUSTOMER = 'GraceCo';
const EDIT_CUSTOMER = 'EditCo';
const LIFECYCLE_CUSTOMER = 'JoinCo';
const idOf = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const upnOf = (i: number) => `user${i}@gate.example`;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);

const ok = async (response: Promise<ApiResponse>, status = 200) => {
  const answered = await response;
  expect(answered.status, JSON.stringify(answered.body)).toBe(status);
  return answered;
};

interface DryRun {
  rowsTotal: number;
  changes: Array<{ userPrincipalName: string }>;
  errors: Array<{ row: number; column: string | null; code: string; message: string }>;
}

const activeAlarms = async (customerId: string) =>
  (await stack.services.alarms.list({ activeOnly: true })).filter(
    (a) => a.source === `customer:${customerId}`,
  );

/** Users 0..n-1 of the customer, with `marked` of them already given a template (licensed By Template). */
async function seed(customerId: string, licensedUsers: number, users: number, marked: number) {
  await ok(
    call('POST', '/api/v1/customers', {
      json: {
        fullName: `${customerId} Ltd`,
        shortName: customerId,
        licenseType: 'hosted-pro',
        licensedUsers,
      },
    }),
    201,
  );
  await stack.services.mirror.putUsers(
    customerId,
    range(0, users - 1).map((i) => mirrorUser({ id: idOf(i), userPrincipalName: upnOf(i) })),
    'seed',
  );
  await stack.services.mirror.updateUsers(
    customerId,
    range(0, marked - 1).map((i) => ({ id: idOf(i), template: '99' })),
    'seed',
  );
}

/** A template that gives Enterprise Voice and nothing else: what takes a license By Template. */
async function voiceTemplate(customerId: string): Promise<number> {
  const created = await ok(
    call('POST', `/api/v1/customers/${customerId}/user-templates`, {
      json: {
        name: 'Voice',
        enterpriseVoice: 'enable',
        assignNumberFrom: null,
        numberRangeId: null,
        policies: [],
      },
    }),
    201,
  );
  return (created.body as { id: number }).id;
}

beforeAll(async () => {
  fake = fakeUserChanges();
  stack = await startMemoryStack({ overrides: { userChangeExecution: fake } });
  fake.mirror = stack.services.mirror;
  const token = await stack.token();
  call = apiClient(stack.api, async () => token);
  // Licensed Users 10 and the default Grace Interval of 10 %: 11 licenses; 9 users licensed already.
  await seed(CUSTOMER, 10, 13, 9);
  await seed(GRACE_CUSTOMER, 10, 14, 10);
  // Licensed Users 1: 10 % of it is no grace license at all.
  await seed(EDIT_CUSTOMER, 1, 2, 1);
  await seed(LIFECYCLE_CUSTOMER, 2, 3, 0);
}, 60_000);
afterAll(async () => stack?.close());

describe('Apply Template within the Licensed Users', () => {
  const TEMPLATES = `/api/v1/customers/${CUSTOMER}/user-templates`;
  let template: number;
  const users = (indexes: number[]) => ({ users: indexes.map((i) => ({ userId: idOf(i) })) });
  const apply = async (indexes: number[]) => {
    const started = await ok(call('POST', `${TEMPLATES}/${template}/apply`, { json: users(indexes) }), 202);
    const location = started.headers.get('location') ?? '';
    return waitFor('the template import', async () => {
      const view = (await call('GET', location)).body as {
        state: string;
        rowsApplied: number;
        rowsFailed: number;
      };
      return view.state === 'completed' ? view : undefined;
    });
  };
  const templateOf = async (i: number) =>
    (await stack.services.mirror.getUserVersion(CUSTOMER, idOf(i)))?.template ?? null;

  it('refuses exactly the users past Licensed Users + Grace Interval, in the dry run and the apply', async () => {
    template = await voiceTemplate(CUSTOMER);

    // 9 licensed, a limit of 11: users 0–8 are licensed already and cost nothing, 9 and 10 take the last two.
    const dry = (
      await ok(call('POST', `${TEMPLATES}/${template}/apply?dryRun=true`, { json: users(range(0, 12)) }))
    ).body as DryRun;
    expect(dry.errors.map((e) => [e.row, e.column, e.code])).toEqual([
      [13, 'User', 'license_exhausted'],
      [14, 'User', 'license_exhausted'],
    ]);
    expect(dry.errors[0]?.message).toBe(
      `No more available licenses: all 11 licenses of ${CUSTOMER} are in use (Licensed Users 10 + 1 grace ` +
        `until ${new Date(Date.now() + GRACE_PERIOD_DAYS * 86_400_000).toISOString().slice(0, 10)}). ` +
        "Raise the customer's Licensed Users to provision this user.",
    );
    // A dry run decides the same and records nothing: no alarm, no grace started.
    expect(await activeAlarms(CUSTOMER)).toEqual([]);
    expect(await stack.services.licenses.graceStartedAt(CUSTOMER)).toBeNull();

    const done = await apply(range(0, 12));
    expect([done.rowsApplied, done.rowsFailed]).toEqual([13 - 2, 2]);
    expect(fake.applied.map((a) => a.userId)).not.toContain(idOf(11));
    expect(fake.applied.map((a) => a.userId)).not.toContain(idOf(12));
    expect(await templateOf(10)).toBe(String(template));
    expect(await templateOf(11)).toBeNull();

    const alarms = await activeAlarms(CUSTOMER);
    expect(alarms.map((a) => [a.name, a.severity])).toEqual(
      expect.arrayContaining([
        [CUSTOMER_LICENSE_EXHAUSTED_ALARM, 'major'],
        [CUSTOMER_LICENSE_GRACE_ALARM, 'warning'],
      ]),
    );
    expect(alarms.find((a) => a.name === CUSTOMER_LICENSE_EXHAUSTED_ALARM)?.text).toMatch(
      /^Customer GateCo: 2 user\(s\) refused a license, 11 of 11 in use .*Raise its Licensed Users/,
    );
  });

  it('counts what the last pass provisioned: the next pass refuses the same users', async () => {
    const again = await apply([11, 12]);
    expect([again.rowsApplied, again.rowsFailed]).toEqual([0, 2]);
    // A user licensed already may be changed as often as wanted (here it has what the template gives already).
    expect((await apply([10])).rowsFailed).toBe(0);
  });

  it('raising Licensed Users lets the next pass provision them and clears the alarms', async () => {
    await ok(call('PATCH', `/api/v1/customers/${CUSTOMER}`, { json: { licensedUsers: 20 } }));
    const done = await apply([11, 12]);
    expect([done.rowsApplied, done.rowsFailed]).toEqual([2, 0]);
    expect(await templateOf(12)).toBe(String(template));
    expect(await activeAlarms(CUSTOMER)).toEqual([]);
    expect(await stack.services.licenses.graceStartedAt(CUSTOMER)).toBeNull();
    // The count the operator sees agrees: 13 By Template.
    const license = await ok(call('POST', `/api/v1/customers/${CUSTOMER}/license/refresh`));
    expect(license.body).toMatchObject({ currentlyLicensed: 13, remaining: 7 });
  });
});

describe(`the Grace Interval's licenses last ${GRACE_PERIOD_DAYS} days from the first one taken`, () => {
  const DAY = 86_400_000;
  const t0 = Date.parse('2026-03-01T09:00:00Z');
  let clock = t0;
  const gate = () =>
    createLicenseGate({
      customers: stack.services.customers,
      licenses: stack.services.licenses,
      mirror: stack.services.mirror,
      sites: stack.services.sites,
      alarms: stack.services.alarms,
      now: () => new Date(clock),
    });
  const mark = (indexes: number[], template: string | null) =>
    stack.services.mirror.updateUsers(
      GRACE_CUSTOMER,
      indexes.map((i) => ({ id: idOf(i), template })),
      'test',
    );

  it('starts the period with the first grace license, and closes the grace after it', async () => {
    // 10 licensed of Licensed Users 10: the one grace license goes to user 10, user 11 is refused.
    const first = await gate().admit(GRACE_CUSTOMER, [idOf(10), idOf(11)]);
    expect(first).toMatchObject({
      admitted: [idOf(10)],
      licensed: 10,
      limit: 11,
      graceEndsAt: new Date(t0 + GRACE_PERIOD_DAYS * DAY).toISOString(),
    });
    expect(first.refused.map((r) => r.userId)).toEqual([idOf(11)]);
    expect(await stack.services.licenses.graceStartedAt(GRACE_CUSTOMER)).toBe(new Date(t0).toISOString());
    await mark([10], '1');

    // A week later the period still runs from the first day; past it only Licensed Users count, and a user
    // licensed already still passes.
    clock = t0 + 7 * DAY;
    expect((await gate().admit(GRACE_CUSTOMER, [idOf(11)])).limit).toBe(11);
    clock = t0 + (GRACE_PERIOD_DAYS + 1) * DAY;
    const late = await gate().admit(GRACE_CUSTOMER, [idOf(0), idOf(11)]);
    expect(late).toMatchObject({ admitted: [idOf(0)], limit: 10, licensed: 11 });
    expect(late.refused[0]?.reason).toMatch(/Licensed Users 10; the grace period ended 2026-03-31/);
    const grace = (await activeAlarms(GRACE_CUSTOMER)).find((a) => a.name === CUSTOMER_LICENSE_GRACE_ALARM);
    expect(grace?.text).toMatch(/grace period ended 2026-03-31: new users are refused/);
  });

  it('gives a fresh period once the customer is back within its Licensed Users', async () => {
    // Two users lose their template (9 licensed): the hourly count notices, the grace start and alarms go.
    await mark([0, 1], null);
    const snapshot = await ok(call('POST', `/api/v1/customers/${GRACE_CUSTOMER}/license/refresh`));
    expect(snapshot.body).toMatchObject({ currentlyLicensed: 9 });
    expect(await stack.services.licenses.graceStartedAt(GRACE_CUSTOMER)).toBeNull();
    expect((await activeAlarms(GRACE_CUSTOMER)).map((a) => a.name)).toEqual([]);

    const fresh = await gate().admit(GRACE_CUSTOMER, [idOf(11), idOf(12), idOf(13)]);
    expect(fresh).toMatchObject({ admitted: [idOf(11), idOf(12)], limit: 11 });
    expect(fresh.graceEndsAt).toBe(new Date(clock + GRACE_PERIOD_DAYS * DAY).toISOString());
  });

  it('takes no license for a factor the customer does not count', async () => {
    await ok(
      call('PUT', `/api/v1/customers/${GRACE_CUSTOMER}/license/factors`, {
        json: { factors: { byTemplate: false, byUserInterface: true, serviceNumbers: true } },
      }),
    );
    const free = await gate().admit(GRACE_CUSTOMER, [idOf(12), idOf(13)], { dryRun: true });
    expect(free).toMatchObject({ admitted: [idOf(12), idOf(13)], refused: [], licensed: 0 });
    const edited = await gate().admit(GRACE_CUSTOMER, [idOf(12)], {
      factor: 'byUserInterface',
      dryRun: true,
    });
    expect(edited.admitted).toEqual([idOf(12)]);
  });
});

describe("an operator's change of a user (By User Interface)", () => {
  it('is refused for a user who would take a license when none is left, and allowed for a licensed one', async () => {
    const users = `/api/v1/customers/${EDIT_CUSTOMER}/users`;
    const refused = await call('PATCH', `${users}/${idOf(1)}`, { json: { usageLocation: 'DE' } });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({
      code: 'license_exhausted',
      detail: expect.stringMatching(
        /^No more available licenses: all 1 licenses of EditCo are in use \(Licensed Users 1\)/,
      ),
    });
    expect((await activeAlarms(EDIT_CUSTOMER)).map((a) => a.name)).toEqual([
      CUSTOMER_LICENSE_EXHAUSTED_ALARM,
    ]);
    await ok(call('PATCH', `${users}/${idOf(0)}`, { json: { usageLocation: 'DE' } }), 202);
  });
});

describe('Lifecycle Management joiners (the acceptance of issue 12 item 5)', () => {
  const GROUP = '10000000-0000-4000-8000-000000000001';
  const BASE = `/api/v1/customers/${LIFECYCLE_CUSTOMER}`;
  const pass = async () => {
    const summary = await stack.services.lifecycle.run(LIFECYCLE_CUSTOMER);
    for (const id of summary?.imports ?? []) {
      await waitFor(`import ${id}`, async () => {
        const view = (await call('GET', `${BASE}/user-imports/${id}`)).body as { state: string };
        return view.state === 'completed' ? view : undefined;
      });
    }
    return (await ok(call('GET', `${BASE}/lifecycle/last-pass`))).body as { joined: number; refused: number };
  };

  it('refuses the joiner past Licensed Users with the reason and an alarm; raised, the next pass takes it', async () => {
    const mirror = stack.services.mirror;
    await mirror.putGroups(
      LIFECYCLE_CUSTOMER,
      [{ id: GROUP, displayName: 'Voice', description: null, mailEnabled: false, securityEnabled: true }],
      'seed',
    );
    await mirror.replaceMemberChunks(
      LIFECYCLE_CUSTOMER,
      GROUP,
      [{ tag: 'seed', members: range(0, 2).map(idOf) }],
      [],
      'seed',
    );
    const template = await voiceTemplate(LIFECYCLE_CUSTOMER);
    await ok(
      call('POST', `${BASE}/lifecycle/bindings`, { json: { templateId: template, groupIds: [GROUP] } }),
      201,
    );

    // Licensed Users 2, no grace license (10 % of 2): three joiners, the third refused.
    expect(await pass()).toMatchObject({ joined: 2, refused: 1 });
    const state = await createLifecycleStore(stack.tables).state(LIFECYCLE_CUSTOMER);
    const refused = [...state].filter(([, s]) => s.r !== undefined);
    expect(refused).toHaveLength(1);
    // The user shows the reason.
    const status = await ok(call('GET', `${BASE}/lifecycle/users/${refused[0]?.[0]}`));
    expect(status.body).toMatchObject({ state: 'refused', templateName: 'Voice' });
    expect((status.body as { reason: string }).reason).toMatch(
      /No more available licenses: all 2 licenses of JoinCo are in use/,
    );
    expect((await activeAlarms(LIFECYCLE_CUSTOMER)).map((a) => a.name)).toContain(
      CUSTOMER_LICENSE_EXHAUSTED_ALARM,
    );

    await ok(call('PATCH', `/api/v1/customers/${LIFECYCLE_CUSTOMER}`, { json: { licensedUsers: 3 } }));
    expect(await pass()).toMatchObject({ joined: 1, refused: 0 });
    expect(await activeAlarms(LIFECYCLE_CUSTOMER)).toEqual([]);
    const after = await createLifecycleStore(stack.tables).state(LIFECYCLE_CUSTOMER);
    expect([...after].filter(([, s]) => s.r !== undefined)).toEqual([]);
  });
});
