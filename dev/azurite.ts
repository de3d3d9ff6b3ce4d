import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Azurite's well-known development account; public by design, not a secret. */
const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteOptions {
  /** Folder for persistent data; omit to keep everything in memory (tests). */
  readonly location?: string;
  /** Fixed ports; 0 or omitted lets the OS choose. */
  readonly ports?: { readonly blob?: number; readonly queue?: number; readonly table?: number };
  readonly startTimeoutMs?: number;
  /** Serve HTTPS with this certificate (PEM files); bearer tokens need it. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /** `basic`: accept OAuth bearer tokens, checking their audience, issuer and lifetime but not their signature. */
  readonly oauth?: 'basic';
  /** Node options for Azurite's process (`--cpu-prof` to profile it under a benchmark). */
  readonly nodeArgs?: readonly string[];
}

export interface RunningAzurite {
  readonly connectionString: string;
  readonly ports: { readonly blob: number; readonly queue: number; readonly table: number };
  /** Each service's account URL (path style), e.g. `https://127.0.0.1:10002/devstoreaccount1`. */
  readonly serviceUrls: { readonly blob: string; readonly queue: string; readonly table: string };
  /** The child's process id, for finding it again after this process died (see dev/local-lock.ts). */
  readonly pid: number;
  close(): Promise<void>;
}

const SERVICES = ['Blob', 'Queue', 'Table'] as const;

/**
 * Loaded into the Azurite process before Azurite itself. SIGKILL of the parent cannot be trapped, so the child has
 * to notice on its own: its stdin is a pipe from the parent that only closes when the parent is gone. It then shuts
 * Azurite down as SIGTERM would, so that its files are written; exits outright if Azurite is still starting (its
 * signal handlers, registered once it listens, are not there yet); and lets it finish if it is already shutting down
 * (its handlers are one-shot and gone): exiting then would cut its database files half-written. The pipe is unref'd
 * so that it does not keep Azurite alive after a normal SIGTERM shutdown.
 */
const PARENT_WATCHDOG = [
  'let started = false;',
  "process.on('newListener', (event) => { if (event === 'SIGTERM') started = true; });",
  'const orphaned = () => {',
  // Its stdout and stderr are pipes to the dead parent: the shutdown's first log line would fail with EPIPE and,
  // unhandled, end the process before its data files are written.
  "  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});",
  '  setTimeout(() => process.exit(1), 30000).unref();',
  '  if (!started) process.exit(1);',
  "  else if (process.listenerCount('SIGTERM') > 0) process.emit('SIGTERM', 'SIGTERM');",
  '};',
  "process.stdin.once('end', orphaned);",
  "process.stdin.once('error', orphaned);",
  'process.stdin.resume();',
  'process.stdin.unref?.();',
].join('\n');

function serviceUrls(
  ports: RunningAzurite['ports'],
  protocol: 'http' | 'https',
): RunningAzurite['serviceUrls'] {
  const url = (port: number) => `${protocol}://127.0.0.1:${port}/${DEV_ACCOUNT}`;
  return { blob: url(ports.blob), queue: url(ports.queue), table: url(ports.table) };
}

export function developmentConnectionString(
  ports: RunningAzurite['ports'],
  protocol: 'http' | 'https' = 'http',
): string {
  const urls = serviceUrls(ports, protocol);
  return [
    `DefaultEndpointsProtocol=${protocol}`,
    `AccountName=${DEV_ACCOUNT}`,
    `AccountKey=${DEV_KEY}`,
    `BlobEndpoint=${urls.blob}`,
    `QueueEndpoint=${urls.queue}`,
    `TableEndpoint=${urls.table}`,
  ].join(';');
}

/** Starts the Azurite npm package as a child process and resolves once all three services listen. */
export async function startAzurite(options: AzuriteOptions = {}): Promise<RunningAzurite> {
  const require = createRequire(import.meta.url);
  const entry = join(dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'azurite.js');
  const args = [
    ...(options.nodeArgs ?? []),
    '--import',
    `data:text/javascript,${encodeURIComponent(PARENT_WATCHDOG)}`,
    entry,
    '--blobPort',
    String(options.ports?.blob ?? 0),
    '--queuePort',
    String(options.ports?.queue ?? 0),
    '--tablePort',
    String(options.ports?.table ?? 0),
    '--skipApiVersionCheck',
    '--disableTelemetry',
    '--loose',
    // No access log: its line on stdout per request cost the emulator about a quarter of its CPU per point read
    // (measured, issue 20: 2.2 ms of Azurite CPU for two point reads with it, 1.6 ms without).
    '--silent',
  ];
  if (options.location) {
    mkdirSync(options.location, { recursive: true });
    args.push('--location', options.location);
  } else {
    args.push('--inMemoryPersistence');
  }
  if (options.tls) args.push('--cert', options.tls.certFile, '--key', options.tls.keyFile);
  if (options.oauth) args.push('--oauth', options.oauth);
  const child = spawn(process.execPath, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    // A process group of its own: Ctrl-C in a terminal signals the whole group, and Azurite would start shutting
    // down on it while the parent still closes what uses it, then take the parent's SIGTERM for a second shutdown
    // that crashes it before its files are written. Its parent alone stops it (close(), or the watchdog above).
    // On Windows `detached` would open a console of its own instead.
    detached: process.platform !== 'win32',
  });
  const ports = await waitForPorts(child, options.startTimeoutMs ?? 30_000);
  const protocol = options.tls ? 'https' : 'http';
  return {
    connectionString: developmentConnectionString(ports, protocol),
    ports,
    serviceUrls: serviceUrls(ports, protocol),
    pid: child.pid ?? 0,
    close: () => stopChild(child),
  };
}

function waitForPorts(child: ChildProcess, timeoutMs: number): Promise<RunningAzurite['ports']> {
  return new Promise((resolve, reject) => {
    const found: Partial<Record<(typeof SERVICES)[number], number>> = {};
    let output = '';
    const timer = setTimeout(
      () => fail(new Error(`Azurite did not start within ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const service of SERVICES) {
        const match = new RegExp(
          `Azurite ${service} service is successfully listening at https?://[^:]+:(\\d+)`,
        ).exec(output);
        if (match) found[service] = Number(match[1]);
      }
      if (found.Blob && found.Queue && found.Table) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve({ blob: found.Blob, queue: found.Queue, table: found.Table });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) =>
      fail(new Error(`Azurite exited with code ${code} before it was ready:\n${output}`)),
    );
  });
}

export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
