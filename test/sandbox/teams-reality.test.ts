import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../dev/sandbox/demo-data.js';
import { SKU_CATALOGUE } from '../../dev/sandbox/graph-directory.js';
import { teamsAdminEndpoint } from '../../dev/sandbox/peers/teams-admin.js';
import { sandboxProfile, STRICT_PROFILE } from '../../dev/sandbox/profile.js';
import { REAL_DOMAIN_ACTIVATION_MS } from '../../dev/sandbox/teams-reality.js';
import {
  createTeamsAdminClient,
  type TeamsAdminClient,
  TeamsAdminError,
} from '../../shared/teams/teams-admin-client.js';
import { type SandboxFixture, startFixture } from './fixtures.js';

const contoso = DEMO.customers.contoso;
const TEAMS = '48ac35b8-9aa8-4d74-927d-1f4a14a0b239';
const E5 = SKU_CATALOGUE.find((s) => s.skuPartNumber === 'ENTERPRISEPREMIUM')?.skuId ?? '';
/** The 15-minute activation played in 0.3 s. */
const SCALE = 300 / REAL_DOMAIN_ACTIVATION_MS;

describe('the Teams admin API under the reality profile', () => {
  let f: SandboxFixture;
  let appToken: string;

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await f.transport.fetch(`${f.sandbox.url}/teams${path}`, {
      method,
      headers: {
        authorization: `Bearer ${appToken}`,
        'x-ms-target-uri': `https://${teamsAdminEndpoint(contoso.tenantId).host}/`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  };
  const createGateway = (fqdn: string) =>
    call('POST', '/Skype.Policy/configurations/OnlinePSTNGateway', {
      Identity: fqdn,
      Fqdn: fqdn,
      SipSignalingPort: 5061,
    });

  /** A domain verified now in Contoso, as onboarding's CreateDomain and VerifyDomain leave it. */
  const freshDomain = (fqdn: string) => {
    const { state } = f.sandbox;
    const tenant = state.requireTenant(contoso.tenantId);
    state.directory.addDomain(tenant, fqdn);
    state.dns.setExternalTxt(fqdn, [state.directory.verificationCode(tenant, fqdn)]);
    state.directory.verifyDomain(tenant, fqdn);
    return tenant;
  };
  const licensedUser = (fqdn: string) => {
    const { state } = f.sandbox;
    const tenant = state.requireTenant(contoso.tenantId);
    const user = state.addUser(contoso.tenantId, {
      userPrincipalName: `dnsactivation@${fqdn}`,
      displayName: 'Activation',
      usageLocation: 'US',
    });
    state.directory.assignLicense(tenant, user.id, [{ skuId: E5, disabledPlans: [] }], []);
  };

  const productClient = (): TeamsAdminClient =>
    createTeamsAdminClient({
      baseUrl: `${f.sandbox.url}/teams`,
      credential: f.credential(contoso.tenantId, DEMO.tokenApp.clientId, DEMO.tokenApp.clientSecret),
      transport: f.transport,
      maxRetries: 0,
    });

  beforeAll(async () => {
    f = await startFixture();
    const credential = f.credential(contoso.tenantId, DEMO.tokenApp.clientId, DEMO.tokenApp.clientSecret);
    appToken = (await credential.getToken(`${TEAMS}/.default`)).token;
  });
  afterEach(() => {
    f.sandbox.state.profile = STRICT_PROFILE;
    f.sandbox.reset();
  });
  afterAll(() => f.close());

  it('refuses a PSTN gateway on a freshly verified domain until a licensed user has activated it for a while', async () => {
    f.sandbox.state.profile = sandboxProfile('reality', SCALE);
    const fqdn = 'acme.voice.example.net';
    freshDomain(fqdn);
    const refused = await createGateway(fqdn);
    expect(refused).toEqual({
      status: 400,
      body: {
        error: {
          code: 'BadRequest',
          message: `Can not use the "${fqdn}" domain as it was not configured for this tenant.`,
        },
      },
    });
    licensedUser(fqdn);
    // Licensed, but Teams has not caught up yet: still refused, then accepted once the activation has replicated.
    expect((await createGateway(fqdn)).status).toBe(400);
    await sleep(400);
    expect((await createGateway(fqdn)).status).toBe(204);
  });

  it('plays no activation under the strict profile, nor for domains the tenant had before', async () => {
    const fqdn = 'strict.voice.example.net';
    freshDomain(fqdn);
    expect((await createGateway(fqdn)).status).toBe(201);
    f.sandbox.state.profile = sandboxProfile('reality', SCALE);
    expect((await createGateway('sbc1.contoso.com')).status).toBe(204);
  });

  it('answers writes with 204 and no body, and the product reads the object back', async () => {
    f.sandbox.state.profile = sandboxProfile('reality', SCALE);
    const post = await call('POST', '/Skype.Policy/configurations/OnlineVoiceRoutingPolicy', {
      Identity: 'Reality Policy',
    });
    expect(post).toEqual({ status: 204, body: undefined });
    const teams = productClient();
    const created = await teams.create('OnlineVoiceRoute', {
      Identity: 'Reality Route',
      NumberPattern: '^\\+1(\\d{10})$',
      OnlinePstnUsages: [],
    });
    expect(created).toMatchObject({ Identity: 'Reality Route', NumberPattern: '^\\+1(\\d{10})$' });
    expect(
      await call('PUT', '/Skype.Policy/configurations/OnlineVoiceRoute/configuration/Reality%20Route', {
        Priority: 2,
      }),
    ).toEqual({ status: 204, body: undefined });
    const updated = await teams.update('OnlineVoiceRoute', 'Reality Route', { Description: 'read back' });
    expect(updated).toMatchObject({ Identity: 'Reality Route', Description: 'read back', Priority: 2 });
  });

  it('refuses app-only calls of an app without a Teams admin role, and the product says which role to assign', async () => {
    f.sandbox.state.profile = sandboxProfile('reality', SCALE);
    f.sandbox.teams.adminRoles.set(contoso.tenantId, DEMO.tokenApp.clientId, false);
    expect(await call('GET', '/Skype.Policy/configurations/OnlineVoiceRoute')).toMatchObject({
      status: 403,
      body: { error: { code: 'Forbidden' } },
    });
    const refused = await productClient()
      .list('OnlineVoiceRoute')
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TeamsAdminError);
    expect((refused as TeamsAdminError).status).toBe(403);
    expect((refused as TeamsAdminError).message).toContain(
      'assign the Teams Administrator role to its service principal',
    );
    f.sandbox.teams.adminRoles.set(contoso.tenantId, DEMO.tokenApp.clientId, true);
    expect((await call('GET', '/Skype.Policy/configurations/OnlineVoiceRoute')).status).toBe(200);
  });
});
