import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO } from '../../dev/sandbox/demo-data.js';
import { type RunningSandbox, startSandbox } from '../../dev/sandbox/index.js';
import { teamsAdminEndpoint } from '../../dev/sandbox/peers/teams-admin.js';
import { SAVE_DELAY_MS, STATE_FILE, STATE_FORMAT_VERSION } from '../../dev/sandbox/persistence.js';
import { DEMO_SBC } from '../../dev/sandbox/sbc-state.js';
import { createTrustedTransport, type TrustedTransport } from '../../shared/net/trusted-transport.js';

const contoso = DEMO.customers.contoso;
const { provider } = DEMO;
const GRAPH = 'https://graph.microsoft.com';
const TEAMS = '48ac35b8-9aa8-4d74-927d-1f4a14a0b239';
const ZONE_PATH = `/arm/subscriptions/${provider.dns.subscriptionId}/resourceGroups/${provider.dns.resourceGroup}/providers/Microsoft.Network/dnsZones/${provider.dns.zone}`;
const eu1 = DEMO_SBC.devices.eu1;
const DOMAIN = `cust1.${provider.dns.zone}`;

/** A sandbox as `npm start` runs it (state kept in its data folder), talked to over HTTPS as the product does. */
class Session {
  private constructor(
    readonly sandbox: RunningSandbox,
    readonly transport: TrustedTransport,
    readonly log: string[],
  ) {}

  static async start(dir: string, options: { resetState?: boolean } = {}): Promise<Session> {
    const log: string[] = [];
    const sandbox = await startSandbox({
      dataDir: dir,
      stateDir: dir,
      log: (line) => log.push(line),
      ...options,
    });
    return new Session(sandbox, createTrustedTransport(sandbox.caCertFile), log);
  }

