import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedOnboardingSettings } from '../../dev/demo-seed.js';
import { addReplicationApp, createScaleTenant } from '../../dev/sandbox/scale-control.js';
import { configureProvider, waitFor } from '../consent/consent-fixture.js';
import {
  EMEA_FQDN,
  fillWizard,
  lines,
  SIP_TRUNK,
  settled,
  submit,
  ZONE,
} from '../onboarding/onboarding-fixture.js';
import { apiClient } from '../support/api-client.js';
import { type MemoryStackWithPeers, startMemoryStackWithPeers } from '../support/memory-stack.js';
import { grantRoles, OTHER, OWN, roleTokens } from '../support/roles.js';

/**
 * Issue 14, item 1: whoever acts for OWN attacks OTHER, a customer on the same SBC (sbc-eu1, region EMEA) and in the
 * same provider DNS zone, through what the two share. Sites, prefixes and DNS are the provider's operations (item 5:
 * a channel admin is refused them at the door, below), and the ownership rules hold for the provider's operator too:
 * each attack, made as the operator working on OWN, is refused with a stable code, names nothing of OTHER, and writes
 * nothing.
 */

let stack: MemoryStackWithPeers;
let provider: ReturnType<typeof apiClient>;
let operator: ReturnType<typeof apiClient>;
let channelAdmin: ReturnType<typeof apiClient>;

const OTHER_GATEWAY = `${OTHER.toLowerCase()}.${EMEA_FQDN}`;
const OTHER_RECORD = OTHER_GATEWAY.slice(0, -(ZONE.length + 1));
const OWN_SITE = 'OwnTrunk';
const OWN_GATEWAY = 'owntrunk.trunks.example';
const SITES = `/api/v1/customers/${OWN}/sites`;
const PREFIXES = `${SITES}/${OWN_SITE}/prefixes`;

const zone = () => stack.sandbox.state.dns.requireZone(ZONE);
const otherRecord = (type: 'A' | 'TXT') => stack.sandbox.state.dns.recordSet(zone(), type, OTHER_RECORD);
const ownSites = async () => (await stack.services.sites.list(OWN)).map((s) => s.site);

