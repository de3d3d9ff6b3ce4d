import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Call,
  fillWizard,
  lines,
  type OnboardingStack,
  PROMPT_TASK_TIMING,
  SBC,
  SIP_TRUNK,
  settled,
  startOnboardingStack,
  submit,
} from '../onboarding/onboarding-fixture.js';

let env: OnboardingStack;
let call: Call;

const GATEWAY = 'dialer.trunks.example.com';

beforeAll(async () => {
  // The quarter-hourly repair would otherwise put the SBC right in the middle of a test that changes it on purpose.
  env = await startOnboardingStack({
    disabledFunctions: ['dialplan-sync'],
    overrides: { taskTiming: PROMPT_TASK_TIMING },
  });
  call = env.call;
  const task = await settled(
    call,
    await submit(
      call,
      await fillWizard(call, {
        shortName: 'Dialer',
        licenseType: 'hosted-essentials',
        dns: { method: 'manual', onlinePstnGateway: GATEWAY },
        sbc: { ...SIP_TRUNK },
        prefixes: [
          { dialPlanName: 'CustDialPlan', prefix: '+3222000' },
          { dialPlanName: 'CustDialPlan', prefix: '+3222001' },
        ],
      }),
    ),
  );
  expect(task.state, lines(task).join('\n')).toBe('finish-success');
}, 120_000);
afterAll(async () => env?.stack.close());

const device = () => env.stack.sandbox.sbc.devices.require(SBC);
const plan = (name: string) => {
  const found = device().running.dialPlans.find((p) => p.name === name);
  if (!found) throw new Error(`no dial plan ${name}`);
  return found;
};
/** The SBC's rules of one owner as "dialPlan prefix tag", sorted: duplicates would show twice. */
const rulesOf = (owner: string) =>
  env.stack.sandbox.sbc
    .dialPlanRules(SBC)
    .filter((r) => r.name === owner)
    .map((r) => `${r.dialPlan} ${r.prefix} ${r.tag}`)
    .sort();

async function savePrefixes(prefixes: ReadonlyArray<{ dialPlanName: string; prefix: string; tag?: string }>) {
  const response = await call('PUT', '/api/v1/customers/Dialer/sites/Dialer/prefixes', {
    json: { prefixes },
  });
  expect(response.status, JSON.stringify(response.body)).toBe(202);
  return settled(call, response.headers.get('location') ?? '');
}

async function sync(dryRun = false) {
  const response = await call('POST', `/api/v1/customers/Dialer/prefixes/sync?dryRun=${dryRun}`);
  expect(response.status, JSON.stringify(response.body)).toBe(202);
  return settled(call, response.headers.get('location') ?? '');
}

