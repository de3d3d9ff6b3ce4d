import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  describeProcess,
  type LockContents,
  LockHeldError,
  readLock,
  recordChild,
  takeLock,
} from '../../dev/local-lock.js';

const dir = mkdtempSync(join(tmpdir(), 'drh-lock-'));
const lockFile = join(dir, 'npm-start.lock');
const children: ChildProcess[] = [];

afterEach(() => rmSync(lockFile, { force: true }));
afterAll(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** A process that runs until stopped, as an Azurite left behind by a crashed run would. */
async function lingering(): Promise<ChildProcess & { pid: number }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000); console.log("up")'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  children.push(child);
  await new Promise((resolve) => child.stdout?.once('data', resolve));
  return child as ChildProcess & { pid: number };
}

function exited(child: ChildProcess): Promise<NodeJS.Signals | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
}

/** The lock a run killed with SIGKILL leaves: its holder is gone, its children may not be. */
function crashedLock(lockChildren: LockContents['children']): void {
  const gone = spawnSync(process.execPath, ['-e', '']).pid;
  const lock: LockContents = {
    pid: gone,
    commandLine: `node dist/dev/start.js`,
    startedAt: new Date().toISOString(),
    children: lockChildren,
  };
  writeFileSync(lockFile, JSON.stringify(lock));
}

// Command lines are compared where the system reports them; Windows does not, and relies on Azurite's watchdog.
describe.skipIf(process.platform === 'win32')('the npm start lock', () => {
  it('is taken over from a run that died, once the children it recorded are stopped', async () => {
    const stale = await lingering();
    crashedLock([describeProcess(stale.pid)]);

    const stopped = await takeLock(lockFile, { graceMs: 200 });

    expect(stopped.map((child) => child.pid)).toEqual([stale.pid]);
    expect(await exited(stale)).toBe('SIGTERM');
    expect(readLock(lockFile)).toMatchObject({ pid: process.pid, children: [] });
  });

  it('leaves alone a recorded PID that now runs another command line', async () => {
    const unrelated = await lingering();
    crashedLock([{ pid: unrelated.pid, commandLine: '/usr/bin/node azurite.js --blobPort 10000' }]);

    expect(await takeLock(lockFile)).toEqual([]);
    expect(unrelated.exitCode).toBeNull();
    expect(unrelated.signalCode).toBeNull();
    unrelated.kill('SIGKILL');
  });

  it('is refused while its holder runs, and records the children the holder starts', async () => {
    await takeLock(lockFile);
    const child = await lingering();
    recordChild(lockFile, child.pid);
    expect(JSON.parse(readFileSync(lockFile, 'utf8'))).toMatchObject({
      pid: process.pid,
      children: [{ pid: child.pid, commandLine: describeProcess(child.pid).commandLine }],
    });

    const refused = await takeLock(lockFile).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LockHeldError);
    expect((refused as LockHeldError).holder.pid).toBe(process.pid);
    expect(child.exitCode).toBeNull();
    child.kill('SIGKILL');
  });

  it('treats a holder PID reused by another program as gone', async () => {
    const other = await lingering();
    writeFileSync(
      lockFile,
      JSON.stringify({ pid: other.pid, commandLine: 'node dist/dev/start.js', startedAt: '', children: [] }),
    );

    await takeLock(lockFile);
    expect(readLock(lockFile)?.pid).toBe(process.pid);
    expect(other.exitCode).toBeNull();
    other.kill('SIGKILL');
  });
});
