import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../dev/sandbox/index.js';
import type { apiClient } from '../support/api-client.js';
import type { MemoryStackWithPeers } from '../support/memory-stack.js';
import {
  deployedVoiceCustomer,
  type VoiceProblem,
  type VoiceResult,
  voiceCalls,
} from '../support/voice-e2e.js';

/**
 * PSTN gateways day two (issue 13 item 1), end to end: the product's API in process, Contoso's tenant in the HTTPS
 * sandbox. An extra BYOC gateway is added, edited with If-Match, listed by a new voice route, refused removal while
 * the route lists it, and an edit of it rolled back; what Teams would refuse is refused before anything is queued.
 */
const CUSTOMER = 'GatewayCo';
const BASE = `/api/v1/customers/${CUSTOMER}`;
const VOICE = `${BASE}/voice`;
const TENANT = DEMO.customers.contoso.tenantId;
/** In contoso.com, a domain of Contoso's tenant. */
const FQDN = 'sbc2.contoso.com';
const USAGE = 'Byoc';
const ROUTE = 'Byoc-Route';

type Call = ReturnType<typeof apiClient>;
let stack: MemoryStackWithPeers;
let call: Call;
let onboarded: string;

type Result = VoiceResult;
type Problem = VoiceProblem;

const inTeams = () =>
  stack.sandbox.teams.list(TENANT, 'OnlinePSTNGateway').find((g) => g.Identity.toLowerCase() === FQDN);
const auditIds = async () =>
  ((await ok(call('GET', `${VOICE}/audit`))).body as { value: Array<{ id: string }> }).value.map((e) => e.id);

const { ok, applied, taskCount } = voiceCalls(() => call, BASE);

beforeAll(async () => {
  ({
    stack,
    call,
    gateway: onboarded,
  } = await deployedVoiceCustomer(CUSTOMER, { sandbox: { timeScale: 0.01 } }));
}, 120_000);
afterAll(async () => stack?.close());

