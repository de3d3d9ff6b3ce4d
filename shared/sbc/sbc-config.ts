/**
 * Reading an AudioCodes SBC's ini file (`GET /api/v1/files/ini`): the tables the product needs to validate
 * onboarding (IP groups, proxy sets, SIP interfaces, IP profiles, CAC profiles) and the carrier list.
 */

export type IniValue = string | number;

/** One ini table: its FORMAT columns and rows by index. */
export interface IniTable {
  readonly columns: readonly string[];
  readonly rows: ReadonlyArray<{
    readonly index: number;
    readonly values: Readonly<Record<string, IniValue>>;
  }>;
}

export interface SbcIpGroupInfo {
  readonly index: number;
  readonly name: string;
  readonly type: 'server' | 'user' | 'gateway' | 'unknown';
  readonly proxySetName: string;
  readonly ipProfileName: string;
  readonly sipGroupName: string;
  readonly tags: string;
  readonly cacProfile: string;
}

export interface SbcProxySetInfo {
  readonly index: number;
  readonly name: string;
  readonly sipInterfaceName: string;
  readonly addresses: readonly string[];
}

export interface SbcSipInterfaceInfo {
  readonly index: number;
  readonly name: string;
}

export interface SbcIpProfileInfo {
  readonly index: number;
  readonly name: string;
}

export interface SbcCacProfileInfo {
  readonly index: number;
  readonly name: string;
}

export interface SbcConfig {
  readonly ipGroups: readonly SbcIpGroupInfo[];
  readonly proxySets: readonly SbcProxySetInfo[];
  readonly sipInterfaces: readonly SbcSipInterfaceInfo[];
  readonly ipProfiles: readonly SbcIpProfileInfo[];
  readonly cacProfiles: readonly SbcCacProfileInfo[];
  /** The names of the dial plans (the `DialPlan` table); prefixes name one of them. */
  readonly dialPlans: readonly string[];
}

export class SbcIniError extends Error {
  override readonly name = 'SbcIniError';
}

/** Every `[ Table ] … [ \Table ]` block with a FORMAT line, keyed by table name. */
export function parseIniTables(text: string): Map<string, IniTable> {
  const tables = new Map<string, IniTable>();
  let current:
    | { name: string; columns: string[]; rows: Array<{ index: number; values: Record<string, IniValue> }> }
    | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith(';')) return;
    const section = /^\[\s*(\\?)([^\]]+?)\s*\]$/.exec(line);
    if (section) {
      const [, closing, name = ''] = section;
      if (closing) {
        if (current && current.name === name)
          tables.set(current.name, { columns: current.columns, rows: current.rows });
        current = undefined;
      } else {
        current = { name, columns: [], rows: [] };
      }
      return;
    }
    if (!current) return;
    const format = /^FORMAT\s+Index\s*=\s*(.*?);?$/i.exec(line);
    if (format) {
      current.columns = (format[1] ?? '')
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean);
      return;
    }
    const row = new RegExp(`^${escapeRegExp(current.name)}\\s+(\\d+)\\s*=\\s*(.*?);?$`).exec(line);
    if (!row) return;
    const values = splitValues(row[2] ?? '', i + 1);
    const record: Record<string, IniValue> = {};
    current.columns.forEach((column, c) => {
      const value = values[c];
      if (value !== undefined) record[column] = value;
    });
    current.rows.push({ index: Number(row[1]), values: record });
  });
  return tables;
}

