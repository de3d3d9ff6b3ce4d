import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientSecretCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../dev/sandbox/demo-data.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import { createJwtAuthenticator } from '../../shared/auth/authenticator.js';
import { createTrustedTransport } from '../../shared/net/trusted-transport.js';
import { createGraphClient, getOrganization, listUsers } from '../../shared/m365/graph-client.js';
import { type SandboxFixture, startFixture } from './fixtures.js';

describe('sandbox TLS', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'drh-sandbox-tls-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps its CA and signing key across restarts, so trust and earlier tokens survive', async () => {
    const before = await startSandbox({ dataDir });
    const caBefore = readFileSync(before.caCertFile, 'utf8');
    const token = await before.issueToken({
      tenantId: DEMO.provider.tenantId,
      audience: DEMO.provider.apiAudience,
    });
    await before.close();

    const after = await startSandbox({ dataDir });
    const transport = createTrustedTransport(after.caCertFile);
    try {
      expect(after.caCertFile).toBe(before.caCertFile);
      expect(readFileSync(after.caCertFile, 'utf8')).toBe(caBefore);
      const ca = new X509Certificate(caBefore);
      expect(ca.ca).toBe(true);
      // Tokens carry the issuer's port, so the authenticator is pointed at the restarted sandbox's tenant.
      const authenticator = createJwtAuthenticator({
        issuer: `${before.url}/entra/${DEMO.provider.tenantId}/v2.0`,
        audience: DEMO.provider.apiAudience,
        jwksUri: `${after.url}/entra/${DEMO.provider.tenantId}/discovery/v2.0/keys`,
        fetch: transport.fetch,
      });
      await expect(authenticator.authenticate(`Bearer ${token}`)).resolves.toMatchObject({
        tenantId: DEMO.provider.tenantId,
      });
    } finally {
      await transport.close();
      await after.close();
    }
  });

  it('serves a localhost certificate signed by the CA, and a client without the CA refuses it', async () => {
    const sandbox = await startSandbox({ dataDir });
    const untrusting = createTrustedTransport(undefined);
    const trusting = createTrustedTransport(sandbox.caCertFile);
    try {
      const discovery = `${sandbox.url}/entra/${DEMO.provider.tenantId}/v2.0/.well-known/openid-configuration`;
      expect((await trusting.fetch(discovery)).status).toBe(200);
      const refused = await untrusting.fetch(discovery).catch((error: unknown) => error);
      expect(certificateErrorCode(refused)).toMatch(
        /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/,
      );

      const credential = new ClientSecretCredential(
        DEMO.customers.contoso.tenantId,
        DEMO.tokenApp.clientId,
        DEMO.tokenApp.clientSecret,
        { authorityHost: `${sandbox.url}/entra`, disableInstanceDiscovery: true },
      );
      // MSAL reports the refused handshake as a failed discovery; no request ever reached the sandbox.
      await expect(credential.getToken('https://graph.microsoft.com/.default')).rejects.toThrow(
        'endpoints_resolution_error',
      );
      expect(sandbox.requests.list().filter((r) => r.path.endsWith('/openid-configuration'))).toHaveLength(1);
    } finally {
      await untrusting.close();
      await trusting.close();
      await sandbox.close();
    }
  });
});

