import type { createApp } from '../../functions/app.js';
import { createMirrorStoreOn } from '../../shared/replication/mirror-store.js';
import type { MirrorUser } from '../../shared/replication/mirror-user.js';
import { createReplicationStoreOn } from '../../shared/replication/replication-store.js';
import type { Tables } from '../../shared/storage/versioned-table.js';

/**
 * The Users list benchmark's mirror (dev/bench/users-list.ts): a customer, its last sync, its voice routing and its
 * users with their index rows, written through the mirror store as a first full replication cycle writes them
 * (without replicating). Shared by the run on Azurite and the run on the in-memory twin in the API process.
 */
export const USERS_BENCH_CUSTOMER = 'usersbench';
const FIRST = ['Anna', 'Ben', 'Carla', 'David', 'Eva', 'Farid', 'Greta', 'Hugo', 'Ines', 'Jonas'];
export const USERS_BENCH_SURNAMES = Array.from(
  { length: 50 },
  (_, i) => `Surname${String.fromCharCode(97 + (i % 26))}${i}`,
);
const POLICIES = ['Unrestricted', 'International', 'National'];
const SKU = '4828c8ec-dc2e-4779-b502-87ac9ce28ab7';

/** A spread of users: a third with a number and Enterprise Voice, most licensed, three routing policies. */
function benchUser(i: number): MirrorUser {
  const first = FIRST[i % FIRST.length] ?? 'Anna';
  const last = USERS_BENCH_SURNAMES[Math.floor(i / FIRST.length) % USERS_BENCH_SURNAMES.length] ?? 'Surname';
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

/** Seeds the mirror on `tables` (the app's own); returns how long it took, in ms. */
export async function seedUsersMirror(
  app: ReturnType<typeof createApp>,
  tables: Tables,
  users: number,
  log: (line: string) => void,
): Promise<number> {
  const started = performance.now();
  await app.services.customers.create({
    fullName: 'Users Bench Ltd',
    shortName: USERS_BENCH_CUSTOMER,
    licenseType: 'hosted-pro',
    licensedUsers: 500,
  });
  const now = new Date().toISOString();
  await createReplicationStoreOn(tables).updateStatus(USERS_BENCH_CUSTOMER, (status) => ({
    ...status,
    lastSyncAt: now,
    lastFullSyncAt: now,
  }));
  const mirror = createMirrorStoreOn(tables);
  await mirror.putVoiceObjects(
    USERS_BENCH_CUSTOMER,
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
  const REPORT_EVERY = 10 * BATCH;
  let since = performance.now();
  for (let from = 0; from < users; from += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, users - from) }, (_, i) => benchUser(from + i));
    // The mirror holds none of them yet: as a first full cycle, no read of the old rows.
    await mirror.putUsers(USERS_BENCH_CUSTOMER, batch, 'bench', () => false);
    const written = from + batch.length;
    if (written % REPORT_EVERY === 0) {
      const rate = REPORT_EVERY / ((performance.now() - since) / 1000);
      log(`  ${written} users written (${rate.toFixed(0)} users/s over the last ${REPORT_EVERY})…`);
      since = performance.now();
    }
  }
  return performance.now() - started;
}
