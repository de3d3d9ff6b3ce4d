import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { Pool } from 'undici';
import { createApp } from '../../functions/app.js';
import { loadSettings } from '../../shared/config/settings.js';
import { azureTables } from '../../shared/storage/azure-tables.js';
import type { startSandbox } from '../sandbox/index.js';
import { sandboxEndpointSettings } from '../sandbox/product-settings.js';
import { percentiles, send, withApiWorker } from './api-load.js';
import { USERS_BENCH_CUSTOMER, USERS_BENCH_SURNAMES, seedUsersMirror } from './users-seed.js';

/**
 * The Users list over a large mirror (issue 11): the mirror's user rows and index rows written through the mirror
 * store (as replication writes them, without replicating), then requests one after the other to the local Functions
 * host over HTTP: a filtered page and a searched page. The target's 100,000 users run on the in-memory twin of
 * Table storage, an ordered (PartitionKey, RowKey) index like Azure's, seeded inside the API process; a smaller
 * mirror runs on Azurite as a cross-check of the whole path on a real Table endpoint (docs/decisions.md, 49).
 */
export interface UsersListOptions {
  /** Users of the run on the in-memory twin. */
  readonly users: number;
  /** Users of the cross-check on Azurite; 0 skips it. */
  readonly azuriteUsers: number;
  readonly requests: number;
}

export type UsersStore = 'memory' | 'azurite';

export interface UsersListRoute {
  readonly key: 'usersList' | 'usersSearch';
  readonly label: string;
  readonly request: string;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly errors: number;
  /** Users on the first page (the filter or search matched this many, up to top). */
  readonly firstPageUsers: number;
}

export interface UsersListRun {
  readonly store: UsersStore;
  readonly users: number;
  readonly seedMs: number;
  readonly routes: readonly UsersListRoute[];
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
}

export interface UsersListResults {
  readonly options: UsersListOptions;
  readonly runs: readonly UsersListRun[];
}

export const USERS_TARGET_P95_MS = 300;
/** Requests per route before the measured ones. */
export const WARM_UP_REQUESTS = 5;

const log = (line: string) => process.stdout.write(`${line}\n`);

export async function usersListBench(
  sandbox: Awaited<ReturnType<typeof startSandbox>>,
  storageConnectionString: string,
  options: UsersListOptions,
): Promise<UsersListResults> {
  const settings: Record<string, string> = {
    SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    AzureWebJobsStorage: storageConnectionString,
    ...sandboxEndpointSettings(sandbox),
    // Room beside the customers the api suite left in the same Azurite when both run (`npm run bench`).
    LICENSE_TENANT_COUNT: '1000000',
    LICENSE_USER_COUNT: '100000000',
    LOG_LEVEL: 'warn',
  };
  const runs: UsersListRun[] = [];

  log(`  On the in-memory twin: ${options.users} users, seeded in the API process…`);
  runs.push(
    await withApiWorker(
      settings,
      sandbox,
      async (worker) => {
        log(`  seeded ${options.users} users in ${((worker.seedMs ?? 0) / 1000).toFixed(1)} s`);
        return measure('memory', options.users, worker.seedMs ?? 0, worker, options.requests);
      },
      { memoryUsersMirror: options.users },
    ),
  );

  if (options.azuriteUsers > 0) {
    log(`  On Azurite (cross-check): ${options.azuriteUsers} users…`);
    const tables = azureTables(storageConnectionString);
    const app = createApp(loadSettings({ ...settings, PUBLIC_BASE_URL: 'http://127.0.0.1:1' }), { tables });
    const seedMs = await seedUsersMirror(app, tables, options.azuriteUsers, log);
    await app.close();
    log(`  seeded ${options.azuriteUsers} users in ${(seedMs / 1000).toFixed(1)} s`);
    runs.push(
      await withApiWorker(settings, sandbox, (worker) =>
        measure('azurite', options.azuriteUsers, seedMs, worker, options.requests),
      ),
    );
  }
  return { options, runs };
}

/** Each route's requests one after the other: the latency of a page, not of a queue. */
async function measure(
  store: UsersStore,
  users: number,
  seedMs: number,
  worker: { readonly url: string; readonly token: string },
  requests: number,
): Promise<UsersListRun> {
  const pool = new Pool(worker.url, { connections: 1, pipelining: 1 });
  const client = { pool, token: worker.token };
  const base = `/api/v1/customers/${USERS_BENCH_CUSTOMER}/users`;
  const surname = USERS_BENCH_SURNAMES[17]?.toLowerCase() ?? 'surname';
  const plan: ReadonlyArray<Omit<UsersListRoute, 'p50Ms' | 'p95Ms' | 'errors' | 'firstPageUsers'>> = [
    {
      key: 'usersList',
      label: 'Users list, top 100, filtered (has a number, one voice routing policy: 1 user in 9)',
      request: `GET ${base}?top=100&hasNumber=true&voiceRoutingPolicy=unrestricted`,
    },
    {
      key: 'usersSearch',
      label: 'Users list, top 100, search (a surname word: 1 user in 50)',
      request: `GET ${base}?top=100&search=${surname}`,
    },
  ];
  try {
    const loadBefore = loadavg();
    const routes: UsersListRoute[] = [];
    for (const route of plan) {
      const path = route.request.slice('GET '.length);
      const latencies: number[] = [];
      let errors = 0;
      let firstPageUsers = 0;
      // Not counted: the first reads after the seed, where the twin puts a partition's keys back in order once (it
      // defers that while rows arrive out of order) and the host's code is still being compiled.
      for (let n = 0; n < WARM_UP_REQUESTS; n++) await send(client, { method: 'GET', path });
      for (let n = 0; n < requests; n++) {
        const answer = await send(client, { method: 'GET', path });
        latencies.push(answer.ms);
        if (answer.status !== 200) errors++;
        else if (n === 0) firstPageUsers = (JSON.parse(answer.body) as { value: unknown[] }).value.length;
      }
      const { p50Ms, p95Ms } = percentiles(latencies);
      log(
        `  ${store}, ${route.request}: p50 ${p50Ms.toFixed(1)} ms, p95 ${p95Ms.toFixed(1)} ms, ${errors} errors`,
      );
      routes.push({ ...route, p50Ms, p95Ms, errors, firstPageUsers });
    }
    return { store, users, seedMs, routes, loadBefore, loadAfter: loadavg() };
  } finally {
    await pool.close();
  }
}
