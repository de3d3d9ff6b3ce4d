import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startAzurite } from './azurite.js';
import { LockHeldError, recordChild, takeLock } from './local-lock.js';

/** Local run: Azurite, the sandbox and the local Functions host in one command, on embedded defaults. */
const { values: args } = parseArgs({
  options: {
    'data-dir': { type: 'string', default: '.data' },
    'host-port': { type: 'string', default: '7071' },
    'sandbox-port': { type: 'string', default: '7443' },
    'storage-ports': { type: 'string', default: '10000,10001,10002' },
    'reset-sandbox': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help) {
  process.stdout.write(
    [
      'Usage: npm start -- [options]',
      '',
      'Runs Direct Routing Hub locally: Azurite, the sandbox of its peers and the local Functions host.',
      '',
      '  --data-dir DIR              Where everything of this run is kept (default .data): Azurite and sandbox data,',
      '                              secrets.key, local-session.json (API URL and token) and npm-start.lock',
      '  --host-port N               The API and customer pages (default 7071)',
      '  --sandbox-port N            The sandbox of the Microsoft, SBC and email peers (default 7443)',
      '  --storage-ports B,Q,T       Azurite blob, queue and table (default 10000,10001,10002)',
      "  --reset-sandbox             Start the sandbox's world from its seed (Azurite's data is kept)",
      '  -h, --help                  This text',
      '',
    ].join('\n'),
  );
  process.exit(0);
}

const dataDir = resolve(args['data-dir']);
const hostPort = Number(args['host-port']);
const sandboxPort = Number(args['sandbox-port']);
const [blobPort = 10000, queuePort = 10001, tablePort = 10002] = args['storage-ports'].split(',').map(Number);
const lockFile = join(dataDir, 'npm-start.lock');
const sessionFile = join(dataDir, 'local-session.json');

function fail(message: string): never {
  process.stderr.write(`\n${message}\n\n`);
  process.exit(1);
}

async function ensurePortFree(port: number, what: string, option: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolvePort) => {
    const probe = createServer();
    probe.once('error', () =>
      fail(
        `Port ${port} (${what}) is already in use by another program. Stop it, or pick another port with ${option}.`,
      ),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolvePort()));
  });
}

/** Embedded defaults, then local.settings.json Values, then the environment: the same precedence as `func start`. */
function localSettingsValues(): Record<string, string> {
  const file = resolve('local.settings.json');
  if (!existsSync(file)) return {};
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { Values?: Record<string, string> };
  return parsed.Values ?? {};
}

/** A key of this machine's own, made on the first run and kept with the local data it protects. */
function localSecretsKey(): string {
  const file = join(dataDir, 'secrets.key');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

function nonEmpty(values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '',
    ),
  );
}

