import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../dev/sandbox/demo-data.js';
import { sandboxEndpointSettings } from '../../dev/sandbox/product-settings.js';
import { createJwtAuthenticator } from '../../shared/auth/authenticator.js';
import { loadSettings } from '../../shared/config/settings.js';
import { claimsOf, type SandboxFixture, startFixture } from './fixtures.js';

const GRAPH = 'https://graph.microsoft.com/.default';
const contoso = DEMO.customers.contoso;

describe('the demo token app', () => {
  it('holds exactly the delegated Graph permissions docs/deploy.md has operators give the token app', () => {
    const row = readFileSync(new URL('../../docs/deploy.md', import.meta.url), 'utf8')
      .split('\n')
      .find((line) => /^\s*\| Microsoft Graph\s+\|/.test(line));
    const documented = [...(row ?? '').matchAll(/`([^`]+)`/g)]
      .map((m) => m[1] ?? '')
      .filter((p) => !['offline_access', 'openid', 'profile'].includes(p));
    expect([...DEMO.tokenApp.graphScopes].sort()).toEqual(documented.sort());
  });

  it('holds the application permissions replication reads with: group members and Teams user configurations', () => {
    expect(DEMO.tokenApp.graphRoles).toEqual(
      expect.arrayContaining(['GroupMember.Read.All', 'TeamsUserConfiguration.Read.All']),
    );
  });
});

describe('sandbox Entra ID through @azure/identity', () => {
  let f: SandboxFixture;
  beforeAll(async () => {
    f = await startFixture();
  });
  afterAll(() => f.close());

  it('issues a v1.0 app token for Graph (whose manifest asks for no v2) with the consented roles', async () => {
    const credential = f.credential(contoso.tenantId, DEMO.tokenApp.clientId, DEMO.tokenApp.clientSecret);
    const token = await credential.getToken(GRAPH);
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 50 * 60 * 1000);
    const claims = claimsOf(token.token);
    expect(claims).toMatchObject({
      // Entra's https://sts.windows.net/{tenant}/, under the sandbox's authority host.
      iss: `${f.sandbox.url}/entra/${contoso.tenantId}/`,
      aud: 'https://graph.microsoft.com',
      tid: contoso.tenantId,
      appid: DEMO.tokenApp.clientId,
      appidacr: '1',
      idtyp: 'app',
      ver: '1.0',
    });
    expect(claims.azp).toBeUndefined();
    expect(claims.roles).toEqual([...DEMO.tokenApp.graphRoles]);
    expect(claims.oid).toBe(
      f.sandbox.state.tenant(contoso.tenantId)?.servicePrincipals.get(DEMO.tokenApp.clientId)?.id,
    );
  });

  it('accepts a verified domain in place of the tenant id and issues for the tenant id', async () => {
    const credential = f.credential(
      contoso.defaultDomain,
      DEMO.tokenApp.clientId,
      DEMO.tokenApp.clientSecret,
    );
    const claims = claimsOf((await credential.getToken(GRAPH)).token);
    expect(claims.tid).toBe(contoso.tenantId);
    expect(claims.iss).toBe(`${f.sandbox.url}/entra/${contoso.tenantId}/`);
  });

  it('issues tokens for the product API with its identifier URI as audience and the granted app role', async () => {
    const { provider } = DEMO;
    const credential = f.credential(
      provider.tenantId,
      provider.portal.clientId,
      provider.portal.clientSecret,
    );
    const claims = claimsOf((await credential.getToken(`${provider.apiAudience}/.default`)).token);
    expect(claims.aud).toBe(provider.apiAudience);
    expect(claims.roles).toEqual([provider.providerAdminRole]);
    // Its manifest asks for v2.0 (accessTokenAcceptedVersion: 2).
    expect(claims).toMatchObject({ ver: '2.0', iss: `${f.sandbox.url}/entra/${provider.tenantId}/v2.0` });
  });

  it("issues each API's tokens in the format its manifest asks for: v1.0 unless it says 2", async () => {
    const { provider } = DEMO;
    const v1Api = f.sandbox.state.addApplication({
      displayName: 'An API with a default manifest',
      homeTenantId: provider.tenantId,
      identifierUris: ['api://default-manifest'],
      appRoles: [{ value: 'reader', displayName: 'Reader', allowedMemberTypes: ['Application'] }],
    });
    f.sandbox.state.consent(provider.tenantId, provider.portal.clientId, { [v1Api.appId]: ['reader'] });
    const credential = f.credential(
      provider.tenantId,
      provider.portal.clientId,
      provider.portal.clientSecret,
    );
    const claims = claimsOf((await credential.getToken('api://default-manifest/.default')).token);
    expect(claims).toMatchObject({
      aud: 'api://default-manifest',
      iss: `${f.sandbox.url}/entra/${provider.tenantId}/`,
      appid: provider.portal.clientId,
      ver: '1.0',
      roles: ['reader'],
    });
    const caller = claimsOf(
      await f.sandbox.issueToken({ tenantId: provider.tenantId, audience: 'api://default-manifest' }),
    );
    expect(caller).toMatchObject({ ver: '1.0', iss: `${f.sandbox.url}/entra/${provider.tenantId}/` });
  });

  it.each([
    ['a wrong secret', contoso.tenantId, DEMO.tokenApp.clientId, 'not-the-secret', 'AADSTS7000215'],
    [
      'an expired secret',
      contoso.tenantId,
      DEMO.tokenApp.clientId,
      DEMO.tokenApp.expiredClientSecret,
      'AADSTS7000222',
    ],
    [
      'an app not consented in the tenant',
      contoso.tenantId,
      DEMO.provider.portal.clientId,
      'x',
      'AADSTS700016',
    ],
  ])('surfaces %s as the SDK error with its AADSTS code', async (_case, tenantId, clientId, secret, code) => {
    const credential = f.credential(tenantId, clientId, secret);
    await expect(credential.getToken(GRAPH)).rejects.toThrow(code);
  });

  it('answers an unknown tenant with AADSTS90002, which MSAL meets already at discovery', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    const credential = f.credential(unknown, DEMO.tokenApp.clientId, DEMO.tokenApp.clientSecret);
    await expect(credential.getToken(GRAPH)).rejects.toThrow('endpoints_resolution_error');
    for (const [path, init] of [
      ['v2.0/.well-known/openid-configuration', {}],
      [
        'oauth2/v2.0/token',
        { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials' }) },
      ],
    ] as const) {
      const response = await f.transport.fetch(`${f.sandbox.url}/entra/${unknown}/${path}`, init);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error_codes: [90002] });
    }
  });

  it('refuses a resource that has no service principal in the tenant (AADSTS500011)', async () => {
    const credential = f.credential(contoso.tenantId, DEMO.tokenApp.clientId, DEMO.tokenApp.clientSecret);
    await expect(credential.getToken(`${DEMO.provider.apiAudience}/.default`)).rejects.toThrow(
      'AADSTS500011',
    );
  });

  it('answers errors in the real OAuth error shape', async () => {
    const response = await f.transport.fetch(`${f.sandbox.url}/entra/${contoso.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'client-request-id': 'corr-123' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: DEMO.tokenApp.clientId,
        client_secret: 'wrong',
        scope: GRAPH,
      }),
    });
    expect(response.status).toBe(401);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      error: 'invalid_client',
      error_codes: [7000215],
      correlation_id: 'corr-123',
    });
    expect(body.error_description).toMatch(/^AADSTS7000215: Invalid client secret provided\. .*Trace ID: /);
    expect(body.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    expect(body.trace_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves the discovery document MSAL reads, with the tenant id in every endpoint', async () => {
    const response = await f.transport.fetch(
      `${f.sandbox.url}/entra/${contoso.initialDomain}/v2.0/.well-known/openid-configuration`,
    );
    const base = `${f.sandbox.url}/entra/${contoso.tenantId}`;
    expect(await response.json()).toMatchObject({
      issuer: `${base}/v2.0`,
      token_endpoint: `${base}/oauth2/v2.0/token`,
      jwks_uri: `${base}/discovery/v2.0/keys`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    });
  });

  describe('caller tokens for the product API', () => {
    const authenticator = () =>
      createJwtAuthenticator({
        issuer: `${f.sandbox.url}/entra/${DEMO.provider.tenantId}/v2.0`,
        audience: DEMO.provider.apiAudience,
        jwksUri: `${f.sandbox.url}/entra/${DEMO.provider.tenantId}/discovery/v2.0/keys`,
        fetch: f.transport.fetch,
      });

    it('mints tokens the product authenticator accepts, in process and over HTTP', async () => {
      const inProcess = await f.sandbox.issueToken({
        tenantId: DEMO.provider.tenantId,
        audience: DEMO.provider.apiAudience,
        roles: ['provider-admin'],
        name: 'Pat Admin',
        upn: DEMO.provider.admin.userPrincipalName,
        subject: DEMO.provider.admin.id,
      });
      await expect(authenticator().authenticate(`Bearer ${inProcess}`)).resolves.toEqual({
        subject: DEMO.provider.admin.id,
        name: 'Pat Admin',
        tenantId: DEMO.provider.tenantId,
        roles: ['provider-admin'],
        username: DEMO.provider.admin.userPrincipalName,
      });
      expect(claimsOf(inProcess)).toMatchObject({
        preferred_username: DEMO.provider.admin.userPrincipalName,
      });

      const response = await f.transport.fetch(`${f.sandbox.url}/_sandbox/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tenantId: DEMO.provider.initialDomain, audience: DEMO.provider.apiAudience }),
      });
      const { access_token } = (await response.json()) as { access_token: string };
      await expect(authenticator().authenticate(`Bearer ${access_token}`)).resolves.toMatchObject({
        roles: [],
      });
    });

    it.each([
      ['the default settings accept', {}, { '2.0': true, '1.0': true }],
      [
        'API_TOKEN_ISSUER naming the v2.0 issuer accepts only',
        { v2Only: true },
        { '2.0': true, '1.0': false },
      ],
    ] as const)(
      "%s the provider's v1.0 and v2.0 tokens as issued by Entra ID",
      async (_, { v2Only }: { v2Only?: boolean }, accepted) => {
        const endpoints = sandboxEndpointSettings(f.sandbox);
        const settings = loadSettings({
          ...endpoints,
          PUBLIC_BASE_URL: 'https://hub.example.com',
          AzureWebJobsStorage: 'UseDevelopmentStorage=true',
          LICENSE_TENANT_COUNT: '1',
          LICENSE_USER_COUNT: '1',
          SECRETS_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
          ...(v2Only
            ? { API_TOKEN_ISSUER: `${endpoints.ENTRA_AUTHORITY_HOST}/${DEMO.provider.tenantId}/v2.0` }
            : {}),
        });
        const product = createJwtAuthenticator({
          ...settings.api,
          issuer: settings.api.issuers,
          fetch: f.transport.fetch,
        });
        for (const version of ['2.0', '1.0'] as const) {
          const token = await f.sandbox.issueToken({
            tenantId: DEMO.provider.tenantId,
            audience: DEMO.provider.apiAudience,
            roles: ['provider-admin'],
            version,
          });
          expect(claimsOf(token).ver).toBe(version);
          const outcome = await product.authenticate(`Bearer ${token}`).then(
            (p) => p.roles.includes('provider-admin'),
            () => false,
          );
          expect(outcome, `v${version}`).toBe(accepted[version]);
        }
      },
    );

    it('mints already expired tokens, which the product refuses', async () => {
      const expired = await f.sandbox.issueToken({
        tenantId: DEMO.provider.tenantId,
        audience: DEMO.provider.apiAudience,
        expiresInSeconds: -60,
      });
      const claims = claimsOf(expired);
      expect(Number(claims.exp)).toBeLessThan(Date.now() / 1000);
      expect(Number(claims.iat)).toBeLessThan(Number(claims.exp));
      await expect(authenticator().authenticate(`Bearer ${expired}`)).rejects.toThrow('expired');
    });

    it('signs tokens of another tenant with that tenant as issuer, which the product refuses', async () => {
      const foreign = await f.sandbox.issueToken({
        tenantId: contoso.tenantId,
        audience: DEMO.provider.apiAudience,
      });
      await expect(authenticator().authenticate(`Bearer ${foreign}`)).rejects.toThrow('iss');
    });
  });
});
