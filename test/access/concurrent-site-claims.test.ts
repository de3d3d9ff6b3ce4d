import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedOnboardingSettings } from '../../dev/demo-seed.js';
import { NUMBER_RANGES_TABLE } from '../../shared/numbers/number-inventory.js';
import { CUSTOMER_SITES_TABLE } from '../../shared/onboarding/customer-site-store.js';
import { SITE_CLAIMS_TABLE } from '../../shared/onboarding/site-claim-lock.js';
import type { RowIterator, TableRow, Tables, VersionedTable } from '../../shared/storage/versioned-table.js';
import { configureProvider, tableText } from '../consent/consent-fixture.js';
import { fillWizard, SIP_TRUNK } from '../onboarding/onboarding-fixture.js';
import { apiClient } from '../support/api-client.js';
import { type MemoryStackWithPeers, startMemoryStackWithPeers } from '../support/memory-stack.js';
import { type WriteLog, writeLog } from '../support/write-log.js';

/**
 * Issue 14, item 1: two customers on the same SBC save sites at the same instant. Each check of the other's claims
 * would pass on its own; of the two, exactly one must win, and the other gets the code a later request would get
 * and writes nothing.
 */

/**
 * The sites and number-range tables with the latency of real storage: on the memory twin a request's check and write run within one
 * turn of the event loop, and two requests would never interleave.
 */
function slowSites(inner: Tables, ms = 5): Tables {
  const pause = () => new Promise((resolve) => setTimeout(resolve, ms));
  return {
    table<T extends TableRow>(name: string): VersionedTable<T> {
      const table = inner.table<T>(name);
      if (name !== CUSTOMER_SITES_TABLE && name !== NUMBER_RANGES_TABLE) return table;
      return {
        get: async (...args) => (await pause(), table.get(...args)),
        insert: async (...args) => (await pause(), table.insert(...args)),
        replace: async (...args) => (await pause(), table.replace(...args)),
        upsert: async (...args) => (await pause(), table.upsert(...args)),
        delete: async (...args) => (await pause(), table.delete(...args)),
        transaction: async (...args) => (await pause(), table.transaction(...args)),
        list(options) {
          const source = table.list(options);
          async function* pages(...settings: Parameters<RowIterator<T>['byPage']>) {
            await pause();
            yield* source.byPage(...settings);
          }
          async function* rows() {
            for await (const page of pages()) yield* page.rows;
          }
          return Object.assign(rows(), { byPage: pages });
        },
      };
    },
  };
}

let stack: MemoryStackWithPeers;
let call: ReturnType<typeof apiClient>;
let log: WriteLog;

beforeAll(async () => {
  stack = await startMemoryStackWithPeers({
    wrapTables: (tables) => slowSites((log = writeLog(tables)).tables),
    // The winner's task stays queued: the race is about what the requests write.
    deliverQueues: false,
  });
  const token = await stack.token();
  call = apiClient(stack.api, async () => token);
  await configureProvider(stack, call);
  await seedOnboardingSettings({
    apiBaseUrl: `${stack.api.url}/api/v1`,
    token,
    smtp: stack.sandbox.smtp,
    fetch: stack.api.fetch,
  });
}, 120_000);
afterAll(async () => stack?.close());

