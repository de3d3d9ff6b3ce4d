import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { issueServerCertificate, loadOrCreateCa } from './certificates.js';
import { seedDemo, seedDemoAppRegistration, seedDemoGroups, seedDemoTeams } from './demo-data.js';
import { FaultInjector } from './faults.js';
import { type SandboxMailHandle, startMailServices } from './mail.js';
import { controlPeer } from './peers/control.js';
import { entraPeer } from './peers/entra.js';
import { armDnsPeer } from './peers/arm-dns.js';
import { graphPeer } from './peers/graph.js';
import { createSbcServices, type SbcSandbox } from './peers/sbc.js';
import {
  describeLoad,
  discard,
  type LoadOutcome,
  loadStateFile,
  restoreWorld,
  STATE_FILE,
  StateWriter,
  snapshotWorld,
} from './persistence.js';
import { teamsAdminPeer } from './peers/teams-admin.js';
import { RequestLog } from './request-log.js';
import { scaleControlPeer } from './scale-control.js';
import { Router } from './router.js';
import { createRequestHandler } from './server.js';
import { loadOrCreateSigningKey } from './signing-key.js';
import { type SandboxProfile, STRICT_PROFILE } from './profile.js';
import { SandboxState } from './state.js';
import { TeamsAdminState } from './teams-state.js';
import { REAL_TEAMS_TIMINGS, type TeamsTimings } from './teams-voice.js';
import { TenantDirectories } from './tenant-directory.js';
import { type CallerTokenRequest, TokenIssuer } from './tokens.js';

export { DEMO } from './demo-data.js';
export type { Fault, FaultSpec } from './faults.js';
export type { SandboxMailHandle } from './mail.js';
export { DEMO_MAIL } from './mail-demo.js';
export { DEMO_SBC } from './sbc-state.js';
export type { SbcSandbox } from './peers/sbc.js';
export type { SandboxMail } from './mailbox.js';
export { profileFromEnv, type SandboxProfile, sandboxProfile } from './profile.js';
export type { LoggedRequest } from './request-log.js';
export type { CallerTokenRequest } from './tokens.js';
export { ScaleDirectory } from './scale-tenant.js';
export type { TenantDirectories } from './tenant-directory.js';

export interface SandboxOptions {
  /** 0 (the default) lets the OS choose a free port. */
  readonly port?: number;
  /** Holds `ca.pem`, `ca-key.pem` and the token signing key; reuse it to keep trust and tokens across restarts. */
  readonly dataDir: string;
  /** `demo` (the default) loads the demo tenants of `demo-data.ts`; `empty` starts without tenants. */
  readonly seed?: 'demo' | 'empty';
  /** The SMTP sink's port; 0 (the default) lets the OS choose. */
  readonly smtpPort?: number;
  /**
   * Where the sandbox keeps its world (`sandbox-state.json`) across restarts, as Azurite keeps the product's
   * data. Without it the sandbox forgets everything when it stops, as tests want.
   */
  readonly stateDir?: string;
  /** With `stateDir`: forget the saved world and start from the seed. */
  readonly resetState?: boolean;
  /** Where state-file notices go (restored, set aside, write failures); stderr by default. */
  readonly log?: (line: string) => void;
  /**
   * Multiplies the service's real delays (`REAL_TEAMS_TIMINGS`: a number operation's few seconds, a policy
   * grant's half minute before Graph shows it); 1 by default, e.g. 0.01 in tests. `teams.timings` can be changed
   * while running.
   */
  readonly timeScale?: number;
  /** `strict` (the default) or `reality`, with its delay scale (see `profile.ts`). */
  readonly profile?: SandboxProfile;
}

function scaledTimings(scale: number): TeamsTimings {
  if (!(scale >= 0)) throw new Error(`timeScale must be a number ≥ 0, not ${scale}.`);
  return {
    numberOperationMs: REAL_TEAMS_TIMINGS.numberOperationMs * scale,
    grantVisibleMs: REAL_TEAMS_TIMINGS.grantVisibleMs * scale,
  };
}

export interface RunningSandbox {
  /** `https://localhost:PORT`; the authority host is `${url}/entra`, the Graph base `${url}/graph`. */
  readonly url: string;
  /** The CA certificate to trust (the product's TRUSTED_CA_CERT_FILE). */
  readonly caCertFile: string;
  readonly state: SandboxState;
  /** The profile it plays (`state.profile`). */
  readonly profile: SandboxProfile;
  readonly faults: FaultInjector;
  readonly requests: RequestLog;
  /** What ACS Email (served at `url` itself) and the SMTP sink received; the SMTP fault switch. */
  readonly mail: SandboxMailHandle;
  /** The Teams admin API's per-tenant configuration (served at `${url}/teams`). */
  readonly teams: TeamsAdminState;
  /** The simulated AudioCodes SBCs (served at `${url}/sbc/{device}`), with the busy switch. */
  readonly sbc: SbcSandbox;
  /** What Graph's delta queries and Teams user configurations read per tenant, generated tenants included. */
  readonly directories: TenantDirectories;
  /** The SMTP sink: STARTTLS with the sandbox CA, `DEMO_MAIL.smtp` credentials. */
  readonly smtp: { readonly host: string; readonly port: number };
  /** A bearer token for the product's own API, signed like the sandbox's Entra ID tokens. */
  issueToken(request: CallerTokenRequest): Promise<string>;
  /** Back to the seeded state, without faults or logged requests. */
  reset(): void;
  /** With `stateDir`: how the world was loaded at start. */
  readonly stateLoad?: LoadOutcome;
  /** With `stateDir`: writes the world now (changes made in process, outside requests, are not noticed). */
  saveState(): void;
  /**
   * Stops the servers; with `stateDir` the world is written first. `abandonState` skips that write (and any
   * pending one), as a killed process would, for tests of what survives a crash.
   */
  close(options?: { readonly abandonState?: boolean }): Promise<void>;
}

