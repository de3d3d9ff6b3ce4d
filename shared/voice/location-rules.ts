import type { FieldError } from '../errors/domain-errors.js';
import type {
  EmergencyNumber,
  VoiceConfig,
  VoiceKind,
  VoiceObjectChange,
  VoiceState,
} from './voice-change.js';

/**
 * What Teams would refuse in location-based routing's objects (network regions, sites, subnets, trusted IPs) and the
 * emergency policies a site names, checked before anything is queued; and who still names such an object, so that
 * its removal is refused with the references named. Sources (learn.microsoft.com/powershell/module/microsoftteams):
 * - New-CsTenantNetworkSite: "Each network site must be associated with a network region";
 * - New-CsTenantNetworkSubnet: "Each internal subnet may only be associated with one site … multiple sites may not be
 *   associated with a same subnet", "Both IPv4 and IPv6 subnets are supported"; Set-CsTenantNetworkSubnet: "IPv4
 *   format subnet accepts maskbits from 0 to 32 inclusive" (IPv6: 0 to 128);
 * - New-CsTenantTrustedIPAddress: "Both IPv4 and IPv6 trusted IP addresses are supported", MaskBits as for subnets;
 * - New-CsTeamsEmergencyCallRoutingPolicy: "the OnlinePSTNUsage specified … must previously exist";
 *   New-CsTeamsEmergencyNumber: a dial mask is "list of numbers separated by semicolon … from 1 to 10 digits".
 * The manual (manual-part-D §1.9–1.11) adds "you can't associate multiple sites with the same subnet" and "the
 * subnet ID must match the client network ID" (L14366): a subnet is given by its network address.
 */

const LOCATION_KINDS: readonly VoiceKind[] = [
  'network-regions',
  'network-sites',
  'network-subnets',
  'trusted-ips',
  'emergency-calling-policies',
  'emergency-call-routing-policies',
];

export const isLocationKind = (kind: VoiceKind) => LOCATION_KINDS.includes(kind);

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const stripTag = (identity: string) => identity.replace(/^tag:/i, '');
const text = (value: unknown) => (typeof value === 'string' ? value : '');

/** An IP address as a number of its family's width, or null when it is not an IPv4 or IPv6 address. */
export interface IpAddress {
  readonly family: 4 | 6;
  readonly value: bigint;
}

const BITS = { 4: 32, 6: 128 } as const;

function ipv4(textValue: string): bigint | null {
  const parts = textValue.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    // No leading zeros: Teams (.NET's IPAddress) would read 010 as octal on some paths; refuse the ambiguity.
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return null;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function ipv6(textValue: string): bigint | null {
  if (!/^[0-9a-f:.]+$/i.test(textValue) || textValue.split('::').length > 2) return null;
  let tail4: bigint | null = null;
  let body = textValue;
  const lastColon = textValue.lastIndexOf(':');
  if (textValue.includes('.')) {
    tail4 = ipv4(textValue.slice(lastColon + 1));
    if (tail4 === null) return null;
    body = `${textValue.slice(0, lastColon + 1)}0:0`;
  }
  const [head = '', rest] = body.split('::');
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':'));
  const left = groupsOf(head);
  const right = rest === undefined ? [] : groupsOf(rest);
  const missing = 8 - left.length - right.length;
  if (rest === undefined ? missing !== 0 : missing < 1) return null;
  const groups = [...left, ...Array<string>(rest === undefined ? 0 : missing).fill('0'), ...right];
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return null;
    value = (value << 16n) | BigInt(`0x${group}`);
  }
  return tail4 === null ? value : (value & ~0xffffffffn) | tail4;
}

export function parseIp(address: string): IpAddress | null {
  const v4 = ipv4(address);
  if (v4 !== null) return { family: 4, value: v4 };
  const v6 = address.includes(':') ? ipv6(address) : null;
  return v6 === null ? null : { family: 6, value: v6 };
}

function networkOf(ip: IpAddress, maskBits: number): bigint {
  const host = BigInt(BITS[ip.family] - maskBits);
  return (ip.value >> host) << host;
}

function formatIp(ip: IpAddress): string {
  if (ip.family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((ip.value >> shift) & 0xffn)).join('.');
  }
  const groups = Array.from({ length: 8 }, (_, i) =>
    ((ip.value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16),
  );
  return groups.join(':');
}

interface Network {
  readonly identity: string;
  readonly ip: IpAddress;
  readonly maskBits: number;
  readonly site: string;
}

