import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAKE_CONNECTION_STRING, importEntry, productionLikeSettings } from './entry-import.js';

/**
 * The entry point's cold start: a fresh `node` imports package.json's "main" (the build of functions/index.ts)
 * as the Functions worker does (entry-import.ts, the measurement the tests share), under production-like App
 * Settings (identity-based storage), and reports how long the import took and its resident set size after it.
 * Several runs, the median; once without Application Insights and once with it (the Azure Monitor distro loads only
 * then, docs/decisions.md, 75).
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

const SETTINGS = productionLikeSettings('drhbench');

async function coldRun(entry: string, env: Record<string, string>): Promise<ColdStartRun> {
  const { importMs, processMs, rssBytes } = await importEntry({ entry, env });
  return { importMs, processMs, rssBytes };
}

export async function coldStartBench(options: { readonly runs: number }): Promise<ColdStartResults> {
  const { main } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string };
  const entry = join(root, main);
  const plain: ColdStartRun[] = [];
  const monitored: ColdStartRun[] = [];
  // One after the other, alternating: two at once would measure each other.
  for (let i = 0; i < options.runs; i++) {
    plain.push(await coldRun(entry, SETTINGS));
    monitored.push(
      await coldRun(entry, { ...SETTINGS, APPLICATIONINSIGHTS_CONNECTION_STRING: FAKE_CONNECTION_STRING }),
    );
  }
  return { entry: main, runs: options.runs, plain, monitored };
}
