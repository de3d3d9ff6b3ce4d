import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { MailServices } from './mail.js';
import type { SbcDevices } from './sbc-state.js';
import {
  changeTrackingSnapshotSchema,
  directorySnapshotSchema,
  dnsSnapshotSchema,
  entraGrantsSnapshotSchema,
  graphDirectorySnapshotSchema,
  mailSnapshotSchema,
  sbcSnapshotSchema,
  teamsSnapshotSchema,
} from './snapshot-schema.js';
import type { SandboxState } from './state.js';
import type { TeamsAdminState } from './teams-state.js';
import type { TenantDirectories } from './tenant-directory.js';

export const STATE_FILE = 'sandbox-state.json';
const FORMAT = 'direct-routing-hub-sandbox-state';
/** Raise when a snapshot's meaning changes; an older file is then set aside, never half-read. */
export const STATE_FORMAT_VERSION = 1;
/** Requests within this window share one write: at most this much is lost to a SIGKILL. */
export const SAVE_DELAY_MS = 200;

const stateFileSchema = z.strictObject({
  format: z.literal(FORMAT),
  version: z.literal(STATE_FORMAT_VERSION),
  savedAt: z.iso.datetime(),
  seed: z.enum(['demo', 'empty']),
  directory: directorySnapshotSchema,
  entra: entraGrantsSnapshotSchema,
  dns: dnsSnapshotSchema,
  graph: graphDirectorySnapshotSchema,
  teams: teamsSnapshotSchema,
  changeTracking: changeTrackingSnapshotSchema,
  sbc: sbcSnapshotSchema,
  mail: mailSnapshotSchema,
});
export type SandboxStateFile = z.output<typeof stateFileSchema>;
type WorldSnapshot = Omit<SandboxStateFile, 'format' | 'version' | 'savedAt' | 'seed'>;

/** The parts of a running sandbox whose state describes "the world" (see the README for what is left out). */
export interface PersistentParts {
  readonly state: SandboxState;
  readonly teams: TeamsAdminState;
  readonly directories: TenantDirectories;
  readonly sbc: SbcDevices;
  readonly mail: Pick<MailServices, 'snapshot' | 'restore'>;
}

/**
 * Generated (scale) tenants hold 100,000 users as a formula plus overlays; they are load-test fixtures a bench
 * re-creates, so they and everything in them stay out of the file.
 */
export function snapshotWorld(parts: PersistentParts): WorldSnapshot {
  const generated = (tenantId: string) => parts.directories.generatedFor(tenantId) !== undefined;
  return {
    directory: parts.state.snapshot(generated),
    entra: parts.state.entra.snapshot(generated),
    dns: parts.state.dns.snapshot(),
    graph: parts.state.directory.snapshot(generated),
    teams: parts.teams.snapshotAll(generated),
    changeTracking: parts.directories.snapshot(),
    sbc: parts.sbc.snapshot(),
    mail: parts.mail.snapshot(),
  };
}

/** Replaces every part's state; throws when the snapshot does not fit this sandbox (then start fresh). */
export function restoreWorld(parts: PersistentParts, snapshot: WorldSnapshot): void {
  parts.state.restore(snapshot.directory);
  parts.state.entra.restore(snapshot.entra);
  parts.state.dns.restore(snapshot.dns);
  parts.state.directory.restore(snapshot.graph);
  parts.teams.restore(snapshot.teams);
  parts.directories.restore(snapshot.changeTracking, (id) => parts.state.tenant(id));
  parts.sbc.restore(snapshot.sbc);
  parts.mail.restore(snapshot.mail);
}

export type LoadOutcome =
  | { readonly kind: 'restored'; readonly file: SandboxStateFile }
  | { readonly kind: 'fresh'; readonly reason: 'no-file' | 'reset' }
  | { readonly kind: 'discarded'; readonly reason: string; readonly movedTo: string };

/**
 * Reads the state file of `dir`. A file of another format version, another seed, or one that fails validation
 * is moved aside (kept for a look, never read again) and reported: the sandbox then starts from its seed.
 */
