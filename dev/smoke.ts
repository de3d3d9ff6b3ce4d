import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Boots the built product (dist/dev/start.js) under the node that runs this script, creates a customer through the
 * API, checks GET /api/v1/health and stops it. .ci/run runs it under the Node Azure runs (infra/main.bicep), so a
 * runtime difference shows up before a deployment does. Usage: `<node> dist/dev/smoke.js`.
 */
const READY = 'Press Ctrl-C to stop.';
const START_TIMEOUT_MS = 180_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port')),
      );
    });
  });
}

const dataDir = mkdtempSync(join(tmpdir(), 'drh-smoke-'));
const [host, sandbox, blob, queue, table] = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()));
const product = spawn(
  process.execPath,
  [
    join(import.meta.dirname, 'start.js'),
    '--data-dir',
    dataDir,
    '--host-port',
    String(host),
    '--sandbox-port',
    String(sandbox),
    '--storage-ports',
    `${blob},${queue},${table}`,
  ],
  { stdio: ['ignore', 'pipe', 'pipe'] },
);
let output = '';
product.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
product.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
const exited = new Promise<void>((resolve) => product.once('exit', () => resolve()));

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`${message}\n--- product output ---\n${output}`);
}

async function started(): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!output.includes(READY)) {
    check(product.exitCode === null, 'the product exited while starting');
    check(Date.now() < deadline, `the product did not start within ${START_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

try {
  await started();
  const session = JSON.parse(readFileSync(join(dataDir, 'local-session.json'), 'utf8')) as {
    apiBaseUrl: string;
    token: string;
  };
  const headers = { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' };
  const created = await fetch(`${session.apiBaseUrl}/customers`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      fullName: 'Smoke Test Ltd',
      shortName: 'SmokeTest',
      licenseType: 'hosted-pro',
      licensedUsers: 5,
    }),
  });
  check(created.status === 201, `POST /customers answered ${created.status}: ${await created.text()}`);
  const health = await fetch(`${session.apiBaseUrl}/health`, { headers });
  check(health.status === 200, `GET /health answered ${health.status}: ${await health.text()}`);
  process.stdout.write(`smoke: ${process.version} started the product, created a customer, health 200\n`);
} finally {
  // SIGINT as Ctrl-C: start.js stops Azurite, the sandbox and the host it started before it exits.
  product.kill('SIGINT');
  const stuck = setTimeout(() => product.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(stuck);
  rmSync(dataDir, { recursive: true, force: true });
}
