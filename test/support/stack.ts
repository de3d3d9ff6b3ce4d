import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAzurite } from '../../dev/azurite.js';
import { type LogRecord, startLocalHost } from '../../dev/host/index.js';
import { DEMO } from '../../dev/sandbox/demo-data.js';
import { profileFromEnv, type RunningSandbox, startSandbox } from '../../dev/sandbox/index.js';
import { sandboxEndpointSettings } from '../../dev/sandbox/product-settings.js';
import { type AppOverrides, createApp } from '../../functions/app.js';
import type { AppServices } from '../../functions/app-services.js';
import { loadSettings, type Settings } from '../../shared/config/settings.js';
import type { FunctionDefinition } from '../../shared/platform/function-definitions.js';
import { freePort } from '../../dev/host/free-port.js';

export interface TestStack {
  readonly apiUrl: string;
  readonly sandboxUrl: string;
  readonly storageConnectionString: string;
  readonly sandbox: RunningSandbox;
  /** The product's public base URL (the host), where the customer-facing pages live. */
  readonly publicBaseUrl: string;
  /** The services the host's functions run on, for direct assertions. */
  readonly services: AppServices;
  /** The functions the host serves. */
  readonly registry: readonly FunctionDefinition[];
  /** A bearer token for the product's API; defaults to a provider admin. */
  token(options?: {
    roles?: string[];
    expiresInSeconds?: number;
    audience?: string;
    tenantId?: string;
    subject?: string;
    /** Entra's token format: v1.0 (`sts.windows.net`-style issuer, `appid`, `upn`) or v2.0 (the default). */
    version?: '1.0' | '2.0';
    /** The signed-in account's name (`preferred_username` in v2.0, `upn` in v1.0). */
    username?: string;
  }): Promise<string>;
  close(): Promise<void>;
}

/** The product as it runs: real Azurite, the HTTPS sandbox and the local Functions host, with the given licenses. */
export async function startStack(
  options: {
    tenantLicenses?: number;
    userLicenses?: number;
    /** Receives every log record of the functions, as Application Insights would. */
    log?: (record: LogRecord) => void;
    overrides?: AppOverrides;
    /** Settings the tests tune beyond the environment's (replication's timing, say). */
    settings?: Partial<Settings>;
    queuePollIntervalMs?: number;
    /**
     * Functions the host does not run, as Azure's `AzureWebJobs.<name>.Disabled` setting: a scheduled repair that
     * would race a test's own run of the same work, say.
     */
    disabledFunctions?: readonly string[];
  } = {},
): Promise<TestStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'drh-test-'));
  const azurite = await startAzurite();
  const sandbox = await startSandbox({ port: 0, dataDir, profile: profileFromEnv(process.env) });
  // The settings name the host's URL (PUBLIC_BASE_URL), and the host serves what they build: its port comes first.
  const port = await freePort();
  const settings = loadSettings({
    // Entra accepts http redirect URIs on localhost only.
    PUBLIC_BASE_URL: `http://localhost:${port}`,
    SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    AzureWebJobsStorage: azurite.connectionString,
    ...sandboxEndpointSettings(sandbox),
    DOMAIN_VERIFY_RETRY_SECONDS: '1',
    DOMAIN_ACTIVATION_POLL_SECONDS: '1',
    LICENSE_TENANT_COUNT: String(options.tenantLicenses ?? 1000),
    LICENSE_USER_COUNT: String(options.userLicenses ?? 100_000),
  });
  const effective = { ...settings, ...options.settings };
  const app = createApp(effective, options.overrides);
  const disabled = new Set(options.disabledFunctions ?? []);
  const host = await startLocalHost({
    registry: app.registry.filter((definition) => !disabled.has(definition.name)),
    port,
    storageConnectionString: azurite.connectionString,
    queues: { pollIntervalMs: options.queuePollIntervalMs ?? 200 },
    // In Azure the platform answers CORS from the same list (siteConfig.cors), before any function.
    http: { cors: effective.cors },
    log: options.log ?? (() => {}),
  });
  return {
    apiUrl: host.url,
    sandboxUrl: sandbox.url,
    storageConnectionString: azurite.connectionString,
    sandbox,
    publicBaseUrl: settings.publicBaseUrl,
    services: app.services,
    registry: app.registry,
    token: async (o = {}) =>
      sandbox.issueToken({
        tenantId: o.tenantId ?? DEMO.provider.tenantId,
        audience: o.audience ?? DEMO.provider.apiAudience,
        roles: o.roles ?? ['provider-admin'],
        ...(o.expiresInSeconds !== undefined ? { expiresInSeconds: o.expiresInSeconds } : {}),
        ...(o.subject ? { subject: o.subject } : {}),
        ...(o.version ? { version: o.version } : {}),
        ...(o.username ? { upn: o.username } : {}),
      }),
    async close() {
      await host.close();
      await app.close();
      await sandbox.close();
      await azurite.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
