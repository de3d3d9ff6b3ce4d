import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../dev/sandbox/index.js';
import { waitFor } from '../consent/consent-fixture.js';
import { settled } from '../onboarding/onboarding-fixture.js';
import type { apiClient } from '../support/api-client.js';
import type { MemoryStackWithPeers } from '../support/memory-stack.js';
import {
  deployedVoiceCustomer,
  type VoiceProblem,
  type VoiceResult,
  voiceCalls,
} from '../support/voice-e2e.js';

/**
 * Issue 13's first acceptance, end to end: the product's API in process, Contoso's tenant in the HTTPS sandbox. A
 * PSTN usage, a voice route and a voice routing policy are created through the API, each as a queued Office365 voice
 * task; the policy is granted to a user as a user change; Teams (the sandbox) holds them, the mirror and the voice
 * audit show them, and rolling back the route's later pattern change restores its pattern. What Teams would refuse
 * is refused before anything is queued.
 */
const CUSTOMER = 'VoiceCo';
const BASE = `/api/v1/customers/${CUSTOMER}`;
const VOICE = `${BASE}/voice`;
const TENANT = DEMO.customers.contoso.tenantId;

const USAGE = 'Emea-Intl';
const ROUTE = 'Emea-Intl-Route';
const POLICY = 'Emea-Intl-Policy';
const PATTERN = '^\\+44(\\d{10})$';

type Call = ReturnType<typeof apiClient>;
let stack: MemoryStackWithPeers;
let call: Call;
let gateway: string;

type Result = VoiceResult;
interface AuditEntry {
  readonly id: string;
  readonly status: string;
  readonly rollbackOf: string | null;
  readonly objects: Result['plan']['objects'];
}
type Problem = VoiceProblem;

const teams = (policyName: string) => stack.sandbox.teams.list(TENANT, policyName);
const audit = async () => ((await ok(call('GET', `${VOICE}/audit`))).body as { value: AuditEntry[] }).value;

const { ok, applied, taskCount } = voiceCalls(() => call, BASE);

beforeAll(async () => {
  ({ stack, call, gateway } = await deployedVoiceCustomer(CUSTOMER));
}, 120_000);
afterAll(async () => stack?.close());

