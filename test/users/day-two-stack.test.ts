import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAzurite, startAzurite } from '../../dev/azurite.js';
import { seedOnboardingSettings } from '../../dev/demo-seed.js';
import { freePort } from '../../dev/host/free-port.js';
import { DEMO } from '../../dev/sandbox/demo-data.js';
import { type RunningSandbox, startSandbox } from '../../dev/sandbox/index.js';
import { sandboxEndpointSettings } from '../../dev/sandbox/product-settings.js';
import { addReplicationApp, createScaleTenant } from '../../dev/sandbox/scale-control.js';
import type { ScaleDirectory } from '../../dev/sandbox/scale-tenant.js';
import { createApp } from '../../functions/app.js';
import { loadSettings } from '../../shared/config/settings.js';
import { createCustomerSiteStore } from '../../shared/onboarding/customer-site-store.js';
import { azureTables } from '../../shared/storage/azure-tables.js';
import { waitFor } from '../consent/consent-fixture.js';
import { settled } from '../onboarding/onboarding-fixture.js';
import { type ApiResponse, apiClient } from '../support/api-client.js';
import { type HostProcess, startHostProcess } from '../support/host-process.js';
import type { HostProcessRequest } from '../support/host-process-main.js';

/**
 * Issue 11's acceptance on the full stack: Azurite, the HTTPS sandbox and the local Functions host in a process of
 * its own (killed with SIGKILL and started again for the crash), the real applier against the sandbox's number
 * operations. The customer's tenant is a generated one of the sandbox with over a thousand Phone System users and
 * a Direct Routing range; the sandbox runs Teams at a hundredth of its real pace.
 */
const CUSTOMER = 'StackDayTwo';
const BASE = `/api/v1/customers/${CUSTOMER}`;
const SITE = 'London';
/** The tenant's Direct Routing numbers, and the customer's range over them. */
const RANGE = { start: '+442071000000', end: '+442071009999' };
/** The k-th number of the range, `tel:` form. */
const numberOf = (k: number) => `tel:+44207100${String(k).padStart(4, '0')}`;

let dataDir: string;
let azurite: RunningAzurite;
let sandbox: RunningSandbox;
let host: HostProcess;
let hostRequest: HostProcessRequest;
let tenant: ScaleDirectory;
let call: ReturnType<typeof apiClient>;
let closeSeeder: () => Promise<void>;
let rangeId: string;

/** Voice users (Phone System, a generated number) by index in the generated tenant: three in four. */
const voiceIndexes = (count: number, from = 0) => {
  const found: number[] = [];
  for (let index = from; found.length < count; index++) if (index % 4 !== 3) found.push(index);
  return found;
};
/** The user who starts without a number for the end-to-end flow; the imports use the voice users after it. */
const FIRST = 0;
const IMPORTED = voiceIndexes(1000, 1);
const upnOf = (index: number) => tenant.user(tenant.userId(index))?.userPrincipalName ?? '';

const ok = async (response: Promise<ApiResponse>, status = 200): Promise<ApiResponse> => {
  const answered = await response;
  expect(answered.status, JSON.stringify(answered.body)).toBe(status);
  return answered;
};

