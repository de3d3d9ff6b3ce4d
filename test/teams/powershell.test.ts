import { describe, expect, it } from 'vitest';
import {
  parsePowerShellLine,
  PowerShellParseError,
  renderPowerShell,
} from '../../shared/teams/powershell.js';
import type { TeamsCommand, TeamsParamValue } from '../../shared/teams/teams-command.js';

describe('renderPowerShell', () => {
  it('writes strings single-quoted, arrays, list edits, booleans, numbers and $null', () => {
    expect(
      renderPowerShell({
        cmdlet: 'New-CsOnlineVoiceRoute',
        params: {
          Identity: "O'Brien route",
          NumberPattern: '.*',
          OnlinePstnGatewayList: { add: ['sbc1.contoso.com'] },
          OnlinePstnUsages: ['Unrestricted', 'Local'],
          Priority: 1,
          Description: null,
        },
      }),
    ).toBe(
      "New-CsOnlineVoiceRoute -Identity 'O''Brien route' -NumberPattern '.*' " +
        "-OnlinePstnGatewayList @{Add='sbc1.contoso.com'} -OnlinePstnUsages 'Unrestricted','Local' -Priority 1 " +
        '-Description $null',
    );
    expect(
      renderPowerShell({
        cmdlet: 'Set-CsOnlinePstnUsage',
        params: { Identity: 'Global', Usage: { add: ['a', 'b'], remove: ['c'] }, Enabled: false },
      }),
    ).toBe("Set-CsOnlinePstnUsage -Identity 'Global' -Usage @{Add='a','b'; Remove='c'} -Enabled $false");
    expect(renderPowerShell({ cmdlet: 'Get-CsOnlinePSTNGateway', params: {} })).toBe(
      'Get-CsOnlinePSTNGateway',
    );
  });

  it('refuses what cannot be a PowerShell line', () => {
    expect(() => renderPowerShell({ cmdlet: 'New-X; rm', params: {} })).toThrow('cmdlet');
    expect(() => renderPowerShell({ cmdlet: 'New-X', params: { 'a b': 1 } })).toThrow('parameter');
    expect(() => renderPowerShell({ cmdlet: 'New-X', params: { N: Number.NaN } })).toThrow();
  });
});

