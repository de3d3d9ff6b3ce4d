import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../dev/sandbox/index.js';
import { createTrustedTransport, type TrustedTransport } from '../../shared/net/trusted-transport.js';
import { waitFor } from '../consent/consent-fixture.js';
import { apiClient, type ApiResponse } from '../support/api-client.js';
import { type MemoryStackWithPeers, startMemoryStackWithPeers } from '../support/memory-stack.js';
import { buildDeployedCustomer } from '../support/onboarded-world.js';

/**
 * Issue 12's first acceptance, end to end: the product's API in process, Contoso's tenant in the HTTPS sandbox. A
 * template (Enterprise Voice, a range, a voice routing policy) is bound to a security group; a user added to the
 * group through the sandbox's control API has the range's next free number and the policy in Teams after the next
 * quick cycle, with no operator action; removed, the binding's `remove` takes them back; a cycle after each queues
 * nothing.
 */
const CUSTOMER = 'LifecycleCo';
const BASE = `/api/v1/customers/${CUSTOMER}`;
const CONTOSO = DEMO.customers.contoso;
const [DIRECT_ROUTING] = DEMO.directRoutingNumbers.contoso;

let stack: MemoryStackWithPeers;
let call: ReturnType<typeof apiClient>;
let transport: TrustedTransport;
let groupId: string;
let vrp: string;
let alice: { id: string; userPrincipalName: string };

const ok = async (response: Promise<ApiResponse>, status = 200): Promise<ApiResponse> => {
  const answered = await response;
  expect(answered.status, JSON.stringify(answered.body)).toBe(status);
  return answered;
};

const control = async (method: string, path: string, json?: unknown) => {
  const response = await transport.fetch(
    `${stack.sandbox.url}/_sandbox/scale/tenants/${CONTOSO.tenantId}${path}`,
    {
      method,
      ...(json ? { body: JSON.stringify(json), headers: { 'content-type': 'application/json' } } : {}),
    },
  );
  const text = await response.text();
  expect(response.status, text).toBeLessThan(300);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
};

interface Pass {
  passId: string;
  joined: number;
  changed: number;
  left: number;
  refused: number;
  imports: string[];
}

/** A quick cycle, as the product queues one a few minutes after a change, run to its end. */
async function cycle(): Promise<void> {
  const lastId = async () =>
    ((await call('GET', `${BASE}/replication`)).body as { lastCycle: { id: string } | null }).lastCycle?.id;
  const before = await lastId();
  await ok(call('POST', `${BASE}/replication?kind=quick`), 202);
  await waitFor('the quick cycle', async () => {
    const status = (await call('GET', `${BASE}/replication`)).body as {
      currentCycle: unknown;
      lastCycle: { id: string; outcome: string } | null;
    };
    return status.currentCycle === null && status.lastCycle && status.lastCycle.id !== before
      ? status.lastCycle
      : undefined;
  });
}

/** A quick cycle, the pass that followed it, and the imports it queued, applied. */
async function quickCycle(): Promise<Pass> {
  const before = (await call('GET', `${BASE}/lifecycle/last-pass`)).body as Pass | undefined;
  await cycle();
  const pass = (await ok(call('GET', `${BASE}/lifecycle/last-pass`))).body as Pass;
  expect(pass.passId).not.toBe(before?.passId);
  for (const id of pass.imports) {
    await waitFor(`import ${id}`, async () => {
      const view = (await call('GET', `${BASE}/user-imports/${id}`)).body as { state: string };
      return view.state === 'completed' ? view : undefined;
    });
  }
  return pass;
}

const teamsUser = (userId: string) => stack.sandbox.teams.voice.user(CONTOSO.tenantId, userId);

beforeAll(async () => {
  stack = await startMemoryStackWithPeers({ sandbox: { timeScale: 0.01 } });
  transport = createTrustedTransport(stack.sandbox.caCertFile);
  const token = await stack.token();
  call = apiClient(stack.api, async () => token);
  await buildDeployedCustomer(stack, call, token, CUSTOMER);

  const range = await ok(
    call('POST', `${BASE}/number-ranges`, {
      json: { name: 'Contoso DR', start: DIRECT_ROUTING?.from, end: DIRECT_ROUTING?.to, siteName: CUSTOMER },
    }),
    201,
  );
  const users = (
    (await ok(call('GET', `${BASE}/users?licensed=true&hasNumber=false&sort=user-principal-name&top=1`)))
      .body as {
      value: Array<{ id: string; userPrincipalName: string }>;
    }
  ).value;
  alice = users[0] as typeof alice;
  // The tenant's voice routing policy the template grants (made in Teams; the next cycle replicates it).
  vrp = 'Lifecycle-Unrestricted';
  stack.sandbox.teams.create(CONTOSO.tenantId, 'OnlineVoiceRoutingPolicy', {
    Identity: vrp,
    OnlinePstnUsages: [],
  });

  groupId = String((await control('POST', '/groups', { displayName: 'Lifecycle Voice' })).id);
  await cycle();
  const template = await ok(
    call('POST', `${BASE}/user-templates`, {
      json: {
        name: 'Voice persona',
        enterpriseVoice: 'enable',
        assignNumberFrom: 'number-range',
        numberRangeId: (range.body as { id: string }).id,
        policies: [{ policyType: 'voice-routing', value: vrp }],
      },
    }),
    201,
  );
  await ok(
    call('POST', `${BASE}/lifecycle/bindings`, {
      json: { templateId: (template.body as { id: number }).id, groupIds: [groupId], onLeave: 'remove' },
    }),
    201,
  );
}, 180_000);
afterAll(async () => {
  await transport?.close();
  await stack?.close();
});

describe('Lifecycle Management against the sandbox', () => {
  it('provisions a user added to the bound group after the next quick cycle, and takes it back when removed', async () => {
    expect(teamsUser(alice.id)?.numbers ?? []).toEqual([]);
    await control('PUT', `/groups/${groupId}/members/${alice.id}`);
    const joined = await quickCycle();
    expect(joined).toMatchObject({ joined: 1, refused: 0 });
    const inTeams = teamsUser(alice.id);
    expect(inTeams?.numbers.map((n) => n.telephoneNumber)).toEqual([DIRECT_ROUTING?.from]);
    expect(inTeams?.enterpriseVoiceEnabled).toBe(true);
    const details = (await ok(call('GET', `${BASE}/users/${alice.id}`))).body as {
      telephony: { lineUri: string | null };
      template: string | null;
      policies: Record<string, unknown>;
    };
    expect(details.telephony.lineUri).toBe(`tel:${DIRECT_ROUTING?.from}`);
    expect(details.template).toBe('Voice persona');
    expect(JSON.stringify(details.policies)).toContain(vrp);

    expect(await quickCycle()).toMatchObject({ joined: 0, changed: 0, left: 0, imports: [] });

    await control('DELETE', `/groups/${groupId}/members/${alice.id}`);
    const left = await quickCycle();
    expect(left).toMatchObject({ left: 1, refused: 0 });
    expect(teamsUser(alice.id)?.numbers ?? []).toEqual([]);
    const reserved = (await ok(call('GET', `${BASE}/reserved-numbers`))).body as {
      value: Array<{ lineUri: string; reason: string }>;
    };
    expect(reserved.value).toContainEqual(
      expect.objectContaining({ lineUri: `tel:${DIRECT_ROUTING?.from}`, reason: 'Quarantine' }),
    );
    expect(await quickCycle()).toMatchObject({ joined: 0, changed: 0, left: 0, imports: [] });
  }, 120_000);
});
