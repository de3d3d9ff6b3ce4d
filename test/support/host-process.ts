import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { HostProcessRequest } from './host-process-main.js';

const boot = join(import.meta.dirname, 'fixtures', 'host-process.mjs');
const entry = join(import.meta.dirname, 'host-process-main.ts');

export interface HostProcess {
  readonly url: string;
  readonly pid: number;
  /** The host's crash: SIGKILL, so that nothing of it (leases, messages in hand, outcomes) is cleaned up. */
  kill(): Promise<void>;
  /** A graceful stop: invocations in progress end first. */
  close(): Promise<void>;
}

/**
 * The local Functions host in a child process of its own, on the given Azurite and settings: a test may kill it
 * as a crashed host dies and start another on the same storage, while Azurite and the sandbox keep running.
 */
export async function startHostProcess(request: HostProcessRequest): Promise<HostProcess> {
  const child: ChildProcess = fork(boot, [entry], {
    env: { ...process.env, HOST_PROCESS_REQUEST: JSON.stringify(request) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: process.env.HOST_PROCESS_NODE_ARGS?.split(' ').filter(Boolean) ?? [],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<{ url: string }>((resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`The host process exited (${code ?? signal}).`)));
    child.once('message', (message) => resolve(message as { url: string }));
  });
  const pid = child.pid ?? 0;
  return {
    url: ready.url,
    pid,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async close() {
      if (child.connected) child.disconnect();
      await exited;
    },
  };
}