try {
  const stopped = await takeLock(lockFile);
  for (const child of stopped) {
    process.stdout.write(
      `Stopped process ${child.pid}, left running by an earlier "npm start" that did not exit.\n`,
    );
  }
} catch (error) {
  if (!(error instanceof LockHeldError)) throw error;
  const holder = error.holder;
  fail(
    `Direct Routing Hub is already running (process ${holder.pid}, started ${holder.startedAt}).\n` +
      `Its API and token are in ${sessionFile}. Stop it with Ctrl-C in its terminal (or "kill ${holder.pid}") before starting another.`,
  );
}
const cleanups: Array<() => Promise<void>> = [];
let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    rmSync(lockFile, { force: true });
  }
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  await ensurePortFree(hostPort, 'host', '--host-port');
  await ensurePortFree(sandboxPort, 'sandbox', '--sandbox-port');
  for (const port of [blobPort, queuePort, tablePort]) {
    await ensurePortFree(port, 'storage', '--storage-ports BLOB,QUEUE,TABLE');
  }

  // Azurite is a process of its own: started before this one loads the product and the sandbox (seconds of module
  // loading), it boots meanwhile on another core. Only light modules are imported statically above for that reason.
  const azuriteStarting = startAzurite({
    location: join(dataDir, 'azurite'),
    ports: { blob: blobPort, queue: queuePort, table: tablePort },
  }).then((started) => {
    recordChild(lockFile, started.pid);
    return started;
  });
  // Pushed now, not once started, so that they run last (cleanups run in reverse), after the app that uses them.
  cleanups.push(async () => (await azuriteStarting.catch(() => null))?.close());
  const sandboxStarting = import('./sandbox/index.js').then(({ startSandbox }) =>
    startSandbox({
      port: sandboxPort,
      dataDir: join(dataDir, 'sandbox'),
      // Azurite keeps the product's data in the same folder: the sandbox keeps the world that data describes.
      stateDir: join(dataDir, 'sandbox'),
      resetState: args['reset-sandbox'],
    }),
  );
  if (args['reset-sandbox']) {
    process.stderr.write(
      `The sandbox starts from its seed; Azurite's data in ${join(dataDir, 'azurite')} was kept and may describe ` +
        `customers the sandbox no longer knows. To start both afresh, stop and delete ${dataDir}.\n`,
    );
  }
  cleanups.push(async () => (await sandboxStarting.catch(() => null))?.close());
  const [
    azurite,
    sandbox,
    { createApp },
    { loadSettings },
    { startLocalHost },
    { seedDemoData },
    { DEMO },
    { sandboxEndpointSettings },
  ] = await Promise.all([
    azuriteStarting,
    sandboxStarting,
    import('../functions/app.js'),
    import('../shared/config/settings.js'),
    import('./host/index.js'),
    import('./demo-seed.js'),
    import('./sandbox/demo-data.js'),
    import('./sandbox/product-settings.js'),
  ]);

  const settings = loadSettings({
    // Entra accepts http redirect URIs on localhost only.
    PUBLIC_BASE_URL: `http://localhost:${hostPort}`,
    SECRETS_ENCRYPTION_KEY: localSecretsKey(),
    AzureWebJobsStorage: azurite.connectionString,
    ...sandboxEndpointSettings(sandbox),
    LICENSE_TENANT_COUNT: '20',
    LICENSE_USER_COUNT: '10000',
    ...nonEmpty(localSettingsValues()),
    ...nonEmpty(process.env),
  });
  const app = createApp(settings);
  cleanups.push(() => app.close());
  const host = await startLocalHost({
    registry: app.registry,
    port: hostPort,
    storage: app.services.storage,
    http: { cors: settings.cors },
  });
  cleanups.push(() => host.close());

  const token = await sandbox.issueToken({
    tenantId: DEMO.provider.tenantId,
    audience: DEMO.provider.apiAudience,
    roles: ['provider-admin'],
    name: 'Demo Provider Admin',
    expiresInSeconds: 12 * 3600,
  });
  const apiBaseUrl = `${host.url}/api/v1`;
  await seedDemoData({ apiBaseUrl, token, smtp: sandbox.smtp });

  const session = {
    apiBaseUrl,
    openApiUrl: `${apiBaseUrl}/openapi.json`,
    token,
    tokenExpiresAt: new Date(Date.now() + 12 * 3600 * 1000).toISOString(),
    sandboxUrl: sandbox.url,
    sandboxCaCertFile: sandbox.caCertFile,
    publicBaseUrl: settings.publicBaseUrl,
    mailboxUrl: `${sandbox.url}/_sandbox/mail`,
    demoAppRegistration: {
      tenantId: DEMO.customers.contoso.tenantId,
      clientId: DEMO.customers.contoso.appRegistration.clientId,
      clientSecret: DEMO.customers.contoso.appRegistration.clientSecret,
    },
    pid: process.pid,
  };
  writeFileSync(sessionFile, `${JSON.stringify(session, null, 2)}\n`);
  process.stdout.write(
    [
      '',
      'Direct Routing Hub is running locally.',
      `  API base URL   ${session.apiBaseUrl} (the OpenAPI server; a generated client's baseUrl)`,
      `  OpenAPI        ${session.openApiUrl}`,
      `  Sandbox        ${session.sandboxUrl} (Entra ID, Graph, ACS Email; CA ${session.sandboxCaCertFile})`,
      `  Mailbox        ${session.sandboxUrl}/_sandbox/mail (what the SMTP sink on port ${sandbox.smtp.port} received)`,
      `  Customer pages ${settings.publicBaseUrl}/authenticate/{link from the invitation email}`,
      `  Demo admin     ${DEMO.customers.contoso.admin.userPrincipalName} / ${DEMO.customers.contoso.admin.password} (sandbox sign-in)`,
      `  Demo app registration (the wizard's "Use App Registration"; Contoso's tenant, sandbox only):`,
      `    tenantId     ${session.demoAppRegistration.tenantId}`,
      `    clientId     ${session.demoAppRegistration.clientId}`,
      `    clientSecret ${session.demoAppRegistration.clientSecret}`,
      `  Storage        Azurite, data in ${join(dataDir, 'azurite')}`,
      '',
      'Provider-admin bearer token (valid 12 hours):',
      session.token,
      '',
      'Try:',
      `  curl -H "Authorization: Bearer $(node -p "require('${sessionFile}').token")" ${session.apiBaseUrl}/customers`,
      '',
      `The same values are in ${sessionFile}. Press Ctrl-C to stop.`,
      '',
    ].join('\n'),
  );
} catch (error) {
  // By name: the settings module is imported lazily (see above) and may not have loaded.
  const settingsError = error instanceof Error && error.name === 'SettingsError';
  process.stderr.write(`\n${settingsError ? error.message : (error as Error).stack}\n`);
  await stop(1);
}