  async call(
    method: string,
    path: string,
    init: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) {
    const response = await this.transport.fetch(`${this.sandbox.url}${path}`, {
      method,
      headers: {
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: (text ? JSON.parse(text) : undefined) as Record<string, unknown>,
    };
  }

  async tokenRequest(tenant: string, form: Record<string, string>) {
    const response = await this.transport.fetch(`${this.sandbox.url}/entra/${tenant}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  async appToken(tenant: string, clientId: string, secret: string, resource: string): Promise<string> {
    const { status, body } = await this.tokenRequest(tenant, {
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: secret,
      scope: `${resource}/.default`,
    });
    expect(status).toBe(200);
    return String(body.access_token);
  }

  sbcScript(text: string) {
    const form = `--b0undary\r\nContent-Disposition: form-data; name="file"; filename="s.txt"\r\n\r\n${text}\r\n--b0undary--\r\n`;
    return this.transport.fetch(`${this.sandbox.url}/sbc/${eu1.name}/api/v1/files/cliScript/incremental`, {
      method: 'PUT',
      headers: {
        authorization: `Basic ${Buffer.from(`${eu1.username}:${eu1.password}`).toString('base64')}`,
        'content-type': 'multipart/form-data; boundary=b0undary',
      },
      body: form,
    });
  }

  /** Graceful: the final write happens. */
  async stop(): Promise<void> {
    await this.transport.close();
    await this.sandbox.close();
  }

  /** As if the process were killed: no final write, a pending one is dropped. */
  async kill(): Promise<void> {
    await this.transport.close();
    await this.sandbox.close({ abandonState: true });
  }
}

describe('sandbox state across restarts', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'drh-sandbox-state-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps what the product changed through the APIs when killed after the save window', async () => {
    const first = await Session.start(dir);
    expect(first.log.join('\n')).toContain('none yet');
    const teamsTarget = { 'x-ms-target-uri': `https://${teamsAdminEndpoint(contoso.tenantId).host}/` };
    let refreshToken: string;
    try {
      // A domain added and verified through Graph, its TXT record written through ARM.
      const graph = await first.appToken(
        contoso.tenantId,
        DEMO.tokenApp.clientId,
        DEMO.tokenApp.clientSecret,
        GRAPH,
      );
      expect(
        (await first.call('POST', '/graph/v1.0/domains', { token: graph, body: { id: DOMAIN } })).status,
      ).toBe(201);
      const records = await first.call('GET', `/graph/v1.0/domains/${DOMAIN}/verificationDnsRecords`, {
        token: graph,
      });
      const txt = (records.body.value as Array<{ recordType: string; text?: string }>).find(
        (r) => r.recordType === 'Txt',
      );
      const arm = await first.appToken(
        provider.tenantId,
        provider.dnsApp.clientId,
        provider.dnsApp.clientSecret,
        'https://management.azure.com',
      );
      const put = await first.call('PUT', `${ZONE_PATH}/TXT/cust1?api-version=2018-05-01`, {
        token: arm,
        body: { properties: { TTL: 3600, TXTRecords: [{ value: [txt?.text] }] } },
      });
      expect(put.status).toBe(201);
      expect(
        (await first.call('POST', `/graph/v1.0/domains/${DOMAIN}/verify`, { token: graph })).status,
      ).toBe(200);

      // A Teams PSTN gateway.
      const teams = await first.appToken(
        contoso.tenantId,
        DEMO.tokenApp.clientId,
        DEMO.tokenApp.clientSecret,
        TEAMS,
      );
      const gateway = await first.call('POST', '/teams/Skype.Policy/configurations/OnlinePSTNGateway', {
        token: teams,
        headers: teamsTarget,
        body: { Identity: 'gw.persisted.example', SipSignalingPort: 5061 },
      });
      expect(gateway.status).toBe(201);

      // An IP group programmed on an SBC.
      const script = await first.sbcScript(
        'configure voip\nip-group new\n name "persisted-c"\n proxy-set-name "Carrier2"\n ip-profile-name "Carrier2"\n activate\nexit',
      );
      expect(script.status).toBe(200);

      // A user's delegated consent and refresh token, rotated through the token endpoint as the product redeems it.
      const consent = await first.call('POST', `/_sandbox/tenants/${contoso.tenantId}/delegated-consents`, {
        body: { appId: DEMO.tokenApp.clientId, resources: [GRAPH] },
      });
      expect(consent.status).toBeLessThan(300);
      const minted = await first.call('POST', '/_sandbox/entra/refresh-tokens', {
        body: {
          tenantId: contoso.tenantId,
          userPrincipalName: contoso.admin.userPrincipalName,
          clientId: DEMO.tokenApp.clientId,
          scope: `${GRAPH}/.default offline_access`,
        },
      });
      const redeemed = await first.tokenRequest(contoso.tenantId, {
        grant_type: 'refresh_token',
        client_id: DEMO.tokenApp.clientId,
        client_secret: DEMO.tokenApp.clientSecret,
        refresh_token: String(minted.body.refresh_token),
        scope: `${GRAPH}/.default offline_access`,
      });
      expect(redeemed.body).toMatchObject({ token_type: 'Bearer' });
      refreshToken = String(redeemed.body.refresh_token);

      await sleep(SAVE_DELAY_MS * 3);
    } finally {
      await first.kill();
    }

    const second = await Session.start(dir);
    try {
      expect(second.log.join('\n')).toContain('restored');
      const graph = await second.appToken(
        contoso.tenantId,
        DEMO.tokenApp.clientId,
        DEMO.tokenApp.clientSecret,
        GRAPH,
      );
      const domain = await second.call('GET', `/graph/v1.0/domains/${DOMAIN}`, { token: graph });
      expect(domain).toMatchObject({ status: 200, body: { id: DOMAIN, isVerified: true } });

      const arm = await second.appToken(
        provider.tenantId,
        provider.dnsApp.clientId,
        provider.dnsApp.clientSecret,
        'https://management.azure.com',
      );
      const record = await second.call('GET', `${ZONE_PATH}/TXT/cust1?api-version=2018-05-01`, {
        token: arm,
      });
      expect(record.status).toBe(200);

      const teams = await second.appToken(
        contoso.tenantId,
        DEMO.tokenApp.clientId,
        DEMO.tokenApp.clientSecret,
        TEAMS,
      );
      const gateway = await second.call(
        'GET',
        '/teams/Skype.Policy/configurations/OnlinePSTNGateway/configuration/gw.persisted.example',
        {
          token: teams,
          headers: { 'x-ms-target-uri': `https://${teamsAdminEndpoint(contoso.tenantId).host}/` },
        },
      );
      expect(gateway).toMatchObject({ status: 200, body: { Identity: 'gw.persisted.example' } });

      const show = await second.sbcScript('do show voip ip-group');
      expect(((await show.json()) as { output: string }).output).toContain('persisted-c');

      const redeemed = await second.tokenRequest(contoso.tenantId, {
        grant_type: 'refresh_token',
        client_id: DEMO.tokenApp.clientId,
        client_secret: DEMO.tokenApp.clientSecret,
        refresh_token: refreshToken,
        scope: `${GRAPH}/.default offline_access`,
      });
      expect(redeemed.body).toMatchObject({ token_type: 'Bearer' });
    } finally {
      await second.stop();
    }
  });

  it('writes on a graceful stop even within the save window', async () => {
    const first = await Session.start(dir);
    first.sandbox.state.addTenant({ displayName: 'Written On Close' });
    await first.stop();
    const second = await Session.start(dir);
    try {
      expect(second.sandbox.state.tenants().map((t) => t.displayName)).toContain('Written On Close');
    } finally {
      await second.stop();
    }
  });

  it('loses at most the save window when killed, and never leaves a torn file', async () => {
    const first = await Session.start(dir);
    await first.call('POST', '/_sandbox/tenants', { body: { displayName: 'Saved Co' } });
    await sleep(SAVE_DELAY_MS * 3);
    await first.call('POST', '/_sandbox/tenants', { body: { displayName: 'Lost Co' } });
    await first.kill();
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    const second = await Session.start(dir);
    try {
      const names = second.sandbox.state.tenants().map((t) => t.displayName);
      expect(names).toContain('Saved Co');
      expect(names).not.toContain('Lost Co');
    } finally {
      await second.stop();
    }
  });

  it('starts fresh when asked, keeping the CA and signing key', async () => {
    const first = await Session.start(dir);
    first.sandbox.state.addTenant({ displayName: 'Forgotten Co' });
    const ca = readFileSync(first.sandbox.caCertFile, 'utf8');
    await first.stop();
    const second = await Session.start(dir, { resetState: true });
    try {
      expect(second.log.join('\n')).toContain('forgotten as asked');
      expect(second.sandbox.state.tenants().map((t) => t.displayName)).not.toContain('Forgotten Co');
      expect(second.sandbox.state.tenant(contoso.tenantId)).toBeDefined();
      expect(readFileSync(second.sandbox.caCertFile, 'utf8')).toBe(ca);
    } finally {
      await second.stop();
    }
  });

  it.each([
    ['a torn file', '{"format":"direct-routing-hub-sandbox-state","vers', 'corrupt', 'not JSON'],
    ['another program’s JSON', '{"hello":"world"}', 'corrupt', 'not a sandbox state file'],
    [
      'an older format version',
      JSON.stringify({ format: 'direct-routing-hub-sandbox-state', version: STATE_FORMAT_VERSION - 1 }),
      'incompatible',
      `format version ${STATE_FORMAT_VERSION - 1}`,
    ],
    [
      'a file that fails validation',
      JSON.stringify({
        format: 'direct-routing-hub-sandbox-state',
        version: STATE_FORMAT_VERSION,
        seed: 'demo',
      }),
      'corrupt',
      'failed validation',
    ],
  ])('sets %s aside, says so, and starts from the seed', async (_what, content, label, reason) => {
    writeFileSync(join(dir, STATE_FILE), content);
    // What a kill between writing and renaming leaves behind.
    writeFileSync(join(dir, `${STATE_FILE}.99999.tmp`), '{"half":');
    const session = await Session.start(dir);
    try {
      const line = session.log.join('\n');
      expect(line).toContain(reason);
      expect(session.sandbox.stateLoad).toMatchObject({ kind: 'discarded' });
      const aside = readdirSync(dir).filter((name) => name.startsWith(`sandbox-state.${label}-`));
      expect(aside).toHaveLength(1);
      expect(readFileSync(join(dir, aside[0] ?? ''), 'utf8')).toBe(content);
      expect(session.sandbox.state.tenant(contoso.tenantId)).toBeDefined();
      expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
      // The fresh world is written at once, so the next start restores it.
      expect(JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8'))).toMatchObject({
        version: STATE_FORMAT_VERSION,
      });
    } finally {
      await session.stop();
    }
  });

  it('sets aside a valid file the models refuse', async () => {
    const first = await Session.start(dir);
    await first.stop();
    const file = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as {
      graph: Array<{ skus: Array<{ skuId: string }> }>;
    };
    const withSkus = file.graph.find((t) => t.skus.length > 0) ?? expect.fail('no SKUs in the demo seed');
    withSkus.skus[0] = { ...withSkus.skus[0], skuId: '00000000-0000-0000-0000-000000000000' };
    writeFileSync(join(dir, STATE_FILE), JSON.stringify(file));
    const second = await Session.start(dir);
    try {
      expect(second.sandbox.stateLoad).toMatchObject({ kind: 'discarded' });
      expect(second.log.join('\n')).toContain('is not in the sandbox');
    } finally {
      await second.stop();
    }
  });

  it('writes nothing without a state folder, as tests want', async () => {
    const sandbox = await startSandbox({ dataDir: dir });
    await sandbox.close();
    expect(existsSync(join(dir, STATE_FILE))).toBe(false);
  });
});
