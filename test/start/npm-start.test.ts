import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../dev/host/free-port.js';
import { isSameProcess, readLock } from '../../dev/local-lock.js';

const dataDir = mkdtempSync(join(tmpdir(), 'drh-start-'));
const crashDataDir = mkdtempSync(join(tmpdir(), 'drh-crash-'));
const running: ChildProcess[] = [];
afterAll(async () => {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null && child.pid)
      process.kill(-child.pid, 'SIGKILL');
  }
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(crashDataDir, { recursive: true, force: true });
});

interface Started {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

function npmStart(ports: number[], dir = dataDir): Started {
  const [host, sandbox, blob, queue, table] = ports;
  const child = spawn(
    'npm',
    [
      'start',
      '--silent',
      '--',
      '--data-dir',
      dir,
      '--host-port',
      String(host),
      '--sandbox-port',
      String(sandbox),
      '--storage-ports',
      `${blob},${queue},${table}`,
    ],
    // Its own process group, so that a signal reaches npm and everything under it, as Ctrl-C in a terminal does.
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  running.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function waitForOutput(started: Started, text: string, timeoutMs = 150_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!started.output().includes(text)) {
    if (started.child.exitCode !== null) throw new Error(`npm start exited early:\n${started.output()}`);
    if (Date.now() > deadline) throw new Error(`Timed out waiting for "${text}":\n${started.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function ctrlC(started: Started): Promise<void> {
  if (started.child.pid) process.kill(-started.child.pid, 'SIGINT');
  await started.exited;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

function session(dir = dataDir): { apiBaseUrl: string; openApiUrl: string; token: string; pid: number } {
  return JSON.parse(readFileSync(join(dir, 'local-session.json'), 'utf8'));
}

describe('npm start', () => {
  it('runs the product locally; a printed token creates a customer that survives a restart', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    const first = npmStart(ports);
    await waitForOutput(first, 'Press Ctrl-C to stop.');
    const { apiBaseUrl, openApiUrl, token } = session();
    expect(first.output()).toContain(apiBaseUrl);
    expect(first.output()).toContain(openApiUrl);
    expect(first.output()).toContain(token);

    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const created = await fetch(`${apiBaseUrl}/customers`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        fullName: 'Woodgrove Bank',
        shortName: 'Woodgrove',
        licenseType: 'hosted-pro',
        licensedUsers: 25,
      }),
    });
    expect(created.status).toBe(201);
    const listed = (await (await fetch(`${apiBaseUrl}/customers`, { headers })).json()) as {
      value: Array<{ shortName: string }>;
    };
    expect(listed.value.map((c) => c.shortName)).toEqual(expect.arrayContaining(['Contoso', 'Woodgrove']));
    expect((await fetch(openApiUrl)).status).toBe(200);

    const second = npmStart(ports);
    expect(await second.exited).not.toBe(0);
    expect(second.output()).toContain('already running');

    await ctrlC(first);
    expect(existsSync(join(dataDir, 'npm-start.lock'))).toBe(false);
    for (const port of ports) expect(await isFree(port)).toBe(true);

    const again = npmStart(ports);
    await waitForOutput(again, 'Press Ctrl-C to stop.');
    const relisted = (await (
      await fetch(`${session().apiBaseUrl}/customers`, {
        headers: { authorization: `Bearer ${session().token}` },
      })
    ).json()) as {
      value: Array<{ shortName: string; licensedUsers: number }>;
    };
    expect(relisted.value.find((c) => c.shortName === 'Woodgrove')).toMatchObject({ licensedUsers: 25 });
    expect(relisted.value.filter((c) => c.shortName === 'Contoso')).toHaveLength(1);
    await ctrlC(again);
    for (const port of ports) expect(await isFree(port)).toBe(true);
  }, 400_000);

  it('starts again on the same data folder after the run was killed with SIGKILL, leaving no child behind', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    const crashed = npmStart(ports, crashDataDir);
    await waitForOutput(crashed, 'Press Ctrl-C to stop.');
    const children = readLock(join(crashDataDir, 'npm-start.lock'))?.children ?? [];
    expect(children).toHaveLength(1);

    // The run itself, not npm above it nor its process group: what `kill -9 <pid>` does, and nothing can trap.
    process.kill(session(crashDataDir).pid, 'SIGKILL');
    await crashed.exited;

    const restarted = npmStart(ports, crashDataDir);
    await waitForOutput(restarted, 'Press Ctrl-C to stop.');
    for (const child of children) expect(isSameProcess(child)).toBe(false);
    const { apiBaseUrl, token } = session(crashDataDir);
    const listed = await fetch(`${apiBaseUrl}/customers`, { headers: { authorization: `Bearer ${token}` } });
    expect(listed.status).toBe(200);

    await ctrlC(restarted);
    for (const port of ports) expect(await isFree(port)).toBe(true);
  }, 300_000);
});
