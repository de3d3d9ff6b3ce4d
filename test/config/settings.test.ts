import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadSettings, SettingsError, settingsSchema } from '../../shared/config/settings.js';
import { sbcBaseUrl } from '../../shared/onboarding/onboarding-ports.js';
import type { KnownSbc } from '../../shared/onboarding/onboarding-settings.js';

const settingNames = Object.keys(settingsSchema.in.shape);
const minimal = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  API_TENANT_ID: '00000000-0000-0000-0000-000000000001',
  API_AUDIENCE: 'api://direct-routing-hub',
  LICENSE_TENANT_COUNT: '20',
  LICENSE_USER_COUNT: '10000',
  PUBLIC_BASE_URL: 'https://hub.example.com/',
  SECRETS_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
};

function errorOf(env: Record<string, string>): SettingsError {
  try {
    loadSettings(env);
  } catch (error) {
    if (error instanceof SettingsError) return error;
    throw error;
  }
  throw new Error('expected a SettingsError');
}

describe('settings', () => {
  it('names every missing and every invalid setting in one start-up error', () => {
    const error = errorOf({
      GRAPH_BASE_URL: 'http://graph.example',
      LICENSE_USER_COUNT: 'lots',
      LOG_LEVEL: 'loud',
      PUBLIC_BASE_URL: 'http://hub.example.com',
      SECRETS_ENCRYPTION_KEY: 'c2hvcnQ=',
    });
    expect(error.message).toContain('PUBLIC_BASE_URL: must be an https:// URL (http:// only for localhost)');
    expect(error.message).toContain('SECRETS_ENCRYPTION_KEY: must be 32 random bytes, base64-encoded');
    expect(error.message).not.toContain('c2hvcnQ=');
    expect(error.problems.map((p) => p.setting).sort()).toEqual(
      [
        'API_AUDIENCE',
        'API_TENANT_ID',
        'AzureWebJobsStorage',
        'GRAPH_BASE_URL',
        'LICENSE_TENANT_COUNT',
        'LICENSE_USER_COUNT',
        'LOG_LEVEL',
        'PUBLIC_BASE_URL',
        'SECRETS_ENCRYPTION_KEY',
      ].sort(),
    );
    expect(error.message).toContain('GRAPH_BASE_URL: must be an https:// URL');
    expect(error.message).toContain('LICENSE_USER_COUNT: must be a whole number');
    expect(error.message).toContain('API_TENANT_ID: is required');
  });

  it('defaults to the real Microsoft endpoints and derives the token issuer and keys from the tenant', () => {
    const settings = loadSettings(minimal);
    expect(settings.endpoints).toEqual({
      authorityHost: 'https://login.microsoftonline.com',
      graph: 'https://graph.microsoft.com',
      teamsAdmin: 'https://api.interfaces.records.teams.microsoft.com',
      arm: 'https://management.azure.com',
      sbcTemplate: '{scheme}://{device}',
      plainHttpSbcs: false,
    });
    // Both formats: Entra issues v1.0 tokens for an API whose manifest does not ask for v2.
    expect(settings.api.issuers).toEqual([
      'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0',
      'https://sts.windows.net/00000000-0000-0000-0000-000000000001/',
    ]);
    expect(settings.api.jwksUri).toBe(
      'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/discovery/v2.0/keys',
    );
    expect(settings.license).toEqual({ tenantCount: 20, userCount: 10000, expiresOn: null });
    expect(settings.publicBaseUrl).toBe('https://hub.example.com');
    expect(loadSettings({ ...minimal, PUBLIC_BASE_URL: 'http://127.0.0.1:7071' }).publicBaseUrl).toBe(
      'http://127.0.0.1:7071',
    );
  });

  it('refuses, without the development flag, every setting that would move trust away from Microsoft and the SBCs', () => {
    const attacker = 'https://login.attacker.example';
    const moved = {
      ENTRA_AUTHORITY_HOST: attacker,
      API_TOKEN_ISSUER: `${attacker}/tenant/v2.0`,
      API_JWKS_URI: `${attacker}/keys`,
      GRAPH_BASE_URL: 'https://graph.attacker.example',
      TEAMS_ADMIN_BASE_URL: 'https://teams.attacker.example',
      ARM_BASE_URL: 'https://arm.attacker.example',
      SBC_BASE_URL_TEMPLATE: 'https://sbc.attacker.example/{device}',
      TRUSTED_CA_CERT_FILE: '/tmp/attacker-ca.pem',
    };
    const refused = errorOf({ ...minimal, ...moved }).problems;
    expect(refused.map((p) => p.setting).sort()).toEqual(Object.keys(moved).sort());
    for (const problem of refused) expect(problem.message).toContain('ALLOW_DEVELOPMENT_ENDPOINTS=true');
    expect(
      errorOf({ ...minimal, ALLOW_DEVELOPMENT_ENDPOINTS: 'false', TRUSTED_CA_CERT_FILE: '/ca.pem' }).problems,
    ).toHaveLength(1);

    const development = loadSettings({ ...minimal, ...moved, ALLOW_DEVELOPMENT_ENDPOINTS: 'true' });
    expect(development.api.jwksUri).toBe(`${attacker}/keys`);
    expect(development.endpoints.plainHttpSbcs).toBe(true);
  });

  it('refuses a Known SBC on plain HTTP without the flag: its REST password would cross the network in the clear', () => {
    const device: KnownSbc = {
      id: 'sbc-1',
      name: 'SBC 1',
      ipAddress: '192.0.2.10',
      deviceFqdn: 'sbc1.provider.example',
      natIpAddress: null,
      https: false,
      gatewayUser: 'admin',
      gatewayPassword: 'Secret-1',
    };
    const production = loadSettings(minimal).endpoints;
    expect(() => sbcBaseUrl(production, device)).toThrow(/plain HTTP/);
    expect(sbcBaseUrl(production, { ...device, https: true })).toBe('https://sbc1.provider.example');
    const development = { ...production, plainHttpSbcs: true };
    expect(sbcBaseUrl(development, device)).toBe('http://sbc1.provider.example');
  });

  it("accepts an issuer and keys on Microsoft's sign-in host (v1 or v2 tokens) without the flag", () => {
    const tenant = minimal.API_TENANT_ID;
    const settings = loadSettings({
      ...minimal,
      API_TOKEN_ISSUER: `https://sts.windows.net/${tenant}/`,
      API_JWKS_URI: `https://login.microsoftonline.com/${tenant}/discovery/keys`,
    });
    expect(settings.api.issuers).toEqual([`https://sts.windows.net/${tenant}`]);
  });

  it('treats empty values as absent, as App Settings left blank are', () => {
    expect(
      loadSettings({ ...minimal, API_TOKEN_ISSUER: '', TRUSTED_CA_CERT_FILE: '' }).trustedCaCertFile,
    ).toBeUndefined();
    expect(errorOf({ ...minimal, API_AUDIENCE: '' }).problems).toEqual([
      { setting: 'API_AUDIENCE', message: 'is required' },
    ]);
  });

  describe('storage', () => {
    const { AzureWebJobsStorage: _connection, ...withoutStorage } = minimal;
    const identity = {
      ...withoutStorage,
      AzureWebJobsStorage__blobServiceUri: 'https://acct.blob.core.windows.net/',
      AzureWebJobsStorage__queueServiceUri: 'https://acct.queue.core.windows.net/',
      AzureWebJobsStorage__tableServiceUri: 'https://acct.table.core.windows.net/',
      AzureWebJobsStorage__credential: 'managedidentity',
    };

    it('refuses at start-up a connection string no storage SDK could parse, without echoing it', () => {
      const azurite =
        'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;';
      expect(loadSettings({ ...minimal, AzureWebJobsStorage: azurite }).storage).toEqual({
        kind: 'connectionString',
        connectionString: azurite,
      });
      const sas = 'QueueEndpoint=https://acct.queue.core.windows.net/;SharedAccessSignature=sv=2024&sig=abc';
      expect(loadSettings({ ...minimal, AzureWebJobsStorage: sas }).storage).toMatchObject({
        kind: 'connectionString',
      });
      const pasted = 'https://acct.table.core.windows.net/?secretish';
      const error = errorOf({ ...minimal, AzureWebJobsStorage: pasted });
      expect(error.problems).toEqual([
        {
          setting: 'AzureWebJobsStorage',
          message:
            'must be a storage connection string with an AccountKey or a SharedAccessSignature, or UseDevelopmentStorage=true',
        },
      ]);
      expect(error.message).not.toContain('secretish');
    });

    it('takes a connection string, as local runs and Azurite use', () => {
      expect(loadSettings(minimal).storage).toEqual({
        kind: 'connectionString',
        connectionString: 'UseDevelopmentStorage=true',
      });
    });

    it("takes the host's identity-based service URIs with the managed identity, no account key", () => {
      expect(loadSettings(identity).storage).toEqual({
        kind: 'identity',
        tableServiceUrl: 'https://acct.table.core.windows.net',
        queueServiceUrl: 'https://acct.queue.core.windows.net',
        credential: 'managedidentity',
      });
      const clientId = '11111111-2222-3333-4444-555555555555';
      expect(loadSettings({ ...identity, AzureWebJobsStorage__clientId: clientId }).storage).toMatchObject({
        credential: 'managedidentity',
        clientId,
      });
    });

    it('derives the endpoints from the account name, as the host does', () => {
      expect(loadSettings({ ...withoutStorage, AzureWebJobsStorage__accountName: 'acct' }).storage).toEqual({
        kind: 'identity',
        tableServiceUrl: 'https://acct.table.core.windows.net',
        queueServiceUrl: 'https://acct.queue.core.windows.net',
        credential: 'default',
      });
      // A URI given wins over the derived one.
      expect(
        loadSettings({
          ...withoutStorage,
          AzureWebJobsStorage__accountName: 'acct',
          AzureWebJobsStorage__queueServiceUri: 'https://queues.example.com',
        }).storage,
      ).toMatchObject({
        tableServiceUrl: 'https://acct.table.core.windows.net',
        queueServiceUrl: 'https://queues.example.com',
      });
    });

    it("without a credential uses DefaultAzureCredential (a developer's az login); http only on the loopback", () => {
      const { AzureWebJobsStorage__credential: _credential, ...local } = identity;
      const settings = loadSettings({
        ...local,
        AzureWebJobsStorage__queueServiceUri: 'http://127.0.0.1:10001/devstoreaccount1',
        AzureWebJobsStorage__tableServiceUri: 'https://localhost:10002/devstoreaccount1/',
      });
      expect(settings.storage).toEqual({
        kind: 'identity',
        tableServiceUrl: 'https://localhost:10002/devstoreaccount1',
        queueServiceUrl: 'http://127.0.0.1:10001/devstoreaccount1',
        credential: 'default',
      });
    });

    it('refuses neither form, naming both', () => {
      expect(errorOf(withoutStorage).problems).toEqual([
        {
          setting: 'AzureWebJobsStorage',
          message:
            'is required: a storage connection string, or identity-based storage with ' +
            'AzureWebJobsStorage__accountName or both AzureWebJobsStorage__tableServiceUri and ' +
            'AzureWebJobsStorage__queueServiceUri',
        },
      ]);
    });

    it('refuses both forms at once', () => {
      expect(errorOf({ ...identity, AzureWebJobsStorage: 'UseDevelopmentStorage=true' }).problems).toEqual([
        {
          setting: 'AzureWebJobsStorage',
          message:
            'set either this connection string or the identity-based AzureWebJobsStorage__* settings, not both ' +
            '(also set: AzureWebJobsStorage__blobServiceUri, AzureWebJobsStorage__queueServiceUri, ' +
            'AzureWebJobsStorage__tableServiceUri, AzureWebJobsStorage__credential)',
        },
      ]);
    });

    it('refuses an incomplete identity form: a service without its URI and no account name', () => {
      const { AzureWebJobsStorage__tableServiceUri: _table, ...queueOnly } = identity;
      expect(errorOf(queueOnly).problems).toEqual([
        {
          setting: 'AzureWebJobsStorage__tableServiceUri',
          message: 'is required for identity-based storage (or set AzureWebJobsStorage__accountName)',
        },
      ]);
      expect(
        errorOf({ ...withoutStorage, AzureWebJobsStorage__credential: 'managedidentity' }).problems.map(
          (p) => p.setting,
        ),
      ).toEqual(
        ['AzureWebJobsStorage__queueServiceUri', 'AzureWebJobsStorage__tableServiceUri'].sort().reverse(),
      );
    });

    it('refuses plain http off the loopback, another credential, a bad account name or client ID', () => {
      const error = errorOf({
        ...identity,
        AzureWebJobsStorage__queueServiceUri: 'http://acct.queue.core.windows.net',
        AzureWebJobsStorage__tableServiceUri: 'not a url',
        AzureWebJobsStorage__credential: 'clientsecret',
        AzureWebJobsStorage__accountName: 'Not_An_Account',
        AzureWebJobsStorage__clientId: 'me',
      });
      expect(error.problems).toEqual(
        expect.arrayContaining([
          {
            setting: 'AzureWebJobsStorage__queueServiceUri',
            message: 'must be an https:// URL (http:// only for localhost)',
          },
          { setting: 'AzureWebJobsStorage__tableServiceUri', message: 'must be an absolute URL' },
          {
            setting: 'AzureWebJobsStorage__credential',
            message:
              "must be managedidentity (leave it out to use DefaultAzureCredential, e.g. a developer's az login)",
          },
          {
            setting: 'AzureWebJobsStorage__accountName',
            message: 'must be a storage account name: 3 to 24 lowercase letters and digits',
          },
          {
            setting: 'AzureWebJobsStorage__clientId',
            message: "must be a client ID (a GUID): the user-assigned identity's",
          },
        ]),
      );
      expect(error.problems).toHaveLength(5);
    });

    it('refuses a client ID without the managed identity credential it selects', () => {
      const { AzureWebJobsStorage__credential: _credential, ...local } = identity;
      expect(
        errorOf({ ...local, AzureWebJobsStorage__clientId: '11111111-2222-3333-4444-555555555555' }).problems,
      ).toEqual([
        {
          setting: 'AzureWebJobsStorage__clientId',
          message: 'needs AzureWebJobsStorage__credential = managedidentity',
        },
      ]);
    });

    it('names a storage problem together with every other problem', () => {
      const { API_AUDIENCE: _audience, ...rest } = withoutStorage;
      expect(errorOf(rest).problems.map((p) => p.setting)).toEqual(['API_AUDIENCE', 'AzureWebJobsStorage']);
    });

    it('keeps every storage setting optional in the schema, so that the either/or rule alone decides', () => {
      for (const name of settingNames.filter((n) => n.startsWith('AzureWebJobsStorage'))) {
        const schema = settingsSchema.in.shape[name as keyof typeof settingsSchema.in.shape];
        expect(schema.safeParse(undefined).success, name).toBe(true);
      }
    });
  });

  describe('API_CORS_ALLOWED_ORIGINS', () => {
    const origins = (value: string | undefined) =>
      loadSettings({ ...minimal, API_CORS_ALLOWED_ORIGINS: value }).cors.allowedOrigins;
    const problemsOf = (value: string) =>
      errorOf({ ...minimal, API_CORS_ALLOWED_ORIGINS: value }).problems.map((p) => p.message);

    it('allows no other origin unless set', () => {
      expect(origins(undefined)).toEqual([]);
      expect(origins('')).toEqual([]);
    });

    it('takes origins as a browser sends them, comma-separated, lower-cased as Azure compares them', () => {
      expect(
        origins('https://Portal.Example.com, https://portal.example.com:8443,http://localhost:5173'),
      ).toEqual(['https://portal.example.com', 'https://portal.example.com:8443', 'http://localhost:5173']);
      expect(origins('http://127.0.0.1:3000,http://[::1]:3000')).toEqual([
        'http://127.0.0.1:3000',
        'http://[::1]:3000',
      ]);
    });

    it('takes * alone, as every origin', () => {
      expect(origins('*')).toEqual(['*']);
      expect(problemsOf('*,https://portal.example.com')).toEqual([
        '* allows every origin and must stand alone',
      ]);
    });

    it('refuses what Azure would never match, saying what to write instead', () => {
      expect(problemsOf('https://portal.example.com/')).toEqual([
        "'https://portal.example.com/' is not an origin as a browser sends it (no path, no trailing slash, " +
          "no default port): write 'https://portal.example.com'",
      ]);
      expect(problemsOf('https://portal.example.com/app')[0]).toContain("write 'https://portal.example.com'");
      expect(problemsOf('https://portal.example.com:443')[0]).toContain("write 'https://portal.example.com'");
      expect(problemsOf('https://*.example.com')).toEqual([
        "'https://*.example.com': Azure's CORS has no wildcard subdomains; list each origin",
      ]);
      expect(problemsOf('http://portal.example.com')).toEqual([
        "'http://portal.example.com' must be https:// (http:// only for localhost)",
      ]);
      expect(problemsOf('portal.example.com')).toEqual([
        "'portal.example.com' is not an origin: write https://host or https://host:port",
      ]);
      expect(problemsOf('https://a.example.com,,https://b.example.com')).toEqual([
        'has an empty entry (a stray comma)',
      ]);
      expect(problemsOf('https://a.example.com,https://A.example.com')).toEqual([
        "'https://A.example.com' is listed twice",
      ]);
    });

    it('names the setting in the start-up error', () => {
      expect(errorOf({ ...minimal, API_CORS_ALLOWED_ORIGINS: 'nope' }).message).toContain(
        "API_CORS_ALLOWED_ORIGINS: 'nope' is not an origin",
      );
    });
  });

  it("retries a task step's transient failures for 30 minutes and leases tasks for 60 seconds by default", () => {
    expect(loadSettings(minimal).tasks).toEqual({ retryWindowMinutes: 30, leaseSeconds: 60 });
    expect(
      loadSettings({ ...minimal, TASK_RETRY_WINDOW_MINUTES: '90', TASK_LEASE_SECONDS: '30' }).tasks,
    ).toEqual({
      retryWindowMinutes: 90,
      leaseSeconds: 30,
    });
    const error = errorOf({
      ...minimal,
      TASK_RETRY_WINDOW_MINUTES: '2',
      TASK_LEASE_SECONDS: 'long',
    });
    expect(error.message).toContain(
      'TASK_RETRY_WINDOW_MINUTES: must be at least 5 minutes (one 5-minute back-off)',
    );
    expect(error.message).toContain('TASK_LEASE_SECONDS: must be a number of seconds');
    expect(errorOf({ ...minimal, TASK_RETRY_WINDOW_MINUTES: '7.5' }).message).toContain(
      'TASK_RETRY_WINDOW_MINUTES: must be a whole number of minutes',
    );
    expect(errorOf({ ...minimal, TASK_LEASE_SECONDS: '5' }).message).toContain(
      'TASK_LEASE_SECONDS: must be at least 15 seconds',
    );
  });

  it('is documented setting by setting in local.settings.sample.json and the README', () => {
    const sample = JSON.parse(readFileSync('local.settings.sample.json', 'utf8')) as {
      Values: Record<string, string>;
    };
    const readme = readFileSync('README.md', 'utf8');
    for (const name of settingNames) {
      // The identity-based storage settings are Azure's form; a local run keeps the connection string.
      if (!name.startsWith('AzureWebJobsStorage__')) {
        expect(Object.keys(sample.Values), `${name} in local.settings.sample.json`).toContain(name);
      }
      expect(readme, `${name} in the README configuration table`).toMatch(
        new RegExp(`^\\| \`${name}\` +\\|`, 'm'),
      );
    }
  });
});
