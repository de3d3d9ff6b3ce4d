import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../dev/sandbox/sbc-cli.js';
import { emptyConfiguration, type SbcConfiguration } from '../../dev/sandbox/sbc-state.js';
import { parsePowerShellLine } from '../../shared/teams/powershell.js';
import { BUILT_IN_TEMPLATES } from '../../shared/templates/builtin-templates.js';
import { createScriptTemplateService } from '../../shared/templates/script-template-service.js';
import { createScriptTemplateStore } from '../../shared/templates/script-template-store.js';
import {
  checkTemplate,
  powerShellEscape,
  renderTemplate,
  sbcEscape,
} from '../../shared/templates/template-compiler.js';
import { mergeContext, SAMPLE_CONTEXT } from '../../shared/templates/template-context.js';
import { apiClient } from '../support/api-client.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';

let stack: MemoryStack;
let call: ReturnType<typeof apiClient>;

beforeAll(async () => {
  stack = await startMemoryStack();
  call = apiClient(stack.api, () => stack.token());
});
afterAll(() => stack?.close());

const service = () =>
  createScriptTemplateService({ store: createScriptTemplateStore(stack.tables, 'escapingtemplates') });

/** The attacks, and values with every quote and escape character either family knows. */
const CARRIER = 'C1" ip-profile-name "Teams';
const CUSTOM_VARIABLE = '10.0.0.0" -Identity "Global';
const NASTY = `a"b\\c'd\u2018e\u2019f\u201ag\u201bh\u201ci\u201dj\u201ek\`l$m @{x} ;|#`;

/** The SBC twin with the proxy sets, IP profiles and CAC profile the hostile names ask for. */
function sbcWith(names: readonly string[]): SbcConfiguration {
  const config = emptyConfiguration();
  names.forEach((name, index) => {
    config.proxySets.push({ index, name, sipInterfaceName: 'SIP', proxyAddresses: [], transportType: 'tls' });
    config.ipProfiles.push({ index, name });
    config.cacProfiles.push({ index, name, maxSessions: 10 });
  });
  config.dialPlans.push({ index: 0, name: 'CustDialPlan', rules: [] });
  return config;
}