/** The assignments Teams accepted for the tenant, by user: what was sent, as the service saw it. */
const assignsByUser = (numbers: ReadonlySet<string>) => {
  const byUser = new Map<string, number>();
  for (const request of sandbox.teams.voice.accepted(tenant.options.tenantId)) {
    if (request.kind !== 'assign' || !numbers.has(`tel:${request.telephoneNumber}`)) continue;
    byUser.set(request.userId ?? '', (byUser.get(request.userId ?? '') ?? 0) + 1);
  }
  return byUser;
};

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'drh-day-two-'));
  // Azurite boots in its own process while the sandbox starts here.
  const azuriteStarting = startAzurite();
  // A hundredth of Teams' pace: a number operation takes 30 ms instead of 3 s.
  sandbox = await startSandbox({ port: 0, dataDir, timeScale: 0.01, log: () => {} });
  azurite = await azuriteStarting;
  const port = await freePort();
  const settings = {
    PUBLIC_BASE_URL: `http://localhost:${port}`,
    SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    AzureWebJobsStorage: azurite.connectionString,
    ...sandboxEndpointSettings(sandbox),
    LICENSE_TENANT_COUNT: '10',
    LICENSE_USER_COUNT: '100000',
    // The first replication right after the connection; no scheduled cycle in the way of the imports.
    REPLICATION_DELAY_SECONDS: '0',
    REPLICATION_QUICK_SECONDS: '86400',
    REPLICATION_FULL_SECONDS: '604800',
    LOG_LEVEL: 'warn',
  };
  hostRequest = {
    settings,
    port,
    storageConnectionString: azurite.connectionString,
    queuePollIntervalMs: 100,
    overrides: {
      userChangeDebounceMs: 200,
      // A crashed holder's task is taken over after its lease: 3 s here, a minute in Azure.
      taskTiming: { leaseMs: 3_000, renewMs: 1_000, backoffMs: 200, maxBackoffMs: 1_000 },
    },
  };
  const hostStarting = startHostProcess(hostRequest);

  // 1,400 users, 1,050 of them voice users; the tenant's Direct Routing numbers include the customer's range.
  tenant = createScaleTenant(
    { state: sandbox.state, teams: sandbox.teams, directories: sandbox.directories },
    { displayName: `${CUSTOMER} Ltd`, users: 1400, seed: CUSTOMER },
  );
  const tenantId = tenant.options.tenantId;
  sandbox.teams.voice.setDirectRoutingNumbers(tenantId, [{ from: RANGE.start, to: RANGE.end }]);
  // A voice user whose number was taken away before: licensed for Phone System, no number.
  tenant.updateTeams(tenant.userId(FIRST), { telephoneNumber: null });
  const app = addReplicationApp(sandbox, tenantId, `${CUSTOMER} sync`);

  // What the provider's operator did before: the demo regions, the customer, its connection (which queues the
  // first replication) and its site on the EMEA SBC as onboarding leaves it (the site is what the range needs).
  const seeder = createApp(loadSettings({ ...settings, PUBLIC_BASE_URL: 'http://127.0.0.1:1' }));
  closeSeeder = () => seeder.close();
  host = await hostStarting;
  const token = await sandbox.issueToken({
    tenantId: DEMO.provider.tenantId,
    audience: DEMO.provider.apiAudience,
    roles: ['provider-admin'],
    expiresInSeconds: 3600,
  });
  call = apiClient(host.url, async () => token);
  await seedOnboardingSettings({ apiBaseUrl: `${host.url}/api/v1`, token, smtp: sandbox.smtp });
  await ok(
    call('POST', '/api/v1/customers', {
      json: {
        fullName: `${CUSTOMER} Ltd`,
        shortName: CUSTOMER,
        licenseType: 'hosted-pro',
        licensedUsers: 500,
      },
    }),
    201,
  );
  const at = new Date().toISOString();
  await createCustomerSiteStore(azureTables(azurite.connectionString)).create({
    customerId: CUSTOMER,
    siteName: SITE,
    gatewayFqdn: null,
    dns: null,
    m365Routing: null,
    sbc: {
      configuration: 'sip-trunk',
      regionId: 'emea',
      carrier: null,
      carrierRegistration: null,
      cacProfile: null,
      onboardingTemplateId: '',
      cleanupTemplateId: '',
      customVariables: {},
    },
    prefixes: [],
    gatewayCreated: false,
    createdAt: at,
    updatedAt: at,
  });
  await seeder.services.credentials.connectAppRegistration(CUSTOMER, {
    tenantId,
    clientId: app.appId,
    clientSecret: app.secretText,
  });
  await waitFor(
    `the first replication of ${CUSTOMER}`,
    async () => {
      const status = (await ok(call('GET', `${BASE}/replication`))).body as {
        currentCycle: unknown;
        lastCycle: { outcome: string } | null;
      };
      return status.currentCycle === null && status.lastCycle ? status.lastCycle : undefined;
    },
    150_000,
  );
  const range = await ok(
    call('POST', `${BASE}/number-ranges`, {
      json: { name: 'London DR', start: RANGE.start, end: RANGE.end, siteName: SITE },
    }),
    201,
  );
  rangeId = (range.body as { id: string }).id;
}, 240_000);

