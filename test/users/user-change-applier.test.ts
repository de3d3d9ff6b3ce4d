import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientSecretCredential } from '@azure/identity';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, type RunningSandbox, startSandbox } from '../../dev/sandbox/index.js';
import { findUser, type DirectoryUser } from '../../dev/sandbox/state.js';
import { createGraphClient } from '../../shared/m365/graph-client.js';
import { azureSdkOptions } from '../../shared/net/azure-sdk-options.js';
import { createTrustedTransport, type TrustedTransport } from '../../shared/net/trusted-transport.js';
import { createM365Reader } from '../../shared/replication/m365-reader.js';
import { PermanentTaskError, TransientTaskError } from '../../shared/tasks/task-definition.js';
import { parsePowerShellLine } from '../../shared/teams/powershell.js';
import { createTeamsAdminClient } from '../../shared/teams/teams-admin-client.js';
import {
  createUserChangeApplier,
  type UserChangeApplierDeps,
} from '../../shared/users/user-change-applier.js';
import type { UserChange, UserChangeTarget } from '../../shared/users/user-change.js';

const contoso = DEMO.customers.contoso;
const app = contoso.appRegistration;

/**
 * The applier against the sandbox over HTTPS, with the product's own Graph and Teams admin clients and the
 * customer's app registration: what a queued user change does to the tenant, and what the mirror then reads.
 */
