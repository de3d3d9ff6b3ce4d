import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SBC } from '../../dev/sandbox/sbc-state.js';
import { createSbcClient, type SbcClient, SbcError } from '../../shared/sbc/sbc-client.js';
import { carriers, parseSbcIni } from '../../shared/sbc/sbc-config.js';
import { parseCliDialPlans, parseDialPlanFile } from '../../shared/sbc/sbc-dial-plans.js';
import { type SandboxFixture, startFixture } from '../sandbox/fixtures.js';
import { scenario7, scenario7Cleanup } from './scenario.js';

const eu1 = DEMO_SBC.devices.eu1;
const GATEWAY = 'siptrunkplus.customers.northwindvoice.example';

describe('SBC client against the sandbox SBC', () => {
  let f: SandboxFixture;
  const client = (device: { name: string; username: string; password: string } = eu1): SbcClient =>
    createSbcClient({
      baseUrl: f.sandbox.sbc.baseUrl(f.sandbox.url, device.name),
      username: device.username,
      password: device.password,
      transport: f.transport,
    });

  beforeAll(async () => {
    f = await startFixture();
  });
  afterEach(() => f.sandbox.reset());
  afterAll(() => f.close());

  it('programs a customer with the scenario7 script: IP groups, SIP account, dial-plan rules, saved', async () => {
    const script = scenario7({
      customerId: 'SIPTrunkPlus',
      carrier: 'Carrier1',
      gateway: GATEWAY,
      cacProfile: '10 sessions',
      registration: {
        userName: 'trunkuser',
        password: 'p&ss"w',
        hostName: 'carrier.example',
        mainLine: '+3212345678',
      },
      dialPlans: [
        { name: 'CustDialPlan', prefixes: ['+9723976400', '+6138884445', '+0139123345689'] },
        { name: 'RegisteredUsers', prefixes: ['+44587996[01-20]'] },
      ],
    }).replace('p&ss"w', 'p&ss\\"w');
    const result = await client().runCliScript(script);
    expect(result.description).toContain('successfully');
    expect(result.output).toContain('sbc-eu1(config-voip)# ip-group new');
    expect(result.output).toContain('Writing configuration...done');

    const config = f.sandbox.sbc.configuration(eu1.name);
    expect(config.ipGroups.filter((g) => g.name.startsWith('SIPTrunkPlus'))).toEqual([
      expect.objectContaining({
        name: 'SIPTrunkPlus-c',
        proxySetName: 'Carrier1',
        ipProfileName: 'Carrier1',
        tags: `Trunk=${GATEWAY}`,
        classifyByProxySet: false,
        callSetupRulesSetId: 1,
      }),
      expect.objectContaining({
        name: 'SIPTrunkPlus-t',
        proxySetName: 'Teams',
        ipProfileName: 'Teams',
        localHostName: GATEWAY,
        alwaysUseSourceAddr: true,
        tags: `Tenant=${GATEWAY}`,
        callSetupRulesSetId: 0,
        cacProfile: '10 sessions',
      }),
    ]);
    expect(config.accounts).toEqual([
      expect.objectContaining({
        accountName: 'SIPTrunkPlus',
        servedIpGroupName: 'SIPTrunkPlus-t',
        servingIpGroupName: 'SIPTrunkPlus-c',
        password: 'p&ss"w',
        register: 'reg',
        applicationType: 'sbc',
      }),
    ]);
    expect(f.sandbox.sbc.dialPlanRules(eu1.name).filter((r) => r.name === 'SIPTrunkPlus')).toEqual([
      { dialPlan: 'CustDialPlan', index: 2, name: 'SIPTrunkPlus', prefix: '+9723976400', tag: GATEWAY },
      { dialPlan: 'CustDialPlan', index: 3, name: 'SIPTrunkPlus', prefix: '+6138884445', tag: GATEWAY },
      { dialPlan: 'CustDialPlan', index: 4, name: 'SIPTrunkPlus', prefix: '+0139123345689', tag: GATEWAY },
      {
        dialPlan: 'RegisteredUsers',
        index: 0,
        name: 'SIPTrunkPlus',
        prefix: '+44587996[01-20]',
        tag: GATEWAY,
      },
    ]);
    expect(f.sandbox.sbc.savedConfiguration(eu1.name)).toEqual(config);
    expect((await client().status()).saveNeeded).toBe(false);

    // The ini and the dial plan file show the same.
    const ini = parseSbcIni(await client().getIni());
    expect(ini.ipGroups.map((g) => g.name)).toContain('SIPTrunkPlus-t');
    expect(ini.ipGroups.find((g) => g.name === 'SIPTrunkPlus-t')).toMatchObject({
      type: 'server',
      proxySetName: 'Teams',
      cacProfile: '10 sessions',
      tags: `Tenant=${GATEWAY}`,
    });
    const dialPlan = await client().getDialPlan();
    expect(dialPlan.split('\r\n')).toContain(`CustDialPlan,SIPTrunkPlus,+9723976400,${GATEWAY}`);

    // The cleanup counterpart removes it all; a second cleanup finds nothing and still succeeds.
    await client().runCliScript(scenario7Cleanup('SIPTrunkPlus', ['CustDialPlan', 'RegisteredUsers']));
    const cleaned = f.sandbox.sbc.configuration(eu1.name);
    expect(cleaned.ipGroups.map((g) => g.name)).toEqual(['litware-c', 'litware-t']);
    expect(cleaned.accounts).toEqual([]);
    expect(f.sandbox.sbc.dialPlanRules(eu1.name).map((r) => r.name)).toEqual(['litware', 'litware']);
    const again = await client().runCliScript(scenario7Cleanup('SIPTrunkPlus', ['CustDialPlan']));
    expect(again.output).toContain('No matching ip-group entries.');
  });

  it.each([
    [
      'a proxy set that does not exist',
      (s: string) => s.replace('proxy-set-name "Carrier1"', 'proxy-set-name "Nope"'),
      4,
      "Proxy Set 'Nope'",
    ],
    [
      'an IP profile that does not exist',
      (s: string) => s.replace('ip-profile-name "Teams"', 'ip-profile-name "Nope"'),
      14,
      "IP Profile 'Nope'",
    ],
    [
      'a duplicate ip-group name',
      (s: string) => s.replace('name "Fresh-c"', 'name "litware-c"'),
      3,
      "'litware-c' already exists",
    ],
    [
      'an unknown command',
      (s: string) => s.replace(' activate\nexit', ' frobnicate on\n activate\nexit'),
      9,
      "Invalid command 'frobnicate on'",
    ],
    [
      'a missing dial plan',
      (s: string) => s.replace('sbc dial-plan where name "CustDialPlan"', 'sbc dial-plan where name "Nope"'),
      22,
      'does not exist',
    ],
  ])('refuses a script with %s: 400 naming the line, nothing changed', async (_case, edit, line, words) => {
    const before = f.sandbox.sbc.configuration(eu1.name);
    const script = edit(
      scenario7({
        customerId: 'Fresh',
        carrier: 'Carrier1',
        gateway: GATEWAY,
        dialPlans: [{ name: 'CustDialPlan', prefixes: ['+1555'] }],
      }),
    );
    const error = await client()
      .runCliScript(script)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SbcError);
    expect(error).toMatchObject({ status: 400, transient: false });
    expect((error as SbcError).description).toContain(`line ${line}:`);
    expect((error as SbcError).description).toContain(words);
    expect((error as SbcError).output).toContain('Error:');
    expect(f.sandbox.sbc.configuration(eu1.name)).toEqual(before);
  });

  it('reports a busy device (409) and 5xx as transient; wrong credentials as 401', async () => {
    f.sandbox.sbc.setBusy(eu1.name, true);
    const busy = await client()
      .runCliScript('configure voip\nexit')
      .catch((e: unknown) => e);
    expect(busy).toMatchObject({ name: 'SbcError', status: 409, transient: true });
    await expect(client().putDialPlan('DialPlanName,Name,Prefix,Tag\r\n')).rejects.toMatchObject({
      status: 409,
    });
    expect((await client().status()).highAvailability).toBe('Synchronizing');
    f.sandbox.sbc.setBusy(eu1.name, false);
    await client().runCliScript('configure voip\nexit');

    f.sandbox.faults.add({ pathPattern: '^/sbc/', kind: 'status', status: 503, times: 1 });
    await expect(client().getIni()).rejects.toMatchObject({ status: 503, transient: true });
    await expect(client({ ...eu1, password: 'wrong' }).status()).rejects.toMatchObject({
      status: 401,
      transient: false,
    });
    await expect(client({ ...DEMO_SBC.devices.us1, password: eu1.password }).status()).rejects.toMatchObject({
      status: 401,
    });
  });

  it('reads carriers from the ini and round-trips the dial plan file', async () => {
    expect(carriers(parseSbcIni(await client().getIni()))).toEqual(['Carrier1', 'Carrier2']);
    const us1 = parseSbcIni(await client(DEMO_SBC.devices.us1).getIni());
    expect(carriers(us1)).toEqual(['Carrier1', 'SIPTrunk']);
    expect(us1.cacProfiles.map((c) => c.name)).toEqual(DEMO_SBC.cacProfiles.map((c) => c.name));
    expect(us1.proxySets.find((p) => p.name === 'Teams')?.addresses).toContain(
      'sip.pstnhub.microsoft.com:5061',
    );

    const csv =
      'DialPlanName,Name,Prefix,Tag\r\nCustDialPlan,acme,+3220000,acme.example\r\nNewPlan,"a,b",+1,"x""y"\r\n';
    await client().putDialPlan(csv);
    expect(await client().getDialPlan()).toBe(
      'DialPlanName,Name,Prefix,Tag\r\nCustDialPlan,acme,+3220000,acme.example\r\nNewPlan,"a,b",+1,"x""y"\r\n',
    );
    await expect(client().putDialPlan('Name,Prefix\r\nx,y\r\n')).rejects.toMatchObject({ status: 400 });
  });

  it('reads the dial-plan rules where a device has them: the CLI script with row indexes, the dial plan file', async () => {
    const run = (...lines: string[]) =>
      client().runCliScript(
        ['configure voip', 'sbc dial-plan where name "CustDialPlan"', ...lines, 'exit', 'exit'].join('\n'),
      );
    const gateway = DEMO_SBC.existingCustomer.gateway;
    // A deleted row leaves a gap: the remaining rule keeps index 1, which only the CLI script tells.
    await run(' no dial-plan-rule 0');
    expect(parseCliDialPlans(await client().getCliScript()).rules).toEqual([
      { dialPlan: 'CustDialPlan', index: 1, name: 'litware', prefix: '+4420794601', tag: gateway },
    ]);
    await run(
      ' dial-plan-rule new',
      '  name "pbx"',
      '  prefix "alice\\.pbx"',
      '  tag "say \\"hi\\""',
      ' exit',
    );
    const held = f.sandbox.sbc.dialPlanRules(eu1.name).sort((a, b) => a.index - b.index);
    expect(held.map((r) => `${r.index} ${r.prefix} ${r.tag}`)).toEqual([
      '0 alice\\.pbx say "hi"',
      `1 +4420794601 ${gateway}`,
    ]);
    const cli = parseCliDialPlans(await client().getCliScript());
    expect(cli.plans).toEqual(f.sandbox.sbc.configuration(eu1.name).dialPlans.map((p) => p.name));
    expect(cli.rules).toEqual(held);
    expect(parseDialPlanFile(await client().getDialPlan())).toEqual(
      held.map(({ index: _index, ...rule }) => rule),
    );
  });
});
