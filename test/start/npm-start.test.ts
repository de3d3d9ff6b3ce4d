import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../dev/host/free-port.js';
import { isSameProcess, readLock } from '../../dev/local-lock.js';
import { DEMO } from '../../dev/sandbox/demo-data.js';
import { STATE_FILE } from '../../dev/sandbox/persistence.js';

const dataDir = mkdtempSync(join(tmpdir(), 'drh-start-'));
const crashDataDir = mkdtempSync(join(tmpdir(), 'drh-crash-'));
const running: ChildProcess[] = [];
// Each `npm start` builds first; the two runs below start side by side, and two builds writing the same dist/ at
// once could let one start import a file the other is rewriting. Built here once, their builds find it up to date.
beforeAll(async () => {
  const build = spawn('npm', ['run', 'build', '--silent'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  build.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  build.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => build.once('exit', resolve));
  expect(code, output).toBe(0);
}, 300_000);
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

interface LocalSession {
  apiBaseUrl: string;
  openApiUrl: string;
  token: string;
  pid: number;
  sandboxUrl: string;
  sandboxCaCertFile: string;
  demoAppRegistration: { tenantId: string; clientId: string; clientSecret: string };
}

function session(dir = dataDir): LocalSession {
  return JSON.parse(readFileSync(join(dir, 'local-session.json'), 'utf8'));
}

function runNode(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

/** What the onboarding of "Tailwind" left in the sandbox, read through its control API. */
async function tailwindWorld(dir: string) {
  const { sandboxUrl, sandboxCaCertFile, demoAppRegistration } = session(dir);
  const dispatcher = new Agent({ connect: { ca: readFileSync(sandboxCaCertFile) } });
  const get = async <T>(path: string): Promise<T> => {
    const response = await undiciFetch(`${sandboxUrl}/_sandbox${path}`, { dispatcher });
    expect(response.status, path).toBe(200);
    return (await response.json()) as T;
  };
  const gateway = `tailwind.emea.${DEMO.provider.dns.zone}`;
  const tenant = await get<{ verifiedDomains: Array<{ name: string }> }>(
    `/tenants/${demoAppRegistration.tenantId}`,
  );
  const zones = await get<{
    value: Array<{ name: string; recordSets: Array<{ type: string; name: string }> }>;
  }>('/dns/zones');
  const records = zones.value.find((z) => z.name === DEMO.provider.dns.zone)?.recordSets ?? [];
  const teams = await get<{ configurations: Record<string, Array<{ Identity?: string }>> }>(
    `/scale/tenants/${demoAppRegistration.tenantId}/teams`,
  );
  const sbc = await get<{ configuration: { ipGroups: Array<{ name: string }> } }>('/sbc/sbc-eu1');
  await dispatcher.close();
  return {
    domain: tenant.verifiedDomains.some((d) => d.name === gateway),
    aRecord: records.some((r) => r.type === 'A' && `${r.name}.${DEMO.provider.dns.zone}` === gateway),
    gateway: (teams.configurations.OnlinePSTNGateway ?? []).some((g) => g.Identity === gateway),
    sbcGroups: sbc.configuration.ipGroups.filter((g) => /^tailwind-[ct]$/i.test(g.name)).length,
  };
}

// The two runs have their own data folders and ports, and mostly wait on their children: side by side, they take
// the time of the longer one.
describe.concurrent('npm start', () => {
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

  it("onboards and replicates with the printed demo app registration (the README's easiest path), and after a SIGKILL starts again with the customer's world still in the sandbox, leaving no child behind", async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    const crashed = npmStart(ports, crashDataDir);
    await waitForOutput(crashed, 'Press Ctrl-C to stop.');
    const children = readLock(join(crashDataDir, 'npm-start.lock'))?.children ?? [];
    expect(children).toHaveLength(1);
    const app = session(crashDataDir).demoAppRegistration;
    for (const value of [app.tenantId, app.clientId, app.clientSecret])
      expect(crashed.output()).toContain(value);

    // What the README tells a newcomer to run; it onboards "Tailwind" and waits for its first replication.
    const demo = await runNode([join('dist', 'dev', 'onboard-demo.js'), '--data-dir', crashDataDir]);
    expect(demo.code, demo.output).toBe(0);
    expect(demo.output).toMatch(/Tailwind is onboarded \(finish-success\) and replicated \([1-9]\d* users\)/);
    const before = await tailwindWorld(crashDataDir);
    expect(before).toEqual({ domain: true, aRecord: true, gateway: true, sbcGroups: 2 });
    // The sandbox writes its state a moment after a change (SAVE_DELAY_MS, later on a busy machine): a kill before
    // that write loses the change by design, so the kill waits for the file to hold what was just read.
    await savedToDisk(crashDataDir, (state) => (state.match(/"tailwind-[ct]"/gi) ?? []).length >= 2);

    // The run itself, not npm above it nor its process group: what `kill -9 <pid>` does, and nothing can trap.
    process.kill(session(crashDataDir).pid, 'SIGKILL');
    await crashed.exited;

    const restarted = npmStart(ports, crashDataDir);
    await waitForOutput(restarted, 'Press Ctrl-C to stop.');
    for (const child of children) expect(isSameProcess(child)).toBe(false);
    const { apiBaseUrl, token } = session(crashDataDir);
    const listed = await fetch(`${apiBaseUrl}/customers/Tailwind`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(listed.status).toBe(200);
    expect(await tailwindWorld(crashDataDir)).toEqual(before);

    await ctrlC(restarted);
    for (const port of ports) expect(await isFree(port)).toBe(true);
  }, 300_000);
});

/** Waits until the sandbox's state file, as a later start would read it, satisfies `holds`. */
async function savedToDisk(dataDir: string, holds: (state: string) => boolean): Promise<void> {
  const file = join(dataDir, 'sandbox', STATE_FILE);
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (existsSync(file) && holds(readFileSync(file, 'utf8'))) return;
    if (Date.now() > deadline) throw new Error(`${file} never held the state read before the kill.`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
