import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { Pool } from 'undici';
import { createApp } from '../../functions/app.js';
import { loadSettings } from '../../shared/config/settings.js';
import { createMirrorStoreOn, type MirrorUser } from '../../shared/replication/mirror-store.js';
import { createReplicationStoreOn } from '../../shared/replication/replication-store.js';
import { azureTables } from '../../shared/storage/azure-tables.js';
import type { startSandbox } from '../sandbox/index.js';
import { sandboxEndpointSettings } from '../sandbox/product-settings.js';
import { percentiles, send, withApiWorker } from './api-load.js';

/**
 * The Users list over a large mirror (issue 11): the mirror's user rows and index rows written straight into
 * Azurite through the mirror store (as replication writes them, without replicating), then requests one after the
 * other to the local Functions host: a filtered page and a searched page.
 */
export interface UsersListOptions {
  readonly users: number;
  readonly requests: number;
}

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

export interface UsersListResults {
  readonly options: UsersListOptions;
  readonly seedMs: number;
  readonly routes: readonly UsersListRoute[];
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
}

export const USERS_TARGET_P95_MS = 300;

const CUSTOMER = 'usersbench';
const FIRST = ['Anna', 'Ben', 'Carla', 'David', 'Eva', 'Farid', 'Greta', 'Hugo', 'Ines', 'Jonas'];
const LAST = Array.from({ length: 50 }, (_, i) => `Surname${String.fromCharCode(97 + (i % 26))}${i}`);
const POLICIES = ['Unrestricted', 'International', 'National'];
const SKU = '4828c8ec-dc2e-4779-b502-87ac9ce28ab7';

/** A spread of users: a third with a number and Enterprise Voice, most licensed, three routing policies. */
function benchUser(i: number): MirrorUser {
  const first = FIRST[i % FIRST.length] ?? 'Anna';
  const last = LAST[Math.floor(i / FIRST.length) % LAST.length] ?? 'Surname';
  const voice = i % 3 === 0;
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    userPrincipalName: `${first}.${last}.${i}@usersbench.example`.toLowerCase(),
    displayName: `${first} ${last} ${i}`,
    department: `Dept ${i % 20}`,
    usageLocation: 'GB',
    businessPhones: [],
    mobilePhone: null,
    accountEnabled: true,
    accountType: 'User',
    enterpriseVoiceEnabled: voice,
    lineUri: voice ? `tel:+44207${String(i).padStart(7, '0')}` : null,
    telephoneNumbers: voice ? [`+44207${String(i).padStart(7, '0')}`] : [],
    policies: { OnlineVoiceRoutingPolicy: POLICIES[i % POLICIES.length] ?? 'Unrestricted' },
    teamsModifiedAt: null,
    assignedLicenses: i % 5 === 0 ? [] : [SKU],
  };
}

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
  const seedStarted = performance.now();
  await seed(settings, storageConnectionString, options.users);
  const seedMs = performance.now() - seedStarted;
  log(`  seeded ${options.users} users in ${(seedMs / 1000).toFixed(1)} s`);

  return withApiWorker(settings, sandbox, async ({ url, token }) => {
    const pool = new Pool(url, { connections: 1, pipelining: 1 });
    const client = { pool, token };
    const base = `/api/v1/customers/${CUSTOMER}/users`;
    const plan: ReadonlyArray<Omit<UsersListRoute, 'p50Ms' | 'p95Ms' | 'errors' | 'firstPageUsers'>> = [
      {
        key: 'usersList',
        label: 'Users list, top 100, filtered (has a number, one voice routing policy: 1 user in 9)',
        request: `GET ${base}?top=100&hasNumber=true&voiceRoutingPolicy=unrestricted`,
      },
      {
        key: 'usersSearch',
        label: 'Users list, top 100, search (a surname word: 1 user in 50)',
        request: `GET ${base}?top=100&search=${LAST[17]?.toLowerCase() ?? 'surname'}`,
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
        // One request after the other: the latency of a page, not of a queue.
        for (let n = 0; n < options.requests; n++) {
          const answer = await send(client, { method: 'GET', path });
          latencies.push(answer.ms);
          if (answer.status !== 200) errors++;
          else if (n === 0) firstPageUsers = (JSON.parse(answer.body) as { value: unknown[] }).value.length;
        }
        const { p50Ms, p95Ms } = percentiles(latencies);
        log(`  ${route.request}: p50 ${p50Ms.toFixed(1)} ms, p95 ${p95Ms.toFixed(1)} ms, ${errors} errors`);
        routes.push({ ...route, p50Ms, p95Ms, errors, firstPageUsers });
      }
      return { options, seedMs, routes, loadBefore, loadAfter: loadavg() };
    } finally {
      await pool.close();
    }
  });
}

/** The customer, its last sync, its voice routing, and the users written in batches through the mirror store. */
async function seed(
  settings: Record<string, string>,
  connectionString: string,
  users: number,
): Promise<void> {
  const tables = azureTables(connectionString);
  const app = createApp(loadSettings({ ...settings, PUBLIC_BASE_URL: 'http://127.0.0.1:1' }), { tables });
  await app.services.customers.create({
    fullName: 'Users Bench Ltd',
    shortName: CUSTOMER,
    licenseType: 'hosted-pro',
    licensedUsers: 500,
  });
  const now = new Date().toISOString();
  await createReplicationStoreOn(tables).updateStatus(CUSTOMER, (status) => ({
    ...status,
    lastSyncAt: now,
    lastFullSyncAt: now,
  }));
  const mirror = createMirrorStoreOn(tables);
  await mirror.putVoiceObjects(
    CUSTOMER,
    [
      ...POLICIES.map((name) => ({
        policyName: 'OnlineVoiceRoutingPolicy',
        identity: `Tag:${name}`,
        data: { OnlinePstnUsages: [name] },
      })),
      ...POLICIES.map((name, i) => ({
        policyName: 'OnlineVoiceRoute',
        identity: name,
        data: {
          OnlinePstnUsages: [name],
          OnlinePstnGatewayList: [`sbc${i}.usersbench.example`],
          Priority: i,
        },
      })),
    ],
    [],
    'bench',
  );
  const BATCH = 2000;
  let since = performance.now();
  for (let from = 0; from < users; from += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, users - from) }, (_, i) => benchUser(from + i));
    // The mirror holds none of them yet: as a first full cycle, no read of the old rows.
    await mirror.putUsers(CUSTOMER, batch, 'bench', () => false);
    if ((from / BATCH) % 5 === 4) {
      const rate = (5 * BATCH) / ((performance.now() - since) / 1000);
      log(`  ${from + batch.length} users written (${rate.toFixed(0)} users/s over the last ${5 * BATCH})…`);
      since = performance.now();
    }
  }
  await app.close();
}