export function loadStateFile(
  dir: string,
  options: { readonly reset: boolean; readonly seed: 'demo' | 'empty' },
): LoadOutcome {
  const file = join(dir, STATE_FILE);
  // A process killed between writing and renaming leaves its temporary file; it was never the state.
  for (const name of readdirSync(dir)) {
    if (name.startsWith(`${STATE_FILE}.`) && name.endsWith('.tmp')) rmSync(join(dir, name), { force: true });
  }
  if (options.reset) {
    rmSync(file, { force: true });
    return { kind: 'fresh', reason: 'reset' };
  }
  if (!existsSync(file)) return { kind: 'fresh', reason: 'no-file' };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    return discard(file, 'corrupt', `it is not JSON (${(error as Error).message})`);
  }
  const header = z.looseObject({ format: z.string(), version: z.number() }).safeParse(raw);
  if (!header.success || header.data.format !== FORMAT) {
    return discard(file, 'corrupt', 'it is not a sandbox state file');
  }
  if (header.data.version !== STATE_FORMAT_VERSION) {
    return discard(
      file,
      'incompatible',
      `it has format version ${header.data.version} and this sandbox reads version ${STATE_FORMAT_VERSION}`,
    );
  }
  const parsed = stateFileSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return discard(
      file,
      'corrupt',
      `it failed validation (${parsed.error.issues.length} problem(s), first at ${first?.path.join('.') || '(root)'}: ${first?.message ?? ''})`,
    );
  }
  if (parsed.data.seed !== options.seed) {
    return discard(
      file,
      'other-seed',
      `it was seeded with '${parsed.data.seed}' and this start asks for '${options.seed}'`,
    );
  }
  return { kind: 'restored', file: parsed.data };
}

/** One line for the log: what the operator's sandbox now describes, and where a refused file went. */
export function describeLoad(outcome: LoadOutcome, seed: 'demo' | 'empty'): string {
  switch (outcome.kind) {
    case 'restored':
      return `restored the world saved at ${outcome.file.savedAt}.`;
    case 'fresh':
      return outcome.reason === 'reset'
        ? `forgotten as asked; starting from the '${seed}' seed.`
        : `none yet; starting from the '${seed}' seed.`;
    case 'discarded':
      return `not used because ${outcome.reason}; moved to ${outcome.movedTo}, starting from the '${seed}' seed.`;
  }
}

/** Moves a file the sandbox will not read to `sandbox-state.{label}-{time}.json` beside it. */
export function discard(file: string, label: string, reason: string): LoadOutcome {
  const movedTo = file.replace(/\.json$/, `.${label}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  try {
    renameSync(file, movedTo);
    return { kind: 'discarded', reason, movedTo };
  } catch (error) {
    // Starting fresh matters more than keeping the bad file for a look.
    rmSync(file, { force: true });
    return { kind: 'discarded', reason, movedTo: `nowhere (${(error as Error).message}; deleted)` };
  }
}

/**
 * Writes the world to `dir/sandbox-state.json` a moment after it changes (many changes, one write) and on
 * `flush()`. Each write goes to a temporary file that is synced and then renamed over the old one, so a crash
 * leaves either the previous complete file or the new one, never a torn one.
 */
export class StateWriter {
  private timer: NodeJS.Timeout | undefined;
  private lastWritten: string | undefined;
  private stopped = false;
  private readonly file: string;

  constructor(
    dir: string,
    private readonly seed: 'demo' | 'empty',
    private readonly capture: () => WorldSnapshot,
    private readonly log: (line: string) => void,
  ) {
    this.file = join(dir, STATE_FILE);
  }

  /** Something may have changed: write within `SAVE_DELAY_MS`, together with whatever else changes meanwhile. */
  changed(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => this.flush(), SAVE_DELAY_MS);
    // A pending write must not keep a process alive that is otherwise done; close() flushes.
    this.timer.unref();
  }

  /** Writes now if the world differs from the last write. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stopped) return;
    try {
      const captured = this.capture();
      const world = JSON.stringify(captured);
      if (world === this.lastWritten) return;
      const header = { format: FORMAT, version: STATE_FORMAT_VERSION, savedAt: new Date().toISOString() };
      const text = `${JSON.stringify({ ...header, seed: this.seed, ...captured }, null, 1)}\n`;
      const temporary = `${this.file}.${process.pid}.tmp`;
      const fd = openSync(temporary, 'w', 0o600);
      try {
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, this.file);
      this.lastWritten = world;
    } catch (error) {
      // The sandbox keeps serving; the next change tries again.
      this.log(`Sandbox state: could not write ${this.file}: ${(error as Error).message}`);
    }
  }

  /** No more writes, not even a pending one: what a process killed at this moment would leave. */
  abandon(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.stopped = true;
  }

  /** The final write of a graceful stop. */
  close(): void {
    this.flush();
    this.abandon();
  }
}
