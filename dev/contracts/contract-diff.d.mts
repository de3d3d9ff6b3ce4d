/** Types of dev/contracts/contract-diff.mjs for the TypeScript tests. */

export interface SourceEntry {
  readonly path: string;
  readonly repository: string;
  readonly commit: string;
  readonly source_path: string | null;
  readonly sha256: string;
  readonly source_sha256?: string;
  readonly derived?: string;
  readonly licence?: string;
}

export type EntryKind = 'authored' | 'csdl-cut' | 'permissions-cut' | 'json' | 'text';

export interface CsdlDiff {
  readonly removedTypes: string[];
  readonly changedTypes: Array<{
    readonly name: string;
    readonly added: string[];
    readonly removed: string[];
  }>;
}

export interface AddedRemoved {
  readonly added: string[];
  readonly removed: string[];
}

export interface OpenApiDiff {
  readonly kind: 'openapi';
  readonly pathsAdded: string[];
  readonly pathsRemoved: string[];
  readonly operationsAdded: string[];
  readonly operationsRemoved: string[];
  readonly definitionsAdded: string[];
  readonly definitionsRemoved: string[];
}

export interface JsonDiff extends AddedRemoved {
  readonly kind: 'json';
  readonly changed: string[];
}

export type EntryDiff =
  | ({ readonly kind: 'csdl-cut' } & CsdlDiff)
  | ({ readonly kind: 'permissions-cut' } & AddedRemoved)
  | OpenApiDiff
  | JsonDiff
  | ({ readonly kind: 'text' } & AddedRemoved);

export function rawUrl(entry: SourceEntry, ref?: string): string;
export function kindOf(entry: SourceEntry): EntryKind;
export function pinnedSourceSha256(entry: SourceEntry): string | undefined;
export function csdlTypes(
  xml: string,
): Map<string, { readonly kind: string; readonly members: ReadonlySet<string> }>;
export function diffCsdl(pinned: string, next: string): CsdlDiff;
export function permissionGrants(json: unknown, paths?: ReadonlySet<string>): Set<string>;
export function diffPermissions(pinned: unknown, next: unknown): AddedRemoved;
export function diffJson(pinned: string, next: string): OpenApiDiff | JsonDiff;
export function diffText(pinned: string, next: string): { readonly kind: 'text' } & AddedRemoved;
export function diffEntry(kind: EntryKind, pinned: string, next: string): EntryDiff | null;
export function formatDiff(diff: EntryDiff | null, limit?: number): string[];
