// npm run contracts:refresh [-- --commit <sha> --repo <owner/name> | --latest] [--only <path prefix>]
//
// Needs the network; no test runs it. For every file of dev/contracts/specs/SOURCES.json that was taken from a
// public repository:
// - without a flag: downloads its source at the pinned commit (raw.githubusercontent.com) and checks the sha256
//   SOURCES.json pins (a cut file's source_sha256, a whole copy's sha256). Exit code 1 on any mismatch.
// - with --commit <sha> (one repository's commit, so --repo names it when SOURCES.json has several) or --latest
//   (each repository's HEAD): downloads that version and prints what changed against the pinned file, in the terms
//   the contract tests read (dev/contracts/contract-diff.mjs). Nothing is written: to move a pin, copy the file
//   (or re-run dev/contracts/cut-graph.mjs on the new source) and update SOURCES.json.
// Files written here (authored facts, notices) have nothing to download and are listed as skipped.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { diffEntry, formatDiff, kindOf, pinnedSourceSha256, rawUrl } from './contract-diff.mjs';

const specs = join(dirname(fileURLToPath(import.meta.url)), 'specs');

/** A wrong command line: the reason, and no stack trace. */
function refuse(message) {
  console.error(`contracts:refresh: ${message}`);
  process.exit(2);
}

function option(name) {
  const index = process.argv.indexOf(name);
  if (index < 0) return undefined;
  const value = process.argv[index + 1];
  if (!value || value.startsWith('--')) refuse(`${name} needs a value.`);
  return value;
}

const commit = option('--commit');
const repo = option('--repo');
const only = option('--only');
const latest = process.argv.includes('--latest');
if (commit && latest) refuse('Give --commit or --latest, not both.');
if (commit && !/^[0-9a-f]{7,40}$/i.test(commit)) refuse(`--commit ${commit} is not a commit sha.`);

const entries = JSON.parse(readFileSync(join(specs, 'SOURCES.json'), 'utf8')).filter(
  (entry) => (!repo || entry.repository === repo) && (!only || entry.path.startsWith(only)),
);
if (entries.length === 0) refuse('No SOURCES.json entry matches --repo/--only.');
if (commit && new Set(entries.map((e) => e.repository)).size > 1) {
  refuse('--commit is one repository’s commit: name it with --repo <owner/name>.');
}

/** The file's bytes at a ref, or why not (the HTTP status, or the network's error). */
async function download(entry, ref) {
  const url = rawUrl(entry, ref);
  try {
    const response = await globalThis.fetch(url, {
      headers: { 'user-agent': 'direct-routing-hub contracts:refresh' },
    });
    if (!response.ok) return { url, problem: `HTTP ${response.status}` };
    return { url, bytes: Buffer.from(await response.arrayBuffer()) };
  } catch (error) {
    return { url, problem: `no answer (${error.cause?.code ?? error.message}); this needs the network` };
  }
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

let failures = 0;
const cache = new Map();
for (const entry of entries) {
  const kind = kindOf(entry);
  if (kind === 'authored') {
    console.log(`skip  ${entry.path}: written here (${entry.licence})`);
    continue;
  }
  const ref = commit ?? (latest ? 'HEAD' : entry.commit);
  const key = `${entry.repository}@${ref}:${entry.source_path}`;
  const got = cache.get(key) ?? (await download(entry, ref));
  cache.set(key, got);
  if (!got.bytes) {
    failures += 1;
    console.log(`FAIL  ${entry.path}: ${got.problem} from ${got.url}`);
    continue;
  }
  const actual = sha256(got.bytes);
  if (ref === entry.commit) {
    const expected = pinnedSourceSha256(entry);
    if (actual === expected)
      console.log(`ok    ${entry.path} (${entry.repository}@${entry.commit.slice(0, 8)})`);
    else {
      failures += 1;
      console.log(`FAIL  ${entry.path}: sha256 ${actual}, SOURCES.json pins ${expected} (${got.url})`);
    }
    continue;
  }
  if (actual === pinnedSourceSha256(entry)) {
    console.log(`same  ${entry.path} at ${ref}`);
    continue;
  }
  const pinned = readFileSync(join(specs, entry.path), 'utf8');
  console.log(`diff  ${entry.path} at ${ref} (sha256 ${actual}):`);
  for (const line of formatDiff(diffEntry(kind, pinned, got.bytes.toString('utf8')))) console.log(line);
}
if (failures > 0) {
  console.log(`${failures} file(s) could not be confirmed.`);
  process.exitCode = 1;
}
