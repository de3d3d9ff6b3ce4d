import { expect } from 'vitest';
import { seedOnboardingSettings } from '../../dev/demo-seed.js';
import { addReplicationApp, createScaleTenant } from '../../dev/sandbox/scale-control.js';
import {
  completeDeviceFlow,
  configureProvider,
  invitationLink,
  inviteThroughWizard,
  waitFor,
} from '../consent/consent-fixture.js';
import {
  CONTOSO,
  fillWizard,
  SIP_TRUNK,
  settled,
  submit,
  type WizardInput,
} from '../onboarding/onboarding-fixture.js';
import type { apiClient } from './api-client.js';
import type { MemoryStackWithPeers } from './memory-stack.js';

type Call = ReturnType<typeof apiClient>;

/** What the world holds for the calls that need it, by what each is. */
export interface OnboardedWorld {
  /** The customer's CreateCustomer task, `finish-success`. */
  readonly finishedTask: string;
  /**
   * The paused customer's CreateCustomer, waiting for the operator; its site's redeploy waits too, and is the one
   * Verify And Configure Domain resumes (the newest).
   */
  readonly pausedTask: string;
  /** A group of the directory customer's replicated directory. */
  readonly groupId: string;
  /** A wizard session whose customer's tenant is connected: the pages after the connection page accept it. */
  readonly connectedSession: string;
  /** An invitation whose admin completed both consents at the sandbox, not yet added as a customer. */
  readonly completedInvitation: string;
}

/** The onboarding of the sandbox's demo SBC `sbc-eu1`: automatic DNS in region EMEA, Teams routing, a SIP trunk. */
const DEPLOYED_SITE: Omit<WizardInput, 'shortName'> = {
  dns: { method: 'automatic', regionId: 'emea', licensePlan: 'Office 365 E5' },
  m365Routing: { configure: true },
  sbc: SIP_TRUNK,
  prefixes: [{ dialPlanName: 'CustDialPlan', prefix: '+41589062' }],
};

/**
 * The state the operations about onboarded customers need, built the way an operator and a customer's admin build
 * it, on the memory stack with the sandbox (queues delivered):
 * - the provider set up as `npm start` leaves it (token app, mail, DNS API, the demo SBCs and regions);
 * - `deployed` onboarded through the wizard (Contoso's tenant, automatic DNS): its site is Deployed, its task
 *   finished, and its directory replicated (Contoso's own app registration may read it);
 * - `paused` onboarded with two-step DNS: its CreateCustomer waits for the TXT record, and a redeploy of its site
 *   waits too;
 * - a wizard session connected to Contoso, and an invitation whose admin consented through the device-code flow.
 */
export async function buildOnboardedWorld(
  stack: MemoryStackWithPeers,
  call: Call,
  token: string,
  names: {
    readonly deployed: string;
    readonly paused: string;
    /** A customer whose tenant has groups (the demo tenants have none), connected and replicated. */
    readonly directory: string;
    readonly connected: string;
    readonly invited: string;
  },
): Promise<OnboardedWorld> {
  const finishedTask = await buildDeployedCustomer(stack, call, token, names.deployed);
  const groupId = await replicatedGroup(stack, call, names.directory);

  const paused = await settled(
    call,
    await submit(
      call,
      await fillWizard(call, {
        ...DEPLOYED_SITE,
        shortName: names.paused,
        dns: { method: 'two-step', regionId: 'emea' },
        // Its own numbers: the prefixes on one SBC belong to one customer.
        prefixes: [{ dialPlanName: 'CustDialPlan', prefix: '+41589069' }],
      }),
    ),
  );
  expect(paused.state, JSON.stringify(paused.log)).toBe('paused');
  const redeployed = await call('POST', `/api/v1/customers/${names.paused}/sites/${names.paused}/deploy`, {
    json: {},
  });
  const waiting = await settled(call, redeployed.headers.get('location') ?? '');
  expect(waiting.state, JSON.stringify(waiting.log)).toBe('paused');

  const connectedSession = await fillWizard(call, { shortName: names.connected });

  const before = stack.sandbox.mail.messages().at(-1)?.seq ?? 0;
  await inviteThroughWizard(call, { shortName: names.invited }, CONTOSO.admin.userPrincipalName);
  const { link } = await invitationLink(stack, CONTOSO.admin.userPrincipalName, before);
  await completeDeviceFlow(stack, link, CONTOSO.admin.userPrincipalName, stack.api.fetch, 0);

  return {
    finishedTask,
    pausedTask: paused.id,
    groupId,
    connectedSession,
    completedInvitation: names.invited,
  };
}

