import { describe, expect, it } from 'vitest';
import { BUILT_IN_TEMPLATES, builtInTemplate } from '../../shared/templates/builtin-templates.js';
import type {
  RenderableTemplate,
  ScriptType,
  TemplateVariable,
} from '../../shared/templates/script-types.js';
import {
  checkTemplate,
  renderM365Commands,
  renderTemplate,
  sbcEscape,
  TemplateRenderError,
} from '../../shared/templates/template-compiler.js';
import { contextPaths, mergeContext, SAMPLE_CONTEXT } from '../../shared/templates/template-context.js';

const sbc = (body: string, variables: TemplateVariable[] = []): RenderableTemplate => ({
  type: 'sbc-onboarding',
  body,
  variables,
});
const m365 = (body: string, type: ScriptType = 'm365-onboarding'): RenderableTemplate => ({
  type,
  body,
  variables: [],
});
const variable = (name: string, extra: Partial<TemplateVariable> = {}): TemplateVariable => ({
  name,
  label: name,
  default: null,
  required: false,
  ...extra,
});
const codes = (template: RenderableTemplate) => checkTemplate(template).map((i) => i.code);

describe('checkTemplate', () => {
  it('accepts every built-in as shipped', () => {
    for (const template of BUILT_IN_TEMPLATES) expect(checkTemplate(template), template.id).toEqual([]);
  });

  it('accepts the manual constructs: #each with this/../@index, #if with {{/if }}, #unless, else, sbcEscape', () => {
    const body = `{{#each SBC.DialPlanPrefixes}}{{@index}} {{this.DialPlanName}} {{DialPlanName}}
{{#each this.Rules}}{{Name}} {{../DialPlanName}} {{../../CustomerId}} {{@root.SBC.SbcSiteName}}{{/each}}
{{else}}none{{/each}}
{{#if SBC.EnableCAC}}{{SBC.CacProfile}}{{else}}no{{/if }}{{#unless PbxUser.delete}}{{sbcEscape PbxUser.E164}}{{/unless}}
{{!-- a comment --}}{{CustomVar.IP-Network}} {{Region.Fqdn}} {{PstnGateway.Fqdn}} {{Carrier.Name}} {{Customer.ShortName}}
{{#each Prefixes}}{{Prefix}}{{/each}}{{#each ToRemove}}{{this.Index}}{{/each}}`;
    expect(checkTemplate(sbc(body, [variable('IP-Network')]))).toEqual([]);
  });

  it('refuses Handlebars syntax errors with the line', () => {
    const [issue, ...rest] = checkTemplate(sbc('configure voip\n{{#if SBC.EnableCAC}}\nx'));
    expect(rest).toEqual([]);
    expect(issue).toMatchObject({ code: 'handlebars_syntax', line: 3 });
    expect(checkTemplate(sbc('{{#each SBC.DialPlanPrefixes}}{{/if}}'))[0]).toMatchObject({
      code: 'handlebars_syntax',
      line: 1,
    });
    expect(codes(sbc('name "{{CustomerId}"'))).toEqual(['handlebars_syntax']);
  });

  it('refuses unknown variables with line and column, including the manual typo OfflinePstnGateway', () => {
    const issues = checkTemplate(sbc('configure voip\n tag "{{SBC.OfflinePstnGateway}}"'));
    expect(issues).toEqual([expect.objectContaining({ code: 'unknown_variable', line: 2, column: 9 })]);
    expect(codes(sbc('{{Customerid}}'))).toEqual(['unknown_variable']);
    expect(codes(sbc('{{CustomVar.localhostname}}'))).toEqual(['unknown_variable']);
    expect(codes(sbc('{{CustomVar.localhostname}}', [variable('localhostname')]))).toEqual([]);
    // Inside #each the context is the item: a root name without ../ is unknown there.
    expect(codes(sbc('{{#each SBC.DialPlanPrefixes}}{{CustomerId}}{{/each}}'))).toEqual(['unknown_variable']);
    expect(codes(sbc('{{../CustomerId}}'))).toEqual(['unknown_variable']);
    expect(codes(sbc('{{@index}}'))).toEqual(['unknown_variable']);
    expect(codes(sbc('{{#if SBC.Nope}}x{{/if}}'))).toEqual(['unknown_variable']);
  });

  it('refuses objects and lists where a value is printed, and #each over a value', () => {
    expect(codes(sbc('{{SBC}}'))).toEqual(['not_a_value']);
    expect(codes(sbc('{{SBC.DialPlanPrefixes}}'))).toEqual(['not_a_value']);
    expect(codes(sbc('{{#each CustomerId}}x{{/each}}'))).toEqual(['not_a_list']);
  });

  it('refuses the retired SysAdmin.O365OnlinePSTNGateway', () => {
    expect(codes(sbc('tag "{{SysAdmin.O365OnlinePSTNGateway}}"'))).toEqual(['retired_variable']);
    expect(codes(m365('New-CsOnlineVoiceRoute -Identity "{{SysAdmin.O365OnlinePSTNGateway}}"'))).toEqual([
      'retired_variable',
    ]);
  });

  it('refuses stray single braces (the old syntax) with their position', () => {
    expect(checkTemplate(sbc('configure voip\n local-host-name "{SBC.OnlinePstnGateway}}"'))).toEqual([
      expect.objectContaining({ code: 'stray_brace', line: 2, column: 19 }),
    ]);
    expect(codes(sbc('tags "tenant-{CustomVar.Variable2}"'))).toEqual(['stray_brace']);
    expect(codes(sbc('name "{{CustomerId}}-c" }'))).toEqual(['stray_brace']);
    // PowerShell has braces of its own; only a brace around a bare name or a lone }} is refused there.
    expect(
      codes(
        m365(
          'New-CsTenantTrustedIPAddress -IPAddress "1.2.3.4" -MaskBits "{CustomVar.Trusted-IP-SubnetBits}"',
        ),
      ),
    ).toEqual(['stray_brace']);
    expect(codes(m365('Set-CsOnlinePstnUsage -Identity Global -Usage @{Add="Unrestricted"}'))).toEqual([]);
    expect(codes(m365('New-CsTenantNetworkSite -NetworkSiteID "{SBC.SbcSiteName}"'))).toEqual([
      'stray_brace',
    ]);
  });

  it('refuses helpers other than sbcEscape, #each, #if and #unless, and partials', () => {
    expect(codes(sbc('{{#with SBC}}{{CarrierID}}{{/with}}'))).toEqual(['helper_not_allowed']);
    expect(codes(sbc('{{lookup SBC "CarrierID"}}'))).toEqual(['helper_not_allowed']);
    expect(codes(sbc('{{log CustomerId}}'))).toEqual(['helper_not_allowed']);
    expect(codes(sbc('{{> header}}'))).toEqual(['helper_not_allowed']);
    expect(codes(sbc('{{sbcEscape CustomerId SBC.CarrierID}}'))).toEqual(['helper_not_allowed']);
    expect(codes(sbc('{{sbcEscape (sbcEscape CustomerId)}}'))).toEqual(['helper_not_allowed']);
    expect(codes(sbc('{{#each SBC.DialPlanPrefixes as |plan|}}{{plan.DialPlanName}}{{/each}}'))).toContain(
      'helper_not_allowed',
    );
    expect(codes(sbc('{{"text"}}'))).toEqual(['helper_not_allowed']);
  });

  it('renders an M365 template with a sample customer and refuses a line that is no Teams command', () => {
    const issues = checkTemplate(
      m365(
        'Set-CsOnlinePstnUsage -Identity Global -Usage @{Add="Unrestricted"}\n' +
          'Get-CsOnlineVoiceRoute | Where-Object {$_.Identity -eq "Unrestricted"}',
      ),
    );
    expect(issues).toEqual([expect.objectContaining({ code: 'command_invalid' })]);
    expect(issues[0]?.message).toContain('line 2');
  });
});

