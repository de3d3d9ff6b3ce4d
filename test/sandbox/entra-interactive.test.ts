import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO } from '../../dev/sandbox/demo-data.js';
import { browseSignIn } from '../../dev/sandbox/entra-browser.js';
import { findUser } from '../../dev/sandbox/state.js';
import { claimsOf, type SandboxFixture, startFixture } from './fixtures.js';

const contoso = DEMO.customers.contoso;
const fabrikam = DEMO.customers.fabrikam;
const app = DEMO.tokenApp;
const GRAPH = 'https://graph.microsoft.com/.default';
const TEAMS = `${app.teamsAdminApiAppId}/.default`;
const CALLBACK = 'https://localhost:7071/authenticate/OAuth2Callback';

describe('sandbox Entra ID interactive flows', () => {
  let f: SandboxFixture;
  beforeAll(async () => {
    f = await startFixture();
  });
  afterAll(() => f.close());
  beforeEach(() => f.sandbox.reset());

  const entra = (path: string) => `${f.sandbox.url}/entra/${path}`;
  const pkce = () => {
    const verifier = randomBytes(32).toString('base64url');
    return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
  };
  const authorizeUrl = (o: {
    tenant?: string;
    scope?: string;
    challenge?: string;
    extra?: Record<string, string>;
  }) =>
    `${entra(`${o.tenant ?? contoso.tenantId}/oauth2/v2.0/authorize`)}?${new URLSearchParams({
      response_type: 'code',
      client_id: app.clientId,
      redirect_uri: CALLBACK,
      scope: o.scope ?? `${GRAPH} openid profile offline_access`,
      state: 'st-1',
      ...(o.challenge ? { code_challenge: o.challenge, code_challenge_method: 'S256' } : {}),
      ...o.extra,
    })}`;
  const token = async (form: Record<string, string>, tenant: string = contoso.tenantId) => {
    const response = await f.transport.fetch(entra(`${tenant}/oauth2/v2.0/token`), {
      method: 'POST',
      body: new URLSearchParams({ client_id: app.clientId, client_secret: app.clientSecret, ...form }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const signIn = async (
    url: string,
    user: { userPrincipalName: string; password: string },
    consent?: 'cancel',
  ) => {
    const outcome = await browseSignIn(f.transport.fetch, url, {
      username: user.userPrincipalName,
      password: user.password,
      ...(consent ? { consent } : {}),
    });
    if (outcome.kind !== 'redirect') throw new Error(`Stopped on page '${outcome.page}': ${outcome.text}`);
    return new URL(outcome.location);
  };
  const codeFlow = async (scope?: string) => {
    const { verifier, challenge } = pkce();
    const back = await signIn(authorizeUrl({ challenge, ...(scope ? { scope } : {}) }), contoso.admin);
    return { code: back.searchParams.get('code') ?? '', verifier };
  };

  describe('authorization code with PKCE', () => {
    it('serves a sign-in form, then consent, then redirects with a single-use code for a complete token response', async () => {
      const { verifier, challenge } = pkce();
      const url = authorizeUrl({ challenge, extra: { login_hint: contoso.admin.userPrincipalName } });
      const page = await f.transport.fetch(url, { redirect: 'manual' });
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await page.text();
      expect(html).toContain('<label for="login">Email, phone, or Skype</label>');
      expect(html).toContain('<label for="passwd">Password</label>');
      expect(html).toContain(`value="${contoso.admin.userPrincipalName}"`);
      expect(html).toMatch(/<input type="hidden" name="flow" value="[0-9a-f-]{36}">/);
      expect(html).toMatch(/<form method="post" action="\/entra\/login">/);
      expect(html).not.toMatch(/<script|<link|src=/);

      const wrong = await browseSignIn(f.transport.fetch, url, {
        username: contoso.admin.userPrincipalName,
        password: 'nope',
      });
      expect(wrong).toMatchObject({ kind: 'page', page: 'sign-in' });
      expect(wrong.kind === 'page' && wrong.text).toContain('AADSTS50126');

      const consent = await browseSignIn(f.transport.fetch, url, {
        username: contoso.admin.userPrincipalName,
        password: contoso.admin.password,
        consent: 'accept',
      });
      expect(consent.kind).toBe('redirect');
      const back = new URL(consent.kind === 'redirect' ? consent.location : '');
      expect(`${back.origin}${back.pathname}`).toBe(CALLBACK);
      expect(back.searchParams.get('state')).toBe('st-1');
      const code = back.searchParams.get('code') ?? '';
      expect(code).not.toBe('');

      const { status, body } = await token({
        grant_type: 'authorization_code',
        code,
        redirect_uri: CALLBACK,
        code_verifier: verifier,
        scope: `${GRAPH} openid profile offline_access`,
      });
      expect(status).toBe(200);
      expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599 });
      expect(String(body.scope)).toContain('https://graph.microsoft.com/Organization.Read.All');
      expect(String(body.scope)).toContain('offline_access');
      expect(body.refresh_token).toEqual(expect.any(String));
      const admin = findUser(
        f.sandbox.state.requireTenant(contoso.tenantId),
        contoso.admin.userPrincipalName,
      );
      expect(claimsOf(String(body.access_token))).toMatchObject({
        // Graph's tokens are v1.0: the v1.0 issuer, `appid`, `upn` and `unique_name`.
        aud: 'https://graph.microsoft.com',
        iss: `${f.sandbox.url}/entra/${contoso.tenantId}/`,
        tid: contoso.tenantId,
        appid: app.clientId,
        upn: contoso.admin.userPrincipalName,
        unique_name: contoso.admin.userPrincipalName,
        ver: '1.0',
        oid: admin?.id,
        scp: app.graphScopes.join(' '),
      });
      expect(claimsOf(String(body.id_token))).toMatchObject({
        aud: app.clientId,
        tid: contoso.tenantId,
        oid: admin?.id,
        preferred_username: contoso.admin.userPrincipalName,
        name: 'Contoso Ltd Admin',
      });

      const replay = await token({
        grant_type: 'authorization_code',
        code,
        redirect_uri: CALLBACK,
        code_verifier: verifier,
      });
      expect(replay).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_codes: [54005] } });

      // The delegated token reads the directory through the Graph peer.
      const users = await f.transport.fetch(`${f.sandbox.url}/graph/v1.0/users?$top=2`, {
        headers: { authorization: `Bearer ${String(body.access_token)}` },
      });
      expect(users.status).toBe(200);

      // Neither the password nor the code reached the request log.
      const log = JSON.stringify(f.sandbox.requests.list());
      expect(log).not.toContain(contoso.admin.password);
      expect(log).not.toContain(code);
    });

    it('remembers the tenant-wide consent: the next sign-in goes straight back to the app', async () => {
      await codeFlow();
      const tenant = await (
        await f.transport.fetch(`${f.sandbox.url}/_sandbox/tenants/${contoso.tenantId}`)
      ).json();
      expect(tenant).toMatchObject({
        delegatedConsents: [
          { clientId: app.clientId, resourceAppIds: ['00000003-0000-0000-c000-000000000000'] },
        ],
      });
      const outcome = await browseSignIn(f.transport.fetch, authorizeUrl({}), {
        username: contoso.user.userPrincipalName,
        password: contoso.user.password,
        consent: 'cancel',
      });
      expect(outcome.kind).toBe('redirect');
      expect(outcome.kind === 'redirect' && new URL(outcome.location).searchParams.has('code')).toBe(true);
    });

    it('sends Cancel back as access_denied with AADSTS65004 and the state', async () => {
      const back = await signIn(authorizeUrl({}), contoso.admin, 'cancel');
      expect(back.searchParams.get('error')).toBe('access_denied');
      expect(back.searchParams.get('error_description')).toMatch(
        /^AADSTS65004: User declined to consent to access the app\./,
      );
      expect(back.searchParams.get('state')).toBe('st-1');
      expect(back.searchParams.has('code')).toBe(false);
    });

    it('stops a non-admin at "Need admin approval" (AADSTS90094)', async () => {
      const outcome = await browseSignIn(f.transport.fetch, authorizeUrl({}), {
        username: contoso.user.userPrincipalName,
        password: contoso.user.password,
      });
      expect(outcome).toMatchObject({ kind: 'page', page: 'need-admin-approval' });
      expect(outcome.kind === 'page' && outcome.text).toContain('AADSTS90094');
    });

    it('shows error pages, not redirects, for an unknown client or an unregistered redirect URI', async () => {
      for (const [query, code] of [
        [{ client_id: '00000000-0000-4000-8000-000000000001' }, 'AADSTS700016'],
        [{ redirect_uri: 'https://evil.example/cb' }, 'AADSTS50011'],
        [{ redirect_uri: 'https://localhost:7071/elsewhere' }, 'AADSTS50011'],
      ] as const) {
        const url = new URL(authorizeUrl({}));
        for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
        const response = await f.transport.fetch(url, { redirect: 'manual' });
        expect(response.status).toBe(200);
        const html = await response.text();
        expect(html).toContain('data-page="error"');
        expect(html).toContain(code);
      }
    });

    it('accepts redirect URIs registered through the control API', async () => {
      const other = 'https://portal.example.test/auth/callback';
      const registered = await f.transport.fetch(
        `${f.sandbox.url}/_sandbox/applications/${app.clientId}/redirect-uris`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ redirectUris: [other] }),
        },
      );
      expect(registered.status).toBe(200);
      const url = new URL(authorizeUrl({}));
      url.searchParams.set('redirect_uri', other);
      const back = await signIn(url.toString(), contoso.admin);
      expect(`${back.origin}${back.pathname}`).toBe(other);
    });

    it('redirects scope errors: two resources in one request are AADSTS70011', async () => {
      const response = await f.transport.fetch(authorizeUrl({ scope: `${GRAPH} ${TEAMS}` }), {
        redirect: 'manual',
      });
      expect(response.status).toBe(302);
      const back = new URL(response.headers.get('location') ?? '');
      expect(back.searchParams.get('error')).toBe('invalid_scope');
      expect(back.searchParams.get('error_description')).toMatch(/^AADSTS70011:/);
    });

    it('signs users of `organizations` into their home tenant', async () => {
      const { verifier, challenge } = pkce();
      const back = await signIn(authorizeUrl({ tenant: 'organizations', challenge }), fabrikam.admin);
      const { body } = await token(
        {
          grant_type: 'authorization_code',
          code: back.searchParams.get('code') ?? '',
          redirect_uri: CALLBACK,
          code_verifier: verifier,
        },
        'organizations',
      );
      expect(claimsOf(String(body.access_token)).tid).toBe(fabrikam.tenantId);
    });

    it('refuses users of another tenant on a tenant-specific authority (AADSTS50020)', async () => {
      const outcome = await browseSignIn(f.transport.fetch, authorizeUrl({}), {
        username: fabrikam.admin.userPrincipalName,
        password: fabrikam.admin.password,
      });
      expect(outcome.kind === 'page' && outcome.text).toContain('AADSTS50020');
    });

    it.each([
      ['no verifier', null, 50148],
      ['a wrong verifier', 'x'.repeat(43), 501481],
    ])('checks PKCE: %s', async (_case, wrongVerifier, expected) => {
      const { code } = await codeFlow();
      const { status, body } = await token({
        grant_type: 'authorization_code',
        code,
        redirect_uri: CALLBACK,
        ...(wrongVerifier ? { code_verifier: wrongVerifier } : {}),
      });
      expect(status).toBe(400);
      expect(body).toMatchObject({ error: 'invalid_grant', error_codes: [expected] });
    });

    it('refuses expired codes (AADSTS70008) and a different redirect URI (AADSTS500112)', async () => {
      const first = await codeFlow();
      const mismatch = await token({
        grant_type: 'authorization_code',
        code: first.code,
        redirect_uri: 'https://localhost:9999/authenticate/OAuth2Callback',
        code_verifier: first.verifier,
      });
      expect(mismatch.body).toMatchObject({ error_codes: [500112] });
      f.sandbox.state.entra.expireAuthorizationCode(first.code);
      const expired = await token({
        grant_type: 'authorization_code',
        code: first.code,
        redirect_uri: CALLBACK,
        code_verifier: first.verifier,
      });
      expect(expired.body).toMatchObject({ error: 'invalid_grant', error_codes: [70008] });
    });
  });

  describe('admin consent endpoint', () => {
    const adminConsentUrl = (tenant: string) =>
      `${entra(`${tenant}/v2.0/adminconsent`)}?${new URLSearchParams({
        client_id: app.clientId,
        scope: GRAPH,
        redirect_uri: CALLBACK,
        state: 'ac-1',
      })}`;

    it('records app roles and delegated consent, then redirects with admin_consent=True', async () => {
      const tenant = f.sandbox.state.requireTenant(fabrikam.tenantId);
      tenant.servicePrincipals.delete(app.clientId);
      const back = await signIn(adminConsentUrl('organizations'), fabrikam.admin);
      expect(Object.fromEntries(back.searchParams)).toEqual({
        admin_consent: 'True',
        tenant: fabrikam.tenantId,
        scope: GRAPH,
        state: 'ac-1',
      });
      expect(tenant.servicePrincipals.get(app.clientId)?.appRoleGrants).toEqual({
        '00000003-0000-0000-c000-000000000000': [...app.graphRoles],
      });
      expect(f.sandbox.state.entra.delegatedConsents(fabrikam.tenantId)).toEqual([
        { clientId: app.clientId, resourceAppIds: ['00000003-0000-0000-c000-000000000000'] },
      ]);
    });

    it('sends Cancel back as access_denied with admin_consent=False', async () => {
      const back = await signIn(adminConsentUrl(contoso.tenantId), contoso.admin, 'cancel');
      expect(back.searchParams.get('error')).toBe('access_denied');
      expect(back.searchParams.get('error_description')).toMatch(/^AADSTS65004:/);
      expect(back.searchParams.get('admin_consent')).toBe('False');
      expect(back.searchParams.get('state')).toBe('ac-1');
    });
  });

  describe('device code', () => {
    const start = async (scope = `${GRAPH} offline_access`) => {
      const response = await f.transport.fetch(entra(`${contoso.tenantId}/oauth2/v2.0/devicecode`), {
        method: 'POST',
        body: new URLSearchParams({ client_id: app.clientId, scope }),
      });
      expect(response.status).toBe(200);
      return (await response.json()) as Record<string, string | number>;
    };

    it('answers in Entra ID shape and completes through the devicelogin pages', async () => {
      const grant = await start();
      expect(grant).toMatchObject({
        verification_uri: `${f.sandbox.url}/entra/devicelogin`,
        expires_in: 900,
        interval: 5,
      });
      expect(grant.user_code).toMatch(/^[A-Z0-9]{9}$/);
      expect(grant.message).toBe(
        `To sign in, use a web browser to open the page ${f.sandbox.url}/entra/devicelogin and enter the code ${grant.user_code} to authenticate.`,
      );
      const poll = () =>
        token({
          grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
          device_code: String(grant.device_code),
        });
      expect((await poll()).body).toMatchObject({ error: 'authorization_pending' });

      const enter = await (await f.transport.fetch(String(grant.verification_uri))).text();
      expect(enter).toContain('Enter the code displayed on your app or device.');
      const done = await browseSignIn(f.transport.fetch, String(grant.verification_uri), {
        username: contoso.admin.userPrincipalName,
        password: contoso.admin.password,
        userCode: String(grant.user_code).toLowerCase(),
      });
      expect(done).toMatchObject({ kind: 'page', page: 'device-done' });
      expect(done.kind === 'page' && done.text).toContain(
        `You have signed in to the ${app.displayName} application on your device. You may now close this window.`,
      );
      const { status, body } = await poll();
      expect(status).toBe(200);
      expect(body.refresh_token).toEqual(expect.any(String));
      expect((await poll()).body).toMatchObject({ error: 'bad_verification_code' });
    });

    it('reports slow_down, decline and expiry', async () => {
      const grant = await start();
      const poll = (code = grant) =>
        token({
          grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
          device_code: String(code.device_code),
        });
      expect((await poll()).body).toMatchObject({ error: 'authorization_pending', error_codes: [70016] });
      expect((await poll()).body).toMatchObject({ error: 'slow_down' });
      const declined = await browseSignIn(f.transport.fetch, String(grant.verification_uri), {
        username: contoso.admin.userPrincipalName,
        password: contoso.admin.password,
        userCode: String(grant.user_code),
        consent: 'cancel',
      });
      expect(declined).toMatchObject({ kind: 'page', page: 'device-declined' });
      expect((await poll()).body).toMatchObject({ error: 'authorization_declined' });

      f.sandbox.state.entra.setDeviceCodeTiming({ expiresInSeconds: 0 });
      const short = await start();
      expect(short.expires_in).toBe(0);
      expect((await poll(short)).body).toMatchObject({ error: 'expired_token' });
      const page = await f.transport.fetch(String(short.verification_uri), {
        method: 'POST',
        body: new URLSearchParams({ otc: String(short.user_code) }),
      });
      expect(await page.text()).toContain('Check the code and try again.');
    });

    it('is settled by the control API without a browser', async () => {
      const grant = await start();
      const control = (path: string, body: unknown) =>
        f.transport.fetch(`${f.sandbox.url}/_sandbox/${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const refused = await control('entra/device/approve', {
        userCode: grant.user_code,
        userPrincipalName: contoso.user.userPrincipalName,
      });
      expect(refused.status).toBe(400);
      expect(await refused.text()).toContain('AADSTS90094');
      const approved = await control('entra/device/approve', {
        userCode: grant.user_code,
        userPrincipalName: contoso.admin.userPrincipalName,
      });
      expect(approved.status).toBe(200);
      const { body } = await token({
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        device_code: String(grant.device_code),
      });
      expect(claimsOf(String(body.access_token)).upn).toBe(contoso.admin.userPrincipalName);
    });
  });

  describe('refresh tokens', () => {
    it('rotate, keep the old one working, need consent per resource, and die on revocation', async () => {
      const { code, verifier } = await codeFlow();
      const first = await token({
        grant_type: 'authorization_code',
        code,
        redirect_uri: CALLBACK,
        code_verifier: verifier,
      });
      const rt1 = String(first.body.refresh_token);
      const refresh = (rt: string, scope: string) =>
        token({ grant_type: 'refresh_token', refresh_token: rt, scope });

      const second = await refresh(rt1, `${GRAPH} offline_access`);
      expect(second.status).toBe(200);
      expect(second.body.refresh_token).not.toBe(rt1);
      expect((await refresh(rt1, GRAPH)).status).toBe(200);

      const teams = await refresh(rt1, TEAMS);
      expect(teams).toMatchObject({
        status: 400,
        body: { error: 'invalid_grant', suberror: 'consent_required', error_codes: [65001] },
      });
      expect(String(teams.body.error_description)).toMatch(
        /^AADSTS65001: The user or administrator has not consented/,
      );

      const mixed = await refresh(rt1, `${GRAPH} ${TEAMS}`);
      expect(mixed.body).toMatchObject({ error: 'invalid_scope', error_codes: [70011] });

      await f.transport.fetch(`${f.sandbox.url}/_sandbox/tenants/${contoso.tenantId}/revoke-grants`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userPrincipalName: contoso.admin.userPrincipalName }),
      });
      for (const rt of [rt1, String(second.body.refresh_token)]) {
        const revoked = await refresh(rt, GRAPH);
        expect(revoked.body).toMatchObject({ error: 'invalid_grant', error_codes: [50173] });
        expect(String(revoked.body.error_description)).toMatch(
          /^AADSTS50173: The provided grant has expired due to it being revoked/,
        );
      }
      // A new sign-in works again.
      const again = await codeFlow();
      const fresh = await token({
        grant_type: 'authorization_code',
        code: again.code,
        redirect_uri: CALLBACK,
        code_verifier: again.verifier,
      });
      expect((await refresh(String(fresh.body.refresh_token), GRAPH)).status).toBe(200);
    });

    it('fails with 65001 once the consent for the resource was removed', async () => {
      const { code, verifier } = await codeFlow();
      const { body } = await token({
        grant_type: 'authorization_code',
        code,
        redirect_uri: CALLBACK,
        code_verifier: verifier,
      });
      const removed = await f.transport.fetch(
        `${f.sandbox.url}/_sandbox/tenants/${contoso.tenantId}/consents/${app.clientId}/resources/00000003-0000-0000-c000-000000000000`,
        { method: 'DELETE' },
      );
      expect(removed.status).toBe(204);
      const refreshed = await token({
        grant_type: 'refresh_token',
        refresh_token: String(body.refresh_token),
        scope: GRAPH,
      });
      expect(refreshed.body).toMatchObject({ error_codes: [65001] });
    });
  });
});
