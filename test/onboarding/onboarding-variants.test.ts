import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableText } from '../consent/consent-fixture.js';
import {
  type Call,
  CONTOSO,
  EMEA_FQDN,
  expectInOrder,
  fillWizard,
  lines,
  type OnboardingStack,
  PROMPT_TASK_TIMING,
  SBC,
  SIP_TRUNK,
  settled,
  snapshot,
  startOnboardingStack,
  submit,
  ZONE,
} from './onboarding-fixture.js';

let env: OnboardingStack;
let call: Call;

beforeAll(async () => {
  env = await startOnboardingStack({ overrides: { taskTiming: PROMPT_TASK_TIMING } });
  call = env.call;
}, 120_000);
afterAll(async () => env?.stack.close());

const sbcGroups = () => env.stack.sandbox.sbc.configuration(SBC).ipGroups.map((g) => g.name);

describe('two-step DNS', () => {
  it('pauses after the domain, refuses to continue before the TXT record exists, and completes after', async () => {
    const gateway = `twostep.${EMEA_FQDN}`;
    const location = await submit(
      call,
      await fillWizard(call, {
        shortName: 'TwoStep',
        dns: { method: 'two-step', regionId: 'emea' },
        m365Routing: { configure: true },
      }),
    );
    const paused = await settled(call, location);
    expect(paused.state).toBe('paused');
    const txt = /-- TXT Record Name: (\S+) Value: (MS=ms\d{8}) --/.exec(lines(paused).join('\n'));
    expect(txt?.[1]).toBe(gateway);
    expect(paused.waiting?.reason).toContain(txt?.[2] ?? 'no TXT value');
    expect(paused.waiting?.reason).toContain('Verify And Configure Domain');
    expect(
      env.stack.sandbox.state.dns.recordSet(
        env.stack.sandbox.state.dns.requireZone(ZONE),
        'TXT',
        'twostep.emea',
      ),
    ).toBeUndefined();

    const tooEarly = await call('POST', '/api/v1/customers/TwoStep/sites/TwoStep/verify-domain');
    expect(tooEarly.status).toBe(202);
    const stillWaiting = await settled(call, location);
    expect(stillWaiting.state).toBe('paused');
    expect(stillWaiting.waiting?.reason).toMatch(/does not see the TXT record/);

    env.stack.sandbox.state.dns.setExternalTxt(gateway, [txt?.[2] ?? '']);
    const verified = await call('POST', '/api/v1/customers/TwoStep/sites/TwoStep/verify-domain');
    expect(verified.status).toBe(202);
    const done = await settled(call, location);
    expect(done.state, lines(done).join('\n')).toBe('finish-success');
    expectInOrder(done, [
      '-- Domain verified --',
      `-- Configure an A record ${gateway} → 192.0.2.10 on your DNS hosting platform (it replaces the TXT record) --`,
      '-- Verify and Configure Domain task completed --',
      'Customer saved and queued for installation.',
    ]);
    expect(env.stack.sandbox.teams.get(CONTOSO.tenantId, 'OnlinePSTNGateway', gateway)).toBeDefined();
    const nothingLeft = await call('POST', '/api/v1/customers/TwoStep/sites/TwoStep/verify-domain');
    expect(nothingLeft.problem.code).toBe('nothing_to_verify');
  }, 120_000);
});

