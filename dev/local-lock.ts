import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The lock of one local run per data folder (`npm-start.lock`): who holds it, and the child processes it started.
 * A run killed with SIGKILL cannot clean up; its children are recorded so that the next run can stop any that
 * outlived it (Azurite normally exits on its own, see dev/azurite.ts) before binding the same ports.
 */
export interface LockProcess {
  readonly pid: number;
  /**
   * Its command line as the system reported it when recorded, null where it cannot be read: a PID alone may since
   * have been reused by an unrelated program, which must not be stopped or taken for a running `npm start`.
   */
  readonly commandLine: string | null;
}

export interface LockContents extends LockProcess {
  readonly startedAt: string;
  readonly children: readonly LockProcess[];
}

export class LockHeldError extends Error {
  constructor(readonly holder: LockContents) {
    super(`process ${holder.pid} holds the lock`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The command line of a running process, or null where it cannot be read. Linux has it exactly in /proc; other
 * Unixes have ps; Windows has no way short of WMI, and there a stale child is left to its own watchdog rather than
 * risk stopping a process that is not ours.
 */
export function commandLineOf(pid: number): string | null {
  if (process.platform === 'linux') {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0$/, '').split('\0').join(' ') || null;
    } catch {
      return null;
    }
  }
  if (process.platform === 'win32') return null;
  try {
    return (
      execFileSync('ps', ['-ww', '-o', 'command=', '-p', String(pid)], { encoding: 'utf8' }).trim() || null
    );
  } catch {
    return null;
  }
}

export function describeProcess(pid: number): LockProcess {
  return { pid, commandLine: commandLineOf(pid) };
}

/** Alive and still running the recorded command line; a command line that cannot be compared counts as not ours. */
export function isSameProcess(recorded: LockProcess): boolean {
  if (!Number.isInteger(recorded.pid) || recorded.pid <= 0 || recorded.commandLine === null) return false;
  return isAlive(recorded.pid) && commandLineOf(recorded.pid) === recorded.commandLine;
}

function isLockProcess(value: unknown): value is LockProcess {
  const candidate = value as Partial<LockProcess> | null;
  return (
    typeof candidate?.pid === 'number' &&
    (typeof candidate.commandLine === 'string' || candidate.commandLine === null)
  );
}

export function readLock(lockFile: string): LockContents | null {
  try {
    const parsed = JSON.parse(readFileSync(lockFile, 'utf8')) as Partial<LockContents>;
    if (typeof parsed.pid !== 'number') return null;
    return {
      pid: parsed.pid,
      commandLine: typeof parsed.commandLine === 'string' ? parsed.commandLine : null,
      startedAt: String(parsed.startedAt),
      children: Array.isArray(parsed.children) ? parsed.children.filter(isLockProcess) : [],
    };
  } catch {
    return null;
  }
}

/** Without a command line to compare (Windows, or a lock from before they were recorded), the PID alone decides. */
function holderIsRunning(holder: LockContents): boolean {
  return holder.commandLine === null ? isAlive(holder.pid) : isSameProcess(holder);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

export interface StopOptions {
  /** How long a child gets to exit on its own first: Azurite does when its parent died, and may still be writing. */
  readonly graceMs?: number;
}

/**
 * Stops the recorded children that still run their recorded command. They get time to exit on their own, then
 * SIGTERM (Azurite writes its files on it), then SIGKILL.
 */
export async function stopStaleChildren(
  children: readonly LockProcess[],
  { graceMs = 10_000 }: StopOptions = {},
): Promise<LockProcess[]> {
  const stale = children.filter(isSameProcess);
  await Promise.all(
    stale.map(async (child) => {
      if (await waitForExit(child.pid, graceMs)) return;
      process.kill(child.pid, 'SIGTERM');
      if (await waitForExit(child.pid, 5_000)) return;
      process.kill(child.pid, 'SIGKILL');
      await waitForExit(child.pid, 2_000);
    }),
  );
  return stale;
}

/**
 * Takes the lock for this process, or throws LockHeldError while a live run holds it. The lock of a run that died
 * is taken over once the children it recorded are stopped; returns those it stopped.
 */
export async function takeLock(lockFile: string, options: StopOptions = {}): Promise<LockProcess[]> {
  mkdirSync(dirname(lockFile), { recursive: true });
  const stopped: LockProcess[] = [];
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx');
      const contents: LockContents = {
        ...describeProcess(process.pid),
        startedAt: new Date().toISOString(),
        children: [],
      };
      writeSync(fd, JSON.stringify(contents));
      closeSync(fd);
      return stopped;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readLock(lockFile);
      if (holder && holderIsRunning(holder)) throw new LockHeldError(holder);
      if (holder) stopped.push(...(await stopStaleChildren(holder.children, options)));
      rmSync(lockFile, { force: true });
    }
  }
  throw new Error(`Could not take the lock ${lockFile}; remove it if no other "npm start" is running.`);
}

/** Records a child this run started, so that a next run can stop it should it outlive this one. */
export function recordChild(lockFile: string, pid: number): void {
  const current = readLock(lockFile);
  if (current?.pid !== process.pid) return;
  const contents: LockContents = { ...current, children: [...current.children, describeProcess(pid)] };
  writeFileSync(lockFile, JSON.stringify(contents));
}
