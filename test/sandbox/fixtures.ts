import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientSecretCredential } from '@azure/identity';
import { type RunningSandbox, type SandboxOptions, startSandbox } from '../../dev/sandbox/index.js';
import { azureSdkOptions } from '../../shared/net/azure-sdk-options.js';
import { createTrustedTransport, type TrustedTransport } from '../../shared/net/trusted-transport.js';

export interface SandboxFixture {
  readonly sandbox: RunningSandbox;
  /** The product's transport, trusting the sandbox CA through configuration. */
  readonly transport: TrustedTransport;
  readonly dataDir: string;
  /** A credential configured as the product configures it, against the sandbox's Entra ID. */
  credential(tenantId: string, clientId: string, secret: string): ClientSecretCredential;
  close(): Promise<void>;
}

/** A sandbox on a random port with a fresh data folder, and the product's trusted transport for it. */
export async function startFixture(options: Pick<SandboxOptions, 'profile'> = {}): Promise<SandboxFixture> {
  const dataDir = mkdtempSync(join(tmpdir(), 'drh-sandbox-'));
  const sandbox = await startSandbox({ ...options, dataDir, port: 0 });
  const transport = createTrustedTransport(sandbox.caCertFile);
  return {
    sandbox,
    transport,
    dataDir,
    credential: (tenantId, clientId, secret) =>
      new ClientSecretCredential(tenantId, clientId, secret, {
        authorityHost: `${sandbox.url}/entra`,
        disableInstanceDiscovery: true,
        ...azureSdkOptions(transport),
      }),
    async close() {
      await transport.close();
      await sandbox.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The claims of a JWT, without verifying it: for asserting what the sandbox put in. */
export function claimsOf(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}