/** Starts the HTTPS server that plays Microsoft's services (Entra ID, Graph) for tests and local runs. */
export async function startSandbox(options: SandboxOptions): Promise<RunningSandbox> {
  // Absolute, so that the CA path handed to clients stays valid whatever their working directory.
  const dataDir = resolve(options.dataDir);
  const ca = loadOrCreateCa(dataDir);
  const signingKey = await loadOrCreateSigningKey(dataDir);
  const tls = issueServerCertificate(ca);
  const server = createServer({ key: tls.keyPem, cert: tls.certPem });
  // `localhost` is what the certificate and the URLs name; listening where it resolves keeps clients and
  // server on the same address family without opening the sandbox to the network.
  server.listen(options.port ?? 0, 'localhost');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `https://localhost:${port}`;
  let writer: StateWriter | undefined;
  const mail = await startMailServices({
    tls,
    smtpPort: options.smtpPort ?? 0,
    onChange: () => writer?.changed(),
  }).catch((error: unknown) => {
    server.close();
    throw error;
  });

  const state = new SandboxState();
  state.profile = options.profile ?? STRICT_PROFILE;
  const faults = new FaultInjector();
  const requests = new RequestLog();
  const issuer = new TokenIssuer(signingKey, state, url);
  const teams = new TeamsAdminState(scaledTimings(options.timeScale ?? 1));
  const seedName = options.seed ?? 'demo';
  const sbc = createSbcServices({ seed: seedName === 'demo', profile: () => state.profile });
  const directories = new TenantDirectories(teams);
  const seed = () => {
    state.clear();
    teams.clear();
    if (seedName === 'demo') {
      seedDemo(state);
      seedDemoTeams(teams);
    }
  };
  const reset = () => {
    seed();
    faults.clear();
    requests.clear();
    mail.reset();
    sbc.reset();
    directories.clear();
  };
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const parts = { state, teams, directories, sbc: sbc.handle.devices, mail };
  let stateLoad: LoadOutcome | undefined;
  if (options.stateDir) {
    const stateDir = resolve(options.stateDir);
    mkdirSync(stateDir, { recursive: true });
    stateLoad = loadStateFile(stateDir, { reset: options.resetState ?? false, seed: seedName });
    if (stateLoad.kind === 'restored') {
      try {
        restoreWorld(parts, stateLoad.file);
        if (seedName === 'demo') {
          seedDemoAppRegistration(state);
          seedDemoGroups(state);
          seedDemoTeams(teams);
        }
      } catch (error) {
        // Valid JSON the models refuse (e.g. a SKU this sandbox does not know) is as unusable as a torn file.
        reset();
        stateLoad = discard(join(stateDir, STATE_FILE), 'unusable', (error as Error).message);
      }
    } else {
      seed();
    }
    log(`Sandbox state (${join(stateDir, STATE_FILE)}): ${describeLoad(stateLoad, seedName)}`);
    writer = new StateWriter(stateDir, seedName, () => snapshotWorld(parts), log);
    writer.flush();
  } else {
    seed();
  }

  const control = controlPeer({ state, faults, requests, issuer, reset });
  const scaleControl = scaleControlPeer({ state, teams, directories, sbc: sbc.handle });
  const router = new Router([
    entraPeer({ state, issuer, signingKey }),
    graphPeer(issuer, state, directories, teams),
    armDnsPeer(issuer, state.dns, () => state.profile),
    ...mail.servicePeers,
    teamsAdminPeer({ issuer, state, teams, directories }),
    sbc.servicePeer,
    sbc.controlPeer,
    mail.controlPeer,
    // Before the control peer, whose `/_sandbox` prefix would otherwise take `/_sandbox/scale`.
    scaleControl,
    control,
  ]);
  server.on(
    'request',
    createRequestHandler({
      origin: url,
      router,
      faults,
      requests,
      exempt: new Set([control, sbc.controlPeer, mail.controlPeer, scaleControl]),
      ...(writer ? { answered: () => writer?.changed() } : {}),
    }),
  );

  return {
    url,
    caCertFile: ca.certFile,
    state,
    get profile() {
      return state.profile;
    },
    faults,
    requests,
    mail: mail.handle,
    teams,
    sbc: sbc.handle,
    directories,
    smtp: mail.smtp,
    issueToken: (request) => issuer.callerToken(request),
    reset,
    ...(stateLoad ? { stateLoad } : {}),
    saveState: () => writer?.flush(),
    async close(closeOptions) {
      if (closeOptions?.abandonState) writer?.abandon();
      else writer?.close();
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
      await mail.close();
    },
  };
}
