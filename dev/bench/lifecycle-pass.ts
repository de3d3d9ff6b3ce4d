import { loadavg } from 'node:os';
import { createApp } from '../../functions/app.js';
import type { Binding, BindingInput } from '../../shared/lifecycle/lifecycle-binding.js';
import { enforcedKey, winners } from '../../shared/lifecycle/lifecycle-pass.js';
import { createLifecycleStore, type LifecycleState } from '../../shared/lifecycle/lifecycle-store.js';
import { rangeInputSchema } from '../../shared/numbers/number-views.js';
import { memoryQueues } from '../../shared/storage/memory-queue.js';
import { memoryTables } from '../../shared/storage/memory-tables.js';
import { mirrorUser } from '../fixtures/mirror-user.js';
import { sbcSite } from '../fixtures/sbc-site.js';
import type { startSandbox } from '../sandbox/index.js';
import { benchSettings } from './bench-settings.js';

/**
 * The lifecycle pass at provider scale (issue 12): a customer of 100,000 mirrored users in 10 bound groups (and an
 * all-staff group of every user, bound last), in the steady state earlier passes leave; then 1 % of memberships
 * change (joiners, leavers, users moving between groups) and one pass computes and queues what differs. Storage is
 * the in-memory twin of Table storage (ordered like Azure's clustered index; Azurite's store slows with its
 * tables and would measure itself), so the figure is the pass's own work: reading the members and the state,
 * the diff, the overrides' reads, and building, validating and storing the imports it queues. The imports' tasks
 * are not run (the pass queues them; applying them is the bulk suite's measure).
 */
export interface LifecycleBenchOptions {
  readonly users: number;
  /** The share of memberships that change between the passes (0.01: 1 %). */
  readonly churn: number;
}

export interface LifecycleBenchResults {
  readonly options: LifecycleBenchOptions;
  readonly seedMs: number;
  readonly joiners: number;
  readonly leavers: number;
  readonly movers: number;
  /** The pass after the churn: compute and queue. */
  readonly passMs: number;
  readonly joined: number;
  readonly changed: number;
  readonly left: number;
  readonly refused: number;
  readonly imports: number;
  /** The preview of the same change, before the pass. */
  readonly previewMs: number;
  /** A pass right after, with nothing changed: it queues nothing. */
  readonly idlePassMs: number;
  readonly idleImports: number;
  readonly heapMb: number;
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
}

export const LIFECYCLE_TARGET_MS = 10_000;

const CUSTOMER = 'lcbench';
const GROUPS = 10;
const groupId = (g: number) => `20000000-0000-4000-8000-${String(g).padStart(12, '0')}`;
const userId = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const ALL_STAFF = groupId(99);

const log = (line: string) => process.stdout.write(`${line}\n`);

const benchUser = (i: number) =>
  mirrorUser({
    id: userId(i),
    userPrincipalName: `user${i}@lcbench.example`,
    displayName: `User ${i}`,
    department: `Dept ${i % GROUPS}`,
  });

