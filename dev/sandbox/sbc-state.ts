/**
 * The simulated AudioCodes SBCs (Mediant, 7.2+): their configuration tables as far as the product's templates
 * touch them, the running and the saved (`do write`) configuration, and the HA "busy" switch.
 */

import type { SbcSnapshot } from './snapshot-schema.js';

export interface SbcSipInterface {
  readonly index: number;
  readonly name: string;
  readonly networkInterface: string;
  readonly udpPort: number;
  readonly tcpPort: number;
  readonly tlsPort: number;
}

export interface SbcProxySet {
  readonly index: number;
  readonly name: string;
  readonly sipInterfaceName: string;
  readonly proxyAddresses: readonly string[];
  readonly transportType: 'udp' | 'tcp' | 'tls';
}

export interface SbcIpProfile {
  readonly index: number;
  readonly name: string;
}

export interface SbcCacProfile {
  readonly index: number;
  readonly name: string;
  /** The limit of its one rule (all calls, both directions). */
  readonly maxSessions: number;
}

export interface SbcIpGroup {
  index: number;
  name: string;
  type: 'server' | 'user' | 'gateway';
  proxySetName: string;
  ipProfileName: string;
  sipGroupName: string;
  classifyByProxySet: boolean;
  tags: string;
  localHostName: string;
  alwaysUseSourceAddr: boolean;
  callSetupRulesSetId: number;
  cacProfile: string;
  mediaRealmName: string;
  /** Other properties set by CLI name (e.g. `authentication-mode`), kept as text. */
  extra: Record<string, string>;
}

export interface SbcAccount {
  index: number;
  accountName: string;
  servedIpGroupName: string;
  servingIpGroupName: string;
  userName: string;
  password: string;
  hostName: string;
  contactUser: string;
  register: 'no-reg' | 'reg' | 'gin';
  applicationType: 'sbc' | 'gw';
}

export interface SbcDialPlanRule {
  index: number;
  name: string;
  prefix: string;
  tag: string;
}

export interface SbcDialPlan {
  index: number;
  name: string;
  rules: SbcDialPlanRule[];
}

export interface SbcUserInfo {
  index: number;
  localUser: string;
  username: string;
  password: string;
  ipGroupName: string;
}

/** One device's configuration; plain data, cloned for every transaction. */
export interface SbcConfiguration {
  sipInterfaces: SbcSipInterface[];
  proxySets: SbcProxySet[];
  ipProfiles: SbcIpProfile[];
  cacProfiles: SbcCacProfile[];
  ipGroups: SbcIpGroup[];
  accounts: SbcAccount[];
  dialPlans: SbcDialPlan[];
  userInfos: SbcUserInfo[];
}

export interface SbcDevice {
  readonly name: string;
  readonly ipAddress: string;
  readonly username: string;
  readonly password: string;
  readonly serialNumber: string;
  /** While true, configuration writes get 409 (as during an HA synchronisation). */
  busy: boolean;
  running: SbcConfiguration;
  /** What `do write` persisted last. */
  saved: SbcConfiguration;
  /** Scripts applied successfully since the seed. */
  scriptsApplied: number;
  /**
   * The most dial-plan rules the device takes (all dial plans together); null for no limit. A test's knob, like
   * `busy`: a real device's capacity depends on its model and license.
   */
  maxDialPlanRules: number | null;
}

/** The demo SBCs' published sandbox values: device names, addresses, admin credentials and seeded objects. */
export const DEMO_SBC = {
  devices: {
    eu1: {
      name: 'sbc-eu1',
      ipAddress: '192.0.2.10',
      username: 'Admin',
      password: 'Sbc-EU1-Sandbox-1!',
      carriers: ['Carrier1', 'Carrier2'],
    },
    us1: {
      name: 'sbc-us1',
      ipAddress: '198.51.100.20',
      username: 'Admin',
      password: 'Sbc-US1-Sandbox-1!',
      carriers: ['Carrier1', 'SIPTrunk'],
    },
  },
  /** SIP Interface, Proxy Set and IP Profile of the Teams leg on every demo SBC. */
  teams: 'Teams',
  /** A proxy set and SIP interface without an IP profile of the same name: not a carrier. */
  nonCarrierProxySet: 'ProxySet_0',
  dialPlans: ['CustDialPlan', 'RegisteredUsers', 'OCDialPlan'],
  cacProfiles: [
    { name: '1 session', maxSessions: 1 },
    { name: '5 sessions', maxSessions: 5 },
    { name: '10 sessions', maxSessions: 10 },
    { name: '20 sessions', maxSessions: 20 },
    { name: '1000 sessions', maxSessions: 1000 },
  ],
  /** A customer already programmed on `sbc-eu1` (IP groups `litware-c`/`-t`, two CustDialPlan rules). */
  existingCustomer: {
    customerId: 'litware',
    gateway: 'litware.customers.northwindvoice.example',
    prefixes: ['+4420794600', '+4420794601'],
  },
} as const;

