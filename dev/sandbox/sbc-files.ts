import type { SbcConfiguration, SbcDevice, SbcDialPlanRule } from './sbc-state.js';

/** The header of the dial plan file (CSV) as the sandbox reads and writes it. */
export const DIAL_PLAN_CSV_HEADER = 'DialPlanName,Name,Prefix,Tag';

/** `GET /api/v1/files/ini`: the device's configuration in the ini file's table syntax. */
export function renderIni(device: SbcDevice): string {
  const config = device.running;
  const lines: string[] = [
    ';**************',
    ';** Ini File **',
    ';**************',
    '',
    ';Board: Mediant VE SBC',
    `;Serial Number: ${device.serialNumber}`,
    ';Software Version: 7.40A.500.123',
    `;Device name: ${device.name}`,
    '',
    '[SYSTEM Params]',
    '',
    'SyslogServerIP = 0.0.0.0',
    '',
    '[Voice Engine Params]',
    '',
    'ENABLEMEDIASECURITY = 1',
    '',
  ];
  const table = (name: string, columns: readonly string[], rows: ReadonlyArray<[number, unknown[]]>) => {
    lines.push(`[ ${name} ]`, '', `FORMAT Index = ${columns.join(', ')};`);
    for (const [index, values] of rows) lines.push(`${name} ${index} = ${values.map(iniValue).join(', ')};`);
    lines.push('', `[ \\${name} ]`, '', '');
  };
  table(
    'SIPInterface',
    ['InterfaceName', 'NetworkInterface', 'ApplicationType', 'UDPPort', 'TCPPort', 'TLSPort'],
    config.sipInterfaces.map((s) => [
      s.index,
      [s.name, s.networkInterface, 2, s.udpPort, s.tcpPort, s.tlsPort],
    ]),
  );
  table(
    'ProxySet',
    ['ProxyName', 'SBCIPv4SIPInterfaceName', 'EnableProxyKeepAlive'],
    config.proxySets.map((p) => [p.index, [p.name, p.sipInterfaceName, 1]]),
  );
  let proxyIpRow = 0;
  table(
    'ProxyIp',
    ['ProxySetId', 'ProxyIpIndex', 'IpAddress', 'TransportType'],
    config.proxySets.flatMap((p) =>
      p.proxyAddresses.map((address, i): [number, unknown[]] => [
        proxyIpRow++,
        [p.index, i, address, { udp: 0, tcp: 1, tls: 2 }[p.transportType]],
      ]),
    ),
  );
  table(
    'IpProfile',
    ['ProfileName'],
    config.ipProfiles.map((p) => [p.index, [p.name]]),
  );
  table(
    'CallAdmissionControlProfile',
    ['Name'],
    config.cacProfiles.map((c) => [c.index, [c.name]]),
  );
  table(
    'CallAdmissionControlRule',
    ['AdmissionProfile', 'RuleIndex', 'RequestType', 'RequestDirection', 'Limit'],
    config.cacProfiles.map((c) => [c.index, [c.name, 0, 0, 2, c.maxSessions]]),
  );
  // Column names as a real 7.40A ini spells them (contracts/audiocodes/README.md: the IP Profile is `ProfileName`).
  table(
    'IPGroup',
    [
      'Type',
      'Name',
      'ProxySetName',
      'ProfileName',
      'MediaRealm',
      'SIPGroupName',
      'ClassifyByProxySet',
      'AlwaysUseSourceAddr',
      'CallSetupRulesSetId',
      'AdmissionProfile',
      'Tags',
      'ContactName',
    ],
    config.ipGroups.map((g) => [
      g.index,
      [
        { server: 0, user: 1, gateway: 2 }[g.type],
        g.name,
        g.proxySetName,
        g.ipProfileName,
        g.mediaRealmName,
        g.sipGroupName,
        g.classifyByProxySet ? 1 : 0,
        g.alwaysUseSourceAddr ? 1 : 0,
        g.callSetupRulesSetId,
        g.cacProfile,
        g.tags,
        g.localHostName,
      ],
    ]),
  );
  table(
    'Account',
    [
      'AccountName',
      'ServedIPGroupName',
      'ServingIPGroupName',
      'Username',
      'Password',
      'HostName',
      'ContactUser',
      'Register',
      'ApplicationType',
    ],
    config.accounts.map((a) => [
      a.index,
      [
        a.accountName,
        a.servedIpGroupName,
        a.servingIpGroupName,
        a.userName,
        '*',
        a.hostName,
        a.contactUser,
        { 'no-reg': 0, reg: 1, gin: 2 }[a.register],
        a.applicationType === 'sbc' ? 2 : 0,
      ],
    ]),
  );
  table(
    'DialPlan',
    ['Name', 'PrefixCaseSensitivity'],
    config.dialPlans.map((p) => [p.index, [p.name, 0]]),
  );
  // No DialPlanRule table: a real 7.40A ini has none (dev/contracts/specs/audiocodes/README.md); the rules are in
  // the CLI script (`renderRunningConfig`) and the dial plan file (`renderDialPlanCsv`).
  return lines.join('\r\n');
}