describe('PSTN gateways day two, against the sandbox', () => {
  it('adds a gateway, edits it with If-Match, routes through it, refuses its removal, and rolls an edit back', async () => {
    const created = await applied(
      call('POST', `${VOICE}/pstn-gateways`, {
        json: {
          identity: 'SBC2.Contoso.com',
          sipSignalingPort: 5067,
          enabled: true,
          maxConcurrentSessions: 50,
        },
      }),
    );
    expect(created.plan.commands[0]).toMatch(
      /^New-CsOnlinePSTNGateway -Identity 'sbc2\.contoso\.com' -Description '' -SipSignalingPort 5067 -MaxConcurrentSessions 50 -Enabled \$true /,
    );
    expect(inTeams()).toMatchObject({
      Fqdn: FQDN,
      SipSignalingPort: 5067,
      MaxConcurrentSessions: 50,
      Enabled: true,
      BypassMode: 'None',
      FailoverResponseCodes: '408, 503, 504',
    });

    // The mirror shows it at once, the onboarding gateway beside it.
    const listed = (await ok(call('GET', `${VOICE}/pstn-gateways`))).body as {
      value: Array<{ identity: string }>;
    };
    expect(listed.value.map((g) => g.identity)).toEqual(expect.arrayContaining([FQDN, onboarded]));
    const read = await ok(call('GET', `${VOICE}/pstn-gateways/${FQDN}`));
    expect(read.body).toMatchObject({ identity: FQDN, sipSignalingPort: 5067, bypassMode: 'none' });

    const edit = { sipSignalingPort: 5067, enabled: true, maxConcurrentSessions: 80, forwardPai: true };
    const edited = await applied(
      call('PUT', `${VOICE}/pstn-gateways/${FQDN}`, {
        json: edit,
        headers: { 'if-match': read.headers.get('etag') ?? '' },
      }),
    );
    expect(edited.plan.commands).toEqual([
      `Set-CsOnlinePSTNGateway -Identity '${FQDN}' -MaxConcurrentSessions 80 -ForwardPai $true`,
    ]);
    expect(edited.plan.objects[0]?.fields).toEqual([
      { property: 'maxConcurrentSessions', oldValue: 50, newValue: 80 },
      { property: 'forwardPai', oldValue: false, newValue: true },
    ]);
    expect(inTeams()).toMatchObject({ MaxConcurrentSessions: 80, ForwardPai: true });
    // The read before the edit is stale now.
    await ok(
      call('PUT', `${VOICE}/pstn-gateways/${FQDN}`, {
        json: edit,
        headers: { 'if-match': read.headers.get('etag') ?? '' },
      }),
      412,
    );

    await applied(call('POST', `${VOICE}/pstn-usages`, { json: { name: USAGE } }));
    await applied(
      call('POST', `${VOICE}/voice-routes`, {
        json: {
          identity: ROUTE,
          numberPattern: '^\\+1(\\d{10})$',
          priority: 9,
          gateways: [FQDN],
          usages: [USAGE],
        },
      }),
    );

    const before = await taskCount();
    const refused = await ok(call('DELETE', `${VOICE}/pstn-gateways/${FQDN}`), 409);
    expect(refused.body).toMatchObject({ code: 'voice_object_in_use' });
    expect((refused.body as Problem).detail).toContain(`voice route "${ROUTE}"`);
    expect(await taskCount()).toBe(before);
    expect(inTeams()).toBeDefined();

    // Disabling it is allowed (draining an SBC), with a warning naming the route.
    const drain = await ok(
      call('PUT', `${VOICE}/pstn-gateways/${FQDN}?dryRun=true`, { json: { ...edit, enabled: false } }),
    );
    expect((drain.body as Result).task).toBeNull();
    expect((drain.body as Result).warnings?.[0]).toContain(`voice route "${ROUTE}"`);

    // The audit entry of a change is its task's.
    expect(await auditIds()).toContain(edited.task?.id);
    await applied(call('POST', `${VOICE}/audit/${edited.task?.id}/rollback`));
    expect(inTeams()).toMatchObject({ MaxConcurrentSessions: 50, ForwardPai: false });
    expect((await ok(call('GET', `${VOICE}/pstn-gateways/${FQDN}`))).body).toMatchObject({
      maxConcurrentSessions: 50,
      forwardPai: false,
    });
  });

  it('refuses per field what Teams would refuse, and queues nothing', async () => {
    const before = await taskCount();
    const refused = await ok(
      call('POST', `${VOICE}/pstn-gateways`, {
        json: {
          identity: 'sbc.contoso.onmicrosoft.com',
          sipSignalingPort: 70_000,
          maxConcurrentSessions: 0,
          failoverResponseCodes: '200',
          gatewaySiteId: 'Nowhere',
        },
      }),
      400,
    );
    expect((refused.body as Problem).errors?.map((e) => [e.field, e.code])).toEqual([
      ['identity', 'fqdn_not_allowed'],
      ['sipSignalingPort', 'port_invalid'],
      ['maxConcurrentSessions', 'sessions_invalid'],
      ['failoverResponseCodes', 'sip_codes_invalid'],
      ['gatewaySiteId', 'site_unknown'],
    ]);
    const taken = await ok(
      call('POST', `${VOICE}/pstn-gateways`, {
        json: { identity: onboarded.toUpperCase(), sipSignalingPort: 5061 },
      }),
      400,
    );
    expect((taken.body as Problem).errors?.map((e) => [e.field, e.code])).toEqual([
      ['identity', 'name_taken'],
    ]);
    const invalid = await ok(
      call('POST', `${VOICE}/pstn-gateways`, {
        json: { identity: 'sbc_1.contoso.com', sipSignalingPort: 5061 },
      }),
      400,
    );
    expect((invalid.body as Problem).errors?.map((e) => [e.field, e.code])).toEqual([
      ['identity', 'fqdn_invalid'],
    ]);
    expect(await taskCount()).toBe(before);
  });
});