function networksOf(config: VoiceConfig, policyName: string): Network[] {
  return config.of(policyName).flatMap((object) => {
    const ip = parseIp(object.identity);
    const maskBits = object.data.MaskBits;
    if (!ip || typeof maskBits !== 'number') return [];
    return [{ identity: object.identity, ip, maskBits, site: text(object.data.NetworkSiteID) }];
  });
}

const overlaps = (a: Network, b: Pick<Network, 'ip' | 'maskBits'>) => {
  if (a.ip.family !== b.ip.family) return false;
  const bits = Math.min(a.maskBits, b.maskBits);
  return networkOf(a.ip, bits) === networkOf(b.ip, bits);
};

/** The address and its MaskBits: a valid IPv4 or IPv6 address with MaskBits in its family's range. */
function addressErrors(
  identity: string,
  maskBits: unknown,
  what: string,
): { errors: FieldError[]; ip: IpAddress | null } {
  const errors: FieldError[] = [];
  const ip = parseIp(identity);
  if (!ip) {
    errors.push({
      field: 'identity',
      in: 'body',
      code: 'ip_invalid',
      message: `"${identity}" is not an IPv4 or IPv6 address (the ${what}).`,
    });
    return { errors, ip };
  }
  if (typeof maskBits === 'number' && (maskBits < 0 || maskBits > BITS[ip.family])) {
    errors.push({
      field: 'maskBits',
      in: 'body',
      code: 'mask_out_of_range',
      message: `An IPv${ip.family} ${what} takes a Network Range (MaskBits) from 0 to ${BITS[ip.family]}.`,
    });
  }
  return { errors, ip };
}

/** The per-field problems of one change of a location-based routing kind, against the configuration after it. */
export function locationErrorsOf(
  config: VoiceConfig,
  after: VoiceConfig,
  change: VoiceObjectChange & { readonly after: VoiceState },
): FieldError[] {
  const errors: FieldError[] = [];
  const error = (field: string, code: string, message: string) =>
    errors.push({ field, in: 'body', code, message });
  const state = change.after;
  // An empty policy name, or Global, is the org-wide default ("Global (Org-wide default)" in the manual's site form).
  const named = (kind: VoiceKind, value: unknown) => {
    const name = text(value);
    const policy = kind === 'emergency-calling-policies' || kind === 'emergency-call-routing-policies';
    return (
      (policy && (name === '' || same(stripTag(name), 'Global'))) || after.find(kind, name) !== undefined
    );
  };
  switch (change.kind) {
    case 'emergency-calling-policies':
    case 'emergency-call-routing-policies':
      if (same(change.identity, 'Global') && config.state(change.kind, change.identity) === null) {
        error('identity', 'name_taken', 'Global is the tenant-wide default policy; it always exists.');
      }
      if (change.kind === 'emergency-call-routing-policies')
        errors.push(...emergencyNumberErrors(after, state));
      break;
    case 'network-sites':
      if (!named('network-regions', state.networkRegionId)) {
        error(
          'networkRegionId',
          'region_unknown',
          `The tenant has no network region "${text(state.networkRegionId)}"; add it first (Manage Regions > New Region).`,
        );
      }
      for (const [field, kind] of [
        ['emergencyCallingPolicy', 'emergency-calling-policies'],
        ['emergencyCallRoutingPolicy', 'emergency-call-routing-policies'],
      ] as const) {
        if (!named(kind, state[field])) {
          error(
            field,
            'policy_unknown',
            `The tenant has no ${kind === 'emergency-calling-policies' ? 'emergency calling policy' : 'emergency call routing policy'} "${text(state[field])}".`,
          );
        }
      }
      break;
    case 'network-subnets': {
      const { errors: invalid, ip } = addressErrors(change.identity, state.maskBits, 'subnet');
      errors.push(...invalid);
      if (!named('network-sites', state.networkSiteId)) {
        error(
          'networkSiteId',
          'site_unknown',
          `The tenant has no network site "${text(state.networkSiteId)}"; each subnet belongs to a network site.`,
        );
      }
      const maskBits = state.maskBits;
      if (!ip || invalid.length > 0 || typeof maskBits !== 'number') break;
      const network = networkOf(ip, maskBits);
      if (network !== ip.value) {
        error(
          'identity',
          'subnet_not_network',
          `${change.identity}/${maskBits} is not a network address: the subnet ID must match the client network ID (${formatIp({ family: ip.family, value: network })}).`,
        );
        break;
      }
      const mine = { ip, maskBits };
      const site = text(state.networkSiteId);
      for (const other of networksOf(after, 'TenantNetworkSubnet')) {
        if (same(other.identity, change.identity) || !overlaps(other, mine)) continue;
        if (other.maskBits === maskBits) {
          error(
            'identity',
            'duplicate',
            `${change.identity}/${maskBits} is the subnet ${other.identity} already.`,
          );
        } else if (!same(other.site, site)) {
          error(
            'identity',
            'subnet_overlaps',
            `${change.identity}/${maskBits} overlaps ${other.identity}/${other.maskBits} of network site "${other.site}": you can't associate multiple sites with the same subnet.`,
          );
        }
      }
      break;
    }
    case 'trusted-ips': {
      const { errors: invalid, ip } = addressErrors(change.identity, state.maskBits, 'trusted IP address');
      errors.push(...invalid);
      if (!ip) break;
      const twin = networksOf(after, 'TenantTrustedIPAddress').find(
        (other) =>
          !same(other.identity, change.identity) &&
          other.ip.family === ip.family &&
          other.ip.value === ip.value,
      );
      if (twin)
        error(
          'identity',
          'duplicate',
          `${change.identity} is the trusted IP address ${twin.identity} already.`,
        );
      break;
    }
    default:
      break;
  }
  return errors;
}

