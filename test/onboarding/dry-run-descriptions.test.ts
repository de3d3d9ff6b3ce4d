import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Call,
  fillWizard,
  lines,
  type OnboardingStack,
  SIP_TRUNK,
  settled,
  startOnboardingStack,
  submit,
  type TaskView,
} from './onboarding-fixture.js';

let env: OnboardingStack;
let call: Call;

beforeAll(async () => {
  env = await startOnboardingStack();
  call = env.call;
}, 120_000);
afterAll(async () => env?.stack.close());

const PREFIXES = [{ dialPlanName: 'CustDialPlan', prefix: '+41589071' }];

/** Every change as recorded: its step, kind and description (the descriptions must be the same text). */
const recorded = (task: TaskView) =>
  task.changes.map((c) => ({ step: c.step, kind: c.kind, description: c.description }));

/** The dry run of a task, then the real run; both must succeed and the real run must have changed something. */
function expectSameChanges(planned: TaskView, real: TaskView): void {
  expect(planned.state, lines(planned).join('\n')).toBe('finish-success');
  expect(real.state, lines(real).join('\n')).toBe('finish-success');
  expect(recorded(real).length).toBeGreaterThan(0);
  expect(recorded(planned)).toEqual(recorded(real));
}

describe('For each onboarding task on a fresh customer, the dry run lists exactly the changes the real run makes', () => {
  it('CreateCustomer, SBCInit (a second site, automatic DNS in another region) and TenantRemove', async () => {
    const session = await fillWizard(call, {
      shortName: 'Northwind',
      dns: { method: 'automatic', regionId: 'emea', licensePlan: 'Office 365 E5' },
      m365Routing: { configure: true },
      sbc: SIP_TRUNK,
      prefixes: PREFIXES,
    });
    const plannedCreate = await settled(call, await submit(call, session, true));
    const create = await settled(call, await submit(call, session));
    expect(create.type).toBe('CreateCustomer');
    expectSameChanges(plannedCreate, create);

    const site = {
      siteName: 'NorthwindUs',
      dns: { method: 'automatic', regionId: 'us', licensePlan: 'Office 365 E5' },
      m365Routing: { configure: true },
      sbc: { configureSbc: true, sbcConfiguration: 'sip-trunk', regionId: 'us', carrier: 'SIPTrunk' },
      prefixes: [{ dialPlanName: 'CustDialPlan', prefix: '+1555071' }],
    };
    const dryAdd = await call('POST', '/api/v1/customers/Northwind/sites?dryRun=true', { json: site });
    expect(dryAdd.status, JSON.stringify(dryAdd.body)).toBe(202);
    const plannedAdd = await settled(call, dryAdd.headers.get('location') ?? '');
    const added = await call('POST', '/api/v1/customers/Northwind/sites', { json: site });
    expect(added.status, JSON.stringify(added.body)).toBe(202);
    const add = await settled(call, added.headers.get('location') ?? '');
    expect(add.type).toBe('SBCInit');
    expectSameChanges(plannedAdd, add);

    const dryRemove = await call('DELETE', '/api/v1/customers/Northwind?dryRun=true');
    expect(dryRemove.status).toBe(202);
    const plannedRemove = await settled(call, dryRemove.headers.get('location') ?? '');
    const removed = await call('DELETE', '/api/v1/customers/Northwind');
    expect(removed.status).toBe(202);
    const remove = await settled(call, removed.headers.get('location') ?? '');
    expect(remove.type).toBe('TenantRemove');
    expectSameChanges(plannedRemove, remove);
  }, 180_000);
});
