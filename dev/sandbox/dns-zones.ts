import { randomUUID } from 'node:crypto';
import { SandboxStateError } from './directory-model.js';
import type { DnsSnapshot } from './snapshot-schema.js';

/** The record types of Azure DNS (api-version 2018-05-01) and the ARM property that holds each one's records. */
export const RECORD_PROPERTIES = {
  A: 'ARecords',
  AAAA: 'AAAARecords',
  CAA: 'caaRecords',
  CNAME: 'CNAMERecord',
  MX: 'MXRecords',
  NS: 'NSRecords',
  PTR: 'PTRRecords',
  SOA: 'SOARecord',
  SRV: 'SRVRecords',
  TXT: 'TXTRecords',
} as const;

export type DnsRecordType = keyof typeof RECORD_PROPERTIES;

export function isRecordType(value: string): value is DnsRecordType {
  return Object.hasOwn(RECORD_PROPERTIES, value);
}

/** One record set: the records are kept as ARM's JSON for the type (e.g. `[{ value: ['MS=ms…'] }]` for TXT). */
export interface DnsRecordSet {
  readonly type: DnsRecordType;
  /** The relative name as first written (`@` for the apex); lookups ignore case, as DNS does. */
  readonly name: string;
  readonly etag: string;
  readonly ttl: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly records: unknown;
}

export interface DnsZone {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
  /** The Entra tenant of the subscription: ARM accepts tokens from this tenant only. */
  readonly tenantId: string;
  etag: string;
  readonly recordSets: Map<string, DnsRecordSet>;
  /** Principals (appId or object id, lower case) holding "DNS Zone Contributor" on the zone. */
  readonly contributors: Set<string>;
}

export interface NewDnsZone {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
  readonly tenantId: string;
  readonly contributors?: readonly string[];
}

export interface RecordSetInput {
  readonly ttl: number;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly records: unknown;
}

const key = (type: DnsRecordType, name: string) => `${type}/${name.toLowerCase()}`;

/**
 * Azure DNS zones of the simulated subscriptions, with the role assignments that let principals write them, and
 * TXT records at hosts outside any zone (a customer's external DNS host). Graph's domain verification reads both.
 */
export class DnsZones {
  private readonly zonesByName = new Map<string, DnsZone>();
  /** `{zone}/{principal}` → when `grant` assigned the role in this run (not kept across restarts). */
  private readonly grantTimes = new Map<string, number>();
  private readonly externalTxt = new Map<string, string[]>();

  clear(): void {
    this.zonesByName.clear();
    this.externalTxt.clear();
    this.grantTimes.clear();
  }

  snapshot(): DnsSnapshot {
    return structuredClone({
      zones: this.zones().map((zone) => ({
        subscriptionId: zone.subscriptionId,
        resourceGroup: zone.resourceGroup,
        name: zone.name,
        tenantId: zone.tenantId,
        etag: zone.etag,
        recordSets: [...zone.recordSets.values()].map((r) => ({ ...r, metadata: { ...r.metadata } })),
        contributors: [...zone.contributors],
      })),
      externalTxt: [...this.externalTxt].map(([host, values]) => ({ host, values })),
    });
  }

  restore(snapshot: DnsSnapshot): void {
    this.clear();
    for (const zone of structuredClone(snapshot).zones) {
      this.zonesByName.set(zone.name, {
        ...zone,
        recordSets: new Map(zone.recordSets.map((r) => [key(r.type, r.name), r])),
        contributors: new Set(zone.contributors),
      });
    }
    for (const { host, values } of snapshot.externalTxt) this.externalTxt.set(host, [...values]);
  }

  zones(): DnsZone[] {
    return [...this.zonesByName.values()];
  }

  /** Seeds a zone with the SOA and NS record sets Azure DNS creates at the apex. */
  addZone(input: NewDnsZone): DnsZone {
    const name = input.name.toLowerCase().replace(/\.$/, '');
    if (this.zonesByName.has(name)) throw new SandboxStateError(409, `DNS zone '${name}' already exists.`);
    const zone: DnsZone = {
      subscriptionId: input.subscriptionId.toLowerCase(),
      resourceGroup: input.resourceGroup,
      name,
      tenantId: input.tenantId.toLowerCase(),
      etag: randomUUID(),
      recordSets: new Map(),
      contributors: new Set((input.contributors ?? []).map((p) => p.toLowerCase())),
    };
    this.zonesByName.set(name, zone);
    const nameServers = [1, 2, 3, 4].map((n) => `ns${n}-0${n}.azure-dns.example.`);
    this.upsert(zone, 'SOA', '@', {
      ttl: 3600,
      records: {
        host: nameServers[0],
        email: 'azuredns-hostmaster.microsoft.com',
        serialNumber: 1,
        refreshTime: 3600,
        retryTime: 300,
        expireTime: 2419200,
        minimumTTL: 300,
      },
    });
    this.upsert(zone, 'NS', '@', { ttl: 172800, records: nameServers.map((nsdname) => ({ nsdname })) });
    return zone;
  }