function iniValue(value: unknown): string {
  if (typeof value === 'number') return String(value);
  return `"${String(value).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * `show running-config` and `GET /api/v1/files/cliScript`: the CLI view of the same tables (the parts the templates
 * touch), nested by indentation as a device prints it; the dial-plan rules with their row indexes.
 */
export function renderRunningConfig(config: SbcConfiguration): string {
  const out: string[] = ['configure voip'];
  for (const g of config.ipGroups) {
    out.push(
      ` ip-group ${g.index}`,
      `  name ${cliQuote(g.name)}`,
      `  type ${g.type}`,
      `  proxy-set-name ${cliQuote(g.proxySetName)}`,
      `  ip-profile-name ${cliQuote(g.ipProfileName)}`,
      ...(g.tags ? [`  tags ${cliQuote(g.tags)}`] : []),
      `  classify-by-proxy-set ${g.classifyByProxySet ? 'enable' : 'disable'}`,
      `  call-setup-rules-set-id ${g.callSetupRulesSetId}`,
      ...(g.cacProfile ? [`  cac-profile ${cliQuote(g.cacProfile)}`] : []),
      '  activate',
      ' exit',
    );
  }
  for (const p of config.dialPlans) {
    out.push(` sbc dial-plan ${p.index}`, `  name ${cliQuote(p.name)}`, '  activate');
    for (const r of [...p.rules].sort((a, b) => a.index - b.index)) {
      out.push(
        `  dial-plan-rule ${r.index}`,
        `   name ${cliQuote(r.name)}`,
        `   prefix ${cliQuote(r.prefix)}`,
      );
      out.push(`   tag ${cliQuote(r.tag)}`, '   activate', '  exit');
    }
    out.push(' exit');
  }
  out.push('exit');
  return out.join('\n');
}

/** A CLI value in double quotes, as the CLI reads it back: `\"` a quote, `\\` a backslash. */
function cliQuote(value: string): string {
  return /[\\"]/.test(value) ? `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"` : `"${value}"`;
}

/** The dial plan file: one CSV line per rule, dial plans in index order. */
export function renderDialPlanCsv(config: SbcConfiguration): string {
  const rows = config.dialPlans.flatMap((p) =>
    [...p.rules].sort((a, b) => a.index - b.index).map((r) => [p.name, r.name, r.prefix, r.tag]),
  );
  return [DIAL_PLAN_CSV_HEADER, ...rows.map((row) => row.map(csvField).join(','))].join('\r\n') + '\r\n';
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export class DialPlanFileError extends Error {
  override readonly name = 'DialPlanFileError';
}

/** Reads a dial plan file; rules per dial plan name in file order. Throws `DialPlanFileError` naming the line. */
export function parseDialPlanCsv(text: string): Map<string, Array<Omit<SbcDialPlanRule, 'index'>>> {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = (lines[0] ?? '').trim();
  if (header.toLowerCase() !== DIAL_PLAN_CSV_HEADER.toLowerCase()) {
    throw new DialPlanFileError(`Line 1: expected the header '${DIAL_PLAN_CSV_HEADER}'.`);
  }
  const plans = new Map<string, Array<Omit<SbcDialPlanRule, 'index'>>>();
  lines.slice(1).forEach((line, i) => {
    if (line.trim() === '') return;
    const fields = parseCsvLine(line, i + 2);
    const [plan, name, prefix, tag] = fields;
    if (fields.length !== 4 || !plan || prefix === undefined || prefix === '') {
      throw new DialPlanFileError(`Line ${i + 2}: expected DialPlanName,Name,Prefix,Tag with a prefix.`);
    }
    const rules = plans.get(plan) ?? [];
    rules.push({ name: name ?? '', prefix, tag: tag ?? '' });
    plans.set(plan, rules);
  });
  return plans;
}

function parseCsvLine(line: string, lineNumber: number): string[] {
  const fields: string[] = [];
  let index = 0;
  for (;;) {
    let value = '';
    if (line[index] === '"') {
      index += 1;
      for (;;) {
        if (index >= line.length) throw new DialPlanFileError(`Line ${lineNumber}: unterminated quote.`);
        if (line[index] === '"') {
          if (line[index + 1] === '"') {
            value += '"';
            index += 2;
            continue;
          }
          index += 1;
          break;
        }
        value += line[index];
        index += 1;
      }
    } else {
      while (index < line.length && line[index] !== ',') {
        value += line[index];
        index += 1;
      }
    }
    fields.push(value.trim());
    if (index >= line.length) return fields;
    if (line[index] !== ',')
      throw new DialPlanFileError(`Line ${lineNumber}: unexpected character after a quote.`);
    index += 1;
  }
}

/** The named part of a `multipart/form-data` body, as text; undefined when absent or not multipart. */
export function multipartField(
  contentType: string | undefined,
  body: Buffer,
  field: string,
): string | undefined {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  const marker = boundary?.[1] ?? boundary?.[2];
  if (!marker || !/^multipart\/form-data/i.test(contentType ?? '')) return undefined;
  const text = body.toString('utf8');
  for (const part of text.split(`--${marker}`).slice(1)) {
    if (part.startsWith('--')) break;
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const headers = part.slice(0, split);
    const name = /content-disposition:[^\r\n]*\bname="([^"]*)"/i.exec(headers)?.[1];
    if (name !== field) continue;
    return part.slice(split + 4).replace(/\r\n$/, '');
  }
  return undefined;
}
