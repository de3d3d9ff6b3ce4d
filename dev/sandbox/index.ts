import { once } from 'node:events';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { issueServerCertificate, loadOrCreateCa } from './certificates.js';
import { seedDemo } from './demo-data.js';
import { FaultInjector } from './faults.js';
import { type SandboxMailHandle, startMailServices } from './mail.js';
import { controlPeer } from './peers/control.js';
import { entraPeer } from './peers/entra.js';
import { armDnsPeer } from './peers/arm-dns.js';
import { graphPeer } from './peers/graph.js';
import { createSbcServices, type SbcSandbox } from './peers/sbc.js';
import { teamsAdminPeer } from './peers/teams-admin.js';
import { RequestLog } from './request-log.js';
import { scaleControlPeer } from './scale-control.js';
import { Router } from './router.js';
import { createRequestHandler } from './server.js';
import { loadOrCreateSigningKey } from './signing-key.js';
import { SandboxState } from './state.js';
import { TeamsAdminState } from './teams-state.js';
import { TenantDirectories } from './tenant-directory.js';
import { type CallerTokenRequest, TokenIssuer } from './tokens.js';

export { DEMO } from './demo-data.js';
export type { Fault, FaultSpec } from './faults.js';
export type { SandboxMailHandle } from './mail.js';
export { DEMO_MAIL } from './mail-demo.js';
export { DEMO_SBC } from './sbc-state.js';
export type { SbcSandbox } from './peers/sbc.js';
export type { SandboxMail } from './mailbox.js';
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
}

export interface RunningSandbox {
  /** `https://localhost:PORT`; the authority host is `${url}/entra`, the Graph base `${url}/graph`. */
  readonly url: string;
  /** The CA certificate to trust (the product's TRUSTED_CA_CERT_FILE). */
  readonly caCertFile: string;
  readonly state: SandboxState;
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
  close(): Promise<void>;
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
  const mail = await startMailServices({ tls, smtpPort: options.smtpPort ?? 0 }).catch((error: unknown) => {
    server.close();
    throw error;
  });

  const state = new SandboxState();
  const faults = new FaultInjector();
  const requests = new RequestLog();
  const issuer = new TokenIssuer(signingKey, state, url);
  const teams = new TeamsAdminState();
  const sbc = createSbcServices({ seed: (options.seed ?? 'demo') === 'demo' });
  const directories = new TenantDirectories(teams);
  const seed = () => {
    state.clear();
    if ((options.seed ?? 'demo') === 'demo') seedDemo(state);
  };
  const reset = () => {
    seed();
    faults.clear();
    requests.clear();
    mail.reset();
    teams.clear();
    sbc.reset();
    directories.clear();
  };
  seed();

  const control = controlPeer({ state, faults, requests, issuer, reset });
  const scaleControl = scaleControlPeer({ state, teams, directories, sbc: sbc.handle });
  const router = new Router([
    entraPeer({ state, issuer, signingKey }),
    graphPeer(issuer, state, directories),
    armDnsPeer(issuer, state.dns),
    ...mail.servicePeers,
    teamsAdminPeer({ issuer, state, teams }),
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
    }),
  );

  return {
    url,
    caCertFile: ca.certFile,
    state,
    faults,
    requests,
    mail: mail.handle,
    teams,
    sbc: sbc.handle,
    directories,
    smtp: mail.smtp,
    issueToken: (request) => issuer.callerToken(request),
    reset,
    async close() {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
      await mail.close();
    },
  };
}
