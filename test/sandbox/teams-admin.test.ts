import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, demoGroupId } from '../../dev/sandbox/demo-data.js';
import { teamsAdminEndpoint } from '../../dev/sandbox/peers/teams-admin.js';
import { findUser } from '../../dev/sandbox/state.js';
import { type SandboxFixture, startFixture } from './fixtures.js';

const contoso = DEMO.customers.contoso;
const TEAMS = '48ac35b8-9aa8-4d74-927d-1f4a14a0b239';

describe('sandbox Teams admin configuration API', () => {
  let f: SandboxFixture;
  let appToken: string;

  const call = async (
    method: string,
    path: string,
    options: { token?: string | null; target?: string | null; body?: unknown } = {},
  ) => {
    const token = options.token === undefined ? appToken : options.token;
    const target =
      options.target === undefined ? `https://${teamsAdminEndpoint(contoso.tenantId).host}/` : options.target;
    const response = await f.transport.fetch(`${f.sandbox.url}/teams${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(target ? { 'x-ms-target-uri': target } : {}),
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  };

  beforeAll(async () => {
    f = await startFixture();
    const credential = f.credential(contoso.tenantId, DEMO.tokenApp.clientId, DEMO.tokenApp.clientSecret);
    appToken = (await credential.getToken(`${TEAMS}/.default`)).token;
  });
  afterEach(() => f.sandbox.reset());
  afterAll(() => f.close());

  it('answers serviceDiscovery with the tenant’s admin endpoint and forest, and requires X-MS-Target-Uri later', async () => {
    const discovery = await call('GET', '/Teams.Tenant/serviceDiscovery', { target: null });
    const endpoint = teamsAdminEndpoint(contoso.tenantId);
    expect(discovery).toEqual({
      status: 200,
      body: {
        Endpoints: { AdminServiceEndpoint: endpoint.host },
        Headers: { 'X-MS-Forest': endpoint.forest },
      },
    });
    expect(
      await call('GET', '/Skype.Policy/configurations/OnlinePSTNGateway', { target: null }),
    ).toMatchObject({
      status: 400,
      body: { error: { message: expect.stringContaining('X-MS-Target-Uri') } },
    });
    const other = teamsAdminEndpoint(DEMO.customers.fabrikam.tenantId).host;
    expect(
      (await call('GET', '/Skype.Policy/configurations/OnlinePSTNGateway', { target: `https://${other}/` }))
        .status,
    ).toBe(other === endpoint.host ? 200 : 400);
    expect((await call('GET', '/Skype.Policy/configurations/OnlinePSTNGateway')).body).toEqual([]);
  });

  it('refuses missing and foreign tokens', async () => {
    expect((await call('GET', '/Teams.Tenant/serviceDiscovery', { token: null })).status).toBe(401);
    const graph = await f.sandbox.issueToken({
      tenantId: contoso.tenantId,
      audience: 'https://graph.microsoft.com',
    });
    expect((await call('GET', '/Teams.Tenant/serviceDiscovery', { token: graph })).status).toBe(401);
  });

  it('accepts delegated tokens of an admin and refuses those of an ordinary user', async () => {
    f.sandbox.state.entra.grantDelegatedConsent(contoso.tenantId, DEMO.tokenApp.clientId, [TEAMS]);
    const delegated = async (upn: string) => {
      const tenant = f.sandbox.state.requireTenant(contoso.tenantId);
      const user = findUser(tenant, upn);
      const refresh = f.sandbox.state.entra.issueRefreshToken({
        tenantId: contoso.tenantId,
        userId: user?.id ?? '',
        clientId: DEMO.tokenApp.clientId,
        scope: `${TEAMS}/.default offline_access`,
      });
      const response = await f.transport.fetch(
        `${f.sandbox.url}/entra/${contoso.tenantId}/oauth2/v2.0/token`,
        {
          method: 'POST',
          body: new URLSearchParams({
            grant_type: 'refresh_token',
            refresh_token: refresh,
            client_id: DEMO.tokenApp.clientId,
            client_secret: DEMO.tokenApp.clientSecret,
            scope: `${TEAMS}/.default`,
          }),
        },
      );
      expect(response.status).toBe(200);
      return ((await response.json()) as { access_token: string }).access_token;
    };
    expect(
      (
        await call('GET', '/Teams.Tenant/serviceDiscovery', {
          token: await delegated(contoso.admin.userPrincipalName),
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await call('GET', '/Teams.Tenant/serviceDiscovery', {
          token: await delegated(contoso.user.userPrincipalName),
        })
      ).status,
    ).toBe(403);
  });

  it('creates, reads, updates and deletes configuration objects with the service’s checks', async () => {
    const gateways = '/Skype.Policy/configurations/OnlinePSTNGateway';
    const created = await call('POST', gateways, {
      body: { Identity: 'gw.example.com', SipSignalingPort: 5061 },
    });
    expect(created).toMatchObject({
      status: 201,
      body: { Identity: 'gw.example.com', Fqdn: 'gw.example.com', SipSignalingPort: 5061, Enabled: false },
    });
    expect(
      (await call('POST', gateways, { body: { Identity: 'GW.example.com', SipSignalingPort: 5061 } })).status,
    ).toBe(409);
    expect((await call('POST', gateways, { body: { Identity: 'x.example.com' } })).status).toBe(400);
    expect(
      (await call('POST', gateways, { body: { Identity: 'x.example.com', SipSignalingPort: '5061' } }))
        .status,
    ).toBe(400);
    expect(
      (
        await call('POST', gateways, {
          body: { Identity: 'x.example.com', SipSignalingPort: 1, Colour: 'red' },
        })
      ).status,
    ).toBe(400);
    expect(
      await call('PUT', `${gateways}/configuration/gw.example.com`, { body: { Enabled: true } }),
    ).toMatchObject({
      status: 200,
      body: { Enabled: true, SipSignalingPort: 5061 },
    });
    expect((await call('GET', `${gateways}/configuration/GW.EXAMPLE.COM`)).body).toMatchObject({
      Enabled: true,
    });
    expect((await call('GET', `${gateways}/configuration/none.example.com`)).status).toBe(404);

    const usages = '/Skype.Policy/configurations/OnlinePstnUsages';
    expect((await call('GET', usages)).body).toEqual([{ Identity: 'Global', Usage: [] }]);
    await call('PUT', `${usages}/configuration/Global`, {
      body: { Usage: ['Unrestricted', 'unrestricted'] },
    });
    expect((await call('GET', usages)).body).toEqual([{ Identity: 'Global', Usage: ['Unrestricted'] }]);

    const routes = '/Skype.Policy/configurations/OnlineVoiceRoute';
    const badRoute = await call('POST', routes, {
      body: { Identity: 'R', OnlinePstnGatewayList: ['missing.example.com'] },
    });
    expect(badRoute).toMatchObject({
      status: 400,
      body: { error: { message: expect.stringContaining('missing.example.com') } },
    });
    expect(
      await call('POST', routes, { body: { Identity: 'R', NumberPattern: '^(\\+1[0-9]{10}$' } }),
    ).toMatchObject({
      status: 400,
      body: { error: { message: expect.stringContaining('not a valid regular expression') } },
    });
    expect(
      (
        await call('POST', routes, {
          body: {
            Identity: 'R',
            OnlinePstnGatewayList: ['gw.example.com'],
            OnlinePstnUsages: ['Unrestricted'],
          },
        })
      ).status,
    ).toBe(201);
    expect((await call('PUT', `${usages}/configuration/Global`, { body: { Usage: [] } })).body).toMatchObject(
      { error: { message: expect.stringContaining("OnlineVoiceRoute 'R' uses it") } },
    );
    expect(await call('DELETE', `${gateways}/configuration/gw.example.com`)).toMatchObject({
      status: 400,
      body: { error: { message: expect.stringContaining("OnlineVoiceRoute 'R'") } },
    });
    expect((await call('DELETE', `${routes}/configuration/R`)).status).toBe(204);
    expect((await call('DELETE', `${gateways}/configuration/gw.example.com`)).status).toBe(204);

    const policies = '/Skype.Policy/configurations/OnlineVoiceRoutingPolicy';
    expect(
      await call('POST', policies, {
        body: { Identity: 'Unrestricted', OnlinePstnUsages: ['Unrestricted'] },
      }),
    ).toMatchObject({
      status: 201,
      body: { Identity: 'Tag:Unrestricted' },
    });
    expect(
      (await call('GET', `${policies}/configuration/${encodeURIComponent('Tag:Unrestricted')}`)).status,
    ).toBe(200);
    expect((await call('DELETE', `${policies}/configuration/Global`)).status).toBe(400);

    const sites = '/Skype.Policy/configurations/TenantNetworkSite';
    expect((await call('POST', sites, { body: { Identity: 'Paris', NetworkRegionID: 'EMEA' } })).status).toBe(
      400,
    );
    expect((await call('GET', '/Skype.Policy/configurations/NoSuchThing')).status).toBe(404);
    expect(f.sandbox.teams.list(DEMO.customers.fabrikam.tenantId, 'OnlineVoiceRoutingPolicy')).toEqual([
      expect.objectContaining({ Identity: 'Global' }),
    ]);
  });

  it('refuses a PSTN gateway Teams would refuse: its FQDN, its port and its limits', async () => {
    const gateways = '/Skype.Policy/configurations/OnlinePSTNGateway';
    const refusal = async (body: Record<string, unknown>) => {
      const answer = await call('POST', gateways, { body: { SipSignalingPort: 5061, ...body } });
      expect(answer.status, JSON.stringify(answer.body)).toBe(400);
      return (answer.body as { error: { message: string } }).error.message;
    };
    expect(await refusal({ Identity: 'sbc' })).toContain('not valid');
    expect(await refusal({ Identity: `${'a'.repeat(52)}.example.com` })).toContain('63 characters');
    expect(await refusal({ Identity: 'sbc.contoso.onmicrosoft.com' })).toContain('onmicrosoft.com');
    expect(await refusal({ Identity: 'sbc.example.com', SipSignalingPort: 65_536 })).toContain(
      'between 1 and 65535',
    );
    expect(await refusal({ Identity: 'sbc.example.com', MaxConcurrentSessions: 0 })).toContain(
      'MaxConcurrentSessions',
    );
    expect(await refusal({ Identity: 'sbc.example.com', BypassMode: 'Sometimes' })).toContain('BypassMode');
    expect(await refusal({ Identity: 'sbc.example.com', FailoverResponseCodes: '200' })).toContain(
      'FailoverResponseCodes',
    );
    expect(await refusal({ Identity: 'sbc.example.com', GatewaySiteId: 'Nowhere' })).toContain(
      "network site 'Nowhere'",
    );
    expect(
      (await call('POST', gateways, { body: { Identity: 'sbc.example.com', SipSignalingPort: 5061 } }))
        .status,
    ).toBe(201);
    expect(
      (await call('PUT', `${gateways}/configuration/sbc.example.com`, { body: { SipSignalingPort: 0 } }))
        .status,
    ).toBe(400);
  });

  it('grants policies to users, shown by Get-CsOnlineUser only after the grant lag', async () => {
    await call('PUT', '/Skype.Policy/configurations/OnlinePstnUsages/configuration/Global', {
      body: { Usage: ['U'] },
    });
    await call('POST', '/Skype.Policy/configurations/OnlineVoiceRoutingPolicy', {
      body: { Identity: 'P', OnlinePstnUsages: ['U'] },
    });
    const upn = encodeURIComponent(contoso.user.userPrincipalName);
    const user = `/Skype.Policy/users/${upn}`;
    const grant = (policyName: string | null, type = 'OnlineVoiceRoutingPolicy', who = user) =>
      call('PATCH', `${who}/policies/${type}`, { body: { PolicyName: policyName } });
    const effective = async () => {
      const { body } = await call('GET', `/Teams.User/users/${upn}`);
      const parsed = body as {
        effectivePolicyAssignments: { policyType: string; policyAssignment: { displayName: string } }[];
      };
      return Object.fromEntries(
        parsed.effectivePolicyAssignments
          .filter((a) => ['OnlineVoiceRoutingPolicy', 'CallingLineIdentity'].includes(a.policyType))
          .map((a) => [a.policyType, a.policyAssignment.displayName]),
      );
    };
    const visibleMs = f.sandbox.teams.timings.grantVisibleMs;
    f.sandbox.teams.timings.grantVisibleMs = 100;
    try {
      expect(await grant('P')).toEqual({ status: 204, body: undefined });
      expect(await effective()).toEqual({
        OnlineVoiceRoutingPolicy: 'Global',
        CallingLineIdentity: 'Global',
      });
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(await effective()).toEqual({ OnlineVoiceRoutingPolicy: 'P', CallingLineIdentity: 'Global' });
      expect((await grant('Nope')).status).toBe(400);
      expect((await grant('P', 'Bogus')).status).toBe(400);
      expect(
        (await grant('P', 'OnlineVoiceRoutingPolicy', '/Skype.Policy/users/nobody@contoso.com')).status,
      ).toBe(404);
      expect((await call('GET', '/Teams.User/users/nobody%40contoso.com')).status).toBe(404);
      expect((await grant('Anonymous', 'CallingLineIdentity')).status).toBe(204);
      expect((await grant(null)).status).toBe(204);
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(await effective()).toEqual({
        OnlineVoiceRoutingPolicy: 'Global',
        CallingLineIdentity: 'Anonymous',
      });
      // The read that had no public source is gone.
      expect((await call('GET', user)).status).toBe(404);
    } finally {
      f.sandbox.teams.timings.grantVisibleMs = visibleMs;
    }
  });

  it('answers injected faults in its error format with Retry-After, and reset clears the configuration', async () => {
    f.sandbox.faults.add({ pathPattern: '^/teams/', kind: 'status', status: 429, times: 1 });
    const response = await f.transport.fetch(`${f.sandbox.url}/teams/Teams.Tenant/serviceDiscovery`, {
      headers: { authorization: `Bearer ${appToken}` },
    });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toMatchObject({ error: { code: 'TooManyRequests' } });
    await call('POST', '/Skype.Policy/configurations/TenantNetworkRegion', { body: { Identity: 'EMEA' } });
    expect(f.sandbox.teams.list(contoso.tenantId, 'TenantNetworkRegion')).toHaveLength(1);
    f.sandbox.reset();
    expect(f.sandbox.teams.list(contoso.tenantId, 'TenantNetworkRegion')).toEqual([]);
  });

  it('serves group policy assignments with Teams’ refusals, keeping each type’s ranks 1…n', async () => {
    const assignments = '/Skype.Policy/groupPolicyAssignments';
    const sales = demoGroupId(contoso.tenantId, 'sales-voice');
    const support = demoGroupId(contoso.tenantId, 'support-voice');
    const policy = { PolicyType: 'OnlineVoiceRoutingPolicy', PolicyName: 'Spain' };
    await call('PUT', '/Skype.Policy/configurations/OnlinePstnUsages/configuration/Global', {
      body: { Usage: ['Spain'] },
    });
    await call('POST', '/Skype.Policy/configurations/OnlineVoiceRoutingPolicy', {
      body: { Identity: 'Spain', OnlinePstnUsages: ['Spain'] },
    });
    expect(await call('POST', assignments, { body: { ...policy, GroupId: sales } })).toMatchObject({
      status: 201,
      body: { GroupId: sales, PolicyName: 'Spain', Rank: 1 },
    });
    expect((await call('POST', assignments, { body: { ...policy, GroupId: support, Rank: 1 } })).status).toBe(
      201,
    );
    expect(
      ((await call('GET', assignments)).body as Array<{ GroupId: string; Rank: number }>).map((a) => [
        a.GroupId,
        a.Rank,
      ]),
    ).toEqual([
      [support, 1],
      [sales, 2],
    ]);
    // A second assignment of the type, an unknown group, an unknown policy, a type groups cannot get.
    expect((await call('POST', assignments, { body: { ...policy, GroupId: sales } })).status).toBe(409);
    expect(
      (
        await call('POST', assignments, {
          body: { ...policy, GroupId: '00000000-0000-4000-8000-000000000000' },
        })
      ).status,
    ).toBe(404);
    expect(
      (await call('POST', assignments, { body: { ...policy, GroupId: sales, PolicyName: 'Nope' } })).status,
    ).toBe(400);
    expect(
      (
        await call('POST', assignments, {
          body: { PolicyType: 'TeamsUpgradePolicy', PolicyName: 'Islands', GroupId: sales },
        })
      ).status,
    ).toBe(400);
    // The policy a group holds stays; the rank moves the other; removing renumbers.
    expect(
      (await call('DELETE', '/Skype.Policy/configurations/OnlineVoiceRoutingPolicy/configuration/Spain'))
        .status,
    ).toBe(400);
    const one = `${assignments}/${sales}/policyTypes/OnlineVoiceRoutingPolicy`;
    expect(await call('PATCH', one, { body: { Rank: 1 } })).toMatchObject({ status: 200, body: { Rank: 1 } });
    expect((await call('DELETE', one)).status).toBe(204);
    expect((await call('DELETE', one)).status).toBe(404);
    expect(f.sandbox.teams.groupAssignments(contoso.tenantId)).toMatchObject([{ GroupId: support, Rank: 1 }]);
  });
});
