#!/usr/bin/env node
/**
 * `npm run infra:check`: builds and lints every .bicep file under infra/ with the Bicep CLI, every warning an error,
 * and regenerates the compiled template the tests read (test/infra/compiled/main.json) with the hash of the sources
 * it came from (test/infra/compiled/sources.json). Plain Node (no dependency), so it runs on Windows too.
 *
 *   npm run infra:check                       check infra/ and regenerate the snapshot
 *   npm run infra:check -- --install          the same, downloading the pinned Bicep CLI first when none is found
 *   npm run infra:check -- a.bicep b.bicep    check only these files (no snapshot): CI shows a broken file fails
 *
 * The CLI: BICEP_PATH, else the pinned download under node_modules/.cache/bicep/<version>/<rid>/, else `bicep` on
 * PATH. The snapshot records the generator version, so it is written only by the pinned version.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

const BICEP_VERSION = '0.49.2';
/** The NuGet packages of the Bicep CLI (Azure.Bicep.CommandLine.<rid>) whose sha256 has been checked in. */
const PACKAGES = {
  'linux-x64': {
    sha256: '4200806a921d2ba1ea7de78ec2e064cefe313f26f612be442e5161452af70d9d',
    entry: 'tools/bicep',
  },
};

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const infraDir = join(root, 'infra');
const compiledDir = join(root, 'test', 'infra', 'compiled');
const rid = `${process.platform === 'win32' ? 'win' : process.platform === 'darwin' ? 'osx' : process.platform}-${process.arch}`;
const executable = process.platform === 'win32' ? 'bicep.exe' : 'bicep';
const cacheDir = join(root, 'node_modules', '.cache', 'bicep', BICEP_VERSION, rid);

class CheckError extends Error {}

/** Every .bicep file under dir, sorted, as absolute paths. */
export function bicepFiles(dir) {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return bicepFiles(path);
      return path.endsWith('.bicep') ? [path] : [];
    })
    .sort();
}

/**
 * sha256 of the Bicep sources: each file's path relative to the repository (forward slashes) and its text with LF
 * line endings, so that a Windows checkout hashes the same. test/infra/bicep.test.ts computes it the same way.
 */
export function sourcesHash(files) {
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(`${relative(root, file).split(sep).join('/')}\n`);
    hash.update(readFileSync(file, 'utf8').replace(/\r\n/g, '\n'));
    hash.update('\n');
  }
  return hash.digest('hex');
}

