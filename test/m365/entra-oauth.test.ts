import type { AccessToken, TokenCredential } from '@azure/identity';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO } from '../../dev/sandbox/demo-data.js';
import { browseSignIn } from '../../dev/sandbox/entra-browser.js';
import { createGraphClient, getOrganization } from '../../shared/m365/graph-client.js';
import {
  createEntraOAuthClient,
  createPkcePair,
  type EntraOAuthClient,
  EntraOAuthError,
  type TokenSet,
} from '../../shared/m365/entra-oauth.js';
import { claimsOf, type SandboxFixture, startFixture } from '../sandbox/fixtures.js';

const contoso = DEMO.customers.contoso;
const fabrikam = DEMO.customers.fabrikam;
const app = DEMO.tokenApp;
const GRAPH = 'https://graph.microsoft.com/.default openid profile offline_access';
const TEAMS = `${app.teamsAdminApiAppId}/.default offline_access`;
const CALLBACK = 'http://localhost:7071/authenticate/OAuth2Callback';

describe('Entra ID OAuth adapter against the sandbox', () => {
  let f: SandboxFixture;
  let oauth: EntraOAuthClient;
  beforeAll(async () => {
    f = await startFixture();
    oauth = client(app.clientSecret);
  });
  afterAll(() => f.close());
  beforeEach(() => f.sandbox.reset());

  const client = (clientSecret: string, clientId: string = app.clientId) =>
    createEntraOAuthClient({
      authorityHost: `${f.sandbox.url}/entra`,
      clientId,
      clientSecret,
      transport: f.transport,
    });
  const control = (path: string, body: unknown) =>
    f.transport.fetch(`${f.sandbox.url}/_sandbox/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  /** The browser part: the adapter's authorize URL, the sandbox's pages, back at the callback. */
  async function authorize(
    o: { tenant?: string; scope?: string; prompt?: 'consent'; consent?: 'cancel' } = {},
  ) {
    const pkce = createPkcePair();
    const url = oauth.authorizeUrl({
      tenant: o.tenant ?? 'organizations',
      redirectUri: CALLBACK,
      state: 'state-42',
      scope: o.scope ?? GRAPH,
      codeChallenge: pkce.challenge,
      loginHint: contoso.admin.userPrincipalName,
      ...(o.prompt ? { prompt: o.prompt } : {}),
    });
    const outcome = await browseSignIn(f.transport.fetch, url, {
      username: contoso.admin.userPrincipalName,
      password: contoso.admin.password,
      ...(o.consent ? { consent: o.consent } : {}),
    });
    if (outcome.kind !== 'redirect') throw new Error(`Stopped on page '${outcome.page}': ${outcome.text}`);
    const back = new URL(outcome.location);
    return { back, code: back.searchParams.get('code') ?? '', verifier: pkce.verifier };
  }

  async function signedIn(): Promise<TokenSet> {
    const { code, verifier } = await authorize();
    return oauth.redeemCode({
      tenant: 'organizations',
      code,
      codeVerifier: verifier,
      redirectUri: CALLBACK,
      scope: GRAPH,
    });
  }

  async function refused(promise: Promise<unknown>): Promise<EntraOAuthError> {
    const error = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EntraOAuthError);
    return error as EntraOAuthError;
  }

  it('creates RFC 7636 S256 pairs', () => {
    const { verifier, challenge } = createPkcePair();
    expect(verifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
    expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(createPkcePair().verifier).not.toBe(verifier);
  });

  it('builds the authorize and admin consent URLs of the v2.0 endpoints', () => {
    const authorizeUrl = new URL(
      oauth.authorizeUrl({
        tenant: contoso.tenantId,
        redirectUri: CALLBACK,
        state: 's',
        scope: GRAPH,
        codeChallenge: 'c',
        prompt: 'consent',
      }),
    );
    expect(authorizeUrl.pathname).toBe(`/entra/${contoso.tenantId}/oauth2/v2.0/authorize`);
    expect(Object.fromEntries(authorizeUrl.searchParams)).toMatchObject({
      client_id: app.clientId,
      response_type: 'code',
      code_challenge_method: 'S256',
      prompt: 'consent',
    });
    const consentUrl = new URL(
      oauth.adminConsentUrl({ tenant: 'organizations', redirectUri: CALLBACK, state: 's' }),
    );
    expect(consentUrl.pathname).toBe('/entra/organizations/v2.0/adminconsent');
    expect(consentUrl.searchParams.get('scope')).toBe('https://graph.microsoft.com/.default');
  });

  it('runs the authorization code flow with PKCE and reads the account from the ID token', async () => {
    const tokens = await signedIn();
    const admin = f.sandbox.state.requireTenant(contoso.tenantId);
    expect(tokens.account).toEqual({
      tenantId: contoso.tenantId,
      username: contoso.admin.userPrincipalName,
      objectId: [...admin.users.values()].find((u) => u.userPrincipalName === contoso.admin.userPrincipalName)
        ?.id,
      name: 'Contoso Ltd Admin',
    });
    expect(tokens.refreshToken).toEqual(expect.any(String));
    expect(tokens.expiresIn).toBe(3599);
    expect(tokens.scope).toContain('https://graph.microsoft.com/User.ReadWrite.All');
    expect(claimsOf(tokens.accessToken).aud).toBe('https://graph.microsoft.com');
  });

  it('gives a delegated Graph token the real Graph client accepts', async () => {
    const tokens = await signedIn();
    const credential: TokenCredential = {
      getToken: async (): Promise<AccessToken> => ({
        token: tokens.accessToken,
        expiresOnTimestamp: Date.now() + tokens.expiresIn * 1000,
      }),
    };
    const graph = createGraphClient({
      baseUrl: `${f.sandbox.url}/graph`,
      credential,
      transport: f.transport,
    });
    const organization = await getOrganization(graph);
    expect(organization).toMatchObject({ id: contoso.tenantId, displayName: contoso.displayName });
  });

  it('reports a declined consent on the redirect, which the adapter leaves to the callback', async () => {
    const { back } = await authorize({ consent: 'cancel' });
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('error_description')).toMatch(/^AADSTS65004:/);
  });

  it('refuses a wrong verifier (AADSTS501481) and a replayed code (AADSTS54005)', async () => {
    const { code, verifier } = await authorize();
    const wrong = await refused(
      oauth.redeemCode({
        tenant: 'organizations',
        code,
        codeVerifier: createPkcePair().verifier,
        redirectUri: CALLBACK,
        scope: GRAPH,
      }),
    );
    expect(wrong).toMatchObject({ error: 'invalid_grant', aadsts: 'AADSTS501481', status: 400 });
    await oauth.redeemCode({
      tenant: 'organizations',
      code,
      codeVerifier: verifier,
      redirectUri: CALLBACK,
      scope: GRAPH,
    });
    const replay = await refused(
      oauth.redeemCode({
        tenant: 'organizations',
        code,
        codeVerifier: verifier,
        redirectUri: CALLBACK,
        scope: GRAPH,
      }),
    );
    expect(replay).toMatchObject({ error: 'invalid_grant', aadsts: 'AADSTS54005' });
    expect(replay.message).not.toContain(code);
    expect(replay.message).not.toContain(verifier);
  });

  it('refuses a wrong client secret (AADSTS7000215) and an unknown client (AADSTS700016)', async () => {
    const { code, verifier } = await authorize();
    const badSecret = await refused(
      client('not-the-secret').redeemCode({
        tenant: 'organizations',
        code,
        codeVerifier: verifier,
        redirectUri: CALLBACK,
        scope: GRAPH,
      }),
    );
    expect(badSecret).toMatchObject({ error: 'invalid_client', aadsts: 'AADSTS7000215', status: 401 });
    expect(badSecret.message).not.toContain('not-the-secret');
    const unknown = await refused(
      client('x', '00000000-0000-4000-8000-00000000abcd').startDeviceCode({
        tenant: contoso.tenantId,
        scope: GRAPH,
      }),
    );
    expect(unknown).toMatchObject({ error: 'unauthorized_client', aadsts: 'AADSTS700016' });
  });

  it('grants admin consent through the admin consent URL', async () => {
    const tenant = f.sandbox.state.requireTenant(fabrikam.tenantId);
    tenant.servicePrincipals.delete(app.clientId);
    const outcome = await browseSignIn(
      f.transport.fetch,
      oauth.adminConsentUrl({ tenant: 'organizations', redirectUri: CALLBACK, state: 'ac' }),
      { username: fabrikam.admin.userPrincipalName, password: fabrikam.admin.password },
    );
    expect(outcome.kind).toBe('redirect');
    const back = new URL(outcome.kind === 'redirect' ? outcome.location : '');
    expect(back.searchParams.get('admin_consent')).toBe('True');
    expect(back.searchParams.get('tenant')).toBe(fabrikam.tenantId);
    expect(
      tenant.servicePrincipals.get(app.clientId)?.appRoleGrants['00000003-0000-0000-c000-000000000000'],
    ).toEqual([...app.graphRoles]);
    // The app-only token now carries the roles the admin consented to.
    const appToken = await f
      .credential(fabrikam.tenantId, app.clientId, app.clientSecret)
      .getToken('https://graph.microsoft.com/.default');
    expect(claimsOf(appToken.token).roles).toEqual([...app.graphRoles]);
  });

  describe('device code', () => {
    it('is pending, then slows down, then completes once approved', async () => {
      const grant = await oauth.startDeviceCode({ tenant: 'organizations', scope: GRAPH });
      expect(grant).toMatchObject({
        expiresIn: 900,
        interval: 5,
        verificationUri: `${f.sandbox.url}/entra/devicelogin`,
      });
      expect(grant.userCode).toMatch(/^[A-Z0-9]{9}$/);
      expect(grant.message).toContain(grant.userCode);
      // The caller keeps the interval between polls, as the consent flow stores it.
      let interval = grant.interval;
      const poll = async () => {
        const result = await oauth.pollDeviceCode({
          tenant: 'organizations',
          deviceCode: grant.deviceCode,
          interval,
        });
        if (result.status === 'pending') interval = result.interval;
        return result;
      };
      expect(await poll()).toEqual({ status: 'pending', interval: 5 });
      expect(await poll()).toEqual({ status: 'pending', interval: 10 });
      const approved = await control('entra/device/approve', {
        userCode: grant.userCode,
        userPrincipalName: contoso.admin.userPrincipalName,
      });
      expect(approved.status).toBe(200);
      const done = await poll();
      expect(done.status).toBe('complete');
      expect(done.status === 'complete' && done.tokens.account?.tenantId).toBe(contoso.tenantId);
      expect(done.status === 'complete' && done.tokens.refreshToken).toEqual(expect.any(String));
    });

    it('fails when declined', async () => {
      const grant = await oauth.startDeviceCode({ tenant: contoso.tenantId, scope: GRAPH });
      await control('entra/device/decline', { userCode: grant.userCode });
      expect(
        await oauth.pollDeviceCode({
          tenant: contoso.tenantId,
          deviceCode: grant.deviceCode,
          interval: grant.interval,
        }),
      ).toMatchObject({
        status: 'failed',
        error: 'authorization_declined',
      });
    });

    it('fails once expired', async () => {
      const settings = await f.transport.fetch(`${f.sandbox.url}/_sandbox/entra/device/settings`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ expiresInSeconds: 1 }),
      });
      expect(settings.status).toBe(200);
      const grant = await oauth.startDeviceCode({ tenant: contoso.tenantId, scope: GRAPH });
      expect(grant.expiresIn).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect(
        await oauth.pollDeviceCode({
          tenant: contoso.tenantId,
          deviceCode: grant.deviceCode,
          interval: grant.interval,
        }),
      ).toMatchObject({
        status: 'failed',
        error: 'expired_token',
      });
    });

    it('fails for an unknown device code', async () => {
      expect(
        await oauth.pollDeviceCode({ tenant: contoso.tenantId, deviceCode: 'nope', interval: 5 }),
      ).toMatchObject({
        status: 'failed',
        error: 'bad_verification_code',
      });
    });
  });

  describe('refresh', () => {
    it('rotates the refresh token every time and keeps the account', async () => {
      const first = await signedIn();
      const second = await oauth.refresh({
        tenant: contoso.tenantId,
        refreshToken: first.refreshToken ?? '',
        scope: GRAPH,
      });
      const third = await oauth.refresh({
        tenant: contoso.tenantId,
        refreshToken: second.refreshToken ?? '',
        scope: GRAPH,
      });
      expect(new Set([first.refreshToken, second.refreshToken, third.refreshToken]).size).toBe(3);
      expect(third.account).toEqual(first.account);
    });

    it('needs the second consent for the Teams admin API (AADSTS65001), then succeeds', async () => {
      const tokens = await signedIn();
      const before = await refused(
        oauth.refresh({ tenant: contoso.tenantId, refreshToken: tokens.refreshToken ?? '', scope: TEAMS }),
      );
      expect(before).toMatchObject({ error: 'invalid_grant', aadsts: 'AADSTS65001', status: 400 });

      const { code, verifier } = await authorize({ scope: TEAMS, prompt: 'consent' });
      const teams = await oauth.redeemCode({
        tenant: 'organizations',
        code,
        codeVerifier: verifier,
        redirectUri: CALLBACK,
        scope: TEAMS,
      });
      expect(claimsOf(teams.accessToken)).toMatchObject({
        aud: app.teamsAdminApiAppId,
        scp: 'user_impersonation',
      });

      const after = await oauth.refresh({
        tenant: contoso.tenantId,
        refreshToken: tokens.refreshToken ?? '',
        scope: TEAMS,
      });
      expect(claimsOf(after.accessToken).aud).toBe(app.teamsAdminApiAppId);
      expect(after.account?.username).toBe(contoso.admin.userPrincipalName);
    });

    it('fails with AADSTS50173 after the grants were revoked', async () => {
      const tokens = await signedIn();
      f.sandbox.state.entra.revokeGrants(contoso.tenantId, contoso.admin.userPrincipalName);
      const error = await refused(
        oauth.refresh({ tenant: contoso.tenantId, refreshToken: tokens.refreshToken ?? '', scope: GRAPH }),
      );
      expect(error).toMatchObject({ error: 'invalid_grant', aadsts: 'AADSTS50173' });
      expect(error.message).not.toContain(tokens.refreshToken ?? '');
    });
  });
});