describe('sbcEscape', () => {
  it('leaves plain tokens alone and quotes the rest, escaping quotes and backslashes', () => {
    expect(sbcEscape('41589061234')).toBe('41589061234');
    expect(sbcEscape('ac3cx.elastix.com')).toBe('ac3cx.elastix.com');
    expect(sbcEscape('+41 58 906')).toBe('"+41 58 906"');
    expect(sbcEscape('p&ss"w\\rd')).toBe('"p&ss\\"w\\\\rd"');
    expect(sbcEscape('')).toBe('""');
    expect(sbcEscape(5755)).toBe('5755');
  });

  it('refuses newlines and control characters', () => {
    expect(() => sbcEscape('a\nexit')).toThrow(TemplateRenderError);
    expect(() => sbcEscape('a\u0007')).toThrow(/control character/);
  });
});

describe('renderTemplate', () => {
  it('does not HTML-escape (noEscape) and applies sbcEscape', () => {
    const context = mergeContext(SAMPLE_CONTEXT, {
      SBC: { CarrierPassword: 'p&ss"w' },
      PbxUser: { RegisteringPassword: 'two words' },
    });
    expect(renderTemplate(sbc('password "{{SBC.CarrierPassword}}"'), context)).toBe('password "p&ss\\"w"');
    expect(renderTemplate(sbc('password {{sbcEscape PbxUser.RegisteringPassword}}'), context)).toBe(
      'password "two words"',
    );
  });

  it('fills Customer Variables from the context or their default and refuses a missing required one', () => {
    const template = sbc('{{CustomVar.a}}/{{CustomVar.b}}', [
      variable('a', { required: true }),
      variable('b', { default: 'dflt' }),
    ]);
    expect(renderTemplate(template, { ...SAMPLE_CONTEXT, CustomVar: { a: 'x' } })).toBe('x/dflt');
    expect(() => renderTemplate(template, { ...SAMPLE_CONTEXT, CustomVar: {} })).toThrow(
      expect.objectContaining({ code: 'custom_variable_missing', at: 'a' }),
    );
  });

  it('refuses a context value with a newline, which would smuggle in another command', () => {
    const context = mergeContext(SAMPLE_CONTEXT, { CustomerId: 'evil"\nno ip-group 1' });
    expect(() => renderTemplate(sbc('name "{{CustomerId}}"'), context)).toThrow(
      expect.objectContaining({ code: 'unsafe_value', at: 'CustomerId' }),
    );
  });

  it('renders sbc-scenario7 for the manual example: <CustomerId>-c/-t IP Groups and one rule per prefix', () => {
    const context = mergeContext(SAMPLE_CONTEXT, {
      CustomerId: 'SIPTrunkPlus',
      SBC: {
        CarrierID: 'SIPTrunk',
        OnlinePstnGateway: 'audio0code.onmicrosoft.com',
        EnableCAC: false,
        FlagCarrierRegistration: false,
        DialPlanPrefixes: [
          {
            DialPlanName: 'CustDialPlan',
            Rules: ['+9723976400', '+6138884445', '+0139123345689'].map((prefix) => ({
              Name: 'SIPTrunkPlus',
              Prefix: prefix,
              Tag: 'audio0code.onmicrosoft.com',
            })),
          },
        ],
      },
    });
    const text = renderTemplate(builtInTemplate('sbc-scenario7')!, context);
    expect(text).toContain('ip-group new\n name "SIPTrunkPlus-c"\n proxy-set-name "SIPTrunk"');
    expect(text).toContain('ip-group new\n name "SIPTrunkPlus-t"\n proxy-set-name "Teams"');
    expect(text).not.toContain('cac-profile');
    expect(text).not.toContain('sip-definition account');
    expect(text.match(/dial-plan-rule new/g)).toHaveLength(3);
    expect(text).toContain('  prefix "+6138884445"\n  tag "audio0code.onmicrosoft.com"\n');
    expect(text.trimEnd().endsWith('do write')).toBe(true);
  });
});

