import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { type SandboxProfile, STRICT_PROFILE } from '../profile.js';
import type { Peer, PeerRequest, Reply } from '../router.js';
import { runCli } from '../sbc-cli.js';
import {
  DialPlanFileError,
  multipartField,
  parseDialPlanCsv,
  renderDialPlanCsv,
  renderIni,
  renderRunningConfig,
} from '../sbc-files.js';
import {
  cloneConfiguration,
  nextIndex,
  type SbcConfiguration,
  type SbcDevice,
  SbcDevices,
  seedDemoSbcs,
} from '../sbc-state.js';

/** A dial-plan rule as the control API and tests see it. */
export interface SbcDialPlanRuleView {
  readonly dialPlan: string;
  readonly index: number;
  readonly name: string;
  readonly prefix: string;
  readonly tag: string;
}

/** In-process access to the simulated SBCs (`sandbox.sbc`). */
export interface SbcSandbox {
  readonly devices: SbcDevices;
  /** The running configuration of a device (a copy). */
  configuration(device: string): SbcConfiguration;
  /** What the last `do write` saved (a copy). */
  savedConfiguration(device: string): SbcConfiguration;
  dialPlanRules(device: string): SbcDialPlanRuleView[];
  /** While busy, configuration writes get 409 as during an HA synchronisation. */
  setBusy(device: string, busy: boolean): void;
  /** The product's SBC base URL for a device: `${url}/sbc/{device}` (`https://{device}` in production). */
  baseUrl(origin: string, device: string): string;
}

export interface SbcServices {
  readonly handle: SbcSandbox;
  /** `/sbc/{device}/api/v1/...`, the devices' REST API. */
  readonly servicePeer: Peer;
  /** `/_sandbox/sbc`, registered before the control peer; never logged nor faulted. */
  readonly controlPeer: Peer;
  /** Back to the seed (the demo SBCs, or none). */
  reset(): void;
}

const busySchema = z.strictObject({ busy: z.boolean() });

export function createSbcServices(options: {
  readonly seed: boolean;
  /** The profile the sandbox plays now (tests may switch it while running). */
  readonly profile?: () => SandboxProfile;
}): SbcServices {
  const devices = new SbcDevices();
  const reset = () => {
    devices.clear();
    if (options.seed) seedDemoSbcs(devices);
  };
  reset();
  const handle: SbcSandbox = {
    devices,
    configuration: (name) => structuredClone(devices.require(name).running),
    savedConfiguration: (name) => structuredClone(devices.require(name).saved),
    dialPlanRules: (name) => dialPlanRules(devices.require(name)),
    setBusy: (name, busy) => devices.setBusy(name, busy),
    baseUrl: (origin, device) => `${origin}/sbc/${encodeURIComponent(device)}`,
  };
  return {
    handle,
    servicePeer: sbcPeer(devices, options.profile ?? (() => STRICT_PROFILE)),
    controlPeer: sbcControlPeer(devices),
    reset,
  };
}

function dialPlanRules(device: SbcDevice): SbcDialPlanRuleView[] {
  return device.running.dialPlans.flatMap((p) =>
    p.rules.map((r) => ({ dialPlan: p.name, index: r.index, name: r.name, prefix: r.prefix, tag: r.tag })),
  );
}

