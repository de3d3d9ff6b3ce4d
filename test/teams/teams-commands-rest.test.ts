import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO, demoGroupId } from '../../dev/sandbox/demo-data.js';
import { findUser } from '../../dev/sandbox/state.js';
import { parsePowerShellLine } from '../../shared/teams/powershell.js';
import {
  createTeamsAdminClient,
  type TeamsAdminClient,
  TeamsAdminError,
} from '../../shared/teams/teams-admin-client.js';
import {
  executeTeamsCommand,
  planTeamsCommand,
  SUPPORTED_CMDLETS,
  TeamsCommandError,
} from '../../shared/teams/teams-commands-rest.js';
import { createTeamsOverlayClient } from '../../shared/teams/teams-overlay-client.js';
import { type SandboxFixture, startFixture } from '../sandbox/fixtures.js';

const contoso = DEMO.customers.contoso;
const GATEWAY = 'contoso.customers.northwindvoice.example';
const SITE = 'contoso';

/** The LBR onboarding script (manual §3.10) followed by the default M365 onboarding script (§3.9), rendered. */
const ONBOARDING = [
  `New-CsTenantNetworkRegion -NetworkRegionID "India"`,
  `New-CsTenantNetworkSite -NetworkSiteID "${SITE}" -NetworkRegionID "India" -EnableLocationBasedRouting $true -Description "Default Site created by AudioCodes LiveCloud"`,
  `New-CsTenantNetworkSubnet -SubnetID "169.254.0.0" -MaskBits "16" -NetworkSiteID "${SITE}" -Description "Example subnet set by AudioCodes LiveCloud"`,
  `New-CsTenantTrustedIPAddress -IPAddress 169.254.0.1 -MaskBits 32 -Description "Example Trusted IP Address set by AudioCodes LiveCloud"`,
  `New-CsOnlinePstnGateway -Fqdn "${GATEWAY}" -Enabled $true -SipSignalingPort 5061 -ForwardCallHistory $True -ForwardPai $True -MediaBypass $True -MaxConcurrentSessions 100 -GatewaySiteLbrEnabled $true -GatewaySiteID "${SITE}"`,
  `New-CsTeamsCallingPolicy -Identity "UMPPreventTollBypass" -AllowCallForwardingToPhone $True -Description "Allow Teams calling, preventing toll bypass" -PreventTollBypass $True`,
  `Set-CsOnlinePstnUsage -Identity Global -Usage @{Add="Unrestricted"}`,
  `New-CsOnlineVoiceRoute -Identity "Unrestricted" -NumberPattern ".*" -OnlinePstnGatewayList @{add="${GATEWAY}"} -Priority 1 -OnlinePstnUsages @{add="Unrestricted"}`,
  `New-CsOnlineVoiceRoutingPolicy -Identity "Unrestricted" -OnlinePstnUsages "Unrestricted"`,
  `Grant-CsOnlineVoiceRoutingPolicy -Identity "${contoso.admin.userPrincipalName}" -PolicyName "Unrestricted"`,
].map(parsePowerShellLine);