afterAll(async () => {
  await host?.close();
  await closeSeeder?.();
  await sandbox?.close();
  await azurite?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

interface Details {
  readonly telephony: { lineUri: string | null; numberType: string | null; enterpriseVoiceEnabled: boolean };
  readonly pendingChanges: unknown[];
  readonly audit: {
    value: Array<{
      id: string;
      status: string;
      rollbackOf: string | null;
      fields: Array<{ field: string; oldValue: unknown; newValue: unknown; state: string }>;
    }>;
  };
}

interface ImportView {
  id: string;
  state: string;
  taskId: string;
  result: string;
  rowsTotal: number;
  rowsApplied: number;
  rowsFailed: number;
  rowsUnchanged: number;
  rowsDone: number;
  errorCount: number;
}

interface AuditEntry {
  readonly userId: string;
  readonly taskId: string;
  readonly status: string;
  readonly fields: Array<{ field: string; newValue: unknown; state: string }>;
}

const details = async (userId: string) => (await ok(call('GET', `${BASE}/users/${userId}`))).body as Details;
const teamsNumbers = (userId: string) =>
  sandbox.teams.voice.user(tenant.options.tenantId, userId)?.numbers.map((n) => n.telephoneNumber) ?? [];

const post = (csv: string, dryRun = false) =>
  call('POST', `${BASE}/user-imports${dryRun ? '?dryRun=true' : ''}`, { body: csv, contentType: 'text/csv' });

const importView = async (location: string) => (await ok(call('GET', location))).body as ImportView;
const completed = (location: string, timeoutMs = 600_000) =>
  waitFor(
    `import ${location} completed`,
    async () => {
      const view = await importView(location);
      return view.state === 'completed' ? view : undefined;
    },
    timeoutMs,
  );

/** Every user-change audit entry of the customer, newest first. */
async function userChangeAudit(): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  let next: string | null = `${BASE}/audit/user-changes?top=500`;
  while (next) {
    const page = (await ok(call('GET', next))).body as { value: AuditEntry[]; nextLink: string | null };
    entries.push(...page.value);
    next = page.nextLink;
  }
  return entries;
}

describe('day two on the full stack', () => {
  it('assigns the next free number of a range to a replicated user, audits it and rolls it back', async () => {
    const userId = tenant.userId(FIRST);
    expect(teamsNumbers(userId)).toEqual([]);
    expect((await details(userId)).telephony.lineUri).toBeNull();
    const free = await ok(call('GET', `${BASE}/number-ranges/${rangeId}/next-free-number`));
    const next = (free.body as { lineUri: string }).lineUri;
    expect(next).toBe(numberOf(0));

    const assigned = await ok(
      call('POST', `${BASE}/users/${userId}/assign-number`, { json: { rangeId } }),
      202,
    );
    expect((assigned.body as { task: { type: string } }).task.type).toBe('Office365');
    const finished = await settled(call, assigned.headers.get('location') ?? '');
    expect(finished.state, JSON.stringify(finished.log)).toBe('finish-success');
    expect(teamsNumbers(userId)).toEqual([RANGE.start]);

    const after = await details(userId);
    expect(after.telephony).toMatchObject({
      lineUri: next,
      numberType: 'direct-routing',
      enterpriseVoiceEnabled: true,
    });
    expect(after.pendingChanges).toEqual([]);
    const [entry] = after.audit.value;
    expect(entry).toMatchObject({ status: 'processed', rollbackOf: null });
    expect(entry?.fields.find((f) => f.field === 'line-uri')).toMatchObject({
      oldValue: null,
      newValue: next,
      state: 'applied',
    });

    const rollback = await ok(
      call('POST', `${BASE}/audit/${entry?.id}/rollback`, { json: { fields: ['line-uri'] } }),
      202,
    );
    const rolledBack = await settled(call, rollback.headers.get('location') ?? '');
    expect(rolledBack.state, JSON.stringify(rolledBack.log)).toBe('finish-success');
    expect(teamsNumbers(userId)).toEqual([]);
    const back = await details(userId);
    expect(back.telephony).toMatchObject({ lineUri: null, numberType: null });
    expect(back.pendingChanges).toEqual([]);
    expect(back.audit.value[0]).toMatchObject({
      status: 'processed',
      rollbackOf: entry?.id,
    });
    expect(back.audit.value[0]?.fields).toEqual([
      expect.objectContaining({ field: 'line-uri', oldValue: next, newValue: null, state: 'applied' }),
    ]);
  }, 60_000);

  it('imports 1,000 rows with 3 bad ones: dry run, 997 applied in Teams, the same file again sends nothing', async () => {
    await ok(
      call('POST', `${BASE}/reserved-numbers`, { json: { lineUri: numberOf(9999), reason: 'Reception' } }),
      201,
    );
    // Each voice user a number of the range (from the 11th on); three rows are bad in three ways.
    const lines = ['User,LineUri'];
    IMPORTED.forEach((index, k) => lines.push(`${upnOf(index)},${numberOf(10 + k)}`));
    lines[101] = `nobody@${tenant.options.domain},${numberOf(110)}`;
    lines[201] = `${upnOf(IMPORTED[200] ?? 0)},+44 20 7100`;
    lines[301] = `${upnOf(IMPORTED[300] ?? 0)},${numberOf(9999)}`;
    const csv = `${lines.join('\r\n')}\r\n`;
    const wanted = new Set(lines.slice(1).map((l) => l.split(',')[1] ?? ''));

    const dry = await ok(post(csv, true));
    const plan = dry.body as {
      rowsTotal: number;
      changes: unknown[];
      errors: Array<{ row: number; column: string | null; code: string }>;
    };
    expect(plan.rowsTotal).toBe(1000);
    expect(plan.changes).toHaveLength(997);
    expect(plan.errors.map((e) => [e.row, e.column, e.code])).toEqual([
      [102, 'User', 'user_not_found'],
      [202, 'LineUri', 'invalid_value'],
      [302, 'LineUri', 'number_reserved'],
    ]);
    expect(assignsByUser(wanted).size).toBe(0);

    const started = await ok(post(csv), 202);
    const view = await completed(started.headers.get('location') ?? '');
    expect(view).toMatchObject({
      rowsTotal: 1000,
      rowsApplied: 997,
      rowsFailed: 3,
      rowsDone: 1000,
      errorCount: 3,
    });
    const sent = assignsByUser(wanted);
    expect(sent.size).toBe(997);
    expect([...sent.values()].every((n) => n === 1)).toBe(true);
    expect(teamsNumbers(tenant.userId(IMPORTED[0] ?? 0))).toEqual([numberOf(10).replace('tel:', '')]);

    const result = await ok(call('GET', view.result));
    const rows = parse(result.body as string, { columns: true }) as Array<Record<string, string>>;
    expect(rows).toHaveLength(1000);
    const failed = rows.filter((r) => r.Error !== '');
    expect(failed.map((r) => r.User)).toEqual([
      `nobody@${tenant.options.domain}`,
      upnOf(IMPORTED[200] ?? 0),
      upnOf(IMPORTED[300] ?? 0),
    ]);

    const before = sandbox.teams.voice.accepted(tenant.options.tenantId).length;
    const again = await completed((await ok(post(csv), 202)).headers.get('location') ?? '');
    expect(again).toMatchObject({ rowsApplied: 0, rowsUnchanged: 997, rowsFailed: 3 });
    expect(sandbox.teams.voice.accepted(tenant.options.tenantId)).toHaveLength(before);
  }, 900_000);

  it('finishes an import whose host was killed in the middle: every row applied exactly once', async () => {
    // The same users, each a new number: 997 rows to apply.
    const rows = IMPORTED.slice(0, 997).map((index, k) => [upnOf(index), numberOf(2000 + k)] as const);
    const wanted = new Set(rows.map(([, lineUri]) => lineUri));
    const csv = ['User,LineUri', ...rows.map((r) => r.join(','))].join('\n');
    const started = await ok(post(csv), 202);
    const location = started.headers.get('location') ?? '';

    // The crash comes once Teams has taken some of the rows, well before all.
    const sentBeforeCrash = await waitFor(
      'the first rows sent to Teams',
      async () => {
        const sent = assignsByUser(wanted).size;
        return sent >= 100 ? sent : undefined;
      },
      60_000,
    );
    await host.kill();
    expect(sentBeforeCrash).toBeLessThan(rows.length);
    expect(assignsByUser(wanted).size).toBeLessThan(rows.length);

    host = await startHostProcess(hostRequest);
    const view = await completed(location);
    expect(view).toMatchObject({ rowsTotal: 997, rowsApplied: 997, rowsFailed: 0 });
    const sent = assignsByUser(wanted);
    expect(sent.size).toBe(997);
    expect([...sent.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    for (const [upn, lineUri] of [0, 500, 996].map((k) => rows[k] ?? ['', ''])) {
      expect(teamsNumbers(tenant.findUser(upn)?.id ?? '')).toEqual([lineUri.replace('tel:', '')]);
    }
    const task = (await ok(call('GET', `/api/v1/tasks/${view.taskId}`))).body as {
      state: string;
      retries: number;
    };
    expect(task.state).toBe('finish-success');
    // The product knows it too: the same file again has nothing to change.
    const dry = (await ok(post(csv, true))).body as { changes: unknown[]; errors: unknown[] };
    expect([dry.changes.length, dry.errors.length]).toEqual([0, 0]);
    // The audit holds one entry per row of the task, each with its one field applied.
    const entries = (await userChangeAudit()).filter((e) => e.taskId === view.taskId);
    expect(entries).toHaveLength(997);
    expect(new Set(entries.map((e) => e.userId)).size).toBe(997);
    expect(
      entries.every((e) => e.status === 'processed' && e.fields.every((f) => f.state === 'applied')),
    ).toBe(true);
  }, 900_000);
});