describe('sandbox control API', () => {
  let f: SandboxFixture;
  const control = async (method: string, path: string, json?: unknown) => {
    const response = await f.transport.fetch(`${f.sandbox.url}/_sandbox${path}`, {
      method,
      ...(json === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: (text ? JSON.parse(text) : undefined) as Record<string, unknown>,
    };
  };
  beforeAll(async () => {
    f = await startFixture();
  });
  afterAll(() => f.close());

  it('sets up a new customer tenant over HTTP that the real clients then read', async () => {
    const tenant = await control('POST', '/tenants', {
      displayName: 'Woodgrove Bank',
      customDomains: ['woodgrove.com'],
    });
    expect(tenant.status).toBe(201);
    const tenantId = String(tenant.body.id);
    expect(tenant.body.verifiedDomains).toEqual([
      expect.objectContaining({ name: 'woodgrove.com', isDefault: true, isInitial: false }),
      expect.objectContaining({ name: 'woodgrovebank.onmicrosoft.com', isDefault: false, isInitial: true }),
    ]);
    const users = await control('POST', `/tenants/${tenantId}/users`, [
      { userPrincipalName: 'ann@woodgrove.com', displayName: 'Ann' },
      { userPrincipalName: 'bob@woodgrove.com', displayName: 'Bob', accountEnabled: false },
    ]);
    expect(users.status).toBe(201);
    const refusedUser = await control('POST', `/tenants/${tenantId}/users`, {
      userPrincipalName: 'eve@elsewhere.com',
      displayName: 'Eve',
    });
    expect(refusedUser.status).toBe(400);

    const app = await control('POST', '/applications', {
      displayName: 'Woodgrove automation',
      homeTenantId: tenantId,
    });
    const appId = String(app.body.appId);
    const secret = await control('POST', `/applications/${appId}/secrets`, {});
    expect(secret.body.secretText).toEqual(expect.any(String));
    const consent = await control('POST', `/tenants/${tenantId}/consents`, {
      appId,
      grants: { 'https://graph.microsoft.com': ['Organization.Read.All', 'User.Read.All'] },
    });
    expect(consent.status).toBe(201);

    const client = createGraphClient({
      baseUrl: `${f.sandbox.url}/graph`,
      credential: f.credential('woodgrove.com', appId, String(secret.body.secretText)),
      transport: f.transport,
    });
    await expect(getOrganization(client)).resolves.toMatchObject({
      id: tenantId,
      displayName: 'Woodgrove Bank',
    });
    const names: string[] = [];
    for await (const user of listUsers(client, { select: ['displayName'] }))
      names.push(user.displayName ?? '');
    expect(names.toSorted()).toEqual(['Ann', 'Bob']);

    const state = await control('GET', `/tenants/${tenantId}`);
    expect(JSON.stringify(state.body)).not.toContain(String(secret.body.secretText));
  });

  it('answers 403 for a Graph read the app was not granted', async () => {
    const tenant = await control('POST', '/tenants', { displayName: 'Tailspin Toys' });
    const tenantId = String(tenant.body.id);
    const app = await control('POST', '/applications', { displayName: 'No rights', homeTenantId: tenantId });
    const secret = await control('POST', `/applications/${String(app.body.appId)}/secrets`, {});
    const client = createGraphClient({
      baseUrl: `${f.sandbox.url}/graph`,
      credential: f.credential(tenantId, String(app.body.appId), String(secret.body.secretText)),
      transport: f.transport,
    });
    await expect(getOrganization(client)).rejects.toMatchObject({
      statusCode: 403,
      code: 'Authorization_RequestDenied',
    });
  });

  it('manages faults over HTTP and validates them', async () => {
    const invalid = await control('POST', '/faults', { pathPattern: '(', kind: 'status' });
    expect(invalid.status).toBe(400);
    expect(String((invalid.body.error as { message: string }).message)).toMatch(/pathPattern|status/);

    const added = await control('POST', '/faults', {
      method: 'get',
      pathPattern: '^/graph/v1\\.0/organization$',
      kind: 'status',
      status: 503,
      times: 1,
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ method: 'GET', remaining: 1, hits: 0 });
    expect((await control('GET', '/faults')).body.value).toHaveLength(1);

    const faulted = await f.transport.fetch(`${f.sandbox.url}/graph/v1.0/organization`);
    expect(faulted.status).toBe(503);
    expect(await faulted.json()).toMatchObject({ error: { code: 'ServiceUnavailable' } });
    const unaffected = await f.transport.fetch(`${f.sandbox.url}/graph/v1.0/organization`);
    expect(unaffected.status).toBe(401);

    expect((await control('DELETE', '/faults')).status).toBe(204);
    expect((await control('GET', '/faults')).body.value).toEqual([]);
  });

  it('lists received requests without secrets, and resets to the seed', async () => {
    await control('DELETE', '/requests');
    const token = await f.transport.fetch(
      `${f.sandbox.url}/entra/${DEMO.provider.tenantId}/oauth2/v2.0/token?client_secret=leaked`,
      {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: DEMO.provider.portal.clientId,
          client_secret: DEMO.provider.portal.clientSecret,
          scope: `${DEMO.provider.apiAudience}/.default`,
        }),
      },
    );
    expect(token.status).toBe(200);
    const log = await control('GET', '/requests');
    expect(log.body.value).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: `/entra/${DEMO.provider.tenantId}/oauth2/v2.0/token`,
        query: '?client_secret=REDACTED',
        status: 200,
      }),
    ]);
    expect(JSON.stringify(log.body)).not.toContain(DEMO.provider.portal.clientSecret);
    expect(JSON.stringify(log.body)).not.toContain('leaked');

    await control('POST', '/tenants', { displayName: 'Temporary' });
    expect(f.sandbox.state.tenant('temporary.onmicrosoft.com')).toBeDefined();
    expect((await control('POST', '/reset')).status).toBe(204);
    expect(f.sandbox.state.tenant('temporary.onmicrosoft.com')).toBeUndefined();
    const tenants = await control('GET', '/tenants');
    expect((tenants.body.value as Array<{ id: string }>).map((t) => t.id)).toEqual([
      DEMO.provider.tenantId,
      DEMO.customers.contoso.tenantId,
      DEMO.customers.fabrikam.tenantId,
    ]);
    expect(f.sandbox.requests.list()).toEqual([]);
  });
});

/** The TLS error code fetch wraps in its `cause`. */
function certificateErrorCode(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  return cause instanceof Error && 'code' in cause ? String(cause.code) : String(error);
}