describe('user change applier against the sandbox', () => {
  let sandbox: RunningSandbox;
  let transport: TrustedTransport;
  let dataDir: string;
  let credential: ClientSecretCredential;
  let users: DirectoryUser[];

  const deps = (
    overrides: Partial<UserChangeApplierDeps> = {},
    teamsRetries?: number,
  ): UserChangeApplierDeps => ({
    graph: async () => createGraphClient({ baseUrl: `${sandbox.url}/graph`, credential, transport }),
    teams: async () =>
      createTeamsAdminClient({
        baseUrl: `${sandbox.url}/teams`,
        credential,
        transport,
        ...(teamsRetries !== undefined ? { maxRetries: teamsRetries } : {}),
      }),
    pollIntervalMs: 20,
    ...overrides,
  });
  const applier = () => createUserChangeApplier(deps());
  const target = (user: DirectoryUser): UserChangeTarget => ({
    customerId: 'contoso',
    userId: user.id,
    userPrincipalName: user.userPrincipalName,
  });
  /** Contoso's first users (by UPN) hold E5 with Phone System; the last ones hold no license. */
  const licensed = (index: number) => users[index] as DirectoryUser;
  const unlicensed = () => users[users.length - 1] as DirectoryUser;
  const teamsUser = (user: DirectoryUser) =>
    sandbox.directories.of(sandbox.state.requireTenant(contoso.tenantId)).teamsUser(user.id);
  const sent = (method: string, pattern: RegExp) =>
    sandbox.requests.list().filter((r) => r.method === method && pattern.test(r.path));
  const line = (lineUri: string | null): UserChange => ({ field: 'line-uri', value: lineUri });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'drh-applier-'));
    // A hundredth of real time: number operations take 30 ms, grants show after 300 ms.
    sandbox = await startSandbox({ dataDir, port: 0, timeScale: 0.01 });
    transport = createTrustedTransport(sandbox.caCertFile);
    credential = new ClientSecretCredential(contoso.tenantId, app.clientId, app.clientSecret, {
      authorityHost: `${sandbox.url}/entra`,
      disableInstanceDiscovery: true,
      ...azureSdkOptions(transport),
    });
  });
  afterEach(() => {
    sandbox.reset();
    sandbox.teams.timings.numberOperationMs = 30;
  });
  afterAll(async () => {
    await transport.close();
    await sandbox.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  beforeAll(() => {
    users = [...sandbox.state.requireTenant(contoso.tenantId).users.values()].sort((a, b) =>
      a.userPrincipalName.localeCompare(b.userPrincipalName),
    );
  });

  it('assigns a number through the long-running operation; Teams and the mirror then show it', async () => {
    const user = licensed(1);
    await applier().apply(target(user), line('tel:+14255550101'));

    expect(sent('POST', /numberAssignments\/assignNumber$/)).toHaveLength(1);
    expect(sent('GET', /telephoneNumberManagement\/operations\//).length).toBeGreaterThanOrEqual(1);
    expect(teamsUser(user)).toMatchObject({
      telephoneNumbers: [{ telephoneNumber: '+14255550101', assignmentCategory: 'primary' }],
      isEnterpriseVoiceEnabled: true,
    });
    const reader = createM365Reader({
      graphBaseUrl: `${sandbox.url}/graph`,
      teamsAdminBaseUrl: `${sandbox.url}/teams`,
      credential,
      transport,
    });
    expect(await reader.teamsUser(user.id)).toMatchObject({
      lineUri: 'tel:+14255550101',
      enterpriseVoiceEnabled: true,
    });
  });

  it('keeps an extension, changes a number in place, and unassigns it', async () => {
    const user = licensed(2);
    await applier().apply(target(user), line('tel:+14255550102;ext=12'));
    expect(teamsUser(user)?.telephoneNumbers).toEqual([
      { telephoneNumber: '+14255550102;ext=12', assignmentCategory: 'primary' },
    ]);
    await applier().apply(target(user), line('tel:+14255550103'));
    expect(teamsUser(user)?.telephoneNumbers).toEqual([
      { telephoneNumber: '+14255550103', assignmentCategory: 'primary' },
    ]);
    await applier().apply(target(user), line(null));
    expect(sent('POST', /unassignNumber$/)).toHaveLength(1);
    expect(teamsUser(user)?.telephoneNumbers).toEqual([]);
  });

  it('sends nothing when the value is already in place', async () => {
    const user = licensed(3);
    const change = line('tel:+14255550104');
    await applier().apply(target(user), change);
    await applier().apply(target(user), change);
    await applier().apply(target(user), { field: 'usage-location', value: 'US' });
    await applier().apply(target(user), { field: 'enterprise-voice', value: true });
    expect(sent('POST', /assignNumber$/)).toHaveLength(1);
    expect(sent('PATCH', /./)).toEqual([]);
  });

  it('refuses, permanently and with the service’s reason, what Teams refuses', async () => {
    const holder = licensed(4);
    await applier().apply(target(holder), line('tel:+14255550105'));
    const refusal = (user: DirectoryUser, change: UserChange) => applier().apply(target(user), change);

    await expect(refusal(licensed(5), line('tel:+14255550105'))).rejects.toThrow(
      /already been assigned to another user/,
    );
    await expect(refusal(licensed(5), line('tel:+14255559999'))).resolves.toBeUndefined();
    await expect(refusal(licensed(6), line('tel:+14155550100'))).rejects.toThrow(
      /not a Direct Routing number of this tenant/,
    );
    await expect(refusal(unlicensed(), line('tel:+14255550106'))).rejects.toThrow(
      /not licensed for Teams Phone/,
    );
    await expect(refusal(unlicensed(), { field: 'enterprise-voice', value: true })).rejects.toThrow(
      /not licensed for Teams Phone/,
    );
    await expect(
      refusal(licensed(6), { field: 'policy', policyType: 'voice-routing', value: 'NoSuchPolicy' }),
    ).rejects.toThrow(/OnlineVoiceRoutingPolicy with Identity 'NoSuchPolicy' was not found/);
    const ghost = {
      ...unlicensed(),
      id: '00000000-0000-4000-8000-000000000001',
      userPrincipalName: 'ghost@contoso.com',
    };
    await expect(refusal(ghost, line('tel:+14255550107'))).rejects.toThrow(
      /ghost@contoso\.com was not found/,
    );
    for (const failure of await Promise.allSettled([
      refusal(licensed(5), line('tel:+14255550105')),
      refusal(ghost, { field: 'usage-location', value: 'GB' }),
    ])) {
      expect(failure).toMatchObject({ status: 'rejected', reason: expect.any(PermanentTaskError) });
    }
  });

  it('rides out a 429 and hands a lasting one to the task with the wait the service asked for', async () => {
    const user = licensed(7);
    sandbox.faults.add({
      method: 'POST',
      pathPattern: 'assignNumber$',
      kind: 'status',
      status: 429,
      times: 1,
    });
    await applier().apply(target(user), line('tel:+14255550108'));
    expect(sent('POST', /assignNumber$/).map((r) => r.status)).toEqual([429, 202]);
    expect(teamsUser(user)?.telephoneNumbers).toHaveLength(1);

    sandbox.faults.add({
      method: 'PATCH',
      pathPattern: '^/teams/Skype\\.Policy/users/',
      kind: 'status',
      status: 429,
    });
    const noRetries = createUserChangeApplier(deps({}, 0));
    const throttled = noRetries.apply(target(user), {
      field: 'policy',
      policyType: 'caller-id',
      value: 'Anonymous',
    });
    await expect(throttled).rejects.toBeInstanceOf(TransientTaskError);
    await expect(throttled).rejects.toMatchObject({ retryAfterMs: 1000 });
  });

  it('leaves a slow operation to the next try, which sends nothing twice', async () => {
    const user = licensed(8);
    sandbox.teams.timings.numberOperationMs = 1_500;
    const impatient = createUserChangeApplier(deps({ operationBudgetMs: 0 }));
    const change = line('tel:+14255550109');
    await expect(impatient.apply(target(user), change)).rejects.toBeInstanceOf(TransientTaskError);
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    await impatient.apply(target(user), change);
    expect(sent('POST', /assignNumber$/)).toHaveLength(1);
    expect(teamsUser(user)?.telephoneNumbers).toHaveLength(1);
  });

  it('grants policies of every kind, visible in Graph only after the service’s delay, and returns to Global', async () => {
    const user = licensed(9);
    const grant = (value: string | null): UserChange => ({ field: 'policy', policyType: 'caller-id', value });
    const effective = () =>
      teamsUser(user)?.effectivePolicyAssignments.find((a) => a.policyType === 'CallingLineIdentity')
        ?.policyAssignment.displayName;

    await applier().apply(target(user), grant('Anonymous'));
    expect(sent('PATCH', /\/policies\/CallingLineIdentity$/).map((r) => r.status)).toEqual([204]);
    expect(effective()).toBe('Global');
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(effective()).toBe('Anonymous');
    // Sent again although the read shows it: the read cannot tell a grant in place from one about to change.
    await applier().apply(target(user), grant('Tag:Anonymous'));
    expect(sent('PATCH', /\/policies\//)).toHaveLength(2);

    await applier().apply(target(user), grant(null));
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(effective()).toBe('Global');
    await applier().apply(target(user), { field: 'policy', policyType: 'upgrade', value: 'UpgradeToTeams' });
    expect(sent('PATCH', /\/policies\/TeamsUpgradePolicy$/)).toHaveLength(1);
  });

  it('sends a grant back to Global right after another grant, though the lagging read still shows Global', async () => {
    const user = licensed(11);
    const grant = (value: string | null): UserChange => ({ field: 'policy', policyType: 'caller-id', value });
    const effective = () =>
      teamsUser(user)?.effectivePolicyAssignments.find((a) => a.policyType === 'CallingLineIdentity')
        ?.policyAssignment.displayName;

    await applier().apply(target(user), grant('Anonymous'));
    await applier().apply(target(user), grant(null));
    expect(sent('PATCH', /\/policies\/CallingLineIdentity$/).map((r) => r.status)).toEqual([204, 204]);
    expect(effective()).toBe('Global');
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(effective()).toBe('Global');
    expect(sandbox.teams.grants(contoso.tenantId, user.id).CallingLineIdentity).toBeUndefined();
  });

  it('sets the usage location through Graph and Enterprise Voice through the Teams admin API', async () => {
    const user = licensed(10);
    await applier().apply(target(user), { field: 'usage-location', value: 'GB' });
    expect(findUser(sandbox.state.requireTenant(contoso.tenantId), user.id)?.usageLocation).toBe('GB');
    await applier().apply(target(user), { field: 'enterprise-voice', value: true });
    expect(teamsUser(user)?.isEnterpriseVoiceEnabled).toBe(true);
    await applier().apply(target(user), { field: 'enterprise-voice', value: false });
    expect(teamsUser(user)?.isEnterpriseVoiceEnabled).toBe(false);
    expect(sent('PATCH', /^\/teams\/Teams\.User\/users\//).map((r) => r.status)).toEqual([204, 204]);
  });

  it('renders the PowerShell a person would type, quotes in the UPN escaped', () => {
    const person: UserChangeTarget = {
      customerId: 'contoso',
      userId: '6b0c3f2e-0000-4000-8000-000000000000',
      userPrincipalName: "o'brien@contoso.com",
    };
    const render = (change: UserChange) => applier().render(person, change);
    const lines = [
      render(line('tel:+14255550101;ext=12')),
      render(line(null)),
      render({ field: 'enterprise-voice', value: true }),
      render({ field: 'usage-location', value: 'GB' }),
      render({ field: 'policy', policyType: 'voice-routing', value: 'Tag:International' }),
      render({ field: 'policy', policyType: 'caller-id', value: null }),
    ];
    expect(lines).toEqual([
      "Set-CsPhoneNumberAssignment -Identity 'o''brien@contoso.com' -PhoneNumber '+14255550101;ext=12' -PhoneNumberType 'DirectRouting'",
      "Remove-CsPhoneNumberAssignment -Identity 'o''brien@contoso.com' -RemoveAll",
      "Set-CsPhoneNumberAssignment -Identity 'o''brien@contoso.com' -EnterpriseVoiceEnabled $true",
      "Update-MgUser -UserId 'o''brien@contoso.com' -UsageLocation 'GB'",
      "Grant-CsOnlineVoiceRoutingPolicy -Identity 'o''brien@contoso.com' -PolicyName 'International'",
      "Grant-CsCallingLineIdentity -Identity 'o''brien@contoso.com' -PolicyName $null",
    ]);
    for (const text of lines) expect(() => parsePowerShellLine(text)).not.toThrow();
    expect(parsePowerShellLine(lines[0] ?? '').params).toMatchObject({ Identity: "o'brien@contoso.com" });
  });
});
