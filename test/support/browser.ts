import { createHash, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { connect } from 'node:tls';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium, installed by .ci/run; CHROMIUM_PATH overrides. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The SHA-256 of the sandbox server certificate's public key, as Chromium's SPKI allow-list wants it. */
async function spkiHash(httpsUrl: string): Promise<string> {
  const { hostname, port } = new URL(httpsUrl);
  const raw = await new Promise<Buffer>((resolve, reject) => {
    // Only reads the certificate it is shown; nothing is sent over this connection.
    const socket = connect(
      { host: hostname, port: Number(port), servername: hostname, rejectUnauthorized: false },
      () => {
        const certificate = socket.getPeerCertificate(false);
        socket.end();
        resolve(certificate.raw);
      },
    );
    socket.on('error', reject);
  });
  const der = new X509Certificate(raw).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

/**
 * Headless Chromium that trusts the sandbox's one server key (Chromium's SPKI allow-list), not every certificate:
 * the pages a person sees are tested in a real browser with TLS checks on for everything else.
 */
export async function launchBrowser(sandboxUrl: string): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}; .ci/run installs Debian's chromium package.`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', `--ignore-certificate-errors-spki-list=${await spkiHash(sandboxUrl)}`],
  });
}
