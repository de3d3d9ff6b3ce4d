import { z } from 'zod';
import type { StorageConnection } from '../storage/storage-endpoints.js';

const MICROSOFT_LOGIN = 'https://login.microsoftonline.com';

/** A comma-separated setting as its entries, trimmed, the empty ones dropped. */
const commaList = z.string().transform((value) =>
  value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== ''),
);

const httpsUrl = z
  .url({ protocol: /^https$/, error: 'must be an https:// URL' })
  .transform((value) => value.replace(/\/+$/, ''));

/** An https URL; plain http only on the loopback, for a local run (Entra's redirects there, Azurite). */
const httpsOrLoopbackUrl = z
  // Aborts so that the protocol check below never sees a value that is not a URL.
  .url({ error: 'must be an absolute URL', abort: true })
  .refine((value) => {
    const url = new URL(value);
    return url.protocol === 'https:' || ['localhost', '127.0.0.1'].includes(url.hostname);
  }, 'must be an https:// URL (http:// only for localhost)')
  .transform((value) => value.replace(/\/+$/, ''));

/** The Functions host's identity-based storage settings: `AzureWebJobsStorage__<property>`. */
const STORAGE = 'AzureWebJobsStorage';
const STORAGE_IDENTITY = {
  accountName: `${STORAGE}__accountName`,
  blobServiceUri: `${STORAGE}__blobServiceUri`,
  queueServiceUri: `${STORAGE}__queueServiceUri`,
  tableServiceUri: `${STORAGE}__tableServiceUri`,
  credential: `${STORAGE}__credential`,
  clientId: `${STORAGE}__clientId`,
} as const;

/** Where a browser may be served from on plain http: the developer's own machine. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The origins whose pages may call the API (CORS), comma-separated. Each must be written as a browser sends it in
 * `Origin`, because Azure's platform CORS compares that header with the list as plain strings (lower-cased): an
 * entry with a path, a trailing slash or a default port would never match, silently.
 */
const allowedOrigins = z.string().transform((value, ctx) => {
  const entries = value.split(',').map((entry) => entry.trim());
  const issue = (message: string) => ctx.addIssue({ code: 'custom', message });
  if (entries.includes('*')) {
    // Azure reads `*` as "any origin" only when it is the whole list; next to others it matches nothing.
    if (entries.length > 1) issue('* allows every origin and must stand alone');
    return ['*'];
  }
  const origins: string[] = [];
  for (const entry of entries) {
    if (entry === '') {
      issue('has an empty entry (a stray comma)');
      continue;
    }
    if (entry.includes('*')) {
      issue(`'${entry}': Azure's CORS has no wildcard subdomains; list each origin`);
      continue;
    }
    const url = URL.canParse(entry) ? new URL(entry) : undefined;
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      issue(`'${entry}' is not an origin: write https://host or https://host:port`);
      continue;
    }
    if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
      issue(`'${entry}' must be https:// (http:// only for localhost)`);
      continue;
    }
    if (url.origin !== entry.toLowerCase()) {
      issue(
        `'${entry}' is not an origin as a browser sends it (no path, no trailing slash, no default port): ` +
          `write '${url.origin}'`,
      );
      continue;
    }
    if (origins.includes(url.origin)) {
      issue(`'${entry}' is listed twice`);
      continue;
    }
    origins.push(url.origin);
  }
  return origins;
});

const count = z.coerce.number({ error: 'must be a whole number' }).int('must be a whole number').min(0);

/** A whole number of seconds within bounds (replication's cadences and limits). */
const seconds = (min: number, max: number) =>
  z.coerce
    .number({ error: 'must be a number of seconds' })
    .int('must be a whole number of seconds')
    .min(min, `must be at least ${min} seconds`)
    .max(max, `must be at most ${max} seconds`);

/**
 * Every setting the product reads, as App Settings in Azure or `Values` in local.settings.json.
 * Names follow App Settings conventions so that Bicep, local.settings.sample.json and this schema agree.
 */