export type DemoSbc = (typeof DEMO_SBC.devices)[keyof typeof DEMO_SBC.devices];

export function emptyConfiguration(): SbcConfiguration {
  return {
    sipInterfaces: [],
    proxySets: [],
    ipProfiles: [],
    cacProfiles: [],
    ipGroups: [],
    accounts: [],
    dialPlans: [],
    userInfos: [],
  };
}

/**
 * A deep copy of a configuration, table by table: what structuredClone gives, several times faster on a table of
 * 50,000 dial-plan rules (a script's transaction and every `do write` copy the whole configuration). A row's nested
 * values (an IP group's `extra`, a proxy set's addresses) are copied too.
 */
export function cloneConfiguration(config: SbcConfiguration): SbcConfiguration {
  return {
    sipInterfaces: config.sipInterfaces.map((row) => ({ ...row })),
    proxySets: config.proxySets.map((row) => ({ ...row, proxyAddresses: [...row.proxyAddresses] })),
    ipProfiles: config.ipProfiles.map((row) => ({ ...row })),
    cacProfiles: config.cacProfiles.map((row) => ({ ...row })),
    ipGroups: config.ipGroups.map((row) => ({ ...row, extra: { ...row.extra } })),
    accounts: config.accounts.map((row) => ({ ...row })),
    dialPlans: config.dialPlans.map((plan) => ({ ...plan, rules: plan.rules.map((rule) => ({ ...rule })) })),
    userInfos: config.userInfos.map((row) => ({ ...row })),
  };
}

/** An IP group with the SBC's defaults for what the CLI leaves out. */
export function newIpGroup(index: number): SbcIpGroup {
  return {
    index,
    name: '',
    type: 'server',
    proxySetName: '',
    ipProfileName: '',
    sipGroupName: '',
    classifyByProxySet: true,
    tags: '',
    localHostName: '',
    alwaysUseSourceAddr: false,
    callSetupRulesSetId: -1,
    cacProfile: '',
    mediaRealmName: '',
    extra: {},
  };
}

/** The lowest index not in use, as the CLI's `new` picks it. */
export function nextIndex(rows: ReadonlyArray<{ readonly index: number }>): number {
  const used = new Set(rows.map((r) => r.index));
  let index = 0;
  while (used.has(index)) index += 1;
  return index;
}

/** The devices the sandbox plays, by name (case-insensitive). */
export class SbcDevices {
  private readonly devices = new Map<string, SbcDevice>();

  clear(): void {
    this.devices.clear();
  }

  /** The devices without the busy switch and the rule limit, a test's knobs rather than configuration. */
  snapshot(): SbcSnapshot {
    return this.list().map((d) =>
      structuredClone({
        name: d.name,
        ipAddress: d.ipAddress,
        username: d.username,
        password: d.password,
        serialNumber: d.serialNumber,
        running: d.running,
        saved: d.saved,
        scriptsApplied: d.scriptsApplied,
      }),
    );
  }

  restore(snapshot: SbcSnapshot): void {
    this.clear();
    for (const device of structuredClone(snapshot)) {
      this.devices.set(device.name.toLowerCase(), { ...device, busy: false, maxDialPlanRules: null });
    }
  }

  list(): SbcDevice[] {
    return [...this.devices.values()];
  }

  /** By name, or by IP address as the product addresses a Known SBC without a Device Fqdn. */
  get(nameOrAddress: string): SbcDevice | undefined {
    const key = nameOrAddress.toLowerCase();
    return this.devices.get(key) ?? [...this.devices.values()].find((d) => d.ipAddress === key);
  }

