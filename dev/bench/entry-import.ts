import { spawn } from 'node:child_process';

/**
 * The one measurement of the entry point's cold start, which the bench (`cold` suite), test/start/cold-start.test.ts
 * and test/package/deployment-package.test.ts share: a fresh `node` imports the entry as the Azure Functions Node.js
 * worker does, with a recording stand-in for the worker's built-in `@azure/functions-core`, and reports how long the
 * import took, its resident set size after it, and what the app registered. Plain `node`, not vitest, so that it sees
 * the module interop Azure's Node sees.
 */

/** Well-formed, and pointing at the discard port, so an export attempt fails fast instead of leaving the machine. */
export const FAKE_CONNECTION_STRING =
  'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:9/';

/** Production-like App Settings: identity-based storage (no account key), no request served. */
export function productionLikeSettings(storageAccount: string): Record<string, string> {
  return {
    AzureWebJobsStorage__accountName: storageAccount,
    AzureWebJobsStorage__credential: 'managedidentity',
    API_TENANT_ID: '11111111-1111-1111-1111-111111111111',
    API_AUDIENCE: 'api://direct-routing-hub',
    PUBLIC_BASE_URL: 'https://drh.example.test',
    SECRETS_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    LICENSE_TENANT_COUNT: '20',
    LICENSE_USER_COUNT: '10000',
  };
}

export interface Registration {
  readonly name: string;
  readonly bindings: Record<string, Record<string, unknown>>;
  readonly callbackType: string;
}

export interface Loaded {
  readonly node: string;
  readonly programmingModel?: string;
  readonly capabilities: Record<string, string>;
  readonly hooks: string[];
  readonly functions: Registration[];
}

export interface EntryImport {
  /** From the import's start to the entry point's evaluation done (every function registered). */
  readonly importMs: number;
  /** From spawning the process to its exit: Node's own start included. */
  readonly processMs: number;
  readonly rssBytes: number;
  readonly loaded: Loaded;
}

export interface EntryImportOptions {
  /** The `node` binary; this process's by default. */
  readonly node?: string;
  /** The entry point's file path. */
  readonly entry: string;
  /** The whole environment of the app besides PATH: only what Azure would give it, no vitest or npm variables. */
  readonly env: Record<string, string>;
  readonly cwd?: string;
}

// The child, as an ES module given to `node -e`: the worker serves its API as a module no package provides (it
// answers `require('@azure/functions-core')` itself, and @azure/functions, CommonJS, requires it lazily on the first
// registration); an ESM entry point is loaded with import(), as the worker does for "type": "module" apps; the host
// asks for the capabilities once the app has loaded (telemetry announces itself there). The app keeps running in a
// real worker; here an exporter's retry timers must not keep the caller waiting, so the child exits once it reported.
const CHILD = `
import Module from 'node:module';
import { pathToFileURL } from 'node:url';
const functions = [];
const hooks = [];
let programmingModel;
const disposable = { dispose() {} };
const coreApi = {
  version: '0.0.0-stand-in',
  hostVersion: '4.0.0-stand-in',
  registerFunction(metadata, callback) {
    functions.push({ ...metadata, callbackType: typeof callback });
    return disposable;
  },
  registerHook(hookName) {
    hooks.push(hookName);
    return disposable;
  },
  setProgrammingModel(model) {
    programmingModel = model;
  },
  getProgrammingModel() {
    return programmingModel;
  },
  log() {},
};
Module.prototype.require = new Proxy(Module.prototype.require, {
  apply(target, thisArg, args) {
    return args[0] === '@azure/functions-core' ? coreApi : Reflect.apply(target, thisArg, args);
  },
});
const started = performance.now();
await import(pathToFileURL(process.argv[1]).href);
const importMs = performance.now() - started;
const rssBytes = process.memoryUsage().rss;
const capabilities = programmingModel ? await programmingModel.getCapabilities({}) : {};
const loaded = { node: process.version, programmingModel: programmingModel?.name, capabilities, hooks, functions };
process.stdout.write('ENTRY ' + JSON.stringify({ importMs, rssBytes, loaded }) + '\\n', () => process.exit(0));
`;

const REPORT = 'ENTRY ';

/** Imports `entry` in a fresh `node` as the Functions worker does; rejects with its output if the import fails. */
export function importEntry({ node, entry, env, cwd }: EntryImportOptions): Promise<EntryImport> {
  return new Promise((resolve, reject) => {
    const spawned = performance.now();
    const child = spawn(node ?? process.execPath, ['--input-type=module', '-e', CHILD, entry], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(cwd ? { cwd } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const processMs = performance.now() - spawned;
      const line = stdout.split('\n').find((l) => l.startsWith(REPORT));
      if (code !== 0 || !line) {
        reject(new Error(`Importing ${entry} failed (exit ${code ?? signal}):\n${stderr}\n${stdout}`));
        return;
      }
      const report = JSON.parse(line.slice(REPORT.length)) as Omit<EntryImport, 'processMs'>;
      resolve({ ...report, processMs });
    });
  });
}