export const settingsSchema = z
  .object({
    // Either this connection string or the identity-based AzureWebJobsStorage__* settings: see storageRules.
    // The storage SDKs, which parse it, load on first use (docs/decisions.md, 82): a string none of them could parse
    // is still refused at start-up. Every form they take has an account key or a SAS, or names the emulator.
    AzureWebJobsStorage: z
      .string()
      .min(1)
      .refine(
        (value) =>
          value.startsWith('UseDevelopmentStorage=true') ||
          /(?:^|;)\s*(?:AccountKey|SharedAccessSignature)=./.test(value),
        'must be a storage connection string with an AccountKey or a SharedAccessSignature, or UseDevelopmentStorage=true',
      )
      .optional(),
    AzureWebJobsStorage__accountName: z
      .string()
      .regex(/^[a-z0-9]{3,24}$/, 'must be a storage account name: 3 to 24 lowercase letters and digits')
      .optional(),
    // The product reads no blobs; the Functions host does, so a bad value is still caught at start-up.
    AzureWebJobsStorage__blobServiceUri: httpsOrLoopbackUrl.optional(),
    AzureWebJobsStorage__queueServiceUri: httpsOrLoopbackUrl.optional(),
    AzureWebJobsStorage__tableServiceUri: httpsOrLoopbackUrl.optional(),
    AzureWebJobsStorage__credential: z
      .string()
      .refine(
        (value) => value.toLowerCase() === 'managedidentity',
        "must be managedidentity (leave it out to use DefaultAzureCredential, e.g. a developer's az login)",
      )
      .optional(),
    AzureWebJobsStorage__clientId: z
      .guid({ error: "must be a client ID (a GUID): the user-assigned identity's" })
      .optional(),
    API_TENANT_ID: z.string({ error: 'is required' }).min(1, 'is required'),
    // Entra sets `aud` to the App ID URI in v1 tokens and to the client ID in v2 ones: list both when callers use both.
    API_AUDIENCE: commaList.pipe(z.array(z.string()).min(1, 'is required')),
    ENTRA_AUTHORITY_HOST: httpsUrl.default(MICROSOFT_LOGIN),
    API_TOKEN_ISSUER: httpsUrl.optional(),
    API_JWKS_URI: httpsUrl.optional(),
    // The portals (client applications) whose tokens the API accepts, by Application (client) ID; empty: any.
    API_ALLOWED_CLIENT_IDS: commaList
      .pipe(z.array(z.guid({ error: 'must be client IDs (GUIDs), comma-separated' })))
      .default([]),
    GRAPH_BASE_URL: httpsUrl.default('https://graph.microsoft.com'),
    TEAMS_ADMIN_BASE_URL: httpsUrl.default('https://api.interfaces.records.teams.microsoft.com'),
    ARM_BASE_URL: httpsUrl.default('https://management.azure.com'),
    SBC_BASE_URL_TEMPLATE: z
      .string()
      .refine((value) => value.includes('{device}'), 'must contain {device}')
      .default('{scheme}://{device}'),
    TRUSTED_CA_CERT_FILE: z.string().min(1).optional(),
    PUBLIC_BASE_URL: httpsOrLoopbackUrl,
    // Not CORS_ALLOWED_ORIGINS: on Linux the Functions host reserves that name for the platform's own list (JSON).
    API_CORS_ALLOWED_ORIGINS: allowedOrigins.default([]),
    SECRETS_ENCRYPTION_KEY: z
      .string({ error: 'is required' })
      .refine(
        (value) => Buffer.from(value, 'base64').length === 32,
        'must be 32 random bytes, base64-encoded',
      ),
    // Keys that sealed stored values before the current one (comma-separated): they still open, never seal.
    SECRETS_ENCRYPTION_KEYS_RETIRED: commaList
      .refine(
        (keys) => keys.every((key) => Buffer.from(key, 'base64').length === 32),
        'must be a comma-separated list of 32-byte keys, base64-encoded',
      )
      .default([]),
    LICENSE_TENANT_COUNT: count,
    LICENSE_USER_COUNT: count,
    LICENSE_EXPIRES: z.iso.date({ error: 'must be a date, YYYY-MM-DD' }).optional(),
    DOMAIN_VERIFY_RETRY_SECONDS: z.coerce
      .number({ error: 'must be a number of seconds' })
      .int('must be a whole number of seconds')
      .min(1, 'must be at least 1 second')
      .max(3600, 'must be at most 3600 seconds')
      .default(30),
    DOMAIN_ACTIVATION_POLL_SECONDS: z.coerce
      .number({ error: 'must be a number of seconds' })
      .int('must be a whole number of seconds')
      .min(1, 'must be at least 1 second')
      .max(3600, 'must be at most 3600 seconds')
      .default(60),
    SBC_SKIP_IP_GROUP_CHECK: z
      .enum(['true', 'false'], { error: 'must be true or false' })
      .default('false')
      .transform((value) => value === 'true'),
    REPLICATION_QUICK_SECONDS: seconds(1, 86_400).default(300),
    REPLICATION_DELAY_SECONDS: seconds(0, 3600).default(300),
    REPLICATION_FULL_SECONDS: seconds(60, 7 * 86_400).default(3600),
    REPLICATION_PARALLEL_CYCLES: z.coerce
      .number({ error: 'must be a whole number' })
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(64, 'must be at most 64')
      .default(4),
    REPLICATION_LEASE_SECONDS: seconds(5, 3600).default(120),
    REPLICATION_CHUNK_SECONDS: seconds(1, 3600).default(240),
    REPLICATION_PAGE_SIZE: z.coerce
      .number({ error: 'must be a whole number' })
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(999, "must be at most 999 (Graph's largest page)")
      .default(999),
    // From a step's first transient failure; the manual's back-off is at most 5 minutes, so 30 gives several tries.
    TASK_RETRY_WINDOW_MINUTES: z.coerce
      .number({ error: 'must be a number of minutes' })
      .int('must be a whole number of minutes')
      .min(5, 'must be at least 5 minutes (one 5-minute back-off)')
      .max(1440, 'must be at most 1440 minutes (a day)')
      .default(30),
    // A crashed holder's task waits this long; the holder renews three times per lease.
    TASK_LEASE_SECONDS: seconds(15, 600).default(60),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    // Development only: lets the settings below point the product at a sandbox instead of Microsoft and the SBCs.
    ALLOW_DEVELOPMENT_ENDPOINTS: z
      .enum(['true', 'false'], { error: 'must be true or false' })
      .default('false')
      .transform((value) => value === 'true'),
  })
  // Runs even when other settings failed, so that one start-up error names every problem.
  .superRefine(storageRules, { when: () => true })
  .superRefine(trustRules)
  .transform((raw) => ({
    storage: storageConnectionOf(raw),
    api: {
      tenantId: raw.API_TENANT_ID,
      audience: raw.API_AUDIENCE as readonly string[],
      issuers: raw.API_TOKEN_ISSUER
        ? [raw.API_TOKEN_ISSUER]
        : tenantIssuers(raw.ENTRA_AUTHORITY_HOST).map((i) => i.replace('{tenantId}', raw.API_TENANT_ID)),
      customerIssuers: tenantIssuers(raw.ENTRA_AUTHORITY_HOST),
      jwksUri: raw.API_JWKS_URI ?? `${raw.ENTRA_AUTHORITY_HOST}/${raw.API_TENANT_ID}/discovery/v2.0/keys`,
      allowedClientIds: raw.API_ALLOWED_CLIENT_IDS as readonly string[],
    },
    endpoints: {
      authorityHost: raw.ENTRA_AUTHORITY_HOST,
      graph: raw.GRAPH_BASE_URL,
      teamsAdmin: raw.TEAMS_ADMIN_BASE_URL,
      arm: raw.ARM_BASE_URL,
      sbcTemplate: raw.SBC_BASE_URL_TEMPLATE,
      /** A Known SBC set to plain HTTP is reached that way only in development; production refuses it. */
      plainHttpSbcs: raw.ALLOW_DEVELOPMENT_ENDPOINTS,
    },
    trustedCaCertFile: raw.TRUSTED_CA_CERT_FILE,
    publicBaseUrl: raw.PUBLIC_BASE_URL,
    /** Answered by Azure's platform CORS (siteConfig.cors) in Azure and by the local host locally, never by a function. */
    cors: { allowedOrigins: raw.API_CORS_ALLOWED_ORIGINS as readonly string[] },
    secretsEncryptionKey: raw.SECRETS_ENCRYPTION_KEY,
    retiredSecretsEncryptionKeys: raw.SECRETS_ENCRYPTION_KEYS_RETIRED as readonly string[],
    license: {
      tenantCount: raw.LICENSE_TENANT_COUNT,
      userCount: raw.LICENSE_USER_COUNT,
      expiresOn: raw.LICENSE_EXPIRES ?? null,
    },
    onboarding: {
      verifyRetrySeconds: raw.DOMAIN_VERIFY_RETRY_SECONDS,
      activationPollSeconds: raw.DOMAIN_ACTIVATION_POLL_SECONDS,
      skipIpGroupCheck: raw.SBC_SKIP_IP_GROUP_CHECK,
    },
    replication: {
      quickIntervalSeconds: raw.REPLICATION_QUICK_SECONDS,
      quickDelaySeconds: raw.REPLICATION_DELAY_SECONDS,
      fullIntervalSeconds: raw.REPLICATION_FULL_SECONDS,
      maxParallelCycles: raw.REPLICATION_PARALLEL_CYCLES,
      leaseSeconds: raw.REPLICATION_LEASE_SECONDS,
      chunkSeconds: raw.REPLICATION_CHUNK_SECONDS,
      pageSize: raw.REPLICATION_PAGE_SIZE,
    },
    tasks: {
      retryWindowMinutes: raw.TASK_RETRY_WINDOW_MINUTES,
      leaseSeconds: raw.TASK_LEASE_SECONDS,
    },
    logLevel: raw.LOG_LEVEL,
  }));

