import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { type Browser, chromium } from 'playwright-core';

const root = join(import.meta.dirname, '..', '..');

/**
 * The Chromium that @sparticuz/chromium (a devDependency) ships compressed in its npm tarball, so `npm ci` is all a
 * machine needs; extracted once per version into the system temp folder. CHROMIUM_PATH overrides.
 */
async function chromiumPath(): Promise<string> {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  // Its exports map hides package.json from require.resolve.
  const packageJson = join(root, 'node_modules', '@sparticuz', 'chromium', 'package.json');
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
  const target = join(tmpdir(), `drh-chromium-${version}`);
  const executable = join(target, 'chromium');
  if (existsSync(executable)) return executable;

  // executablePath() inflates into os.tmpdir() and takes whatever `chromium` file is there as finished, so a
  // second test file would launch a half-written one. Each caller extracts into a fresh folder of its own (TMPDIR
  // of a child node) and renames it into place: a rename is atomic, and the loser of a race uses the winner's.
  const staging = mkdtempSync(join(dirname(target), `drh-chromium-${version}-`));
  try {
    await promisify(execFile)(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "import chromium from '@sparticuz/chromium'; await chromium.executablePath();",
      ],
      { cwd: root, env: { ...process.env, TMPDIR: staging } },
    );
    renameSync(staging, target);
  } catch (error) {
    if (!existsSync(executable)) throw error;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return executable;
}

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
 *
 * Of @sparticuz/chromium's recommended `args` (made for AWS Lambda) only --no-sandbox is taken, because tests run
 * as root in CI. The others would change what is under test: --disable-web-security, --allow-running-insecure-content
 * and the site-isolation switches turn off the same-origin, mixed-content and isolation rules the pages rely on,
 * and --single-process is a Lambda workaround that makes a multi-page Playwright session fragile.
 */
export async function launchBrowser(sandboxUrl: string): Promise<Browser> {
  return chromium.launch({
    executablePath: await chromiumPath(),
    headless: true,
    args: ['--no-sandbox', `--ignore-certificate-errors-spki-list=${await spkiHash(sandboxUrl)}`],
  });
}