/**
 * The provider set up as `npm start` leaves it, and one customer onboarded through the wizard on Contoso's tenant
 * (automatic DNS, the demo SBC `sbc-eu1`): its site Deployed and its directory replicated. Returns its finished
 * CreateCustomer task.
 */
export async function buildDeployedCustomer(
  stack: MemoryStackWithPeers,
  call: Call,
  token: string,
  shortName: string,
): Promise<string> {
  await configureProvider(stack, call);
  await seedOnboardingSettings({
    apiBaseUrl: `${stack.api.url}/api/v1`,
    token,
    smtp: stack.sandbox.smtp,
    fetch: stack.api.fetch,
  });
  const deployed = await settled(
    call,
    await submit(call, await fillWizard(call, { shortName, ...DEPLOYED_SITE })),
  );
  expect(deployed.state, JSON.stringify(deployed.log)).toBe('finish-success');
  await replicate(call, shortName);
  return deployed.id;
}

/** Queue Replication, as the operator does after onboarding, and wait for its cycle. */
async function replicate(call: Call, customerId: string): Promise<void> {
  const queued = await call('POST', `/api/v1/customers/${customerId}/replication`);
  expect(queued.status, JSON.stringify(queued.body)).toBe(202);
  await replicated(call, customerId);
}

async function replicated(call: Call, customerId: string): Promise<void> {
  const cycle = await waitFor(`the replication of ${customerId}`, async () => {
    const status = (await call('GET', `/api/v1/customers/${customerId}/replication`)).body as {
      currentCycle: unknown;
      lastCycle: { outcome: string; message: string | null } | null;
    };
    return status.currentCycle === null ? (status.lastCycle ?? undefined) : undefined;
  });
  expect(cycle.outcome, cycle.message ?? '').toBe('succeeded');
}

/**
 * A customer on a generated tenant with groups, connected by its own app registration as the wizard's connection
 * page connects one (which queues its first replication); returns a group its replication mirrored.
 */
async function replicatedGroup(stack: MemoryStackWithPeers, call: Call, customerId: string): Promise<string> {
  const { sandbox } = stack;
  const tenant = createScaleTenant(
    { state: sandbox.state, teams: sandbox.teams, directories: sandbox.directories },
    { displayName: `${customerId} Ltd`, users: 5, groups: 2, seed: customerId },
  );
  const app = addReplicationApp(sandbox, tenant.options.tenantId, `${customerId} sync`);
  const created = await call('POST', '/api/v1/customers', {
    json: {
      fullName: `${customerId} Ltd`,
      shortName: customerId,
      licenseType: 'hosted-pro',
      licensedUsers: 10,
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  await stack.services.credentials.connectAppRegistration(customerId, {
    tenantId: tenant.options.tenantId,
    clientId: app.appId,
    clientSecret: app.secretText,
  });
  await replicated(call, customerId);
  const groups = (await call('GET', `/api/v1/customers/${customerId}/groups?top=1`)).body as {
    value: Array<{ id: string }>;
  };
  const group = groups.value[0]?.id;
  if (!group) throw new Error(`The replication of ${customerId} mirrored no group.`);
  return group;
}
