import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SBC } from '../../dev/sandbox/sbc-state.js';
import { type SandboxFixture, startFixture } from './fixtures.js';

const eu1 = DEMO_SBC.devices.eu1;
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('sandbox AudioCodes SBC REST API', () => {
  let f: SandboxFixture;
  const api = (path: string, init: RequestInit & { auth?: string | null } = {}) => {
    const { auth, ...rest } = init;
    const authorization = auth === undefined ? basic(eu1.username, eu1.password) : auth;
    return f.transport.fetch(`${f.sandbox.url}/sbc/${eu1.name}/api/v1${path}`, {
      ...rest,
      headers: { ...(authorization ? { authorization } : {}), ...(rest.headers as Record<string, string>) },
    });
  };
  const script = (text: string) => {
    const form = `--b0undary\r\nContent-Disposition: form-data; name="file"; filename="s.txt"\r\n\r\n${text}\r\n--b0undary--\r\n`;
    return api('/files/cliScript/incremental', {
      method: 'PUT',
      headers: { 'content-type': 'multipart/form-data; boundary=b0undary' },
      body: form,
    });
  };
  const control = (path: string, init: RequestInit = {}) =>
    f.transport.fetch(`${f.sandbox.url}/_sandbox/sbc${path}`, init);

  beforeAll(async () => {
    f = await startFixture();
  });
  afterEach(() => f.sandbox.reset());
  afterAll(() => f.close());

  it('asks for Basic credentials and knows only its devices', async () => {
    const anonymous = await api('/status', { auth: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe(`Basic realm="${eu1.name}"`);
    expect((await api('/status', { auth: basic(eu1.username, 'nope') })).status).toBe(401);
    expect(await (await api('/status')).json()).toMatchObject({
      ipAddress: eu1.ipAddress,
      productType: 'Mediant VE SBC',
      saveNeeded: false,
    });
    expect((await f.transport.fetch(`${f.sandbox.url}/sbc/sbc-xx9/api/v1/status`)).status).toBe(404);
  });

  it('applies an incremental CLI script, answers show commands, and keeps unsaved changes apart until do write', async () => {
    const response = await script(
      [
        'configure voip',
        'ip-group new',
        ' name "acme-c"',
        ' proxy-set-name "Carrier2"',
        ' ip-profile-name "Carrier2"',
        ' activate',
        'exit',
        'do show voip ip-group',
        'exit',
      ].join('\r\n'),
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { description: string; output: string };
    expect(body.output).toMatch(/2 {2}acme-c {2}type=server proxy-set=Carrier2 ip-profile=Carrier2/);
    expect(await (await api('/status')).json()).toMatchObject({ saveNeeded: true });
    const device = (await (await control(`/${eu1.name}`)).json()) as {
      saveNeeded: boolean;
      scriptsApplied: number;
    };
    expect(device).toMatchObject({ saveNeeded: true, scriptsApplied: 1 });
    expect((await script('do write')).status).toBe(200);
    expect(await (await api('/status')).json()).toMatchObject({ saveNeeded: false });
    const running = await script('show running-config');
    expect(((await running.json()) as { output: string }).output).toContain('name "acme-c"');
  });

  it('answers 400 with description and output for a bad script and for a body that is not multipart', async () => {
    const bad = await script('configure voip\nip-group new\n name "x-c"\n proxy-set-name "Missing"\nexit');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      description: "CLI script failed at line 4: Proxy Set 'Missing' does not exist.",
      output: expect.stringContaining("Error: Proxy Set 'Missing' does not exist."),
    });
    const plain = await api('/files/cliScript/incremental', { method: 'PUT', body: 'configure voip' });
    expect(plain.status).toBe(400);
    expect(f.sandbox.sbc.configuration(eu1.name).ipGroups.map((g) => g.name)).toEqual([
      'litware-c',
      'litware-t',
    ]);
  });

  it('edits and removes rows by index and by where, and refuses references to missing IP groups', async () => {
    const ok = await script(
      [
        'configure voip',
        'ip-group 0',
        ' tags "Trunk=changed"',
        'exit',
        'sbc dial-plan where name "CustDialPlan"',
        ' no dial-plan-rule "0"',
        ' dial-plan-rule 1',
        '  tag "other"',
        ' exit',
        'exit',
        'sip-definition proxy-and-registration',
        ' user-info sbc-user-info new',
        '  local-user "5755.pbx.example"',
        '  username "u"',
        '  password secret',
        '  ip-group-name "litware-t"',
        '  activate',
        ' exit',
        'exit',
      ].join('\n'),
    );
    expect(ok.status).toBe(200);
    const config = f.sandbox.sbc.configuration(eu1.name);
    expect(config.ipGroups[0]?.tags).toBe('Trunk=changed');
    expect(f.sandbox.sbc.dialPlanRules(eu1.name)).toEqual([
      { dialPlan: 'CustDialPlan', index: 1, name: 'litware', prefix: '+4420794601', tag: 'other' },
    ]);
    expect(config.userInfos).toEqual([
      {
        index: 0,
        localUser: '5755.pbx.example',
        username: 'u',
        password: 'secret',
        ipGroupName: 'litware-t',
      },
    ]);
    const missing = await script(
      'configure voip\nsip-definition account new\n served-ip-group-name "ghost-t"\nexit',
    );
    expect(await missing.json()).toMatchObject({
      description: expect.stringContaining("line 3: IP Group 'ghost-t' does not exist"),
    });
  });

  it('flips the busy switch through the control API, reads the dial plan, and the ini lists the tables', async () => {
    expect(
      (await control(`/${eu1.name}/busy`, { method: 'PUT', body: JSON.stringify({ busy: true }) })).status,
    ).toBe(200);
    const busy = await script('configure voip\nexit');
    expect(busy.status).toBe(409);
    expect(await busy.json()).toMatchObject({ description: expect.stringContaining('HA synchronization') });
    expect((await control(`/${eu1.name}/busy`, { method: 'PUT', body: '{"busy":"yes"}' })).status).toBe(400);
    f.sandbox.reset();
    expect((await script('configure voip\nexit')).status).toBe(200);

    expect(await (await control(`/${eu1.name}/dialplan`)).json()).toEqual({
      value: [
        {
          dialPlan: 'CustDialPlan',
          index: 0,
          name: 'litware',
          prefix: '+4420794600',
          tag: DEMO_SBC.existingCustomer.gateway,
        },
        {
          dialPlan: 'CustDialPlan',
          index: 1,
          name: 'litware',
          prefix: '+4420794601',
          tag: DEMO_SBC.existingCustomer.gateway,
        },
      ],
    });
    expect(
      ((await (await control('/')).json()) as { value: Array<{ name: string }> }).value.map((d) => d.name),
    ).toEqual(['sbc-eu1', 'sbc-us1']);
    const ini = await (await api('/files/ini')).text();
    for (const table of [
      'SIPInterface',
      'ProxySet',
      'IpProfile',
      'CallAdmissionControlProfile',
      'IPGroup',
      'DialPlan',
    ]) {
      expect(ini).toContain(`[ ${table} ]`);
    }
    // As on a real 7.40A device, the rules are not in the ini but in the CLI script and the dial plan file.
    expect(ini).not.toContain('DialPlanRule');
    const cli = await (await api('/files/cliScript')).text();
    expect(cli).toContain(
      [
        '  dial-plan-rule 1',
        '   name "litware"',
        '   prefix "+4420794601"',
        `   tag "${DEMO_SBC.existingCustomer.gateway}"`,
      ].join('\n'),
    );
    expect(await (await api('/files/dialplan')).text()).toContain(
      `CustDialPlan,litware,+4420794601,${DEMO_SBC.existingCustomer.gateway}`,
    );
    expect(ini).toContain('IPGroup 1 = 0, "litware-t", "Teams", "Teams"');
    // Control traffic is neither logged nor faulted.
    expect(f.sandbox.requests.list().some((r) => r.path.startsWith('/_sandbox'))).toBe(false);
  });
});