/** The tables the product reads, typed; absent tables are empty. */
export function parseSbcIni(text: string): SbcConfig {
  const tables = parseIniTables(text);
  const rows = (name: string) => tables.get(name)?.rows ?? [];
  const str = (values: Readonly<Record<string, IniValue>>, column: string) => {
    const value = values[column];
    return value === undefined ? '' : String(value);
  };
  const proxyIps = rows('ProxyIp');
  return {
    sipInterfaces: rows('SIPInterface').map((r) => ({
      index: r.index,
      name: str(r.values, 'InterfaceName'),
    })),
    proxySets: rows('ProxySet').map((r) => ({
      index: r.index,
      name: str(r.values, 'ProxyName'),
      sipInterfaceName: str(r.values, 'SBCIPv4SIPInterfaceName'),
      addresses: proxyIps
        .filter((ip) => String(ip.values.ProxySetId) === String(r.index))
        .map((ip) => str(ip.values, 'IpAddress')),
    })),
    ipProfiles: rows('IpProfile').map((r) => ({ index: r.index, name: str(r.values, 'ProfileName') })),
    cacProfiles: rows('CallAdmissionControlProfile').map((r) => ({
      index: r.index,
      name: str(r.values, 'Name'),
    })),
    dialPlans: rows('DialPlan')
      .map((r) => str(r.values, 'Name'))
      .filter((name) => name !== ''),
    ipGroups: rows('IPGroup').map((r) => ({
      index: r.index,
      name: str(r.values, 'Name'),
      type: (['server', 'user', 'gateway'] as const)[Number(r.values.Type)] ?? 'unknown',
      proxySetName: str(r.values, 'ProxySetName'),
      ipProfileName: str(r.values, 'ProfileName'),
      sipGroupName: str(r.values, 'SIPGroupName'),
      tags: str(r.values, 'Tags'),
      cacProfile: str(r.values, 'AdmissionProfile'),
    })),
  };
}

/** A customer's IP Groups as `sbc-scenario7` names them: `<CustomerId>-c` (carrier) and `<CustomerId>-t` (Teams). */
export function customerIpGroups(customerId: string): readonly [string, string] {
  return [`${customerId}-c`, `${customerId}-t`];
}

/** The customer's IP Groups the SBC holds: a customer with any is programmed already. */
export function customerIpGroupsPresent(config: SbcConfig, customerId: string): string[] {
  const wanted = customerIpGroups(customerId).map((n) => n.toLowerCase());
  return config.ipGroups.map((g) => g.name).filter((n) => wanted.includes(n.toLowerCase()));
}

/**
 * The carriers of an SBC: names configured as SIP Interface, Proxy Set and IP Profile at once (the manual's
 * rule), without the Teams leg (`teamsLeg`, "Teams" by default), in proxy-set order.
 */
export function carriers(config: SbcConfig, options: { readonly teamsLeg?: string | null } = {}): string[] {
  const teamsLeg = options.teamsLeg === undefined ? 'Teams' : options.teamsLeg;
  const interfaces = new Set(config.sipInterfaces.map((s) => s.name));
  const profiles = new Set(config.ipProfiles.map((p) => p.name));
  return [
    ...new Set(
      config.proxySets
        .map((p) => p.name)
        .filter((name) => name !== '' && name !== teamsLeg && interfaces.has(name) && profiles.has(name)),
    ),
  ];
}

/** Comma-separated ini values: numbers bare, strings in double quotes (`\"` and `\\` escaped). */
function splitValues(text: string, line: number): IniValue[] {
  const values: IniValue[] = [];
  let index = 0;
  const skip = () => {
    while (text[index] === ' ' || text[index] === '\t') index += 1;
  };
  for (;;) {
    skip();
    if (index >= text.length) return values;
    if (text[index] === '"') {
      index += 1;
      let value = '';
      for (;;) {
        if (index >= text.length) throw new SbcIniError(`Line ${line}: unterminated string.`);
        const char = text[index] ?? '';
        if (char === '\\' && (text[index + 1] === '"' || text[index + 1] === '\\')) {
          value += text[index + 1];
          index += 2;
          continue;
        }
        if (char === '"') {
          index += 1;
          break;
        }
        value += char;
        index += 1;
      }
      values.push(value);
    } else {
      let raw = '';
      while (index < text.length && text[index] !== ',') {
        raw += text[index];
        index += 1;
      }
      const trimmed = raw.trim();
      values.push(/^-?\d+$/.test(trimmed) ? Number(trimmed) : trimmed);
    }
    skip();
    if (text[index] === ',') index += 1;
  }
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