/** The defaults of the settings that decide whom the product trusts; other values move that trust. */
const TRUSTED_DEFAULTS = {
  ENTRA_AUTHORITY_HOST: MICROSOFT_LOGIN,
  GRAPH_BASE_URL: 'https://graph.microsoft.com',
  TEAMS_ADMIN_BASE_URL: 'https://api.interfaces.records.teams.microsoft.com',
  ARM_BASE_URL: 'https://management.azure.com',
  SBC_BASE_URL_TEMPLATE: '{scheme}://{device}',
} as const;

/**
 * The issuers of a tenant's tokens for the API, `{tenantId}` standing for its tenant id: Entra's v2.0 issuer and,
 * since Entra issues v1.0 tokens unless the API's manifest asks for v2 (`accessTokenAcceptedVersion`), the v1.0 one
 * (`https://sts.windows.net/…/` on Microsoft's sign-in host; on a development authority, the authority's own tenant
 * path). The provider's tenant (unless API_TOKEN_ISSUER names one) and customers' tenants alike: the same keys sign
 * both formats, and the audience still has to be the API's.
 */
function tenantIssuers(authorityHost: string): readonly string[] {
  const v1 = authorityHost === MICROSOFT_LOGIN ? 'https://sts.windows.net' : authorityHost;
  return [`${authorityHost}/{tenantId}/v2.0`, `${v1}/{tenantId}/`];
}