describe('license types and SBC', () => {
  it('gives a Hosted Essentials customer SBC configuration only', async () => {
    const before = snapshot(env.stack);
    const task = await settled(
      call,
      await submit(
        call,
        await fillWizard(call, {
          shortName: 'Essential',
          licenseType: 'hosted-essentials',
          dns: { method: 'manual', onlinePstnGateway: 'essential.trunks.example.com' },
          sbc: { ...SIP_TRUNK, carrier: 'Carrier2' },
          prefixes: [{ dialPlanName: 'CustDialPlan', prefix: '+3222000' }],
        }),
      ),
    );
    expect(task.state, lines(task).join('\n')).toBe('finish-success');
    expectInOrder(task, ['Checking SBC IP Group Programming.', 'Sbc is programmed', 'Customer created.']);
    expect(task.changes.map((c) => c.kind)).toEqual(['sbc']);
    const after = snapshot(env.stack);
    expect(after.teams).toEqual(before.teams);
    expect(after.domains).toEqual(before.domains);
    expect(after.records).toEqual(before.records);
    expect(sbcGroups()).toEqual(expect.arrayContaining(['Essential-c', 'Essential-t']));
    expect(
      env.stack.sandbox.sbc
        .dialPlanRules(SBC)
        .filter((r) => r.name === 'Essential')
        .map((r) => r.tag),
    ).toEqual(['essential.trunks.example.com']);
  }, 60_000);

  it('says "Customer saved and queued for installation." for a customer without SBC', async () => {
    const task = await settled(
      call,
      await submit(
        call,
        await fillWizard(call, {
          shortName: 'NoSbc',
          dns: { method: 'automatic', regionId: 'emea' },
          m365Routing: { configure: true },
          sbc: { configureSbc: false },
        }),
      ),
    );
    expect(task.state, lines(task).join('\n')).toBe('finish-success');
    expect(lines(task)).toContain('Customer saved and queued for installation.');
    expect(lines(task)).not.toContain('Checking SBC IP Group Programming.');
    expect(sbcGroups()).not.toContain('NoSbc-c');
  }, 60_000);

  it('adds an SBC site to an existing customer, and refuses a duplicate Sbc Site Name', async () => {
    const first = await settled(
      call,
      await submit(
        call,
        await fillWizard(call, {
          shortName: 'Multi',
          licenseType: 'hosted-essentials',
          sbc: { ...SIP_TRUNK },
          dns: { method: 'manual', onlinePstnGateway: 'multi.trunks.example.com' },
        }),
      ),
    );
    expect(first.state).toBe('finish-success');
    const site = {
      siteName: 'MultiUs',
      dns: { method: 'manual', onlinePstnGateway: 'multi-us.trunks.example.com' },
      sbc: { configureSbc: true, sbcConfiguration: 'sip-trunk', regionId: 'us', carrier: 'SIPTrunk' },
      prefixes: [{ dialPlanName: 'CustDialPlan', prefix: '+1555' }],
    };
    const added = await call('POST', '/api/v1/customers/Multi/sites', { json: site });
    expect(added.status, JSON.stringify(added.body)).toBe(202);
    const task = await settled(call, added.headers.get('location') ?? '');
    expect(task.state, lines(task).join('\n')).toBe('finish-success');
    expect(task.type).toBe('SBCInit');
    const us = env.stack.sandbox.sbc.configuration('sbc-us1').ipGroups.map((g) => g.name);
    expect(us).toEqual(expect.arrayContaining(['Multi-c', 'Multi-t']));
    const sites = await call('GET', '/api/v1/customers/Multi/sites');
    expect(
      (sites.body as { value: Array<{ siteName: string }> }).value.map((s) => s.siteName).sort(),
    ).toEqual(['Multi', 'MultiUs']);

    const duplicate = await call('POST', '/api/v1/customers/Multi/sites', {
      json: { ...site, siteName: 'multius' },
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.problem.code).toBe('site_name_taken');
  }, 90_000);
});

describe('bad input', () => {
  it('gets a clear problem and changes nothing', async () => {
    const session = await fillWizard(call, { shortName: 'BadInput' });
    const before = await call('GET', `/api/v1/wizard-sessions/${session}`);
    const sitesBefore = await tableText(env.stack, 'customersites');
    const cases: Array<[string, string, unknown, number, string]> = [
      [
        'PUT',
        'prefixes',
        { prefixes: [{ dialPlanName: 'CustDialPlan', prefix: '+4412x' }] },
        400,
        'invalid_prefix',
      ],
      [
        'PUT',
        'sbc',
        {
          ...SIP_TRUNK,
          carrierRegistration: {
            username: 'u'.repeat(61),
            password: 'secret',
            mainLine: '+1',
            hostName: 'sip.example.com',
          },
        },
        400,
        'too_long',
      ],
      [
        'PUT',
        'sbc',
        {
          ...SIP_TRUNK,
          carrierRegistration: {
            username: 'user',
            password: 'pässwörd',
            mainLine: '+1',
            hostName: 'sip.example.com',
          },
        },
        400,
        'invalid_format',
      ],
      ['PUT', 'sbc', { ...SIP_TRUNK, regionId: 'atlantis' }, 400, 'unknown_region'],
      ['PUT', 'dns', { method: 'automatic', regionId: 'atlantis' }, 400, 'unknown_region'],
    ];
    for (const [method, page, json, status, code] of cases) {
      const response = await call(method, `/api/v1/wizard-sessions/${session}/${page}`, { json });
      expect(response.status, `${page} ${JSON.stringify(response.body)}`).toBe(status);
      expect(response.contentType).toMatch(/^application\/problem\+json/);
      expect(
        response.problem.errors?.map((e) => e.code),
        JSON.stringify(response.body),
      ).toContain(code);
    }
    const after = await call('GET', `/api/v1/wizard-sessions/${session}`);
    expect((after.body as { pages: unknown }).pages).toEqual((before.body as { pages: unknown }).pages);

    const template = await call('POST', '/api/v1/script-templates', {
      json: {
        id: 'broken-script',
        name: 'broken',
        type: 'sbc-onboarding',
        body: 'configure voip\n{{#if SBC.EnableCAC}\nexit\n',
      },
    });
    expect(template.status).toBe(400);
    expect(template.contentType).toMatch(/^application\/problem\+json/);
    expect((await call('GET', '/api/v1/script-templates/broken-script')).status).toBe(404);
    expect(await tableText(env.stack, 'customersites')).toEqual(sitesBefore);
  }, 60_000);
});

describe('what the wizard reads from the SBC and the tenant', () => {
  it("lists the region SBC's carriers and CAC profiles, and the SBC's status", async () => {
    const options = await call('GET', '/api/v1/settings/regions/emea/sbc-options');
    expect(options.status).toBe(200);
    expect(options.body).toMatchObject({ sbc: SBC, carriers: ['Carrier1', 'Carrier2'] });
    expect((options.body as { cacProfiles: string[] }).cacProfiles).toContain('10 sessions');

    expect((await call('GET', `/api/v1/settings/sbcs/${SBC}/status`)).body).toMatchObject({
      sbc: SBC,
      reachable: true,
      highAvailability: 'Operational',
    });
    const fault = env.stack.sandbox.faults.add({ pathPattern: '/api/v1/status$', kind: 'drop', times: 5 });
    try {
      expect((await call('GET', `/api/v1/settings/sbcs/${SBC}/status`)).body).toMatchObject({
        reachable: false,
      });
    } finally {
      env.stack.sandbox.faults.remove(fault.id);
    }
    expect((await call('GET', '/api/v1/settings/regions/atlantis/sbc-options')).status).toBe(404);
  });

  it('says "No License Plan Available!" when no plan has a free license, fails the task so, and Reload sees a freed one', async () => {
    const directory = env.stack.sandbox.state.directory;
    const tenant = env.stack.sandbox.state.requireTenant(CONTOSO.tenantId);
    const e5 = () =>
      directory.subscribedSkus(tenant).find((s) => s.skuPartNumber === 'ENTERPRISEPREMIUM') as {
        consumedUnits: number;
        prepaidUnits: { enabled: number };
      };
    const enabled = e5().prepaidUnits.enabled;
    const session = await fillWizard(call, {
      shortName: 'NoLicense',
      dns: { method: 'automatic', regionId: 'emea' },
      m365Routing: { configure: true },
    });
    const plans = async () => (await call('GET', `/api/v1/wizard-sessions/${session}/license-plans`)).body;
    const available = (await plans()) as {
      message: string | null;
      value: Array<{ name: string; available: number }>;
    };
    expect(available.message).toBeNull();
    expect(available.value[0]).toMatchObject({ name: 'Office 365 E5', available: expect.any(Number) });
    expect(available.value[0]?.available).toBeGreaterThan(0);

    directory.setSku(CONTOSO.tenantId, 'ENTERPRISEPREMIUM', e5().consumedUnits);
    try {
      expect(await plans()).toMatchObject({
        message: 'No License Plan Available! Make sure to free the license(s) for a plan and reload',
      });
      const location = await submit(call, session);
      const failed = await settled(call, location);
      expect(failed.state).toBe('finish-failure');
      expect(failed.result).toBe(
        'No License Plan Available! Make sure to free the license(s) for a plan and reload',
      );
      directory.setSku(CONTOSO.tenantId, 'ENTERPRISEPREMIUM', enabled);
      expect(await plans()).toMatchObject({ message: null });
      expect((await call('POST', `${location}/rerun`)).status).toBe(202);
      const done = await settled(call, location);
      expect(done.state, lines(done).join('\n')).toBe('finish-success');
      expect(lines(done)).toContain('-- User created with OFFICE 365 E5 license--');
    } finally {
      directory.setSku(CONTOSO.tenantId, 'ENTERPRISEPREMIUM', enabled);
    }
  }, 120_000);
});