describe('parsePowerShellLine', () => {
  it('reads the default M365 script lines', () => {
    expect(
      parsePowerShellLine('Set-CsOnlinePstnUsage -Identity Global -Usage @{Add="Unrestricted"}'),
    ).toEqual({
      cmdlet: 'Set-CsOnlinePstnUsage',
      params: { Identity: 'Global', Usage: { add: ['Unrestricted'] } },
    });
    expect(
      parsePowerShellLine(
        'New-CsOnlineVoiceRoute -Identity "Unrestricted" -NumberPattern ".*" -OnlinePstnGatewayList @{add="gw.example.com"} -Priority 1 -OnlinePstnUsages @{add="Unrestricted"}',
      ),
    ).toEqual({
      cmdlet: 'New-CsOnlineVoiceRoute',
      params: {
        Identity: 'Unrestricted',
        NumberPattern: '.*',
        OnlinePstnGatewayList: { add: ['gw.example.com'] },
        Priority: 1,
        OnlinePstnUsages: { add: ['Unrestricted'] },
      },
    });
    expect(
      parsePowerShellLine(
        'New-CsOnlinePstnGateway -Fqdn "gw.example.com" -Enabled $true -SipSignalingPort 5061 -ForwardPai $True -MaxConcurrentSessions 100',
      ).params,
    ).toEqual({
      Fqdn: 'gw.example.com',
      Enabled: true,
      SipSignalingPort: 5061,
      ForwardPai: true,
      MaxConcurrentSessions: 100,
    });
    expect(
      parsePowerShellLine('New-CsTenantTrustedIPAddress -IPAddress 169.254.0.1 -MaskBits 32').params,
    ).toEqual({
      IPAddress: '169.254.0.1',
      MaskBits: 32,
    });
  });

  it('reads switches, -Name:value, arrays, @() and empty list edits', () => {
    expect(parsePowerShellLine("Remove-CsOnlineVoiceRoute -Identity 'x' -Force").params).toEqual({
      Identity: 'x',
      Force: true,
    });
    expect(
      parsePowerShellLine("Set-X -Enabled:$false -List a , \"b\",'c' -Empty @() -One @('z') -E @{}").params,
    ).toEqual({
      Enabled: false,
      List: ['a', 'b', 'c'],
      Empty: [],
      One: ['z'],
      E: {},
    });
    expect(parsePowerShellLine("Set-X -Usage @{ Remove = 'a' ; add='b','c' }").params).toEqual({
      Usage: { remove: ['a'], add: ['b', 'c'] },
    });
    expect(parsePowerShellLine('Set-X -Offset -5 -Quote "say ""hi"""').params).toEqual({
      Offset: -5,
      Quote: 'say "hi"',
    });
  });

  it.each([
    ['Get-CsOnlineVoiceRoute | Remove-CsOnlineVoiceRoute', 'Pipes', 24],
    ['New-X -Identity $name', 'Variables', 17],
    ['New-X -Identity a; Remove-X -Identity a', 'semicolons', 18],
    ['New-X -Identity `a', 'Backtick', 17],
    ['New-X -Identity $(Get-Date)', 'Sub-expressions', 17],
    ['New-X -Identity (Get-Date)', 'Sub-expressions', 17],
    ['New-X -Identity "a$b"', 'expanded', 19],
    ['New-X -Identity "a`nb"', 'Backtick', 19],
    ['New-X Unrestricted', 'Positional', 7],
    ['New-X -Identity:', 'needs a value', 17],
    ["New-X -Identity 'open", 'Unterminated', 17],
    ['New-X -A 1 -a 2', 'twice', 12],
    ['if ($x) { New-X }', 'cmdlet', 1],
    ['New-X -Usage @{Add="a"; Drop="b"}', 'Add and Remove', 25],
    ['New-X -Usage @{Add="a"', "Missing '}'", 14],
    ['New-X -Identity a # comment', 'Comments', 19],
    ['New-X -Script {rm}', 'Script blocks', 15],
  ])('refuses %s (%s, column %i)', (line, words, column) => {
    let error: unknown;
    try {
      parsePowerShellLine(line);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PowerShellParseError);
    expect((error as PowerShellParseError).message).toContain(words);
    expect((error as PowerShellParseError).column).toBe(column);
    expect((error as PowerShellParseError).message).toContain(`column ${column}`);
  });
});

describe('round trip: parse(render(c)) equals c', () => {
  // A small deterministic generator, so failures reproduce.
  let seed = 20240611;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const alphabet = [
    ...'abcXYZ019 .-_:*+/\\',
    "'",
    '"',
    '$',
    '`',
    '|',
    ';',
    '#',
    '@',
    '{',
    '}',
    '(',
    ')',
    ',',
    '=',
    'é',
    'ß',
    '漢',
    '\u2019',
    '\u201c',
    '\t',
  ];
  const text = () => Array.from({ length: Math.floor(random() * 12) }, () => pick(alphabet)).join('');
  const strings = () => Array.from({ length: Math.floor(random() * 4) }, text);
  const value = (): TeamsParamValue => {
    switch (Math.floor(random() * 7)) {
      case 0:
        return text();
      case 1:
        return pick([0, 1, 5061, -3, 2.5, 100000, 42]);
      case 2:
        return random() < 0.5;
      case 3:
        return null;
      case 4:
        return strings();
      case 5:
        return { add: strings() };
      default:
        return random() < 0.5 ? { add: strings(), remove: strings() } : { remove: strings() };
    }
  };
  const commands: TeamsCommand[] = Array.from({ length: 500 }, (_, i) => ({
    cmdlet:
      pick(['New', 'Set', 'Remove', 'Get', 'Grant']) +
      '-' +
      pick(['CsOnlineVoiceRoute', 'CsTenantNetworkSite', 'X1']),
    params: Object.fromEntries(
      Array.from({ length: Math.floor(random() * 6) }, (_, j) => [
        `P${i}x${j}${pick(['', 'Name', 'ID'])}`,
        value(),
      ]),
    ),
  }));

  it('holds for 500 generated commands', () => {
    for (const command of commands) {
      const line = renderPowerShell(command);
      expect(parsePowerShellLine(line), line).toEqual(command);
    }
  });
});