interface TrustSettings extends Partial<Record<keyof typeof TRUSTED_DEFAULTS, string>> {
  readonly ALLOW_DEVELOPMENT_ENDPOINTS: boolean;
  readonly ENTRA_AUTHORITY_HOST: string;
  readonly API_TENANT_ID: string;
  readonly API_TOKEN_ISSUER?: string | undefined;
  readonly API_JWKS_URI?: string | undefined;
  readonly TRUSTED_CA_CERT_FILE?: string | undefined;
}

/**
 * Settings that move trust — who issues accepted tokens and their keys, where tokens and SBC passwords are sent,
 * which CA is believed — keep Microsoft's and the SBCs' own values unless ALLOW_DEVELOPMENT_ENDPOINTS is true: one
 * changed App Setting must not hand the API, or every customer's tenant, to another party. Issuer and keys on the
 * Microsoft sign-in host (either token version) are not a move.
 */
function trustRules(raw: TrustSettings, ctx: z.RefinementCtx): void {
  if (raw.ALLOW_DEVELOPMENT_ENDPOINTS) return;
  const refuse = (setting: string, what: string) =>
    ctx.addIssue({
      code: 'custom',
      path: [setting],
      message: `${what}; refused unless ALLOW_DEVELOPMENT_ENDPOINTS=true (development only)`,
    });
  for (const [setting, trusted] of Object.entries(TRUSTED_DEFAULTS)) {
    const value = raw[setting as keyof typeof TRUSTED_DEFAULTS];
    if (value !== undefined && value !== trusted) refuse(setting, `must be ${trusted}`);
  }
  const microsoftHosts = [MICROSOFT_LOGIN, 'https://sts.windows.net'];
  const onMicrosoft = (url: string) =>
    microsoftHosts.some((host) => url === host || url.startsWith(`${host}/`));
  if (raw.API_TOKEN_ISSUER !== undefined && !onMicrosoft(raw.API_TOKEN_ISSUER))
    refuse('API_TOKEN_ISSUER', `must be an issuer on ${MICROSOFT_LOGIN} or https://sts.windows.net`);
  if (raw.API_JWKS_URI !== undefined && !onMicrosoft(raw.API_JWKS_URI))
    refuse('API_JWKS_URI', `must be on ${MICROSOFT_LOGIN}`);
  if (raw.TRUSTED_CA_CERT_FILE !== undefined)
    refuse('TRUSTED_CA_CERT_FILE', 'an extra trusted CA must not be set in production');
}