/** The AudioCodes SBC REST API of each device under `/sbc/{device}`, with Basic authentication. */
function sbcPeer(devices: SbcDevices, profile: () => SandboxProfile): Peer {
  const guarded =
    (handler: (request: PeerRequest, device: SbcDevice) => Reply) =>
    (request: PeerRequest): Reply => {
      const name = request.params.device ?? '';
      const device = devices.get(name);
      if (!device) return sbcError(404, `No SBC named '${name}'.`);
      if (!authorized(request, device)) {
        return {
          ...sbcError(401, 'Unauthorized'),
          headers: { 'www-authenticate': `Basic realm="${device.name}"` },
        };
      }
      return handler(request, device);
    };

  const busy = (device: SbcDevice): Reply =>
    sbcError(
      409,
      `The device cannot accept configuration now (HA synchronization in progress on ${device.name}).`,
    );

  return {
    name: 'sbc',
    prefix: '/sbc',
    error: (status, message) => sbcError(status, message),
    routes: [
      {
        method: 'PUT',
        path: '/:device/api/v1/files/cliScript/incremental',
        handle: guarded((request, device) => {
          if (device.busy) return busy(device);
          const script = fileOf(request);
          if (script === undefined) {
            return sbcError(400, "Expected multipart/form-data with the CLI script in the 'file' field.");
          }
          const outcome = runCli(device.running, script, device.name, {
            partial: profile().name === 'reality',
            ...(device.maxDialPlanRules === null ? {} : { maxDialPlanRules: device.maxDialPlanRules }),
          });
          if (!outcome.ok) {
            return {
              status: 400,
              body: {
                description: `CLI script failed at line ${outcome.line}: ${outcome.message}`,
                output: outcome.output,
              },
            };
          }
          device.running = outcome.config;
          if (outcome.saved) device.saved = cloneConfiguration(outcome.config);
          device.scriptsApplied += 1;
          // A partial application is still 200: only the output tells which lines the device refused.
          const description =
            outcome.refused.length > 0
              ? 'Incremental CLI Script file was loaded.'
              : 'CLI Script file was successfully applied.';
          return { status: 200, body: { description, output: outcome.output } };
        }),
      },
      {
        method: 'GET',
        path: '/:device/api/v1/files/ini',
        handle: guarded((_request, device) => ({
          status: 200,
          headers: {
            'content-type': 'application/octet-stream',
            'content-disposition': 'attachment; filename="board.ini"',
          },
          body: renderIni(device),
        })),
      },
      {
        // The configuration as a CLI script (shanehoey/mediant's Mediant.psm1 downloads it so): where the dial-plan
        // rules are with their row indexes, which the ini does not carry.
        method: 'GET',
        path: '/:device/api/v1/files/cliScript',
        handle: guarded((_request, device) => ({
          status: 200,
          headers: {
            'content-type': 'text/plain; charset=utf-8',
            'content-disposition': 'attachment; filename="cliScript.txt"',
          },
          body: renderRunningConfig(device.running),
        })),
      },
      {
        method: 'GET',
        path: '/:device/api/v1/files/dialplan',
        handle: guarded((_request, device) => ({
          status: 200,
          headers: {
            'content-type': 'text/csv; charset=utf-8',
            'content-disposition': 'attachment; filename="dialplan.csv"',
          },
          body: renderDialPlanCsv(device.running),
        })),
      },
      {
        method: 'PUT',
        path: '/:device/api/v1/files/dialplan',
        handle: guarded((request, device) => {
          if (device.busy) return busy(device);
          const text = fileOf(request) ?? request.body.toString('utf8');
          let plans: ReturnType<typeof parseDialPlanCsv>;
          try {
            plans = parseDialPlanCsv(text);
          } catch (error) {
            if (error instanceof DialPlanFileError) return sbcError(400, error.message);
            throw error;
          }
          // The file replaces every dial plan's rules; dial plans it names that do not exist are created.
          const config = cloneConfiguration(device.running);
          for (const plan of config.dialPlans) plan.rules = [];
          for (const [name, rules] of plans) {
            let plan = config.dialPlans.find((p) => p.name === name);
            if (!plan) {
              plan = { index: nextIndex(config.dialPlans), name, rules: [] };
              config.dialPlans.push(plan);
            }
            plan.rules = rules.map((rule, index) => ({ index, ...rule }));
          }
          device.running = config;
          const count = [...plans.values()].reduce((sum, rules) => sum + rules.length, 0);
          return { status: 200, body: { description: `Dial plan file loaded: ${count} rules.` } };
        }),
      },
      {
        method: 'GET',
        path: '/:device/api/v1/status',
        handle: guarded((_request, device) => ({
          status: 200,
          body: {
            localTimeStamp: new Date().toISOString(),
            ipAddress: device.ipAddress,
            subnetMask: '255.255.255.0',
            defaultGateway: device.ipAddress.replace(/\.\d+$/, '.1'),
            productType: 'Mediant VE SBC',
            versionID: '7.40A.500.123',
            protocolType: 'SIP',
            operationalState: 'UNLOCKED',
            highAvailability: device.busy ? 'Synchronizing' : 'Operational',
            serialNumber: device.serialNumber,
            macAddress: '00908f000001',
            systemUpTime: Math.floor(process.uptime()),
            saveNeeded: JSON.stringify(device.running) !== JSON.stringify(device.saved),
            resetNeeded: false,
          },
        })),
      },
    ],
  };
}

/** `/_sandbox/sbc`: inspect devices and flip the busy switch. */
function sbcControlPeer(devices: SbcDevices): Peer {
  const withDevice =
    (handler: (request: PeerRequest, device: SbcDevice) => Reply) =>
    (request: PeerRequest): Reply => {
      const device = devices.get(request.params.device ?? '');
      if (!device) return controlError(404, 'NotFound', `No SBC named '${request.params.device ?? ''}'.`);
      return handler(request, device);
    };
  const describe = (device: SbcDevice) => ({
    name: device.name,
    ipAddress: device.ipAddress,
    username: device.username,
    busy: device.busy,
    saveNeeded: JSON.stringify(device.running) !== JSON.stringify(device.saved),
    scriptsApplied: device.scriptsApplied,
  });
  return {
    name: 'sbc-control',
    prefix: '/_sandbox/sbc',
    error: (status, message) => controlError(status, status === 404 ? 'NotFound' : 'Error', message),
    routes: [
      {
        method: 'GET',
        path: '/',
        handle: () => ({ status: 200, body: { value: devices.list().map(describe) } }),
      },
      {
        method: 'GET',
        path: '/:device',
        handle: withDevice((_request, device) => ({
          status: 200,
          body: { ...describe(device), configuration: device.running, savedConfiguration: device.saved },
        })),
      },
      {
        method: 'GET',
        path: '/:device/dialplan',
        handle: withDevice((_request, device) => ({ status: 200, body: { value: dialPlanRules(device) } })),
      },
      {
        method: 'PUT',
        path: '/:device/busy',
        handle: withDevice((request, device) => {
          let input: unknown;
          try {
            input = JSON.parse(request.body.toString('utf8') || '{}');
          } catch (error) {
            return controlError(400, 'InvalidJson', error instanceof Error ? error.message : String(error));
          }
          const parsed = busySchema.safeParse(input);
          if (!parsed.success) return controlError(400, 'InvalidRequest', z.prettifyError(parsed.error));
          device.busy = parsed.data.busy;
          return { status: 200, body: describe(device) };
        }),
      },
    ],
  };
}

function authorized(request: PeerRequest, device: SbcDevice): boolean {
  const match = /^Basic\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  if (!match?.[1]) return false;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const expected = `${device.username}:${device.password}`;
  const a = Buffer.from(decoded);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function fileOf(request: PeerRequest): string | undefined {
  const contentType = request.headers['content-type'];
  return multipartField(typeof contentType === 'string' ? contentType : undefined, request.body, 'file');
}

function sbcError(status: number, description: string): Reply {
  return { status, body: { description } };
}

function controlError(status: number, code: string, message: string): Reply {
  return { status, body: { error: { code, message } } };
}