describe('SBC templates escape every value (sbcEscape)', () => {
  it("keeps the issue's carrier, and quotes and backslashes in every field, one CLI value each", async () => {
    const context = mergeContext(SAMPLE_CONTEXT, {
      CustomerId: 'Brad',
      SBC: {
        CarrierID: CARRIER,
        OnlinePstnGateway: 'brad" tags "x',
        EnableCAC: true,
        CacProfile: NASTY,
        FlagCarrierRegistration: true,
        CarrierUserName: 'u" password "p',
        CarrierPassword: 'p\\" host-name "evil.example.com',
        CarrierHostName: 'sip.carrier.example.com',
        CarrierMainLine: '+41" register "no-reg',
        DialPlanPrefixes: [
          {
            DialPlanName: 'CustDialPlan',
            Rules: [{ Name: 'Brad" tag "x', Prefix: '+4158\\', Tag: 'gw" name "other' }],
          },
        ],
      },
    });
    const rendered = await service().render('sbc-scenario7', context);
    const outcome = runCli(sbcWith([CARRIER, 'Teams', NASTY]), rendered.text, 'sbc');
    if (!outcome.ok) throw new Error(`line ${outcome.line}: ${outcome.message}\n${outcome.output}`);
    const carrierSide = outcome.config.ipGroups.find((g) => g.name === 'Brad-c');
    expect(carrierSide).toMatchObject({
      proxySetName: CARRIER,
      ipProfileName: CARRIER,
      tags: 'Trunk=brad" tags "x',
    });
    expect(outcome.config.ipGroups.find((g) => g.name === 'Brad-t')).toMatchObject({ cacProfile: NASTY });
    expect(outcome.config.accounts[0]).toMatchObject({
      userName: 'u" password "p',
      password: 'p\\" host-name "evil.example.com',
      hostName: 'sip.carrier.example.com',
      contactUser: '+41" register "no-reg',
      register: 'reg',
    });
    expect(outcome.config.dialPlans[0]?.rules).toEqual([
      expect.objectContaining({ name: 'Brad" tag "x', prefix: '+4158\\', tag: 'gw" name "other' }),
    ]);
  });

  it('quotes a value of its own and refuses one glued to other text unless it is a plain token', () => {
    const template = { type: 'sbc-onboarding' as const, variables: [] };
    const context = mergeContext(SAMPLE_CONTEXT, { CustomerId: 'two words' });
    expect(renderTemplate({ ...template, body: 'description {{CustomerId}}' }, context)).toBe(
      'description "two words"',
    );
    const glued = () => renderTemplate({ ...template, body: 'name {{CustomerId}}-c' }, context);
    expect(glued).toThrow(expect.objectContaining({ code: 'unsafe_value' }));
    // The message names the variable, never the value (which may be a password).
    expect(glued).toThrow(/\{\{CustomerId\}\} is part of an unquoted word/);
    expect(glued).not.toThrow(/two words/);
    expect(
      renderTemplate({ ...template, body: 'name {{CustomerId}}-c' }, { ...context, CustomerId: 'Brad' }),
    ).toBe('name Brad-c');
    expect(sbcEscape('a"b\\c', 'double')).toBe('a\\"b\\\\c');
  });

  it('prints a value as is only through {{raw x}}, which no built-in template uses', () => {
    const template = { type: 'sbc-onboarding' as const, variables: [] };
    const context = mergeContext(SAMPLE_CONTEXT, { SBC: { CarrierID: 'a" b' } });
    expect(checkTemplate({ ...template, body: 'x "{{raw SBC.CarrierID}}"' })).toEqual([]);
    expect(renderTemplate({ ...template, body: 'x "{{raw SBC.CarrierID}}"' }, context)).toBe('x "a" b"');
    for (const builtIn of BUILT_IN_TEMPLATES) expect(builtIn.body, builtIn.id).not.toMatch(/\{\{\s*raw\b/);
  });
});

describe('M365 templates escape every value (PowerShell single quotes)', () => {
  const LBR_VARIABLES = {
    'IP-Network': CUSTOM_VARIABLE,
    'IP-SubnetBits': "24' -MaskBits '8",
    'Trusted-IP-Network': NASTY,
    'Trusted-IP-SubnetBits': '32\u2019 -Description \u2018x',
  };

  it("keeps the issue's Customer Variable one parameter value, exactly, after parsing the rendered line", async () => {
    const context = {
      ...mergeContext(SAMPLE_CONTEXT, {
        SBC: { SbcSiteName: "O'Brien\u2019s site", OnlinePstnGateway: NASTY },
      }),
      CustomVar: LBR_VARIABLES,
    };
    const rendered = await service().render('m365-lbr-custom-networks-onboarding', context);
    const subnet = rendered.commands?.find((c) => c.command.cmdlet === 'New-CsTenantNetworkSubnet')?.command;
    expect(subnet?.params).toEqual({
      SubnetID: CUSTOM_VARIABLE,
      MaskBits: "24' -MaskBits '8",
      NetworkSiteID: "O'Brien\u2019s site",
      Description: 'Subnet set by AudioCodes LiveCloud',
    });
    const trusted = rendered.commands?.find((c) => c.command.cmdlet === 'New-CsTenantTrustedIPAddress');
    expect(trusted?.command.params).toEqual({
      IPAddress: NASTY,
      MaskBits: '32\u2019 -Description \u2018x',
      Description: 'Trusted IP Address set by AudioCodes LiveCloud',
    });
    const route = rendered.commands?.find((c) => c.command.cmdlet === 'New-CsOnlineVoiceRoute')?.command;
    expect(route?.params.OnlinePstnGatewayList).toEqual({ add: [NASTY] });
    // What people read (the Queued Change) parses back to the same command.
    for (const c of rendered.commands ?? []) expect(parsePowerShellLine(c.powerShell)).toEqual(c.command);
  });

  it('escapes inside a template\'s own "…" too (stored templates written before), refusing $ and the backtick there', async () => {
    const templates = service();
    await templates.create(
      {
        id: 'old-style-subnet',
        name: 'Old style',
        type: 'm365-onboarding',
        description: '',
        body: 'New-CsTenantNetworkSubnet -SubnetID "{{CustomVar.Net}}" -MaskBits {{CustomVar.Bits}} -NetworkSiteID x{{CustomVar.Bits}}\n',
        variables: [
          { name: 'Net', label: 'Net', default: null, required: true },
          { name: 'Bits', label: 'Bits', default: '24', required: false },
        ],
        pairedTemplateId: null,
        isDefault: false,
      },
      'test',
    );
    const context = { ...SAMPLE_CONTEXT, CustomVar: { Net: CUSTOM_VARIABLE } };
    const rendered = await templates.render('old-style-subnet', context);
    expect(rendered.commands?.[0]?.command.params).toEqual({
      SubnetID: CUSTOM_VARIABLE,
      MaskBits: '24',
      NetworkSiteID: 'x24',
    });
    await expect(
      templates.render('old-style-subnet', { ...SAMPLE_CONTEXT, CustomVar: { Net: '$(Remove-Item x)' } }),
    ).rejects.toMatchObject({ code: 'unsafe_value' });
    await expect(
      templates.render('old-style-subnet', { ...SAMPLE_CONTEXT, CustomVar: { Net: 'a', Bits: "8' -Force" } }),
    ).rejects.toMatchObject({ code: 'unsafe_value' });
  });

  it('keeps numbers and booleans of their own typed, and doubles every kind of single quote', () => {
    expect(powerShellEscape(12)).toBe('12');
    expect(powerShellEscape(true)).toBe('$true');
    expect(powerShellEscape("it's \u2018x\u2019")).toBe("'it''s \u2018\u2018x\u2019\u2019'");
    expect(parsePowerShellLine(`Set-X -A ${powerShellEscape(NASTY)}`).params).toEqual({ A: NASTY });
  });

  it('refuses sbcEscape in an M365 template and a block that leaves a quote open', async () => {
    const m365 = { type: 'm365-onboarding' as const, variables: [] };
    expect(
      checkTemplate({ ...m365, body: 'Set-X -A {{sbcEscape CustomerId}}\n' }).map((i) => i.code),
    ).toEqual(['helper_not_allowed']);
    const open = "Set-X -A {{#if SBC.EnableCAC}}'{{/if}}{{CustomerId}}'\n";
    expect(checkTemplate({ ...m365, body: open })).toEqual([
      expect.objectContaining({ code: 'quote_unbalanced', line: 1 }),
    ]);
    expect(() => renderTemplate({ ...m365, body: open }, SAMPLE_CONTEXT)).toThrow(
      expect.objectContaining({ code: 'quote_unbalanced' }),
    );
    const create = await call('POST', '/api/v1/script-templates', {
      json: { id: 'open-quote', name: 'open quote', type: 'm365-onboarding', body: open },
    });
    expect(create.status).toBe(400);
    expect(create.body).toMatchObject({
      code: 'template_invalid',
      errors: [expect.objectContaining({ code: 'quote_unbalanced', line: 1 })],
    });
  });
});

describe('control characters', () => {
  it.each([
    ['U+0085 (NEL)', '\u0085'],
    ['U+2028', '\u2028'],
    ['U+2029', '\u2029'],
    ['U+009B (CSI)', '\u009b'],
    ['U+0080', '\u0080'],
    ['a newline', '\n'],
  ])('refuses %s in a value with a problem+json unsafe_value, as for C0', async (_, char) => {
    const response = await call('POST', '/api/v1/script-templates/sbc-scenario7/preview', {
      json: { context: { SBC: { CarrierID: `C1${char}no ip-group 0` } } },
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.body).toMatchObject({
      code: 'validation_failed',
      errors: [expect.objectContaining({ field: 'context.SBC.CarrierID', code: 'unsafe_value' })],
    });
  });

  it('refuses U+0085 in an M365 Customer Variable', async () => {
    const response = await call(
      'POST',
      '/api/v1/script-templates/m365-lbr-custom-networks-onboarding/preview',
      {
        json: {
          customVariables: {
            'IP-Network': '10.0.0.0\u0085Remove-CsOnlineVoiceRoute -Identity x',
            'IP-SubnetBits': '24',
            'Trusted-IP-Network': '203.0.113.1',
          },
        },
      },
    );
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      errors: [expect.objectContaining({ field: 'context.CustomVar.IP-Network', code: 'unsafe_value' })],
    });
  });
});