describe('renderM365Commands', () => {
  const context = mergeContext(SAMPLE_CONTEXT, { SBC: { OnlinePstnGateway: 'brad.customers.example.com' } });

  it("renders the Default M365 script to the manual's routing: usage, route and policy Unrestricted", () => {
    const commands = renderM365Commands(builtInTemplate('m365-default-onboarding')!, context);
    expect(commands).toEqual([
      { cmdlet: 'Set-CsOnlinePstnUsage', params: { Identity: 'Global', Usage: { add: ['Unrestricted'] } } },
      {
        cmdlet: 'New-CsOnlineVoiceRoute',
        params: {
          Identity: 'Unrestricted',
          NumberPattern: '.*',
          OnlinePstnGatewayList: { add: ['brad.customers.example.com'] },
          Priority: 1,
          OnlinePstnUsages: { add: ['Unrestricted'] },
        },
      },
      {
        cmdlet: 'New-CsOnlineVoiceRoutingPolicy',
        params: { Identity: 'Unrestricted', OnlinePstnUsages: 'Unrestricted' },
      },
    ]);
  });

  it('renders the LBR custom-networks script with its Customer Variables', () => {
    const template = builtInTemplate('m365-lbr-custom-networks-onboarding')!;
    expect(() => renderM365Commands(template, context)).toThrow(
      expect.objectContaining({ code: 'custom_variable_missing' }),
    );
    const commands = renderM365Commands(template, {
      ...context,
      CustomVar: {
        'IP-Network': '192.168.180.0',
        'IP-SubnetBits': '24',
        'Trusted-IP-Network': '217.122.130.60',
      },
    });
    expect(commands.map((c) => c.cmdlet)).toEqual([
      'New-CsTenantNetworkRegion',
      'New-CsTenantNetworkSite',
      'New-CsTenantNetworkSubnet',
      'New-CsTenantTrustedIPAddress',
      'New-CsOnlinePSTNGateway',
      'New-CsTeamsCallingPolicy',
      'Set-CsOnlinePstnUsage',
      'New-CsOnlineVoiceRoute',
      'New-CsOnlineVoiceRoutingPolicy',
    ]);
    expect(commands[2]?.params).toMatchObject({ SubnetID: '192.168.180.0', MaskBits: '24' });
    expect(commands[3]?.params).toMatchObject({ IPAddress: '217.122.130.60', MaskBits: '32' });
  });

  it('names the rendered line that is no Teams command', () => {
    const template = m365('# fine\nNew-CsOnlineVoiceRoute -Identity {{CustomerId}} | Out-Null');
    expect(() => renderM365Commands(template, SAMPLE_CONTEXT)).toThrow(
      expect.objectContaining({ code: 'command_invalid', at: 2 }),
    );
  });
});

describe('the context', () => {
  it('documents every path with the manual names', () => {
    const paths = contextPaths().map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'CustomerId',
        'SBC.OnlinePstnGateway',
        'SBC.DialPlanPrefixes[].Rules[].Prefix',
        'CmdData.DialPlanRules.ToAdd[].Tag',
        'PbxUser.RegisteringPassword',
        'PstnGateway.Fqdn',
      ]),
    );
  });
});
