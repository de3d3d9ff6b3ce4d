import { loadavg } from 'node:os';
import { createApp } from '../../functions/app.js';
import { createNumberInventory } from '../../shared/numbers/number-inventory.js';
import { rangeInputSchema } from '../../shared/numbers/number-views.js';
import type { CustomerSite } from '../../shared/onboarding/customer-site.js';
import { createMirrorStoreOn } from '../../shared/replication/mirror-store.js';
import type { MirrorUser } from '../../shared/replication/mirror-user.js';
import { memoryQueues } from '../../shared/storage/memory-queue.js';
import { memoryTables } from '../../shared/storage/memory-tables.js';
import { DEFAULT_IMPORT_CONCURRENCY } from '../../shared/users/bulk-import-service.js';
import type { NumberHolder } from '../../shared/users/ports.js';
import { createUserChangeStore } from '../../shared/users/user-change-store.js';
import type { startSandbox } from '../sandbox/index.js';
import { addReplicationApp, createScaleTenant } from '../sandbox/scale-control.js';
import { percentiles } from './api-load.js';
import { benchSettings } from './bench-settings.js';

/**
 * Bulk application of number assignments (issue 11): a scale tenant's voice users, a mirror of them, a range for
 * the customer, and a CSV of one new Direct Routing number per user imported through the import service and
 * applied by its task's step with the product's applier, against the sandbox's number operations (their real
 * seconds) with latency and 429s on every Graph and Teams request.
 *
 * Storage is the in-memory twin of Table storage, not Azurite: Azurite's in-memory store slows as a table grows
 * (docs/benchmarks.md, the Users list) and would measure itself; what is measured here is the rows in flight
 * against a service that takes seconds a row.
 */
export interface BulkImportOptions {
  readonly rows: number;
  readonly latencyMs: number;
  readonly throttleRate: number;
}

export interface BulkImportResults {
  readonly options: BulkImportOptions;
  readonly concurrency: number;
  readonly numberOperationMs: number;
  readonly seedMs: number;
  /** Validating the file and storing the import (the POST's work). */
  readonly startMs: number;
  /** From the task's step starting to the import completed. */
  readonly applyMs: number;
  readonly rowsPerSecond: number;
  /** A row's application: its audit entry's start to end. */
  readonly rowP50Ms: number;
  readonly rowP95Ms: number;
  readonly applied: number;
  readonly failed: number;
  readonly throttled: number;
  readonly requests: number;
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
}

export const BULK_TARGET_ROWS_PER_SECOND = 50;

const CUSTOMER = 'bulkbench';
const RANGE = { start: '+442070000000', end: '+442070099999' };
const numberOf = (k: number) => `tel:+44207${String(k).padStart(7, '0')}`;

const log = (line: string) => process.stdout.write(`${line}\n`);

