import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../dev/azurite.js';
import { issueServerCertificate, loadOrCreateCa } from '../../dev/sandbox/certificates.js';
import { type App, createApp } from '../../functions/app.js';
import { loadSettings } from '../../shared/config/settings.js';
import { CREDENTIAL_VERIFY_QUEUE } from '../../shared/credentials/credential.js';
import { isDomainError } from '../../shared/errors/domain-errors.js';
import { checkHealth } from '../../shared/ops/health.js';
import { azureTables } from '../../shared/storage/azure-tables.js';

/**
 * Identity-based storage end to end: Azurite with `--oauth basic` (bearer tokens over HTTPS only) stands in for a
 * storage account that has no key in the app's settings, and a token credential stands in for the managed identity.
 */

/** What Azurite's basic OAuth checks: an Entra issuer, the storage audience and the token's lifetime. */
function tokenCredential(audience: string): TokenCredential & { readonly scopes: string[] } {
  const key = randomBytes(32);
  const scopes: string[] = [];
  return {
    scopes,
    async getToken(scope): Promise<AccessToken> {
      scopes.push(...(Array.isArray(scope) ? scope : [scope]));
      const expiresOnTimestamp = Date.now() + 3600_000;
      // Azurite does not check the signature; a signed token keeps the shape Entra's has.
      const token = await new SignJWT({ oid: randomUUID() })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer('https://sts.windows.net/00000000-0000-0000-0000-000000000001/')
        .setAudience(audience)
        .setIssuedAt()
        .setNotBefore('-1 minute')
        .setExpirationTime(Math.floor(expiresOnTimestamp / 1000))
        .sign(key);
      return { token, expiresOnTimestamp };
    },
  };
}

let dir: string;
let azurite: RunningAzurite;
let caFile: string;

function identityApp(credential: TokenCredential): App {
  return createApp(
    loadSettings({
      AzureWebJobsStorage__tableServiceUri: azurite.serviceUrls.table,
      AzureWebJobsStorage__queueServiceUri: azurite.serviceUrls.queue,
      AzureWebJobsStorage__blobServiceUri: azurite.serviceUrls.blob,
      AzureWebJobsStorage__credential: 'managedidentity',
      // Azurite's certificate is the test CA's, trusted the way the product trusts the sandbox's.
      TRUSTED_CA_CERT_FILE: caFile,
      ALLOW_DEVELOPMENT_ENDPOINTS: 'true',
      API_TENANT_ID: '00000000-0000-0000-0000-000000000001',
      API_AUDIENCE: 'api://direct-routing-hub',
      PUBLIC_BASE_URL: 'https://hub.example.com',
      SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      LICENSE_TENANT_COUNT: '1',
      LICENSE_USER_COUNT: '1',
    }),
    { storageCredential: credential },
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drh-identity-storage-'));
  const ca = loadOrCreateCa(dir);
  caFile = ca.certFile;
  const server = issueServerCertificate(ca);
  writeFileSync(join(dir, 'azurite.pem'), server.certPem);
  writeFileSync(join(dir, 'azurite-key.pem'), server.keyPem, { mode: 0o600 });
  azurite = await startAzurite({
    tls: { certFile: join(dir, 'azurite.pem'), keyFile: join(dir, 'azurite-key.pem') },
    oauth: 'basic',
  });
});

afterAll(async () => {
  await azurite?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('storage through a token credential, no account key', () => {
  let app: App;
  const credential = tokenCredential('https://storage.azure.com');
  beforeAll(() => {
    app = identityApp(credential);
  });
  afterAll(() => app.close());

  it('writes and reads back rows through the product', async () => {
    const { alarms, storage } = app.services;
    expect(storage.kind).toBe('identity');
    await alarms.raise({
      name: 'Identity probe',
      severity: 'minor',
      source: 'test',
      text: 'Written with a token.',
    });
    expect(await alarms.list({ name: 'Identity probe' })).toEqual([
      expect.objectContaining({ name: 'Identity probe', source: 'test', text: 'Written with a token.' }),
    ]);

    const table = azureTables(storage).table<{ partitionKey: string; rowKey: string; note: string }>(
      'probes',
    );
    await table.insert({ partitionKey: 'p', rowKey: 'r', note: 'hello' });
    expect((await table.get('p', 'r'))?.value).toEqual({ partitionKey: 'p', rowKey: 'r', note: 'hello' });
    expect(await table.get('p', 'absent')).toBeNull();
    expect(credential.scopes).toContain('https://storage.azure.com/.default');
  });

  it('sends a queue message that a consumer with the same identity receives', async () => {
    const customerId = randomUUID();
    await app.services.credentialVerifyQueue.send({ customerId });
    const queue = (await app.services.storage.queueService()).getQueueClient(CREDENTIAL_VERIFY_QUEUE);
    const { receivedMessageItems } = await queue.receiveMessages();
    expect(
      receivedMessageItems.map((m) => JSON.parse(Buffer.from(m.messageText, 'base64').toString())),
    ).toEqual([{ customerId }]);
  });

  it('passes the health check', async () => {
    const report = await checkHealth({ storage: app.services.storage });
    expect(report.checks.tableStorage).toMatchObject({ status: 'ok', error: null });
    expect(report.checks.queueStorage).toMatchObject({ status: 'ok', error: null });
  });
});

describe('storage refuses a token that is not for it', () => {
  let app: App;
  beforeAll(() => {
    app = identityApp(tokenCredential('https://vault.azure.net'));
  });
  afterAll(() => app.close());

  it('fails a read and a write with the refusal, never as an absent row or a retryable outage', async () => {
    const table = azureTables(app.services.storage).table<{ partitionKey: string; rowKey: string }>('probes');
    for (const call of [() => table.get('p', 'r'), () => table.insert({ partitionKey: 'p', rowKey: 'x' })]) {
      const error: unknown = await call().then(
        () => 'accepted',
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ statusCode: 403 });
      expect(isDomainError(error)).toBe(false);
    }
    await expect(app.services.credentialVerifyQueue.send({ customerId: 'x' })).rejects.toMatchObject({
      statusCode: 403,
    });
  });

  it('fails the health check, saying why', async () => {
    const report = await checkHealth({ storage: app.services.storage });
    expect(report.status).toBe('failed');
    // The table service's refusal carries no error code the SDK reads; its status says enough.
    expect(report.checks.tableStorage).toMatchObject({ status: 'failed', error: 'HTTP 403' });
    expect(report.checks.queueStorage).toMatchObject({ status: 'failed', error: 'AuthenticationFailed' });
  });

  it('and so does a request with no token at all', async () => {
    const response = await app.services.transport.fetch(`${azurite.serviceUrls.queue}?comp=list`);
    expect(response.status).toBe(403);
  });
});