beforeAll(async () => {
  stack = await startMemoryStackWithPeers();
  const token = await stack.token();
  provider = apiClient(stack.api, async () => token);
  const tokens = await roleTokens(stack);
  channelAdmin = apiClient(stack.api, async () => tokens['channel-admin']);
  operator = provider;
  await configureProvider(stack, provider);
  await seedOnboardingSettings({
    apiBaseUrl: `${stack.api.url}/api/v1`,
    token,
    smtp: stack.sandbox.smtp,
    fetch: stack.api.fetch,
  });

  // OTHER: onboarded through the wizard (automatic DNS in EMEA, sbc-eu1), a prefix and a number range there.
  const onboarded = await settled(
    provider,
    await submit(
      provider,
      await fillWizard(provider, {
        shortName: OTHER,
        dns: { method: 'automatic', regionId: 'emea', licensePlan: 'Office 365 E5' },
        m365Routing: { configure: true },
        sbc: SIP_TRUNK,
        prefixes: [{ dialPlanName: 'CustDialPlan', prefix: '+41589062' }],
      }),
    ),
  );
  expect(onboarded.state, lines(onboarded).join('\n')).toBe('finish-success');
  const range = await provider('POST', `/api/v1/customers/${OTHER}/number-ranges`, {
    json: { name: 'London', start: '+442079460000', end: '+442079460099', siteName: OTHER },
  });
  expect(range.status, JSON.stringify(range.body)).toBe(201);
  expect(otherRecord('A')).toBeDefined();

  // OWN: a Hosted Pro customer of the channel, connected to a tenant of its own.
  const created = await provider('POST', '/api/v1/customers', {
    json: { fullName: `${OWN} Ltd`, shortName: OWN, licenseType: 'hosted-pro', licensedUsers: 5 },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  await grantRoles(stack, provider);
  const tenant = createScaleTenant(
    { state: stack.sandbox.state, teams: stack.sandbox.teams, directories: stack.sandbox.directories },
    { displayName: `${OWN} Ltd`, users: 2, groups: 1, seed: OWN },
  );
  const app = addReplicationApp(stack.sandbox, tenant.options.tenantId, `${OWN} sync`);
  await stack.services.credentials.connectAppRegistration(OWN, {
    tenantId: tenant.options.tenantId,
    clientId: app.appId,
    clientSecret: app.secretText,
  });
}, 180_000);
afterAll(async () => stack?.close());

/** The refusal as the channel admin sees it: a problem with `code`, naming nothing of the other customer. */
function expectRefused(
  response: Awaited<ReturnType<typeof channelAdmin>>,
  status: number,
  code: string,
): void {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.headers.get('content-type')).toContain('application/problem+json');
  expect(response.problem.code).toBe(code);
  expect(JSON.stringify(response.body)).not.toContain(`${OTHER} Ltd`);
  expect(JSON.stringify(response.body)).not.toMatch(new RegExp(`"${OTHER}"`, 'i'));
}

const trunkSite = (prefixes: ReadonlyArray<{ dialPlanName: string; prefix: string; tag?: string }>) => ({
  siteName: OWN_SITE,
  sbc: { ...SIP_TRUNK, onlinePstnGateway: OWN_GATEWAY },
  prefixes,
});

describe('a channel admin (issue 14, item 5: deny by default)', () => {
  it("is refused the provider's operations on its own customer: sites, prefixes, license factors, removal", async () => {
    const attempts: Array<[string, string, unknown]> = [
      ['POST', SITES, {}],
      ['PUT', PREFIXES, { prefixes: [] }],
      ['PUT', `/api/v1/customers/${OWN}/license/factors`, {}],
      ['PATCH', `/api/v1/customers/${OWN}`, { licensedUsers: 100000 }],
      ['DELETE', `/api/v1/customers/${OWN}`, undefined],
    ];
    for (const [method, path, json] of attempts) {
      const answered = await channelAdmin(method, path, json === undefined ? {} : { json });
      expect(answered.status, `${method} ${path}`).toBe(403);
    }
    expect((await provider('GET', `/api/v1/customers/${OWN}`)).status).toBe(200);
  });
});

describe("one customer cannot reach another customer through the shared SBC's dial plans", () => {
  it('refuses a new site whose prefix matches numbers of another customer on the SBC (prefix_overlap)', async () => {
    for (const prefix of ['+4158906', '+41589062[0-5]', '+4420794600[40-59]']) {
      const refused = await operator('POST', SITES, {
        json: trunkSite([{ dialPlanName: 'CustDialPlan', prefix }]),
      });
      expectRefused(refused, 409, 'prefix_overlap');
      expect(refused.problem.errors?.[0]).toMatchObject({
        field: 'prefixes.0.prefix',
        code: 'prefix_overlap',
      });
      expect(refused.problem.errors?.[0]?.message).toContain('another customer');
    }
    expect(await ownSites()).toEqual([]);
    // Numbers no one else holds on the SBC are the channel's to route.
    const added = await operator('POST', SITES, {
      json: trunkSite([{ dialPlanName: 'CustDialPlan', prefix: '+41589063' }]),
    });
    expect(added.status, JSON.stringify(added.body)).toBe(202);
    const task = await settled(operator, added.headers.get('location') ?? '');
    expect(task.state, lines(task).join('\n')).toBe('finish-success');
  }, 60_000);

  it("refuses saving prefixes that overlap another customer's prefix or number range, and keeps the old ones", async () => {
    for (const prefix of ['+41589062', '+442079460050']) {
      const refused = await operator('PUT', PREFIXES, {
        json: { csv: `dialPlanName,prefix,tag\nCustDialPlan,+41589063,\nCustDialPlan,${prefix},\n` },
      });
      expectRefused(refused, 409, 'prefix_overlap');
      expect(refused.problem.errors).toHaveLength(1);
    }
    const site = (await ownSites())[0];
    expect(site?.prefixes.map((p) => p.prefix)).toEqual(['+41589063']);
  });

  it("refuses a number range holding numbers another customer's prefixes route on the SBC (range_overlap)", async () => {
    const ranges = `/api/v1/customers/${OWN}/number-ranges`;
    const refused = await operator('POST', ranges, {
      json: { name: 'Taken', start: '+41589062000', end: '+41589062099', siteName: OWN_SITE },
    });
    expectRefused(refused, 409, 'range_overlap');
    expect(refused.problem.detail).toContain('another customer');
    expect(((await operator('GET', ranges)).body as { value: unknown[] }).value).toEqual([]);
    const own = await operator('POST', ranges, {
      json: { name: 'Own', start: '+41589063000', end: '+41589063099', siteName: OWN_SITE },
    });
    expect(own.status, JSON.stringify(own.body)).toBe(201);
  });

  it("refuses a tag that points at another customer's gateway or IP Group (tag_not_owned)", async () => {
    for (const tag of [OTHER_GATEWAY, `${OTHER}-t`, 'some.other.trunk.example']) {
      const refused = await operator('PUT', PREFIXES, {
        json: { prefixes: [{ dialPlanName: 'CustDialPlan', prefix: '+41589063', tag }] },
      });
      expectRefused(refused, 400, 'validation_failed');
      expect(refused.problem.errors?.[0]).toMatchObject({ field: 'prefixes.0.tag', code: 'tag_not_owned' });
      expect(refused.problem.errors?.[0]?.allowed).toContain(OWN_GATEWAY);
      expect(refused.problem.errors?.[0]?.allowed).not.toContain(OTHER_GATEWAY);
    }
    expect((await ownSites())[0]?.prefixes.map((p) => p.tag)).toEqual(['']);
    // Its own gateway and IP Group are the customer's to name.
    for (const tag of [OWN_GATEWAY, `${OWN}-t`]) {
      const saved = await operator('PUT', PREFIXES, {
        json: { prefixes: [{ dialPlanName: 'CustDialPlan', prefix: '+41589063', tag }] },
      });
      expect(saved.status, JSON.stringify(saved.body)).toBeOneOf([200, 202]);
      if (saved.status === 202) await settled(operator, saved.headers.get('location') ?? '');
    }
  }, 60_000);
});

describe("one customer cannot bind the shared SBC to what is not the site's", () => {
  const registration = (hostName: string) => ({
    username: 'trunk',
    password: 'Secret-1',
    mainLine: '+41589063000',
    hostName,
  });

  /** Add SBC Site for a second trunk of the customer, with these SBC page values. */
  const secondSite = (sbc: Record<string, unknown>) =>
    operator('POST', SITES, {
      json: {
        siteName: 'Second',
        sbc: { ...SIP_TRUNK, onlinePstnGateway: 'second.trunks.example', ...sbc },
      },
    });

  it('refuses a carrier or CAC profile the SBC does not have, with the ones it has', async () => {
    const refused = await secondSite({ carrier: 'C1" ip-profile-name "Teams', cacProfile: 'Unlimited' });
    expectRefused(refused, 400, 'validation_failed');
    expect(refused.problem.errors).toEqual([
      expect.objectContaining({
        field: 'sbc.carrier',
        code: 'unknown_carrier',
        allowed: ['Carrier1', 'Carrier2'],
      }),
      expect.objectContaining({ field: 'sbc.cacProfile', code: 'unknown_cac_profile' }),
    ]);
  });

  it('refuses a registrar host the provider does not allow (registrar_host_not_allowed)', async () => {
    const refused = await secondSite({ carrierRegistration: registration('attacker.example') });
    expectRefused(refused, 400, 'validation_failed');
    expect(refused.problem.errors?.[0]).toMatchObject({
      field: 'sbc.carrierRegistration.hostName',
      code: 'registrar_host_not_allowed',
    });
    expect((await ownSites()).map((s) => s.siteName)).toEqual([OWN_SITE]);

    // The provider's list: its hosts are offered, others refused.
    const listed = await provider('PUT', '/api/v1/settings/registrar-hosts', {
      json: { hosts: ['SIP.Carrier1.example'] },
    });
    expect(listed.body).toEqual({ hosts: ['sip.carrier1.example'] });
    const still = await secondSite({ carrierRegistration: registration('attacker.example') });
    expect(still.problem.errors?.[0]).toMatchObject({
      code: 'registrar_host_not_allowed',
      allowed: ['sip.carrier1.example'],
    });
    const allowed = await operator('POST', `${SITES}?dryRun=true`, {
      json: {
        siteName: 'Second',
        sbc: {
          ...SIP_TRUNK,
          onlinePstnGateway: 'second.trunks.example',
          carrierRegistration: registration('sip.carrier1.example'),
        },
      },
    });
    expect(allowed.status, JSON.stringify(allowed.body)).toBe(202);
    await settled(operator, allowed.headers.get('location') ?? '');
    expect((await ownSites()).map((s) => s.siteName)).toEqual([OWN_SITE]);
  });
});

describe("one customer cannot take over another customer's gateway or its DNS records", () => {
  it("refuses a site whose gateway FQDN is another customer's (gateway_fqdn_taken)", async () => {
    const named = await operator('POST', SITES, {
      json: {
        siteName: OTHER,
        dns: { method: 'automatic', regionId: 'emea' },
        m365Routing: { configure: true },
        sbc: SIP_TRUNK,
      },
    });
    expectRefused(named, 409, 'gateway_fqdn_taken');
    expect(named.problem.errors?.[0]).toMatchObject({ field: 'siteName', code: 'gateway_fqdn_taken' });
    const typed = await operator('POST', SITES, {
      json: { siteName: 'Elsewhere', sbc: { ...SIP_TRUNK, onlinePstnGateway: OTHER_GATEWAY } },
    });
    expectRefused(typed, 409, 'gateway_fqdn_taken');
    // The Sbc Site Name of another customer in the same region, whatever the gateway.
    const sameName = await operator('POST', SITES, {
      json: { siteName: OTHER, sbc: { ...SIP_TRUNK, onlinePstnGateway: 'mine.trunks.example' } },
    });
    expectRefused(sameName, 409, 'site_name_taken');
    expect((await ownSites()).map((s) => s.siteName)).toEqual([OWN_SITE]);
  });

  it("leaves another customer's A and TXT records alone when a site claiming its gateway is deployed or removed", async () => {
    // A site stored with the other customer's gateway, as one saved before the rule would be.
    const at = new Date().toISOString();
    await stack.services.sites.create({
      customerId: OWN,
      siteName: OTHER,
      gatewayFqdn: OTHER_GATEWAY,
      dns: { method: 'automatic', regionId: 'emea', licensePlan: null },
      m365Routing: null,
      sbc: null,
      prefixes: [],
      gatewayCreated: false,
      createdAt: at,
      updatedAt: at,
    });
    const a = otherRecord('A');
    stack.sandbox.state.dns.upsert(zone(), 'TXT', OTHER_RECORD, {
      ttl: 3600,
      // Unmarked, as one written before the owner marker: the site rows say whose it is.
      metadata: {},
      records: [{ value: ['MS=ms00000001'] }],
    });
    const txt = otherRecord('TXT');

    const deployed = await operator('POST', `${SITES}/${OTHER}/deploy`, { json: {} });
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(202);
    const failed = await settled(operator, deployed.headers.get('location') ?? '');
    expect(failed.state).toBe('finish-failure');
    expect(failed.result).toContain('belong to another site');
    expect(otherRecord('A')).toEqual(a);
    expect(otherRecord('TXT')).toEqual(txt);

    const removal = await operator('DELETE', `/api/v1/customers/${OWN}`);
    expect(removal.status, JSON.stringify(removal.body)).toBe(202);
    await waitFor(
      'the removal',
      async () => ((await provider('GET', `/api/v1/customers/${OWN}`)).status === 404 ? true : undefined),
      60_000,
    );
    expect(otherRecord('A')).toEqual(a);
    expect(otherRecord('TXT')).toEqual(txt);
  }, 120_000);
});