/** Each emergency number's usage exists; a dial string is listed once in the policy. */
function emergencyNumberErrors(after: VoiceConfig, state: VoiceState): FieldError[] {
  const numbers = (
    Array.isArray(state.emergencyNumbers) ? state.emergencyNumbers : []
  ) as readonly EmergencyNumber[];
  const usages = after.usages();
  const errors: FieldError[] = [];
  numbers.forEach((number, i) => {
    if (!usages.some((u) => same(u, number.onlinePstnUsage))) {
      errors.push({
        field: `emergencyNumbers.${i}.onlinePstnUsage`,
        in: 'body',
        code: 'usage_unknown',
        message: `"${number.onlinePstnUsage}" is not in the tenant's PSTN usage list; create the usage first.`,
      });
    }
    if (numbers.findIndex((n) => n.emergencyDialString === number.emergencyDialString) !== i) {
      errors.push({
        field: `emergencyNumbers.${i}.emergencyDialString`,
        in: 'body',
        code: 'duplicate',
        message: `The emergency number ${number.emergencyDialString} is listed twice.`,
      });
    }
  });
  return errors;
}

/** Who still names a location-based routing object, in the manual's words. */
export function locationReferencesTo(config: VoiceConfig, change: VoiceObjectChange): string[] {
  const names = (value: unknown) => same(stripTag(text(value)), stripTag(change.identity));
  const scan = (policyName: string, label: string, property: string) =>
    config
      .of(policyName)
      .filter((object) => names(object.data[property]))
      .map((object) => `${label} "${stripTag(object.identity)}"`);
  switch (change.kind) {
    case 'network-regions':
      return scan('TenantNetworkSite', 'network site', 'NetworkRegionID');
    case 'network-sites':
      return [
        ...scan('TenantNetworkSubnet', 'network subnet', 'NetworkSiteID'),
        ...scan('OnlinePSTNGateway', 'PSTN gateway', 'GatewaySiteId'),
      ];
    case 'emergency-calling-policies':
      return scan('TenantNetworkSite', 'network site', 'EmergencyCallingPolicy');
    case 'emergency-call-routing-policies':
      return scan('TenantNetworkSite', 'network site', 'EmergencyCallRoutingPolicy');
    default:
      return [];
  }
}

/** The emergency call routing policies whose numbers route by the usage (their OnlinePSTNUsage). */
export function emergencyUsageReferences(config: VoiceConfig, usage: string): string[] {
  return config
    .of('TeamsEmergencyCallRoutingPolicy')
    .filter((policy) =>
      (Array.isArray(policy.data.EmergencyNumbers) ? (policy.data.EmergencyNumbers as unknown[]) : []).some(
        (number) =>
          typeof number === 'object' &&
          number !== null &&
          same(text((number as Record<string, unknown>).OnlinePSTNUsage), usage),
      ),
    )
    .map((policy) => `emergency call routing policy "${stripTag(policy.identity)}"`);
}
