import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The entry point's cold start: a fresh `node` imports package.json's "main" (the build of functions/index.ts)
 * as the Functions worker does, under production-like App Settings (identity-based storage), and reports how long
 * the import took and its resident set size after it. Several runs, the median; once without Application Insights
 * and once with it (the Azure Monitor distro loads only then, docs/decisions.md, 75).
 */
export interface ColdStartRun {
  /** From the import's start to the entry point's evaluation done (every function registered). */
  readonly importMs: number;
  /** From spawning the process to its exit: Node's own start included. */
  readonly processMs: number;
  readonly rssBytes: number;
}

export interface ColdStartResults {
  readonly entry: string;
  readonly runs: number;
  readonly plain: readonly ColdStartRun[];
  readonly monitored: readonly ColdStartRun[];
}

export const COLD_IMPORT_TARGET_MS = 1000;
export const COLD_IMPORT_TARGET_RSS_MB = 110;

const root = join(import.meta.dirname, '..', '..', '..');

const SETTINGS: Record<string, string> = {
  AzureWebJobsStorage__accountName: 'drhbench',
  AzureWebJobsStorage__credential: 'managedidentity',
  API_TENANT_ID: '11111111-1111-1111-1111-111111111111',
  API_AUDIENCE: 'api://direct-routing-hub',
  PUBLIC_BASE_URL: 'https://drh.example.test',
  SECRETS_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  LICENSE_TENANT_COUNT: '20',
  LICENSE_USER_COUNT: '10000',
};
/** Well-formed and unreachable (the discard port): the exporter never leaves the machine. */
const CONNECTION_STRING =
  'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:9/';

function coldRun(entryUrl: string, env: Record<string, string>): Promise<ColdStartRun> {
  const code = [
    'const started = performance.now();',
    `await import(${JSON.stringify(entryUrl)});`,
    'const importMs = performance.now() - started;',
    'const rssBytes = process.memoryUsage().rss;',
    'process.stdout.write(`COLD ${JSON.stringify({ importMs, rssBytes })}\\n`, () => process.exit(0));',
  ].join('\n');
  return new Promise((resolve, reject) => {
    const spawned = performance.now();
    // @azure/functions warns on stderr for each registration outside the Functions host: not ours to show.
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.once('error', reject);
    child.once('close', (exitCode) => {
      const processMs = performance.now() - spawned;
      const line = stdout.split('\n').find((l) => l.startsWith('COLD '));
      if (exitCode !== 0 || !line) {
        reject(new Error(`Importing ${entryUrl} failed (exit ${exitCode}): ${stdout}`));
        return;
      }
      const { importMs, rssBytes } = JSON.parse(line.slice('COLD '.length)) as Omit<
        ColdStartRun,
        'processMs'
      >;
      resolve({ importMs, processMs, rssBytes });
    });
  });
}

export async function coldStartBench(options: { readonly runs: number }): Promise<ColdStartResults> {
  const { main } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string };
  const entryUrl = pathToFileURL(join(root, main)).href;
  const plain: ColdStartRun[] = [];
  const monitored: ColdStartRun[] = [];
  // One after the other, alternating: two at once would measure each other.
  for (let i = 0; i < options.runs; i++) {
    plain.push(await coldRun(entryUrl, SETTINGS));
    monitored.push(
      await coldRun(entryUrl, { ...SETTINGS, APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING }),
    );
  }
  return { entry: main, runs: options.runs, plain, monitored };
}