async function customer(shortName: string): Promise<void> {
  const created = await call('POST', '/api/v1/customers', {
    json: { fullName: `${shortName} Ltd`, shortName, licenseType: 'hosted-pro', licensedUsers: 5 },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
}

const trunk = (siteName: string, gateway: string, prefixes: string[]) => ({
  siteName,
  sbc: { ...SIP_TRUNK, onlinePstnGateway: gateway },
  prefixes: prefixes.map((prefix) => ({ dialPlanName: 'CustDialPlan', prefix })),
});

/** Runs both at once; returns the winner's and loser's names, having checked exactly one won with `code`. */
async function race(
  requests: Record<string, () => Promise<Awaited<ReturnType<typeof call>>>>,
  status: number,
  code: string,
): Promise<{ winner: string; loser: string }> {
  const names = Object.keys(requests);
  log.take();
  const answers = await Promise.all(names.map((name) => requests[name]!()));
  const won = names.filter((_, i) => answers[i]!.status === status);
  const lost = names.filter((_, i) => answers[i]!.status === 409);
  expect(answers.map((a) => `${a.status} ${a.problem?.code ?? ''}`).sort()).toEqual(
    [`${status} `, `409 ${code}`].sort(),
  );
  const [winner = '', loser = ''] = [...won, ...lost];
  // The loser wrote nothing of its own (its keys are its lower-cased name), and no lease is left behind.
  const writes = log.take();
  expect(
    writes.filter((w) => `${w.partitionKey}|${w.rowKey}`.toLowerCase().includes(loser.toLowerCase())),
  ).toEqual([]);
  expect(
    writes.some((w) => `${w.partitionKey}|${w.rowKey}`.toLowerCase().includes(winner.toLowerCase())),
  ).toBe(true);
  expect(await tableText(stack, SITE_CLAIMS_TABLE)).toBe('[]');
  return { winner, loser };
}

const sitesOf = async (customerId: string) =>
  (await stack.services.sites.list(customerId)).map((s) => s.site);

describe('two customers adding sites on the same SBC at the same instant', () => {
  it('lets exactly one hold overlapping prefixes (prefix_overlap for the other)', async () => {
    await Promise.all([customer('RaceA'), customer('RaceB')]);
    const { winner, loser } = await race(
      {
        RaceA: () =>
          call('POST', '/api/v1/customers/RaceA/sites', {
            json: trunk('RaceA', 'racea.trunks.example', ['+4158907']),
          }),
        RaceB: () =>
          call('POST', '/api/v1/customers/RaceB/sites', {
            json: trunk('RaceB', 'raceb.trunks.example', ['+41589071']),
          }),
      },
      202,
      'prefix_overlap',
    );
    expect(await sitesOf(loser)).toEqual([]);
    expect(await sitesOf(winner)).toHaveLength(1);
  });

  it('lets exactly one have a gateway FQDN (gateway_fqdn_taken for the other)', async () => {
    await Promise.all([customer('RaceC'), customer('RaceD')]);
    const { loser } = await race(
      {
        RaceC: () =>
          call('POST', '/api/v1/customers/RaceC/sites', {
            json: trunk('RaceC', 'shared.trunks.example', []),
          }),
        RaceD: () =>
          call('POST', '/api/v1/customers/RaceD/sites', {
            json: trunk('RaceD', 'shared.trunks.example', []),
          }),
      },
      202,
      'gateway_fqdn_taken',
    );
    expect(await sitesOf(loser)).toEqual([]);
  });

  it('lets exactly one of two wizard Submits claim the prefixes; the other creates no customer', async () => {
    const sessions: Record<string, string> = {};
    for (const shortName of ['RaceE', 'RaceF']) {
      sessions[shortName] = await fillWizard(call, {
        shortName,
        dns: { method: 'automatic', regionId: 'emea', licensePlan: 'Office 365 E5' },
        m365Routing: { configure: true },
        sbc: SIP_TRUNK,
        prefixes: [
          { dialPlanName: 'CustDialPlan', prefix: shortName === 'RaceE' ? '+4158908' : '+415890812' },
        ],
      });
    }
    const submit = (name: string) => () =>
      call('POST', `/api/v1/wizard-sessions/${sessions[name]}/submit`, { json: { dryRun: false } });
    const { loser } = await race({ RaceE: submit('RaceE'), RaceF: submit('RaceF') }, 202, 'prefix_overlap');
    expect((await call('GET', `/api/v1/customers/${loser}`)).status).toBe(404);
    expect(await sitesOf(loser)).toEqual([]);
  });

  it('lets a number range and another customer’s overlapping prefix saved at once not both stand', async () => {
    await Promise.all([customer('RaceG'), customer('RaceH')]);
    const site = await call('POST', '/api/v1/customers/RaceG/sites', {
      json: trunk('RaceG', 'raceg.trunks.example', []),
    });
    expect(site.status, JSON.stringify(site.body)).toBe(202);
    log.take();
    const [range, prefix] = await Promise.all([
      call('POST', '/api/v1/customers/RaceG/number-ranges', {
        json: { name: 'Race', start: '+41589090000', end: '+41589090099', siteName: 'RaceG' },
      }),
      call('POST', '/api/v1/customers/RaceH/sites', {
        json: trunk('RaceH', 'raceh.trunks.example', ['+415890900']),
      }),
    ]);
    const answers = [
      `${range.status} ${range.problem?.code ?? ''}`,
      `${prefix.status} ${prefix.problem?.code ?? ''}`,
    ];
    expect([
      ['201 ', '409 prefix_overlap'],
      ['409 range_overlap', '202 '],
    ]).toContainEqual(answers);
    const ranges = await call('GET', '/api/v1/customers/RaceG/number-ranges');
    expect((ranges.body as { value: unknown[] }).value).toHaveLength(range.status === 201 ? 1 : 0);
    expect(await sitesOf('RaceH')).toHaveLength(prefix.status === 202 ? 1 : 0);
    expect(await tableText(stack, SITE_CLAIMS_TABLE)).toBe('[]');
  });
});