  /** A zone by subscription, resource group (case-insensitive, like ARM) and name. */
  zone(subscriptionId: string, resourceGroup: string, name: string): DnsZone | undefined {
    const zone = this.zonesByName.get(name.toLowerCase().replace(/\.$/, ''));
    if (!zone) return undefined;
    if (zone.subscriptionId !== subscriptionId.toLowerCase()) return undefined;
    return zone.resourceGroup.toLowerCase() === resourceGroup.toLowerCase() ? zone : undefined;
  }

  requireZone(name: string): DnsZone {
    const zone = this.zonesByName.get(name.toLowerCase().replace(/\.$/, ''));
    if (!zone) throw new SandboxStateError(404, `DNS zone '${name}' does not exist.`);
    return zone;
  }

  /** Assigns "DNS Zone Contributor" on the zone to a principal (appId or object id). */
  grant(zoneName: string, principalId: string): void {
    const zone = this.requireZone(zoneName);
    const principal = principalId.toLowerCase();
    if (!zone.contributors.has(principal)) this.grantTimes.set(`${zone.name}/${principal}`, Date.now());
    zone.contributors.add(principal);
  }

  /**
   * When the principal's role on the zone was assigned in this run (epoch ms): the reality profile's RBAC
   * propagation counts from it. Seeded, restored and state-file roles count as assigned long ago.
   */
  grantedAt(zone: DnsZone, principalId: string): number | undefined {
    return this.grantTimes.get(`${zone.name}/${principalId.toLowerCase()}`);
  }

  revoke(zoneName: string, principalId: string): boolean {
    return this.requireZone(zoneName).contributors.delete(principalId.toLowerCase());
  }

  recordSets(zone: DnsZone, type?: DnsRecordType): DnsRecordSet[] {
    return [...zone.recordSets.values()]
      .filter((r) => type === undefined || r.type === type)
      .sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
  }

  recordSet(zone: DnsZone, type: DnsRecordType, name: string): DnsRecordSet | undefined {
    return zone.recordSets.get(key(type, name));
  }

  /** Creates or replaces a record set; every write gets a new etag. */
  upsert(zone: DnsZone, type: DnsRecordType, name: string, input: RecordSetInput): DnsRecordSet {
    const existing = this.recordSet(zone, type, name);
    const recordSet: DnsRecordSet = {
      type,
      name: existing?.name ?? name,
      etag: randomUUID(),
      ttl: input.ttl,
      metadata: { ...(input.metadata ?? {}) },
      records: input.records,
    };
    zone.recordSets.set(key(type, name), recordSet);
    return recordSet;
  }

  delete(zone: DnsZone, type: DnsRecordType, name: string): boolean {
    return zone.recordSets.delete(key(type, name));
  }

  /** The zone that holds `fqdn` (the longest matching zone name) and the relative name in it. */
  locate(fqdn: string): { zone: DnsZone; relativeName: string } | undefined {
    const host = fqdn.toLowerCase().replace(/\.$/, '');
    const zone = this.zones()
      .filter((z) => host === z.name || host.endsWith(`.${z.name}`))
      .sort((a, b) => b.name.length - a.name.length)[0];
    if (!zone) return undefined;
    return { zone, relativeName: host === zone.name ? '@' : host.slice(0, -(zone.name.length + 1)) };
  }

  /** TXT strings a resolver would see at `fqdn`: from a sandbox zone, or from an external host. */
  txtAt(fqdn: string): string[] {
    const host = fqdn.toLowerCase().replace(/\.$/, '');
    const external = this.externalTxt.get(host) ?? [];
    const located = this.locate(host);
    if (!located) return [...external];
    const recordSet = this.recordSet(located.zone, 'TXT', located.relativeName);
    const records = Array.isArray(recordSet?.records) ? (recordSet.records as unknown[]) : [];
    const values = records.flatMap((record) => {
      const value = (record as { value?: unknown }).value;
      return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
    });
    return [...values, ...external];
  }

  /** The IPv4 addresses a resolver would see at `fqdn`: the A records of a sandbox zone. */
  addressesAt(fqdn: string): string[] {
    const located = this.locate(fqdn);
    if (!located) return [];
    const recordSet = this.recordSet(located.zone, 'A', located.relativeName);
    const records = Array.isArray(recordSet?.records) ? (recordSet.records as unknown[]) : [];
    return records.flatMap((record) => {
      const address = (record as { ipv4Address?: unknown }).ipv4Address;
      return typeof address === 'string' ? [address] : [];
    });
  }

  /** TXT records at a host outside the sandbox's zones (the two-step flow's external DNS host); [] removes. */
  setExternalTxt(fqdn: string, values: readonly string[]): void {
    const host = fqdn.toLowerCase().replace(/\.$/, '');
    if (values.length === 0) this.externalTxt.delete(host);
    else this.externalTxt.set(host, [...values]);
  }
}