  add(input: {
    readonly name: string;
    readonly ipAddress: string;
    readonly username: string;
    readonly password: string;
    readonly configuration?: SbcConfiguration;
  }): SbcDevice {
    if (this.devices.has(input.name.toLowerCase())) throw new Error(`SBC '${input.name}' already exists.`);
    const configuration = input.configuration ?? emptyConfiguration();
    const device: SbcDevice = {
      name: input.name,
      ipAddress: input.ipAddress,
      username: input.username,
      password: input.password,
      serialNumber: `SBC${input.name.replace(/[^a-z0-9]/gi, '').toUpperCase()}0001`,
      busy: false,
      maxDialPlanRules: null,
      running: structuredClone(configuration),
      saved: structuredClone(configuration),
      scriptsApplied: 0,
    };
    this.devices.set(input.name.toLowerCase(), device);
    return device;
  }

  /** Turns the HA busy switch on or off; unknown devices throw. */
  setBusy(name: string, busy: boolean): void {
    this.require(name).busy = busy;
  }

  require(name: string): SbcDevice {
    const device = this.get(name);
    if (!device) throw new Error(`SBC '${name}' does not exist.`);
    return device;
  }
}

/** Seeds the two demo SBCs of `DEMO_SBC`. */
export function seedDemoSbcs(devices: SbcDevices): void {
  for (const demo of Object.values(DEMO_SBC.devices)) {
    const configuration = demoConfiguration(demo);
    if (demo.name === DEMO_SBC.devices.eu1.name) addExistingCustomer(configuration);
    devices.add({ ...demo, configuration });
  }
}

function demoConfiguration(demo: DemoSbc): SbcConfiguration {
  const config = emptyConfiguration();
  const legs = [DEMO_SBC.teams, ...demo.carriers];
  legs.forEach((name, index) => {
    config.sipInterfaces.push({
      index,
      name,
      networkInterface: name === DEMO_SBC.teams ? 'WAN' : 'LAN',
      udpPort: name === DEMO_SBC.teams ? 0 : 5060,
      tcpPort: 0,
      tlsPort: name === DEMO_SBC.teams ? 5061 : 0,
    });
    config.proxySets.push({
      index,
      name,
      sipInterfaceName: name,
      proxyAddresses:
        name === DEMO_SBC.teams
          ? [
              'sip.pstnhub.microsoft.com:5061',
              'sip2.pstnhub.microsoft.com:5061',
              'sip3.pstnhub.microsoft.com:5061',
            ]
          : [`${name.toLowerCase()}.carrier.example:5060`],
      transportType: name === DEMO_SBC.teams ? 'tls' : 'udp',
    });
    config.ipProfiles.push({ index, name });
  });
  const other = legs.length;
  config.sipInterfaces.push({
    index: other,
    name: DEMO_SBC.nonCarrierProxySet,
    networkInterface: 'LAN',
    udpPort: 5070,
    tcpPort: 0,
    tlsPort: 0,
  });
  config.proxySets.push({
    index: other,
    name: DEMO_SBC.nonCarrierProxySet,
    sipInterfaceName: DEMO_SBC.nonCarrierProxySet,
    proxyAddresses: [],
    transportType: 'udp',
  });
  DEMO_SBC.cacProfiles.forEach((profile, index) => config.cacProfiles.push({ index, ...profile }));
  DEMO_SBC.dialPlans.forEach((name, index) => config.dialPlans.push({ index, name, rules: [] }));
  return config;
}

function addExistingCustomer(config: SbcConfiguration): void {
  const { customerId, gateway, prefixes } = DEMO_SBC.existingCustomer;
  const carrier = DEMO_SBC.devices.eu1.carriers[0];
  config.ipGroups.push(
    {
      ...newIpGroup(0),
      name: `${customerId}-c`,
      proxySetName: carrier,
      ipProfileName: carrier,
      tags: `Trunk=${gateway}`,
      classifyByProxySet: false,
      callSetupRulesSetId: 1,
    },
    {
      ...newIpGroup(1),
      name: `${customerId}-t`,
      proxySetName: DEMO_SBC.teams,
      ipProfileName: DEMO_SBC.teams,
      localHostName: gateway,
      alwaysUseSourceAddr: true,
      tags: `Tenant=${gateway}`,
      classifyByProxySet: false,
      callSetupRulesSetId: 0,
    },
  );
  const plan = config.dialPlans.find((p) => p.name === 'CustDialPlan');
  prefixes.forEach((prefix, index) => plan?.rules.push({ index, name: customerId, prefix, tag: gateway }));
}