export async function bulkImportBench(
  sandbox: Awaited<ReturnType<typeof startSandbox>>,
  options: BulkImportOptions,
): Promise<BulkImportResults> {
  const seedStarted = performance.now();
  // Three users in four of a scale tenant are voice users (Phone System, a generated +1555 number).
  const scale = createScaleTenant(
    { state: sandbox.state, teams: sandbox.teams, directories: sandbox.directories },
    { displayName: 'Bulk Bench Ltd', users: Math.ceil((options.rows * 4) / 3) + 4, seed: 'bulk' },
  );
  const tenantId = scale.options.tenantId;
  sandbox.teams.voice.setDirectRoutingNumbers(tenantId, [{ from: RANGE.start, to: RANGE.end }]);
  const connection = addReplicationApp(sandbox, tenantId, 'Bulk bench');

  const tables = memoryTables();
  const mirror = createMirrorStoreOn(tables);
  const holders = new Map<string, NumberHolder[]>();
  const inventory = createNumberInventory({
    // Tables of its own, and the mirror's number index answered from the seeded users: the in-memory twin scans
    // a whole table for every range query (Azure answers one from the partition's index), which made validating
    // 10,000 rows against an 80,000-row mirror table take many minutes.
    tables: memoryTables(),
    // The customer's one site on one SBC: sites and regions are not what this measures.
    sites: {
      async get(customerId, siteName) {
        return siteName === 'HQ'
          ? { site: { customerId, siteName, sbc: { regionId: 'eu' } } as unknown as CustomerSite, etag: '1' }
          : null;
      },
    },
    regions: {
      async region(id) {
        return { id, name: id, sbcId: 'sbc-eu', fqdn: 'sbc.bulkbench.example', ipAddress: '192.0.2.1' };
      },
    },
    numberIndex: {
      // The guard asks for one number at a time (from = to): a lookup; a range, a scan of the few holders.
      async usersWithNumbersBetween(_customerId, from, to) {
        const key = (n: string) => n.replace(/^tel:/, '').replace(/;.*$/, '').replace(/^\+/, '');
        if (from === to) return holders.get(key(from)) ?? [];
        const [low, high] = [BigInt(key(from)), BigInt(key(to))];
        return [...holders.values()]
          .flat()
          .filter((h) => BigInt(key(h.lineUri)) >= low && BigInt(key(h.lineUri)) <= high);
      },
    },
  });
  const settings = benchSettings(sandbox);
  const app = createApp(settings, { tables, queues: memoryQueues(), numberGuard: inventory.guard });
  try {
    const { services } = app;
    await services.customers.create({
      fullName: 'Bulk Bench Ltd',
      shortName: CUSTOMER,
      licenseType: 'hosted-pro',
      licensedUsers: options.rows,
    });
    await services.credentials.connectAppRegistration(CUSTOMER, {
      tenantId,
      clientId: connection.appId,
      clientSecret: connection.secretText,
    });
    await inventory.createRange(
      CUSTOMER,
      rangeInputSchema.parse({ name: 'London', ...RANGE, siteName: 'HQ' }),
      'bench',
      () => true,
    );
    // The mirror as a replication cycle leaves it: the voice users with their generated numbers.
    const users: MirrorUser[] = [];
    for (let index = 0; users.length < options.rows; index++) {
      const teams = scale.teamsUser(scale.userId(index));
      const user = scale.user(scale.userId(index));
      if (!teams || !user || !teams.featureTypes.includes('PhoneSystem')) continue;
      const number = teams.telephoneNumbers[0]?.telephoneNumber ?? null;
      users.push({
        id: user.id,
        userPrincipalName: user.userPrincipalName,
        displayName: user.displayName,
        department: user.department,
        usageLocation: user.usageLocation,
        businessPhones: user.businessPhones,
        mobilePhone: user.mobilePhone,
        accountEnabled: user.accountEnabled,
        accountType: 'User',
        enterpriseVoiceEnabled: teams.isEnterpriseVoiceEnabled,
        lineUri: number ? `tel:${number}` : null,
        telephoneNumbers: number ? [number] : [],
        policies: { OnlineVoiceRoutingPolicy: 'Unrestricted' },
        teamsModifiedAt: null,
        assignedLicenses: [],
      });
    }
    for (const user of users) {
      if (user.lineUri) {
        const digits = user.lineUri.replace(/^tel:\+/, '').replace(/;.*$/, '');
        holders.set(digits, [
          {
            userId: user.id,
            userPrincipalName: user.userPrincipalName,
            displayName: user.displayName,
            lineUri: user.lineUri,
          },
        ]);
      }
    }
    for (let from = 0; from < users.length; from += 2000) {
      await mirror.putUsers(CUSTOMER, users.slice(from, from + 2000), 'bench');
    }
    const csv = ['User,LineUri', ...users.map((u, k) => `${u.userPrincipalName},${numberOf(k)}`)].join(
      '\r\n',
    );
    const seedMs = performance.now() - seedStarted;
    log(`  seeded ${users.length} users in ${(seedMs / 1000).toFixed(1)} s`);

    const faults = ['^/graph/', '^/teams/'].flatMap((pathPattern) => [
      ...(options.latencyMs > 0
        ? [sandbox.faults.add({ pathPattern, kind: 'latency', latencyMs: options.latencyMs })]
        : []),
      ...(options.throttleRate > 0
        ? [
            sandbox.faults.add({
              pathPattern,
              kind: 'status',
              status: 429,
              probability: options.throttleRate,
            }),
          ]
        : []),
    ]);
    const loadBefore = loadavg();
    const startStarted = performance.now();
    const { value } = await services.userImports.start(CUSTOMER, csv, 'bench');
    const startMs = performance.now() - startStarted;
    log(`  validated and stored ${value.rowsToChange} rows to change in ${(startMs / 1000).toFixed(1)} s`);
    // The task's step, as the engine runs it (the engine's queue is not served here).
    const applyStarted = performance.now();
    let reported = 0;
    const finished = await services.userImports.apply({
      customerId: CUSTOMER,
      importId: value.id,
      initiatedBy: 'bench',
      taskId: value.taskId ?? 'bench-task',
      signal: new AbortController().signal,
      log: () => {},
      checkpoint: async (outcome) => {
        reported += outcome.rows.length;
        if (Math.floor(reported / 1000) > Math.floor((reported - outcome.rows.length) / 1000)) {
          const seconds = (performance.now() - applyStarted) / 1000;
          log(`  ${reported} rows in ${seconds.toFixed(1)} s (${(reported / seconds).toFixed(1)} rows/s)`);
        }
      },
    });
    const applyMs = performance.now() - applyStarted;
    const loadAfter = loadavg();
    for (const fault of faults) sandbox.faults.remove(fault.id);

    const latencies: number[] = [];
    const store = createUserChangeStore(tables);
    let after: string | undefined;
    do {
      const page = await store.customerAudit(CUSTOMER, 1000, after);
      for (const entry of page.entries) {
        if (entry.completedAt) latencies.push(Date.parse(entry.completedAt) - Date.parse(entry.createdAt));
      }
      after = page.next ?? undefined;
    } while (after);
    const { p50Ms, p95Ms } = percentiles(latencies);
    const throttled = faults.filter((f) => f.kind === 'status').reduce((sum, f) => sum + f.hits, 0);
    const requests = faults.find((f) => f.kind === 'latency')?.hits ?? 0;
    return {
      options,
      concurrency: DEFAULT_IMPORT_CONCURRENCY,
      numberOperationMs: sandbox.teams.timings.numberOperationMs,
      seedMs,
      startMs,
      applyMs,
      rowsPerSecond: finished.rowsApplied / (applyMs / 1000),
      rowP50Ms: p50Ms,
      rowP95Ms: p95Ms,
      applied: finished.rowsApplied,
      failed: finished.rowsFailed,
      throttled,
      requests,
      loadBefore,
      loadAfter,
    };
  } finally {
    await app.close();
  }
}