export async function lifecycleBench(
  sandbox: Awaited<ReturnType<typeof startSandbox>>,
  options: LifecycleBenchOptions,
): Promise<LifecycleBenchResults> {
  const seedStarted = performance.now();
  const tables = memoryTables();
  const settings = benchSettings(sandbox);
  const app = createApp(settings, { tables, queues: memoryQueues() });
  const { services } = app;
  await services.customers.create({
    fullName: 'Lifecycle Bench Ltd',
    shortName: CUSTOMER,
    licenseType: 'hosted-pro',
    licensedUsers: 500,
  });
  // A customer has at most 500 Licensed Users (the manual): its template users are not billed by template here.
  await services.licenses.putCustomerFactors(CUSTOMER, {
    byTemplate: false,
    byUserInterface: false,
    serviceNumbers: true,
  });
  const sbc = await services.onboardingSettings.createSbc({
    name: 'sbc-lc',
    ipAddress: '192.0.2.50',
    deviceFqdn: null,
    natIpAddress: null,
    https: true,
    gatewayUser: 'admin',
    gatewayPassword: 'bench-secret-1',
  } as Parameters<typeof services.onboardingSettings.createSbc>[0]);
  const region = await services.onboardingSettings.createRegion({
    name: 'region-lc',
    sbcId: sbc.id,
    fqdn: 'sbc-lc.example.com',
    ipAddress: '192.0.2.50',
  });
  await services.sites.create(sbcSite(CUSTOMER, region.id, 'London'));
  const range = await services.numbers.createRange(
    CUSTOMER,
    rangeInputSchema.parse({
      name: 'London',
      start: '+442070000000',
      end: '+442070099999',
      siteName: 'London',
    }),
    'bench',
    () => true,
  );
  const { mirror } = services;
  await mirror.putVoiceObjects(
    CUSTOMER,
    ['Unrestricted', 'International', 'National'].map((name) => ({
      policyName: 'OnlineVoiceRoutingPolicy',
      identity: `Tag:${name}`,
      data: { OnlinePstnUsages: [name] },
    })),
    [],
    'bench',
  );
  const total = options.users;
  const changes = Math.round(total * options.churn);
  const joiners = Math.round(changes * 0.4);
  const leavers = Math.round(changes * 0.3);
  const movers = changes - joiners - leavers;
  for (let from = 0; from < total + joiners; from += 2000) {
    const batch = Array.from({ length: Math.min(2000, total + joiners - from) }, (_, k) =>
      benchUser(from + k),
    );
    await mirror.putUsers(CUSTOMER, batch, 'bench', () => false);
  }
  await mirror.putGroups(
    CUSTOMER,
    [...Array.from({ length: GROUPS }, (_, g) => groupId(g)), ALL_STAFF].map((id, g) => ({
      id,
      displayName: g < GROUPS ? `Team ${g}` : 'All staff',
      description: null,
      mailEnabled: false,
      securityEnabled: true,
    })),
    'bench',
  );
  const members = new Map<string, string[]>();
  for (let g = 0; g < GROUPS; g++) members.set(groupId(g), []);
  members.set(ALL_STAFF, []);
  for (let i = 0; i < total; i++) {
    members.get(groupId(i % GROUPS))?.push(userId(i));
    members.get(ALL_STAFF)?.push(userId(i));
  }
  const writeMembers = async () => {
    for (const [id, list] of members) {
      const old = await mirror.memberChunks(CUSTOMER, id);
      const chunks = [];
      for (let k = 0; k * 2000 < list.length; k++) {
        chunks.push({ tag: String(k).padStart(4, '0'), members: list.slice(k * 2000, (k + 1) * 2000) });
      }
      await mirror.replaceMemberChunks(
        CUSTOMER,
        id,
        chunks,
        old.map((c) => c.rowKey),
        'bench',
      );
    }
  };
  await writeMembers();

  // Two templates: a numbered persona (a range, Enterprise Voice, a routing policy) and a policy-only one.
  const numbered = await services.userTemplates.create(
    CUSTOMER,
    {
      name: 'Numbered',
      enterpriseVoice: 'enable',
      clearLineUri: false,
      assignNumberFrom: 'number-range',
      numberRangeId: range.range.rangeId,
      useExtensions: false,
      extensionDigits: null,
      policies: [{ policyType: 'voice-routing', value: 'Unrestricted' }],
    },
    'bench',
  );
  const policyOnly = await services.userTemplates.create(
    CUSTOMER,
    {
      name: 'Policies',
      enterpriseVoice: 'enable',
      clearLineUri: false,
      assignNumberFrom: null,
      numberRangeId: null,
      useExtensions: false,
      extensionDigits: null,
      policies: [{ policyType: 'voice-routing', value: 'International' }],
    },
    'bench',
  );
  const bindingInputs: BindingInput[] = [
    ...Array.from({ length: GROUPS }, (_, g) => ({
      templateId: g % 2 === 0 ? numbered.view.id : policyOnly.view.id,
      groupIds: [groupId(g)],
      onLeave: g % 2 === 0 ? ('remove' as const) : ('keep' as const),
      quarantineDays: 30,
    })),
    { templateId: policyOnly.view.id, groupIds: [ALL_STAFF], onLeave: 'keep', quarantineDays: 0 },
  ];
  for (const input of bindingInputs) await services.lifecycle.create(CUSTOMER, input, 'bench');

  // The steady state earlier passes leave: every member has their binding's template.
  const store = createLifecycleStore(tables);
  const { value: list } = await store.bindings(CUSTOMER);
  const templates = new Map(
    [numbered, policyOnly].map((t) => [t.view.id, { ...t.view, customerId: CUSTOMER }] as const),
  );
  const membership = new Map([...members].map(([id, ids]) => [id, new Set(ids)]));
  const state: LifecycleState = new Map();
  for (const [id, won] of winners(list.bindings as Binding[], membership)) {
    const template = templates.get(won.templateId);
    if (template) state.set(id, { b: won.bindingId, t: won.templateId, k: enforcedKey(template, null) });
  }
  await store.putState(CUSTOMER, state, state.keys());
  const seedMs = performance.now() - seedStarted;
  log(
    `  seeded ${total} users, ${GROUPS + 1} bound groups and the steady state in ${(seedMs / 1000).toFixed(1)} s`,
  );

  // 1 % churn: joiners (new users added to a team), leavers (removed from their team and from all staff), movers.
  for (let j = 0; j < joiners; j++) {
    members.get(groupId(j % GROUPS))?.push(userId(total + j));
    members.get(ALL_STAFF)?.push(userId(total + j));
  }
  const leaving = new Set(Array.from({ length: leavers }, (_, k) => userId(k * 97)));
  const moving = Array.from({ length: movers }, (_, k) => 50_000 + k * 31).filter((i) => i < total);
  for (const [id, ids] of members)
    members.set(
      id,
      ids.filter((u) => !leaving.has(u)),
    );
  for (const i of moving) {
    const from = groupId(i % GROUPS);
    const to = groupId((i + 1) % GROUPS);
    members.set(
      from,
      (members.get(from) ?? []).filter((u) => u !== userId(i)),
    );
    members.get(to)?.push(userId(i));
  }
  await writeMembers();

  const loadBefore = loadavg();
  const previewStarted = performance.now();
  await services.lifecycle.preview(CUSTOMER, 100);
  const previewMs = performance.now() - previewStarted;
  log(`  preview in ${(previewMs / 1000).toFixed(2)} s`);
  const passStarted = performance.now();
  const summary = await services.lifecycle.run(CUSTOMER);
  const passMs = performance.now() - passStarted;
  log(`  pass in ${(passMs / 1000).toFixed(2)} s: ${JSON.stringify(summary)}`);
  const idleStarted = performance.now();
  const idle = await services.lifecycle.run(CUSTOMER);
  const idlePassMs = performance.now() - idleStarted;
  log(`  idle pass in ${(idlePassMs / 1000).toFixed(2)} s: ${JSON.stringify(idle)}`);
  return {
    options,
    seedMs,
    joiners,
    leavers,
    movers: moving.length,
    passMs,
    joined: summary?.joined ?? 0,
    changed: summary?.changed ?? 0,
    left: summary?.left ?? 0,
    refused: summary?.refused ?? 0,
    imports: summary?.imports.length ?? 0,
    previewMs,
    idlePassMs,
    idleImports: idle?.imports.length ?? 0,
    heapMb: process.memoryUsage().heapUsed / (1024 * 1024),
    loadBefore,
    loadAfter: loadavg(),
  };
}