function run(cli, args) {
  const result = spawnSync(cli, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw new CheckError(`${cli}: ${result.error.message}`);
  return result;
}

function versionOf(cli) {
  const result = spawnSync(cli, ['--version'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) return undefined;
  return /(\d+\.\d+\.\d+)/.exec(result.stdout)?.[1];
}

/** The entry `name` of a zip archive (local file headers, central directory; no zip64, which NuGet does not need). */
export function unzipEntry(zip, name) {
  const minimumEocd = Math.max(0, zip.length - 22 - 0xffff);
  let eocd = -1;
  for (let at = zip.length - 22; at >= minimumEocd; at--) {
    if (zip.readUInt32LE(at) === 0x06054b50) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw new CheckError('not a zip archive (no end of central directory)');
  const entries = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < entries; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new CheckError('corrupt zip central directory');
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localHeader = zip.readUInt32LE(at + 42);
    const entryName = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (entryName !== name) continue;
    if (zip.readUInt32LE(localHeader) !== 0x04034b50) throw new CheckError('corrupt zip local header');
    const start = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
    const data = zip.subarray(start, start + compressedSize);
    const content = method === 0 ? data : method === 8 ? inflateRawSync(data) : undefined;
    if (!content) throw new CheckError(`${name}: unsupported zip compression method ${method}`);
    if (content.length !== size) throw new CheckError(`${name}: ${content.length} bytes, expected ${size}`);
    return content;
  }
  throw new CheckError(`the archive has no ${name}`);
}

async function install() {
  const pinned = PACKAGES[rid];
  if (!pinned) {
    throw new CheckError(
      `No pinned Bicep CLI package for ${rid} (pinned: ${Object.keys(PACKAGES).join(', ')}). Install Bicep ` +
        `${BICEP_VERSION} (https://aka.ms/bicep-install, or az bicep install --version v${BICEP_VERSION}) and ` +
        'put it on PATH or set BICEP_PATH.',
    );
  }
  const id = `azure.bicep.commandline.${rid}`;
  const url = `https://api.nuget.org/v3-flatcontainer/${id}/${BICEP_VERSION}/${id}.${BICEP_VERSION}.nupkg`;
  console.log(`Downloading ${url}`);
  const response = await globalThis.fetch(url);
  if (!response.ok) throw new CheckError(`${url}: HTTP ${response.status}`);
  const zip = Buffer.from(await response.arrayBuffer());
  const sha256 = createHash('sha256').update(zip).digest('hex');
  if (sha256 !== pinned.sha256) {
    throw new CheckError(`${url}: sha256 ${sha256}, expected the pinned ${pinned.sha256}`);
  }
  mkdirSync(cacheDir, { recursive: true });
  const cli = join(cacheDir, executable);
  writeFileSync(cli, unzipEntry(zip, pinned.entry));
  chmodSync(cli, 0o755);
  console.log(`Bicep ${BICEP_VERSION} (sha256 verified) in ${relative(root, cli)}`);
  return cli;
}

async function findCli(allowInstall) {
  if (process.env.BICEP_PATH && !versionOf(process.env.BICEP_PATH)) {
    throw new CheckError(
      `BICEP_PATH=${process.env.BICEP_PATH} does not run as a Bicep CLI (bicep --version)`,
    );
  }
  const candidates = [
    process.env.BICEP_PATH ? { cli: process.env.BICEP_PATH, from: 'BICEP_PATH' } : undefined,
    { cli: join(cacheDir, executable), from: 'the pinned download' },
    { cli: 'bicep', from: 'PATH' },
  ].filter(Boolean);
  for (const { cli, from } of candidates) {
    if (from !== 'PATH' && !existsSync(cli)) continue;
    const version = versionOf(cli);
    if (version) return { cli, version, from };
  }
  if (allowInstall) {
    const cli = await install();
    return { cli, version: versionOf(cli) ?? 'unknown', from: 'the pinned download' };
  }
  throw new CheckError(
    'No Bicep CLI found (BICEP_PATH, node_modules/.cache/bicep, PATH). ' +
      'Get the pinned one with: npm run infra:check -- --install',
  );
}

/** Builds and lints one file; returns its compiled template when it is clean, else prints why and returns null. */
function check(cli, file) {
  const name = relative(root, file);
  const build = run(cli, ['build', file, '--stdout']);
  const buildDiagnostics = build.stderr.trim();
  const lint = run(cli, ['lint', file, '--diagnostics-format', 'sarif']);
  let results = [];
  try {
    results = JSON.parse(lint.stdout).runs.flatMap((r) => r.results ?? []);
  } catch {
    results = [{ message: { text: `bicep lint printed no SARIF: ${lint.stdout}${lint.stderr}` } }];
  }
  // A build diagnostic is a compiler warning or error; lint reports the linter's rules (and compiler errors again).
  if (build.status === 0 && !buildDiagnostics && lint.status === 0 && results.length === 0) {
    console.log(`ok   ${name}`);
    return build.stdout;
  }
  console.error(`FAIL ${name}`);
  if (buildDiagnostics) console.error(buildDiagnostics.replace(/^/gm, '  build: '));
  for (const result of results) {
    const region = result.locations?.[0]?.physicalLocation?.region;
    const where = region?.startLine ? `line ${region.startLine}: ` : '';
    console.error(
      `  lint:  ${where}${result.level ?? 'warning'} ${result.ruleId ?? ''}: ${result.message?.text}`,
    );
  }
  if (build.status !== 0 && !buildDiagnostics) console.error(`  build exited with ${build.status}`);
  return null;
}

async function main(argv) {
  const allowInstall = argv.includes('--install');
  const unknown = argv.filter((a) => a.startsWith('--') && a !== '--install');
  if (unknown.length) throw new CheckError(`unknown option ${unknown.join(' ')}`);
  const explicit = argv.filter((a) => !a.startsWith('--')).map((a) => resolve(a));
  const { cli, version, from } = await findCli(allowInstall);
  console.log(`Bicep ${version} (${from}: ${cli})`);

  const files = explicit.length ? explicit : bicepFiles(infraDir);
  let failed = 0;
  let mainTemplate = null;
  for (const file of files) {
    const compiled = check(cli, file);
    if (compiled === null) failed++;
    if (file === join(infraDir, 'main.bicep')) mainTemplate = compiled;
  }
  if (failed) throw new CheckError(`${failed} of ${files.length} Bicep file(s) have errors or warnings`);
  if (explicit.length) return;

  if (version !== BICEP_VERSION) {
    throw new CheckError(
      `The compiled snapshot records its generator: write it with the pinned Bicep ${BICEP_VERSION}, not ${version} ` +
        '(npm run infra:check -- --install, and no BICEP_PATH).',
    );
  }
  mkdirSync(compiledDir, { recursive: true });
  writeFileSync(join(compiledDir, 'main.json'), `${mainTemplate.replace(/\r\n/g, '\n').trimEnd()}\n`);
  const sources = {
    $comment: 'Written by npm run infra:check: the sources test/infra/compiled/main.json was compiled from.',
    bicep: BICEP_VERSION,
    files: files.map((f) => relative(root, f).split(sep).join('/')),
    sha256: sourcesHash(files),
  };
  writeFileSync(join(compiledDir, 'sources.json'), `${JSON.stringify(sources, null, 2)}\n`);
  console.log(`Wrote ${relative(root, compiledDir)}/main.json and sources.json`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(error instanceof CheckError ? `infra:check: ${error.message}` : error);
    process.exitCode = 1;
  });
}