describe('Teams commands through the Teams admin API adapter (sandbox)', () => {
  let f: SandboxFixture;
  let sleeps: number[];
  const client = (tenantId: string = contoso.tenantId, maxRetries?: number): TeamsAdminClient =>
    createTeamsAdminClient({
      baseUrl: `${f.sandbox.url}/teams`,
      credential: f.credential(tenantId, DEMO.tokenApp.clientId, DEMO.tokenApp.clientSecret),
      transport: f.transport,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      ...(maxRetries !== undefined ? { maxRetries } : {}),
    });
  const run = (c: TeamsAdminClient, line: string) => executeTeamsCommand(c, parsePowerShellLine(line));

  beforeAll(async () => {
    f = await startFixture();
  });
  beforeEach(() => {
    sleeps = [];
  });
  afterEach(() => f.sandbox.reset());
  afterAll(() => f.close());

  it('runs the onboarding scripts, plan agreeing with execution, then re-runs them without change', async () => {
    const teams = client();
    for (const command of ONBOARDING) {
      const plan = await planTeamsCommand(teams, command);
      const result = await executeTeamsCommand(teams, command);
      expect({ cmdlet: command.cmdlet, changed: result.changed, action: result.plan.action }).toEqual({
        cmdlet: command.cmdlet,
        changed: plan.changed,
        action: plan.action,
      });
      expect(result.changed, command.cmdlet).toBe(true);
    }
    const config = f.sandbox.teams.snapshot(contoso.tenantId);
    expect(config.configurations.OnlinePSTNGateway).toEqual([
      expect.objectContaining({
        Identity: GATEWAY,
        Fqdn: GATEWAY,
        SipSignalingPort: 5061,
        Enabled: true,
        MaxConcurrentSessions: 100,
        ForwardPai: true,
        GatewaySiteId: SITE,
      }),
    ]);
    expect(config.configurations.OnlinePstnUsages).toEqual([{ Identity: 'Global', Usage: ['Unrestricted'] }]);
    expect(config.configurations.OnlineVoiceRoute).toEqual([
      expect.objectContaining({
        Identity: 'Unrestricted',
        NumberPattern: '.*',
        Priority: 1,
        OnlinePstnGatewayList: [GATEWAY],
        OnlinePstnUsages: ['Unrestricted'],
      }),
    ]);
    expect(config.configurations.OnlineVoiceRoutingPolicy).toContainEqual(
      expect.objectContaining({ Identity: 'Tag:Unrestricted', OnlinePstnUsages: ['Unrestricted'] }),
    );
    expect(config.configurations.TenantNetworkSubnet).toEqual([
      expect.objectContaining({ Identity: '169.254.0.0', MaskBits: 16, NetworkSiteID: SITE }),
    ]);
    expect(config.configurations.TeamsCallingPolicy).toContainEqual(
      expect.objectContaining({ Identity: 'Tag:UMPPreventTollBypass', PreventTollBypass: true }),
    );
    expect(Object.values(config.grants)).toEqual([{ OnlineVoiceRoutingPolicy: 'Tag:Unrestricted' }]);

    // A second run, even with a fresh client, changes nothing; only the grant is sent again, as a lagging read
    // cannot confirm it (decision 78).
    const again = client();
    for (const command of ONBOARDING) {
      const plan = await planTeamsCommand(again, command);
      const result = await executeTeamsCommand(again, command);
      const granted = command.cmdlet.startsWith('Grant-');
      expect([command.cmdlet, plan.changed, result.changed]).toEqual([command.cmdlet, granted, granted]);
    }
    expect(f.sandbox.teams.snapshot(contoso.tenantId)).toEqual(config);
    // Discovery happened once per client.
    expect(f.sandbox.requests.list().filter((r) => r.path.endsWith('/serviceDiscovery'))).toHaveLength(2);
  });

  it('adds a second gateway to the existing route, set-like, and the cleanup script removes it again', async () => {
    const teams = client();
    for (const command of ONBOARDING.slice(0, 9)) await executeTeamsCommand(teams, command);
    const second = 'second.customers.northwindvoice.example';
    await run(teams, `New-CsOnlinePSTNGateway -Fqdn ${second} -SipSignalingPort 5061`);
    const added = await run(
      teams,
      `New-CsOnlineVoiceRoute -Identity "Unrestricted" -NumberPattern ".*" -OnlinePstnGatewayList @{add="${second}"} -Priority 1 -OnlinePstnUsages @{add="Unrestricted"}`,
    );
    expect(added).toMatchObject({ changed: true, plan: { action: 'update' } });
    expect(added.result).toMatchObject({ OnlinePstnGatewayList: [GATEWAY, second] });
    expect(
      (
        await run(
          teams,
          `Set-CsOnlineVoiceRoute -Identity Unrestricted -OnlinePstnGatewayList @{Add='${second}'}`,
        )
      ).changed,
    ).toBe(false);
    expect(
      (await run(teams, `Set-CsOnlinePstnUsage -Identity Global -Usage @{Add='unrestricted'}`)).changed,
    ).toBe(false);

    // Default M365 cleanup, for both gateways.
    for (const gateway of [GATEWAY, second]) {
      const removed = await run(
        teams,
        `Set-CsOnlineVoiceRoute -Identity 'Unrestricted' -OnlinePstnGatewayList @{remove='${gateway}'}`,
      );
      expect(removed.changed).toBe(true);
    }
    expect(
      (
        await run(
          teams,
          `Set-CsOnlineVoiceRoute -Identity 'Unrestricted' -OnlinePstnGatewayList @{remove='${GATEWAY}'}`,
        )
      ).changed,
    ).toBe(false);
    expect((await run(teams, `Remove-CsOnlineVoiceRoute -Identity 'Unrestricted'`)).changed).toBe(true);
    expect((await run(teams, `Remove-CsOnlineVoiceRoute -Identity 'Unrestricted'`)).changed).toBe(false);
    expect((await run(teams, `Remove-CsOnlinePSTNGateway -Identity '${second}'`)).changed).toBe(true);
    expect(f.sandbox.teams.list(contoso.tenantId, 'OnlineVoiceRoute')).toEqual([]);
  });

  it("treats a voice routing policy's usages as an ordered list: a reorder is a change", async () => {
    const teams = client();
    await run(teams, `Set-CsOnlinePstnUsage -Identity Global -Usage @{Add='UK','US'}`);
    await run(teams, `New-CsOnlineVoiceRoutingPolicy -Identity London -OnlinePstnUsages 'UK','US'`);
    expect(
      (await run(teams, `Set-CsOnlineVoiceRoutingPolicy -Identity London -OnlinePstnUsages 'UK','US'`))
        .changed,
    ).toBe(false);
    const reordered = await run(
      teams,
      `Set-CsOnlineVoiceRoutingPolicy -Identity London -OnlinePstnUsages 'US','UK'`,
    );
    expect(reordered.changed).toBe(true);
    expect(
      f.sandbox.teams.get(contoso.tenantId, 'OnlineVoiceRoutingPolicy', 'London')?.OnlinePstnUsages,
    ).toEqual(['US', 'UK']);
  });

  it('executes every supported cmdlet', async () => {
    const teams = client();
    const sales = demoGroupId(contoso.tenantId, 'sales-voice');
    const support = demoGroupId(contoso.tenantId, 'support-voice');
    const lines = [
      `New-CsTenantNetworkRegion -NetworkRegionID 'EMEA' -Description 'Europe'`,
      `Set-CsTenantNetworkRegion -Identity 'EMEA' -Description 'Europe and Africa'`,
      `New-CsTenantNetworkSite -NetworkSiteID 'Paris' -NetworkRegionID 'EMEA'`,
      `Set-CsTenantNetworkSite -Identity 'Paris' -EnableLocationBasedRouting $true`,
      `New-CsTenantNetworkSubnet -SubnetID '10.1.0.0' -MaskBits 16 -NetworkSiteID 'Paris'`,
      `Set-CsTenantNetworkSubnet -Identity '10.1.0.0' -MaskBits 24`,
      `New-CsTenantTrustedIPAddress -IPAddress '203.0.113.7' -MaskBits 32`,
      `Set-CsTenantTrustedIPAddress -Identity '203.0.113.7' -Description 'office'`,
      `New-CsOnlinePSTNGateway -Fqdn 'gw.example.com' -SipSignalingPort 5061 -Enabled $false`,
      `Set-CsOnlinePSTNGateway -Identity 'gw.example.com' -Enabled $true -MaxConcurrentSessions 20`,
      `Set-CsOnlinePstnUsage -Identity Global -Usage @{Add='Local','International'}`,
      `New-CsOnlineVoiceRoute -Identity 'Local' -NumberPattern '^\\+33' -OnlinePstnGatewayList 'gw.example.com' -OnlinePstnUsages 'Local' -Priority 2`,
      `Set-CsOnlineVoiceRoute -Identity 'Local' -OnlinePstnUsages @{Add='International'}`,
      `New-CsOnlineVoiceRoutingPolicy -Identity 'France' -OnlinePstnUsages 'Local','International'`,
      `Set-CsOnlineVoiceRoutingPolicy -Identity 'Tag:France' -Description 'FR'`,
      `New-CsTenantDialPlan -Identity 'FR' -SimpleName 'FR'`,
      `Set-CsTenantDialPlan -Identity 'FR' -Description 'French numbers'`,
      `New-CsTenantDialPlan -Identity 'Temporary'`,
      `Remove-CsTenantDialPlan -Identity 'Tag:Temporary'`,
      `Grant-CsOnlineVoiceRoutingPolicy -Identity '${contoso.admin.userPrincipalName}' -PolicyName 'France'`,
      `Grant-CsTenantDialPlan -Identity '${contoso.admin.userPrincipalName}' -PolicyName 'FR'`,
      `Grant-CsTeamsCallingPolicy -Identity '${contoso.admin.userPrincipalName}' -PolicyName $null`,
      `New-CsTeamsCallingPolicy -Identity 'NoForward' -AllowCallForwardingToPhone $false`,
      `Set-CsTeamsCallingPolicy -Identity 'NoForward' -Description 'x'`,
      `New-CsTeamsEmergencyCallingPolicy -Identity 'Desk' -NotificationMode 'ConferenceMuted'`,
      `Set-CsTeamsEmergencyCallingPolicy -Identity 'Desk' -NotificationGroup 'desk@example.com'`,
      `New-CsTeamsEmergencyCallRoutingPolicy -Identity 'FR-112' -Description 'France'`,
      `Set-CsTeamsEmergencyCallRoutingPolicy -Identity 'FR-112' -AllowEnhancedEmergencyServices $true`,
      `Remove-CsTeamsEmergencyCallRoutingPolicy -Identity 'FR-112'`,
      `Remove-CsTeamsEmergencyCallingPolicy -Identity 'Desk'`,
      `Grant-CsOnlineVoiceRoutingPolicy -Identity '${contoso.admin.userPrincipalName}' -PolicyName $null`,
      // Group policy assignments: the second at rank 1 moves the first to 2; Set puts it back first.
      `New-CsGroupPolicyAssignment -GroupId '${sales}' -PolicyType OnlineVoiceRoutingPolicy -PolicyName 'France'`,
      `New-CsGroupPolicyAssignment -GroupId '${support}' -PolicyType OnlineVoiceRoutingPolicy -PolicyName 'France' -Rank 1`,
      `Set-CsGroupPolicyAssignment -GroupId '${sales}' -PolicyType OnlineVoiceRoutingPolicy -Rank 1`,
      `Remove-CsGroupPolicyAssignment -GroupId '${support}' -PolicyType OnlineVoiceRoutingPolicy`,
      `Remove-CsGroupPolicyAssignment -GroupId '${sales}' -PolicyType OnlineVoiceRoutingPolicy`,
      `Remove-CsOnlineVoiceRoutingPolicy -Identity 'France'`,
      `Remove-CsTeamsCallingPolicy -Identity 'NoForward'`,
      // A route that still lists a gateway stays (the cleanup scripts' "OnlinePstnGatewayList.count -eq 0").
      `Set-CsOnlineVoiceRoute -Identity 'Local' -OnlinePstnGatewayList @{Remove='gw.example.com'}`,
      `Remove-CsOnlineVoiceRoute -Identity 'Local'`,
      `Set-CsOnlinePstnUsage -Identity Global -Usage @{Remove='Local'}`,
      `Remove-CsOnlinePSTNGateway -Identity 'gw.example.com'`,
      `Remove-CsTenantTrustedIPAddress -Identity '203.0.113.7'`,
      `Remove-CsTenantNetworkSubnet -Identity '10.1.0.0'`,
      `Remove-CsTenantNetworkSite -Identity 'Paris'`,
      `Remove-CsTenantNetworkRegion -Identity 'EMEA'`,
    ];
    const used = new Set<string>();
    for (const line of lines) {
      const command = parsePowerShellLine(line);
      used.add(command.cmdlet.toLowerCase());
      const result = await executeTeamsCommand(teams, command);
      expect(result.changed, line).toBe(true);
    }
    const getters = SUPPORTED_CMDLETS.filter((c) => c.startsWith('Get-'));
    for (const cmdlet of getters) {
      const result = await executeTeamsCommand(teams, { cmdlet, params: {} });
      expect(result.changed).toBe(false);
      used.add(cmdlet.toLowerCase());
    }
    expect(
      (await executeTeamsCommand(teams, { cmdlet: 'Get-CsOnlinePstnUsage', params: {} })).result,
    ).toEqual({
      Identity: 'Global',
      Usage: ['International'],
    });
    expect(
      (await executeTeamsCommand(teams, { cmdlet: 'Get-CsTenantDialPlan', params: { Identity: 'FR' } }))
        .result,
    ).toMatchObject({ Identity: 'Tag:FR', Description: 'French numbers' });
    expect(SUPPORTED_CMDLETS.filter((c) => !used.has(c.toLowerCase()))).toEqual([]);
    const snapshot = f.sandbox.teams.snapshot(contoso.tenantId);
    expect(Object.values(snapshot.grants)).toEqual([{ TenantDialPlan: 'Tag:FR' }]);
    expect(snapshot.configurations.TenantNetworkRegion).toEqual([]);
  });

  it('sends a grant back to Global right after another grant, and a dry run shows the grant it will send', async () => {
    const teams = client();
    const user = contoso.admin.userPrincipalName;
    const grant = (name: string) =>
      parsePowerShellLine(`Grant-CsTeamsCallingPolicy -Identity '${user}' -PolicyName ${name}`);
    const effective = async () => (await teams.effectivePolicies(user))?.TeamsCallingPolicy;
    const visibleMs = f.sandbox.teams.timings.grantVisibleMs;
    f.sandbox.teams.timings.grantVisibleMs = 200;
    try {
      await run(teams, `New-CsTeamsCallingPolicy -Identity 'Contract'`);
      expect(await effective()).toBe('Global');

      const dryRun = createTeamsOverlayClient(teams);
      expect(await planTeamsCommand(dryRun, grant(`'Contract'`))).toMatchObject({
        action: 'grant',
        changed: true,
        before: { PolicyType: 'TeamsCallingPolicy', PolicyName: null },
        changes: { PolicyType: 'TeamsCallingPolicy', PolicyName: 'Contract' },
      });
      expect(f.sandbox.requests.list().filter((r) => r.method === 'PATCH')).toEqual([]);

      expect((await executeTeamsCommand(teams, grant(`'Contract'`))).changed).toBe(true);
      // The read still shows Global: the grant back to Global is sent all the same.
      expect(await effective()).toBe('Global');
      const back = await executeTeamsCommand(teams, grant('$null'));
      expect(back).toMatchObject({ changed: true, plan: { action: 'grant', changes: { PolicyName: null } } });
      expect(
        f.sandbox.requests
          .list()
          .filter((r) => r.method === 'PATCH' && r.path.endsWith('/policies/TeamsCallingPolicy'))
          .map((r) => r.status),
      ).toEqual([204, 204]);
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect(await effective()).toBe('Global');
      expect(
        f.sandbox.teams.grants(
          contoso.tenantId,
          findUser(f.sandbox.state.requireTenant(contoso.tenantId), user)?.id ?? '',
        ).TeamsCallingPolicy,
      ).toBeUndefined();
    } finally {
      f.sandbox.teams.timings.grantVisibleMs = visibleMs;
    }
  });

  it('surfaces the service’s referential errors and refuses a New-* that conflicts', async () => {
    const teams = client();
    const unknownGateway = run(
      teams,
      `New-CsOnlineVoiceRoute -Identity 'R' -NumberPattern '.*' -OnlinePstnGatewayList 'nope.example.com'`,
    );
    await expect(unknownGateway).rejects.toBeInstanceOf(TeamsAdminError);
    await expect(unknownGateway).rejects.toMatchObject({
      status: 400,
      transient: false,
      message: expect.stringContaining("PSTN gateway 'nope.example.com' does not exist"),
    });
    await expect(
      run(teams, `New-CsOnlineVoiceRoutingPolicy -Identity 'P' -OnlinePstnUsages 'Missing'`),
    ).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining("PSTN usage 'Missing'"),
    });
    await run(teams, `New-CsOnlinePSTNGateway -Fqdn 'gw.example.com' -SipSignalingPort 5061`);
    await run(teams, `Set-CsOnlinePstnUsage -Identity Global -Usage @{Add='U'}`);
    await run(
      teams,
      `New-CsOnlineVoiceRoute -Identity 'R' -OnlinePstnGatewayList 'gw.example.com' -OnlinePstnUsages 'U' -Priority 1`,
    );
    await expect(run(teams, `Remove-CsOnlinePSTNGateway -Identity 'gw.example.com'`)).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining("OnlineVoiceRoute 'R'"),
    });
    await expect(
      run(teams, `Set-CsOnlinePstnUsage -Identity Global -Usage @{Remove='U'}`),
    ).rejects.toMatchObject({
      status: 400,
    });
    await expect(run(teams, `New-CsOnlineVoiceRoute -Identity 'R' -Priority 5`)).rejects.toMatchObject({
      name: 'TeamsCommandError',
      code: 'AlreadyExists',
      message: expect.stringContaining('Priority is 1, not 5'),
    });
    await expect(run(teams, `Set-CsOnlineVoiceRoute -Identity 'Nope' -Priority 5`)).rejects.toMatchObject({
      code: 'NotFound',
    });
    await expect(run(teams, `Set-CsOnlineVoiceRoute -Identity 'R' -Colour 'red'`)).rejects.toMatchObject({
      code: 'InvalidParameters',
    });
    // Nothing of the refused commands was applied.
    expect(f.sandbox.teams.list(contoso.tenantId, 'OnlineVoiceRoute')).toEqual([
      expect.objectContaining({ Identity: 'R', Priority: 1 }),
    ]);
  });

  it('names the supported cmdlets when one is not', async () => {
    const error = await executeTeamsCommand(client(), {
      cmdlet: 'New-CsOnlineApplicationInstance',
      params: {},
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TeamsCommandError);
    expect(error).toMatchObject({ code: 'UnsupportedCmdlet' });
    expect((error as Error).message).toContain('New-CsOnlinePSTNGateway');
    expect((error as Error).message).toContain('Grant-CsOnlineVoiceRoutingPolicy');
    await expect(
      executeTeamsCommand(client(), { cmdlet: 'New-CsOnlinePstnUsage', params: { Usage: 'x' } }),
    ).rejects.toMatchObject({ code: 'UnsupportedCmdlet' });
  });

  it('retries 429 after Retry-After and 5xx, and gives up with a transient error', async () => {
    const teams = client();
    await teams.list('OnlineVoiceRoute'); // discovery done
    f.sandbox.requests.clear();
    f.sandbox.faults.add({
      pathPattern: '^/teams/Skype\\.Policy/configurations/OnlineVoiceRoute$',
      kind: 'status',
      status: 429,
      retryAfterSeconds: 2,
      times: 2,
    });
    expect(await teams.list('OnlineVoiceRoute')).toEqual([]);
    expect(sleeps).toEqual([2000, 2000]);
    expect(f.sandbox.requests.list().map((r) => r.status)).toEqual([429, 429, 200]);

    sleeps = [];
    // A 5xx without Retry-After (a 503 carries one, as the services send it): exponential backoff.
    f.sandbox.faults.add({ pathPattern: '^/teams/Skype\\.Policy/', kind: 'status', status: 504 });
    const failed = await teams.list('OnlinePSTNGateway').catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(TeamsAdminError);
    expect(failed).toMatchObject({ status: 504, transient: true, code: 'GatewayTimeout' });
    expect(sleeps).toEqual([1000, 2000, 4000]);
  });

  it('keeps tenants apart and refuses tokens of the wrong audience', async () => {
    await run(client(), `New-CsTenantNetworkRegion -NetworkRegionID 'Contoso-only'`);
    expect(await client(DEMO.customers.fabrikam.tenantId).list('TenantNetworkRegion')).toEqual([]);
    const graphAudience = createTeamsAdminClient({
      baseUrl: `${f.sandbox.url}/teams`,
      credential: {
        getToken: async () => ({
          token: await f.sandbox.issueToken({
            tenantId: contoso.tenantId,
            audience: 'https://graph.microsoft.com',
          }),
          expiresOnTimestamp: Date.now() + 3600_000,
        }),
      },
      transport: f.transport,
    });
    await expect(graphAudience.list('TenantNetworkRegion')).rejects.toMatchObject({
      status: 401,
      transient: false,
    });
  });
});