type StorageSettings = Partial<
  Record<typeof STORAGE | (typeof STORAGE_IDENTITY)[keyof typeof STORAGE_IDENTITY], unknown>
>;

/**
 * Exactly one of the two forms the Functions host reads: the connection string, or the identity-based settings with
 * a table and a queue endpoint (each its service URI, or derived from the account name).
 */
function storageRules(raw: StorageSettings, ctx: z.RefinementCtx): void {
  const present = (name: keyof StorageSettings) => raw[name] !== undefined;
  const identityNames = Object.values(STORAGE_IDENTITY).filter(present);
  const issue = (setting: string, message: string) =>
    ctx.addIssue({ code: 'custom', path: [setting], message });
  if (present(STORAGE) && identityNames.length > 0) {
    issue(
      STORAGE,
      `set either this connection string or the identity-based ${STORAGE}__* settings, not both ` +
        `(also set: ${identityNames.join(', ')})`,
    );
    return;
  }
  if (present(STORAGE)) return;
  if (identityNames.length === 0) {
    issue(
      STORAGE,
      `is required: a storage connection string, or identity-based storage with ${STORAGE_IDENTITY.accountName} ` +
        `or both ${STORAGE_IDENTITY.tableServiceUri} and ${STORAGE_IDENTITY.queueServiceUri}`,
    );
    return;
  }
  if (!present(STORAGE_IDENTITY.accountName)) {
    for (const name of [STORAGE_IDENTITY.tableServiceUri, STORAGE_IDENTITY.queueServiceUri]) {
      if (!present(name)) {
        issue(name, `is required for identity-based storage (or set ${STORAGE_IDENTITY.accountName})`);
      }
    }
  }
  if (present(STORAGE_IDENTITY.clientId) && !present(STORAGE_IDENTITY.credential)) {
    issue(STORAGE_IDENTITY.clientId, `needs ${STORAGE_IDENTITY.credential} = managedidentity`);
  }
}

function storageConnectionOf(raw: {
  AzureWebJobsStorage?: string | undefined;
  AzureWebJobsStorage__accountName?: string | undefined;
  AzureWebJobsStorage__queueServiceUri?: string | undefined;
  AzureWebJobsStorage__tableServiceUri?: string | undefined;
  AzureWebJobsStorage__credential?: string | undefined;
  AzureWebJobsStorage__clientId?: string | undefined;
}): StorageConnection {
  if (raw.AzureWebJobsStorage) return { kind: 'connectionString', connectionString: raw.AzureWebJobsStorage };
  const account = raw.AzureWebJobsStorage__accountName;
  const serviceUrl = (given: string | undefined, service: 'table' | 'queue') => {
    if (given) return given;
    // storageRules let no identity form through without either the URI or the account name.
    if (!account) throw new Error(`No ${service} endpoint for identity-based storage.`);
    return `https://${account}.${service}.core.windows.net`;
  };
  return {
    kind: 'identity',
    tableServiceUrl: serviceUrl(raw.AzureWebJobsStorage__tableServiceUri, 'table'),
    queueServiceUrl: serviceUrl(raw.AzureWebJobsStorage__queueServiceUri, 'queue'),
    credential: raw.AzureWebJobsStorage__credential ? 'managedidentity' : 'default',
    ...(raw.AzureWebJobsStorage__clientId ? { clientId: raw.AzureWebJobsStorage__clientId } : {}),
  };
}

export type Settings = z.output<typeof settingsSchema>;
export type SettingName = keyof z.input<typeof settingsSchema>;

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
  constructor(readonly problems: ReadonlyArray<{ setting: string; message: string }>) {
    super(
      `Invalid configuration (${problems.length} setting${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p.setting}: ${p.message}`).join('\n'),
    );
  }
}

/** Reads settings from an environment-like record; throws one error naming every missing or invalid setting. */
export function loadSettings(env: Record<string, string | undefined>): Settings {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const result = settingsSchema.safeParse(present);
  if (result.success) return result.data;
  throw new SettingsError(
    result.error.issues.map((issue) => {
      const setting = String(issue.path[0] ?? '(root)');
      // A rule between settings (storage's either/or) explains itself even about a setting left out.
      const absent = present[setting] === undefined && issue.code !== 'custom';
      return { setting, message: absent ? 'is required' : issue.message };
    }),
  );
}