describe('SBC dial-plan sync (SbcUpdatePrefixes)', () => {
  it('adds and removes exactly the difference on Save, and a second run changes nothing', async () => {
    expect(rulesOf('Dialer')).toEqual([
      `CustDialPlan +3222000 ${GATEWAY}`,
      `CustDialPlan +3222001 ${GATEWAY}`,
    ]);
    const removed = plan('CustDialPlan').rules.find(
      (r) => r.name === 'Dialer' && r.prefix === '+3222000',
    )?.index;
    const task = await savePrefixes([
      { dialPlanName: 'CustDialPlan', prefix: '+3222001' },
      { dialPlanName: 'CustDialPlan', prefix: '+3222002' },
      // A tag is the customer's own: here its carrier IP Group (docs/access.md, Shared resources).
      { dialPlanName: 'RegisteredUsers', prefix: '+3222003[10-19]', tag: 'Dialer-c' },
    ]);
    expect(task.state, lines(task).join('\n')).toBe('finish-success');
    expect(rulesOf('Dialer')).toEqual([
      `CustDialPlan +3222001 ${GATEWAY}`,
      `CustDialPlan +3222002 ${GATEWAY}`,
      'RegisteredUsers +3222003[10-19] Dialer-c',
    ]);
    expect(lines(task)).toContain(`SBC ${SBC}: 2 prefix(es) added, 1 removed, 1 unchanged.`);
    expect(task.changes.map((c) => c.description)).toEqual([
      `Remove 1 rule(s) from CustDialPlan: +3222000 of Dialer (#${removed})`,
      `Add 1 rule(s) to CustDialPlan: +3222002 of Dialer → ${GATEWAY}`,
      'Add 1 rule(s) to RegisteredUsers: +3222003[10-19] of Dialer → Dialer-c',
    ]);

    const scriptsBefore = device().scriptsApplied;
    const again = await sync();
    expect(again.state).toBe('finish-success');
    expect(again.changes).toEqual([]);
    expect(lines(again)).toContain(`SBC ${SBC}: 0 prefix(es) added, 0 removed, 3 unchanged.`);
    expect(device().scriptsApplied).toBe(scriptsBefore);
  }, 60_000);

  it('puts right what was changed on the SBC behind its back, and leaves other rules alone', async () => {
    const cust = plan('CustDialPlan');
    const other = { index: 900, name: 'Someone', prefix: '+4400', tag: 'someone.example.com' };
    cust.rules = cust.rules.filter((r) => r.prefix !== '+3222002');
    cust.rules.push(other, { index: 901, name: 'Dialer', prefix: '+9999', tag: GATEWAY });
    cust.rules.push({ index: 902, name: 'Dialer', prefix: '+3222001', tag: GATEWAY });

    const dry = await sync(true);
    expect(dry.state).toBe('finish-success');
    const real = await sync();
    expect(real.state, lines(real).join('\n')).toBe('finish-success');
    expect(real.changes.map((c) => c.description)).toEqual(dry.changes.map((c) => c.description));
    expect(real.changes.map((c) => c.description)).toEqual([
      'Remove 2 rule(s) from CustDialPlan: +9999 of Dialer (#901), +3222001 of Dialer (#902)',
      `Add 1 rule(s) to CustDialPlan: +3222002 of Dialer → ${GATEWAY}`,
    ]);
    expect(rulesOf('Dialer')).toEqual([
      `CustDialPlan +3222001 ${GATEWAY}`,
      `CustDialPlan +3222002 ${GATEWAY}`,
      'RegisteredUsers +3222003[10-19] Dialer-c',
    ]);
    expect(rulesOf('Someone')).toEqual([`CustDialPlan +4400 someone.example.com`]);
  }, 60_000);

  it('survives an SBC 409 mid-way: the retry reads the SBC again and sends only what is missing', async () => {
    const fault = env.stack.sandbox.faults.add({
      pathPattern: '/cliScript/incremental$',
      kind: 'status',
      status: 409,
      skip: 1,
      times: 1,
    });
    try {
      const task = await savePrefixes([
        { dialPlanName: 'CustDialPlan', prefix: '+3222002' },
        { dialPlanName: 'CustDialPlan', prefix: '+3222004' },
      ]);
      expect(task.state, lines(task).join('\n')).toBe('finish-success');
      expect(fault.hits).toBe(1);
      expect(task.steps.find((s) => s.name === 'UpdatePrefixes')?.attempts).toBeGreaterThan(1);
    } finally {
      env.stack.sandbox.faults.remove(fault.id);
    }
    expect(rulesOf('Dialer')).toEqual([
      `CustDialPlan +3222002 ${GATEWAY}`,
      `CustDialPlan +3222004 ${GATEWAY}`,
    ]);
  }, 60_000);

  it('shows prefixes from cache, and Reload reads them from the SBC', async () => {
    const cached = await call('GET', '/api/v1/customers/Dialer/prefixes');
    expect(cached.status).toBe(200);
    const body = cached.body as {
      message: string;
      value: Array<{ prefix: string; index: number; sbcId: string }>;
    };
    expect(body.message).toBe('Prefixes shown below are from cache. Press Reload to refresh them from SBC.');
    expect(body.value.map((r) => r.prefix).sort()).toEqual(['+3222002', '+3222004']);
    expect(body.value.every((r) => r.sbcId === SBC && Number.isInteger(r.index))).toBe(true);

    plan('CustDialPlan').rules.push({ index: 950, name: 'Dialer', prefix: '+3222999', tag: GATEWAY });
    const stale = await call('GET', '/api/v1/customers/Dialer/prefixes');
    expect((stale.body as typeof body).value.map((r) => r.prefix)).not.toContain('+3222999');
    const reloaded = await call('POST', '/api/v1/customers/Dialer/prefixes/reload');
    expect(reloaded.status).toBe(200);
    expect((reloaded.body as typeof body).value.find((r) => r.prefix === '+3222999')).toMatchObject({
      index: 950,
    });
    expect(await sync()).toMatchObject({ state: 'finish-success' });
  }, 60_000);

  it('refuses invalid prefixes and CSV lines and changes nothing', async () => {
    const before = rulesOf('Dialer');
    const bad = await call('PUT', '/api/v1/customers/Dialer/sites/Dialer/prefixes', {
      json: { prefixes: [{ dialPlanName: 'CustDialPlan', prefix: '+32xx' }] },
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect(JSON.stringify(bad.body)).toContain('do not use any notations');
    const csv = await call('PUT', '/api/v1/customers/Dialer/sites/Dialer/prefixes', {
      json: { csv: 'dialPlanName,prefix,tag\nCustDialPlan,+3222005,\nCustDialPlan,#12,\n' },
    });
    expect(csv.status).toBe(400);
    expect(csv.body).toMatchObject({ code: 'validation_failed', errors: [{ code: 'invalid_csv_line' }] });
    const site = await call('GET', '/api/v1/customers/Dialer/sites/Dialer');
    expect((site.body as { prefixes: Array<{ prefix: string }> }).prefixes.map((p) => p.prefix)).toEqual([
      '+3222002',
      '+3222004',
    ]);
    expect(rulesOf('Dialer')).toEqual(before);
  });

  it('answers a ~1 MB hostile CSV with a small error: 100 lines named, the rest counted, nothing changed', async () => {
    const before = rulesOf('Dialer');
    // Each line is under the line cap but carries a 200-digit "prefix", which the errors used to quote line by line.
    const hostileLine = `CustDialPlan,+${'9'.repeat(200)},`;
    const lines = Math.floor(900_000 / (hostileLine.length + 1));
    const longPrefixes = await call('PUT', '/api/v1/customers/Dialer/sites/Dialer/prefixes', {
      json: { csv: `dialPlanName,prefix,tag\n${`${hostileLine}\n`.repeat(lines)}` },
    });
    expect(longPrefixes.status).toBe(400);
    const problem = longPrefixes.body as { code: string; errors: Array<{ code: string; message: string }> };
    expect(problem.code).toBe('validation_failed');
    expect(problem.errors).toHaveLength(101);
    expect(problem.errors[0]).toMatchObject({
      code: 'invalid_csv_line',
      message: 'Line 2: Prefix can be at most 36 characters long.',
    });
    expect(problem.errors[100]).toMatchObject({
      code: 'more_invalid_csv_lines',
      message: `${lines - 100} more lines have problems; fix the lines above and send the file again.`,
    });
    expect(JSON.stringify(problem).length).toBeLessThan(20_000);

    // More lines than a customer may have prefixes: refused whole, unread.
    const manyLines = await call('PUT', '/api/v1/customers/Dialer/sites/Dialer/prefixes', {
      json: { csv: `dialPlanName,prefix,tag\n${'P,+1,\n'.repeat(120_000)}` },
    });
    expect(manyLines.status).toBe(413);
    expect(manyLines.body).toMatchObject({ code: 'csv_too_many_rows' });
    expect(JSON.stringify(manyLines.body).length).toBeLessThan(2_000);

    // A line longer than any valid one is named without being quoted.
    const longLine = await call('PUT', '/api/v1/customers/Dialer/sites/Dialer/prefixes', {
      json: { csv: `dialPlanName,prefix,tag\nCustDialPlan,+3222005,${'t'.repeat(5_000)}\n` },
    });
    expect(longLine.body).toMatchObject({
      errors: [{ code: 'invalid_csv_line', message: 'Line 2: The line is longer than 256 characters.' }],
    });
    expect(rulesOf('Dialer')).toEqual(before);
  });

  it('refuses at Save a dial plan the SBC lacks, and fails the sync clearly when the SBC loses one later', async () => {
    const before = (await call('GET', '/api/v1/customers/Dialer/sites/Dialer')).body as {
      prefixes: unknown[];
    };
    const refused = await call('PUT', '/api/v1/customers/Dialer/sites/Dialer/prefixes', {
      json: {
        prefixes: [
          { dialPlanName: 'CustDialPlan', prefix: '+3222002' },
          { dialPlanName: 'Zoom', prefix: '+3222006' },
        ],
      },
    });
    expect(refused.status).toBe(400);
    expect(refused.problem.errors).toEqual([
      expect.objectContaining({ field: 'prefixes.1.dialPlanName', code: 'unknown_dial_plan' }),
    ]);
    expect(refused.problem.errors?.[0]?.allowed).toContain('CustDialPlan');
    const unchanged = (await call('GET', '/api/v1/customers/Dialer/sites/Dialer')).body as {
      prefixes: unknown[];
    };
    expect(unchanged.prefixes).toEqual(before.prefixes);

    const dialPlans = device().running.dialPlans;
    dialPlans.push({ index: 99, name: 'Zoom', rules: [] });
    const saved = await savePrefixes([
      { dialPlanName: 'CustDialPlan', prefix: '+3222002' },
      { dialPlanName: 'Zoom', prefix: '+3222006' },
    ]);
    expect(saved.state, JSON.stringify(saved.log)).toBe('finish-success');
    device().running.dialPlans = dialPlans.filter((p) => p.name !== 'Zoom');
    const task = await sync();
    expect(task.state).toBe('finish-failure');
    expect(task.result).toContain('The SBC has no dial plan Zoom (SBC sbc-eu1)');
    expect((await savePrefixes([{ dialPlanName: 'CustDialPlan', prefix: '+3222002' }])).state).toBe(
      'finish-success',
    );
  }, 60_000);

  it('offers one import candidate per distinct rule name and tag, hiding what is imported already', async () => {
    const cust = plan('CustDialPlan');
    cust.rules.push(
      { index: 960, name: 'BradTrunk', prefix: '+1555', tag: 'M365x34456789.customers.corp.com' },
      { index: 961, name: 'BradTrunk', prefix: '+1556', tag: 'M365x34456789.customers.corp.com' },
      { index: 962, name: 'BradTrunk', prefix: '+1557', tag: 'M365x34499893.siptrunk.corp.com' },
      { index: 963, name: 'Dialer', prefix: '+3222007', tag: 'other.trunk.example.com' },
    );
    const response = await call('GET', `/api/v1/settings/sbcs/${SBC}/import-candidates`);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const value = (response.body as { value: Array<Record<string, unknown>> }).value;
    expect(value).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          sbcCustomerName: 'BradTrunk',
          fqdnPstnGateway: 'M365x34456789.customers.corp.com',
          prefixes: 2,
          existingCustomer: false,
        }),
        expect.objectContaining({
          sbcCustomerName: 'BradTrunk',
          fqdnPstnGateway: 'M365x34499893.siptrunk.corp.com',
        }),
        expect.objectContaining({
          sbcCustomerName: 'Dialer',
          fqdnPstnGateway: 'other.trunk.example.com',
          existingCustomer: true,
        }),
      ]),
    );
    expect(value.filter((c) => c.sbcCustomerName === 'Dialer')).toHaveLength(1);
    const unknown = await call('GET', '/api/v1/settings/sbcs/nope/import-candidates');
    expect(unknown.status).toBe(404);

    // A Dial Plan file the product cannot read (a rule without a prefix) is the SBC's failure, told as such.
    const broken = { index: 964, name: 'Broken', prefix: '', tag: 'x' };
    cust.rules.push(broken);
    try {
      const unreadable = await call('GET', `/api/v1/settings/sbcs/${SBC}/import-candidates`);
      expect(unreadable.status).toBe(502);
      expect(unreadable.body).toMatchObject({
        code: 'sbc_unreachable',
        detail: expect.stringContaining('dial plan file is not DialPlanName,Name,Prefix,Tag'),
      });
    } finally {
      cust.rules = cust.rules.filter((r) => r !== broken);
    }
  });

  it('imports a candidate as a new customer, then its other tag into the same one, and the sync keeps the rules', async () => {
    const first = await call('POST', `/api/v1/settings/sbcs/${SBC}/import`, {
      json: {
        sbcCustomerName: 'BradTrunk',
        fqdnPstnGateway: 'M365x34456789.customers.corp.com',
        customerFullName: 'Brad Trunk Inc',
      },
    });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body).toMatchObject({ customerId: 'BradTrunk', created: true });
    expect((await call('GET', '/api/v1/customers/BradTrunk')).body).toMatchObject({
      fullName: 'Brad Trunk Inc',
      licenseType: 'hosted-essentials',
      state: 'deployed',
    });
    const candidates = async () =>
      (
        (await call('GET', `/api/v1/settings/sbcs/${SBC}/import-candidates`)).body as {
          value: Array<{ sbcCustomerName: string; fqdnPstnGateway: string }>;
        }
      ).value.filter((c) => c.sbcCustomerName === 'BradTrunk');
    expect((await candidates()).map((c) => c.fqdnPstnGateway)).toEqual(['M365x34499893.siptrunk.corp.com']);

    const second = await call('POST', `/api/v1/settings/sbcs/${SBC}/import`, {
      json: { sbcCustomerName: 'BradTrunk', fqdnPstnGateway: 'M365x34499893.siptrunk.corp.com' },
    });
    expect(second.status).toBe(200);
    expect(await candidates()).toEqual([]);
    const site = await call('GET', '/api/v1/customers/BradTrunk/sites/BradTrunk');
    expect(
      (site.body as { prefixes: Array<{ prefix: string }> }).prefixes.map((p) => p.prefix).sort(),
    ).toEqual(['+1555', '+1556', '+1557']);

    const before = rulesOf('BradTrunk');
    const sync = await call('POST', '/api/v1/customers/BradTrunk/prefixes/sync');
    const task = await settled(call, sync.headers.get('location') ?? '');
    expect(task.state, lines(task).join('\n')).toBe('finish-success');
    expect(task.changes).toEqual([]);
    expect(rulesOf('BradTrunk')).toEqual(before);
  }, 60_000);

  it('refuses to import what is not on the SBC, or a rule name that cannot be a Short Name', async () => {
    const missing = await call('POST', `/api/v1/settings/sbcs/${SBC}/import`, {
      json: { sbcCustomerName: 'Nobody', fqdnPstnGateway: 'nobody.example.com' },
    });
    expect(missing.status).toBe(404);
    plan('CustDialPlan').rules.push({ index: 970, name: 'x', prefix: '+1999', tag: 'x.example.com' });
    const bad = await call('POST', `/api/v1/settings/sbcs/${SBC}/import`, {
      json: { sbcCustomerName: 'x', fqdnPstnGateway: 'x.example.com' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'validation_failed', errors: [{ field: 'sbcCustomerName' }] });
    expect((await call('GET', '/api/v1/customers/x')).status).toBe(404);
  });
});