describe('Online Voice Routing day two, against the sandbox', () => {
  it('creates a usage, a route and a policy, grants it, audits each, and rolls back a pattern change', async () => {
    await applied(call('POST', `${VOICE}/pstn-usages`, { json: { name: USAGE } }));
    expect(teams('OnlinePstnUsages')[0]?.Usage).toContain(USAGE);

    const route = await applied(
      call('POST', `${VOICE}/voice-routes`, {
        json: { identity: ROUTE, numberPattern: PATTERN, priority: 1, gateways: [gateway], usages: [USAGE] },
      }),
    );
    expect(route.plan.commands).toEqual([
      `New-CsOnlineVoiceRoute -Identity '${ROUTE}' -Description '' -NumberPattern '${PATTERN}' -Priority 1 -OnlinePstnGatewayList @('${gateway}') -OnlinePstnUsages @('${USAGE}')`,
    ]);
    expect(teams('OnlineVoiceRoute').find((r) => r.Identity === ROUTE)).toMatchObject({
      NumberPattern: PATTERN,
      Priority: 1,
      OnlinePstnGatewayList: [gateway],
      OnlinePstnUsages: [USAGE],
    });

    await applied(
      call('POST', `${VOICE}/voice-routing-policies`, { json: { identity: POLICY, usages: [USAGE] } }),
    );
    expect(teams('OnlineVoiceRoutingPolicy').find((p) => p.Identity === `Tag:${POLICY}`)).toMatchObject({
      OnlinePstnUsages: [USAGE],
    });

    // The mirror shows them at once, before any replication cycle.
    const usages = (await ok(call('GET', `${VOICE}/pstn-usages`))).body as {
      value: Array<{ name: string; routes: string[]; policies: string[] }>;
    };
    expect(usages.value.find((u) => u.name === USAGE)).toEqual({
      name: USAGE,
      routes: [ROUTE],
      policies: [POLICY],
    });
    const shown = await ok(call('GET', `${VOICE}/voice-routes/${ROUTE}`));
    expect(shown.body).toMatchObject({
      identity: ROUTE,
      numberPattern: PATTERN,
      priority: 1,
      gateways: [gateway],
    });
    await ok(call('GET', `${VOICE}/voice-routing-policies/${POLICY}`));

    // Grant to a user: the user change of issue 11, which now finds the new policy in the mirror.
    const [user] = (
      (await ok(call('GET', `${BASE}/users?licensed=true&sort=user-principal-name&top=1`))).body as {
        value: Array<{ id: string; userPrincipalName: string }>;
      }
    ).value;
    const granted = await ok(
      call('PATCH', `${BASE}/users/${user?.id}`, { json: { policies: { 'voice-routing': POLICY } } }),
      202,
    );
    const grant = await settled(call, granted.headers.get('location') ?? '');
    expect(grant.state, JSON.stringify(grant.log)).toBe('finish-success');
    expect(stack.sandbox.teams.grants(TENANT, user?.id ?? '').OnlineVoiceRoutingPolicy).toBe(`Tag:${POLICY}`);

    const entries = await audit();
    expect(entries.map((e) => [e.status, e.objects.map((o) => `${o.action} ${o.identity}`)])).toEqual([
      ['processed', [`create ${POLICY}`]],
      ['processed', [`create ${ROUTE}`]],
      ['processed', [`create ${USAGE}`]],
    ]);
    expect(entries[1]?.objects[0]?.fields).toContainEqual({
      property: 'numberPattern',
      oldValue: null,
      newValue: PATTERN,
    });

    // A later pattern change (If-Match from the read), audited old → new, then rolled back.
    const wider = '^\\+44(\\d{9,10})$';
    const current = await ok(call('GET', `${VOICE}/voice-routes/${ROUTE}`));
    const dry = await ok(
      call('PUT', `${VOICE}/voice-routes/${ROUTE}?dryRun=true`, {
        json: { numberPattern: wider, priority: 1, gateways: [gateway], usages: [USAGE] },
        headers: { 'if-match': current.headers.get('etag') ?? '' },
      }),
    );
    expect((dry.body as Result).task).toBeNull();
    expect((dry.body as Result).plan.commands).toEqual([
      `Set-CsOnlineVoiceRoute -Identity '${ROUTE}' -NumberPattern '${wider}'`,
    ]);
    await applied(
      call('PUT', `${VOICE}/voice-routes/${ROUTE}`, {
        json: { numberPattern: wider, priority: 1, gateways: [gateway], usages: [USAGE] },
        headers: { 'if-match': current.headers.get('etag') ?? '' },
      }),
    );
    expect(teams('OnlineVoiceRoute').find((r) => r.Identity === ROUTE)?.NumberPattern).toBe(wider);
    const [change] = await audit();
    expect(change?.objects[0]?.fields).toEqual([
      { property: 'numberPattern', oldValue: PATTERN, newValue: wider },
    ]);
    // The old ETag is stale now.
    await ok(
      call('PUT', `${VOICE}/voice-routes/${ROUTE}`, {
        json: { numberPattern: PATTERN, priority: 1, gateways: [gateway], usages: [USAGE] },
        headers: { 'if-match': current.headers.get('etag') ?? '' },
      }),
      412,
    );

    await applied(call('POST', `${VOICE}/audit/${change?.id}/rollback`));
    expect(teams('OnlineVoiceRoute').find((r) => r.Identity === ROUTE)?.NumberPattern).toBe(PATTERN);
    expect((await ok(call('GET', `${VOICE}/voice-routes/${ROUTE}`))).body).toMatchObject({
      numberPattern: PATTERN,
    });
    expect((await audit())[0]).toMatchObject({ status: 'processed', rollbackOf: change?.id });
  });

  it('refuses to delete what is still used, naming the references, and queues nothing', async () => {
    const before = await taskCount();
    const usage = await ok(call('DELETE', `${VOICE}/pstn-usages/${USAGE}`), 409);
    expect((usage.body as Problem).code).toBe('voice_object_in_use');
    expect((usage.body as Problem).detail).toContain(`voice routing policy "${POLICY}"`);
    expect((usage.body as Problem).detail).toContain(`voice route "${ROUTE}"`);
    const policy = await ok(call('DELETE', `${VOICE}/voice-routing-policies/${POLICY}`), 409);
    expect((policy.body as Problem).detail).toMatch(/used by user /);
    expect(await taskCount()).toBe(before);
    expect(teams('OnlinePstnUsages')[0]?.Usage).toContain(USAGE);
  });

  it('refuses an invalid pattern, an unknown gateway and a duplicate priority per field, and queues nothing', async () => {
    const before = await taskCount();
    const refused = await ok(
      call('POST', `${VOICE}/voice-routes`, {
        json: {
          identity: 'Broken',
          numberPattern: '^(\\+1[0-9]{10}$',
          priority: 1,
          gateways: ['sbc.unknown.example'],
          usages: [USAGE],
        },
      }),
      400,
    );
    const problem = refused.body as Problem;
    expect(problem.code).toBe('validation_failed');
    expect(problem.errors?.map((e) => [e.field, e.code])).toEqual([
      ['numberPattern', 'pattern_invalid'],
      ['gateways.0', 'gateway_unknown'],
      ['priority', 'priority_taken'],
    ]);
    expect(await taskCount()).toBe(before);
    expect(teams('OnlineVoiceRoute').some((r) => r.Identity === 'Broken')).toBe(false);
  });

  it('creates a dial plan with ordered normalization rules, reorders them, refuses bad ones, and deletes it', async () => {
    const national = {
      name: 'National',
      pattern: '^0(\\d{10})$',
      translation: '+44$1',
      isInternalExtension: false,
      description: '',
    };
    const extension = {
      name: 'Ext',
      pattern: '^(\\d{4})$',
      translation: '+44207946$1',
      isInternalExtension: true,
      description: 'Four-digit extensions',
    };
    const created = await applied(
      call('POST', `${VOICE}/dial-plans`, {
        json: { identity: 'DP-London', normalizationRules: [national, extension] },
      }),
    );
    expect(created.plan.commands[0]).toContain(
      "-NormalizationRules @(@{Name='National'; Pattern='^0(\\d{10})$'; Translation='+44$1'; IsInternalExtension=$false; Description=''}",
    );
    expect(teams('TenantDialPlan').find((p) => p.Identity === 'Tag:DP-London')?.NormalizationRules).toEqual([
      {
        Name: 'National',
        Pattern: '^0(\\d{10})$',
        Translation: '+44$1',
        IsInternalExtension: false,
        Description: '',
      },
      {
        Name: 'Ext',
        Pattern: '^(\\d{4})$',
        Translation: '+44207946$1',
        IsInternalExtension: true,
        Description: 'Four-digit extensions',
      },
    ]);
    const shown = await ok(call('GET', `${VOICE}/dial-plans/DP-London`));
    expect((shown.body as { normalizationRules: unknown[] }).normalizationRules).toEqual([
      national,
      extension,
    ]);

    await applied(
      call('PUT', `${VOICE}/dial-plans/DP-London`, {
        json: { normalizationRules: [extension, national] },
        headers: { 'if-match': shown.headers.get('etag') ?? '' },
      }),
    );
    expect(
      (
        teams('TenantDialPlan').find((p) => p.Identity === 'Tag:DP-London')?.NormalizationRules as Array<{
          Name: string;
        }>
      ).map((r) => r.Name),
    ).toEqual(['Ext', 'National']);

    const before = await taskCount();
    const refused = await ok(
      call('PUT', `${VOICE}/dial-plans/DP-London`, {
        json: {
          normalizationRules: [
            { ...national, pattern: '^0(\\d{10}$' },
            { ...extension, translation: '+44$2' },
            { ...extension, name: 'national' },
          ],
        },
      }),
      400,
    );
    expect((refused.body as Problem).errors?.map((e) => [e.field, e.code])).toEqual([
      ['normalizationRules.0.pattern', 'pattern_invalid'],
      ['normalizationRules.1.translation', 'translation_invalid'],
      ['normalizationRules.2.name', 'duplicate'],
    ]);
    expect(await taskCount()).toBe(before);

    // Granted to a user, it is not removed: the refusal names them, and nothing is queued.
    const grant = async (plan: string | null) => {
      const granted = await ok(
        call('PATCH', `${BASE}/users/${planUser?.id}`, { json: { policies: { 'tenant-dial-plan': plan } } }),
        202,
      );
      const done = await settled(call, granted.headers.get('location') ?? '');
      expect(done.state, JSON.stringify(done.log)).toBe('finish-success');
    };
    const [planUser] = (
      (await ok(call('GET', `${BASE}/users?licensed=true&sort=user-principal-name&top=1`))).body as {
        value: Array<{ id: string; userPrincipalName: string }>;
      }
    ).value;
    await grant('DP-London');
    const granted = await taskCount();
    const inUse = await ok(call('DELETE', `${VOICE}/dial-plans/DP-London`), 409);
    expect((inUse.body as Problem).code).toBe('voice_object_in_use');
    expect((inUse.body as Problem).detail).toContain(`user ${planUser?.userPrincipalName}`);
    expect(await taskCount()).toBe(granted);
    await grant(null);

    await applied(call('DELETE', `${VOICE}/dial-plans/DP-London`));
    expect(teams('TenantDialPlan').some((p) => p.Identity === 'Tag:DP-London')).toBe(false);
    await ok(call('GET', `${VOICE}/dial-plans/DP-London`), 404);
  });

  it('reorders the routes: priorities 0, 1, 2 … in the order given, as one task', async () => {
    const listed = async () =>
      (
        (await ok(call('GET', `${VOICE}/voice-routes`))).body as { value: Array<{ identity: string }> }
      ).value.map((r) => r.identity);
    const reversed = [...(await listed())].reverse();
    expect(reversed.length).toBeGreaterThan(1);
    await applied(call('POST', `${VOICE}/voice-routes/reorder`, { json: { routes: reversed } }));
    expect(await listed()).toEqual(reversed);
    expect(
      reversed.map((identity) => teams('OnlineVoiceRoute').find((r) => r.Identity === identity)?.Priority),
    ).toEqual(reversed.map((_, i) => i));
  });

  it('answers a dry run of a removal with its commands and queues nothing', async () => {
    const before = await taskCount();
    const dry = await ok(call('DELETE', `${VOICE}/voice-routes/${ROUTE}?dryRun=true`));
    expect((dry.body as Result).plan.commands).toEqual([
      `Set-CsOnlineVoiceRoute -Identity '${ROUTE}' -OnlinePstnGatewayList @()`,
      `Remove-CsOnlineVoiceRoute -Identity '${ROUTE}'`,
    ]);
    expect(await taskCount()).toBe(before);
  });

  it('shows a change made in Teams as drift, never reverts it unasked, and restores or adopts it on request', async () => {
    // Someone edits the route in the Teams admin center; the next replication cycle sees it.
    const edited = '^\\+44(\\d+)$';
    stack.sandbox.teams.update(TENANT, 'OnlineVoiceRoute', ROUTE, { NumberPattern: edited });
    await fullCycle();
    const report = await drift();
    expect(report.status).toBe('drift');
    expect(report.objects).toEqual([
      expect.objectContaining({
        kind: 'voice-routes',
        identity: ROUTE,
        status: 'changed',
        fields: [{ property: 'numberPattern', desired: PATTERN, actual: edited }],
      }),
    ]);
    expect(teams('OnlineVoiceRoute').find((r) => r.Identity === ROUTE)?.NumberPattern).toBe(edited);

    const tasks = await taskCount();
    const dry = await ok(call('POST', `${VOICE}/reconcile?dryRun=true`, { json: {} }));
    expect((dry.body as Result).plan.commands).toEqual([
      `Set-CsOnlineVoiceRoute -Identity '${ROUTE}' -NumberPattern '${PATTERN}'`,
    ]);
    expect(await taskCount()).toBe(tasks);
    expect(teams('OnlineVoiceRoute').find((r) => r.Identity === ROUTE)?.NumberPattern).toBe(edited);

    await applied(call('POST', `${VOICE}/reconcile`, { json: { action: 'restore' } }));
    expect(teams('OnlineVoiceRoute').find((r) => r.Identity === ROUTE)?.NumberPattern).toBe(PATTERN);
    expect((await drift()).objects).toEqual([]);
    expect((await audit())[0]?.objects).toEqual([
      {
        identity: ROUTE,
        kind: 'voice-routes',
        action: 'update',
        fields: [{ property: 'numberPattern', oldValue: edited, newValue: PATTERN }],
      },
    ]);

    // Another edit in Teams, this time kept: adopting it makes it the desired state and sends nothing.
    stack.sandbox.teams.update(TENANT, 'OnlineVoiceRoute', ROUTE, { Description: 'Set in Teams' });
    await fullCycle();
    expect((await drift()).objects.map((o) => [o.identity, o.status])).toEqual([[ROUTE, 'changed']]);
    const refused = await ok(
      call('POST', `${VOICE}/reconcile`, {
        json: { action: 'adopt', objects: [{ kind: 'voice-routing-policies', identity: POLICY }] },
      }),
      400,
    );
    expect((refused.body as Problem).errors?.map((e) => [e.field, e.code])).toEqual([
      ['objects.0', 'not_drifted'],
    ]);
    const entries = (await audit()).length;
    const adopted = await ok(
      call('POST', `${VOICE}/reconcile`, {
        json: { action: 'adopt', objects: [{ kind: 'voice-routes', identity: ROUTE }] },
      }),
    );
    expect((adopted.body as Result).task).toBeNull();
    expect((adopted.body as Result).plan.commands).toEqual([]);
    expect(teams('OnlineVoiceRoute').find((r) => r.Identity === ROUTE)?.Description).toBe('Set in Teams');
    expect((await drift()).objects).toEqual([]);
    expect((await audit()).length).toBe(entries);
  });
});

interface Drift {
  readonly status: string;
  readonly objects: Array<{ kind: string; identity: string; status: string; fields: unknown[] }>;
}
const drift = async () => (await ok(call('GET', `${BASE}/drift`))).body as Drift;

/** A full replication cycle, as the timer queues one, run to its end. */
async function fullCycle(): Promise<void> {
  const lastId = async () =>
    ((await ok(call('GET', `${BASE}/replication`))).body as { lastCycle: { id: string } | null }).lastCycle
      ?.id;
  const before = await lastId();
  await ok(call('POST', `${BASE}/replication`), 202);
  const cycle = await waitFor('the replication cycle', async () => {
    const status = (await ok(call('GET', `${BASE}/replication`))).body as {
      currentCycle: unknown;
      lastCycle: { id: string; outcome: string } | null;
    };
    return status.currentCycle === null && status.lastCycle && status.lastCycle.id !== before
      ? status.lastCycle
      : undefined;
  });
  expect(cycle.outcome).toBe('succeeded');
}
