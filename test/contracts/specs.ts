import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/** The pinned public specifications the contract tests read (dev/contracts/specs, provenance in its SOURCES.json). */
const SPECS = join(import.meta.dirname, '..', '..', 'dev', 'contracts', 'specs');

const sourcesSchema = z.array(
  z.object({ path: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).loose(),
);

let sources: ReadonlyMap<string, string> | undefined;

/**
 * The path of a pinned file, after checking its sha256 against SOURCES.json: a test must not pass against a file
 * somebody edited by hand (regenerate a cut with dev/contracts/cut-graph.mjs instead).
 */
export function specPath(relative: string): string {
  sources ??= new Map(
    sourcesSchema
      .parse(JSON.parse(readFileSync(join(SPECS, 'SOURCES.json'), 'utf8')))
      .map((e) => [e.path, e.sha256]),
  );
  const expected = sources.get(relative);
  if (!expected) throw new Error(`${relative} is not listed in dev/contracts/specs/SOURCES.json`);
  const path = join(SPECS, relative);
  const actual = createHash('sha256').update(readFileSync(path)).digest('hex');
  if (actual !== expected) throw new Error(`${relative}: sha256 ${actual}, SOURCES.json says ${expected}`);
  return path;
}

export function readSpecJson(relative: string): unknown {
  return JSON.parse(readSpecText(relative));
}

export function readSpecText(relative: string): string {
  return readFileSync(specPath(relative), 'utf8');
}
