import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';

/**
 * Assembles the deployment package of the Function App in a staging folder that azd zips as it is
 * (azure.yaml `dist: .azure-package`, hook `prepackage: npm run package`):
 *
 *   dist/            the build this script belongs to, without dist/dev and dist/test
 *   host.json, package.json, package-lock.json
 *   node_modules/    the production dependencies of package-lock.json, less the files Node never loads
 *
 * node_modules is what `npm ci --omit=dev` would install (less NEVER_LOADED and TYPES_ONLY), taken from the project's installed node_modules rather
 * than from the registry: every lockfile entry not flagged `dev` is copied to its lockfile path (the lockfile fixes
 * the layout, so the tree is the one npm would lay out), and each copied package must carry the lockfile's version.
 * That needs no network and no npm cache, works the same on Windows, and keeps what install scripts built
 * (protobufjs has one). A project whose node_modules does not match package-lock.json fails here: run `npm ci`.
 *
 * Usage: `node dist/package/dev/package/assemble.js [--project <dir>] [--out <dir>]` (defaults: cwd, <project>/.azure-package).
 */

interface LockEntry {
  readonly version?: string;
  readonly dev?: boolean;
  readonly optional?: boolean;
  readonly link?: boolean;
}

interface Lockfile {
  readonly lockfileVersion: number;
  readonly packages?: Record<string, LockEntry>;
}

interface PackageSummary {
  readonly files: number;
  readonly bytes: number;
  readonly dependencies: number;
}

/** The build this file was compiled into: <build>/dev/package/assemble.js. */
const buildRoot = resolve(import.meta.dirname, '..', '..');

/** Build output that is not product: the local host and sandbox (dist/dev), test builds (dist/test). */
const NOT_SHIPPED = new Set(['dev', 'test']);

const PROJECT_FILES = ['host.json', 'package.json', 'package-lock.json'];

/**
 * Files of dependencies that Node never loads: source maps, type declarations and TypeScript sources. They are
 * two thirds of the production install (about 150 MB with them, under 80 MB without), and a smaller package
 * deploys and cold-starts faster on the Flex Consumption plan.
 */
const NEVER_LOADED = /\.(map|ts|mts|cts|tsbuildinfo)$/;

/** Packages of type declarations only, at any depth of node_modules. */
const TYPES_ONLY = /(^|\/)node_modules\/@types\/[^/]+$/;

function isInside(parent: string, child: string): boolean {
  const path = relative(parent, child);
  return path === '' || (!path.startsWith('..') && !isAbsolute(path));
}

/** The lockfile paths (`node_modules/a`, `node_modules/a/node_modules/b`) that a production install holds. */
function productionPaths(lockfile: Lockfile): Map<string, LockEntry> {
  if (!lockfile.packages || lockfile.lockfileVersion < 2) {
    throw new Error('package-lock.json has no "packages" map (lockfileVersion 2 or later): run npm install');
  }
  // `npm ci --omit=dev` leaves out exactly the entries flagged dev (needed only by devDependencies); devOptional
  // and optional entries stay, as optional dependencies are not omitted. Unlike npm, @types packages are left out
  // too: some production packages depend on them (protobufjs on @types/node), but they hold only declarations.
  return new Map(
    Object.entries(lockfile.packages).filter(
      ([path, entry]) => path.startsWith('node_modules/') && entry.dev !== true && !TYPES_ONLY.test(path),
    ),
  );
}

function copyDependencies(project: string, out: string): number {
  const lockfile = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8')) as Lockfile;
  let copied = 0;
  for (const [path, entry] of productionPaths(lockfile)) {
    if (entry.link)
      throw new Error(`${path}: linked (workspace) packages are not supported by this packaging`);
    const source = join(project, path);
    if (!existsSync(join(source, 'package.json'))) {
      // An optional dependency for another platform is in the lockfile but not installed, as npm ci would do.
      if (entry.optional) continue;
      throw new Error(`${path} is in package-lock.json but not installed: run npm ci`);
    }
    const { version } = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8')) as {
      version?: string;
    };
    if (version !== entry.version) {
      throw new Error(`${path} is ${version} but package-lock.json says ${entry.version}: run npm ci`);
    }
    const nested = join(source, 'node_modules');
    cpSync(source, join(out, path), {
      recursive: true,
      // Nested node_modules are lockfile entries of their own, copied (or left out as dev) on their own.
      filter: (file) => file !== nested && !(NEVER_LOADED.test(file) && lstatSync(file).isFile()),
    });
    copied += 1;
  }
  return copied;
}

function measure(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = lstatSync(path);
    if (stat.isDirectory()) {
      const inner = measure(path);
      files += inner.files;
      bytes += inner.bytes;
    } else {
      files += 1;
      bytes += stat.size;
    }
  }
  return { files, bytes };
}

function assemble(project: string, out: string): PackageSummary {
  const main = (JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as { main: string }).main;
  if (!existsSync(join(buildRoot, relative('dist', main)))) {
    throw new Error(`${buildRoot} has no ${main} to package: run npm run build`);
  }
  if (isInside(out, project) || isInside(buildRoot, out) || isInside(join(project, 'node_modules'), out)) {
    throw new Error(`refusing to stage into ${out}: it would hold or be held by what it packages`);
  }

  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const name of readdirSync(buildRoot)) {
    if (!NOT_SHIPPED.has(name)) cpSync(join(buildRoot, name), join(out, 'dist', name), { recursive: true });
  }
  for (const file of PROJECT_FILES) cpSync(join(project, file), join(out, file));
  const dependencies = copyDependencies(project, out);
  return { ...measure(out), dependencies };
}

const { values } = parseArgs({ options: { project: { type: 'string' }, out: { type: 'string' } } });
const project = resolve(values.project ?? process.cwd());
const out = resolve(values.out ?? join(project, '.azure-package'));
const summary = assemble(project, out);
const shown = out.startsWith(process.cwd() + sep) ? relative(process.cwd(), out) : out;
console.log(
  `Packaged ${shown}${sep}: ${summary.files} files, ${(summary.bytes / 1_000_000).toFixed(1)} MB unpacked, ` +
    `${summary.dependencies} production packages`,
);
