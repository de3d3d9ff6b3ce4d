// What changed between a pinned contract file (dev/contracts/specs) and another version of its source, in the
// terms a contract test cares about: types and properties of the Graph CSDL, permissions per path of the Graph
// permissions file, paths, operations and definitions of an OpenAPI (Swagger) document, lines of a text file.
// Pure functions over text, so `test/contracts/contract-diff.test.ts` runs them on local fixtures;
// dev/contracts/refresh.mjs does the downloading.

/** `https://raw.githubusercontent.com/{repository}/{ref}/{source_path}`: a file at a commit (or `HEAD`). */
export function rawUrl(entry, ref = entry.commit) {
  const path = entry.source_path.split('/').map(encodeURIComponent).join('/');
  return `https://raw.githubusercontent.com/${entry.repository}/${ref}/${path}`;
}

/** How a SOURCES.json entry is compared: a file copied whole, a cut of its source, or written here. */
export function kindOf(entry) {
  if (!entry.source_path || /^authored here/i.test(entry.licence ?? '')) return 'authored';
  if (entry.derived) {
    if (entry.path.endsWith('.xml')) return 'csdl-cut';
    if (/permissions/i.test(entry.path)) return 'permissions-cut';
    return 'authored';
  }
  if (entry.path.endsWith('.json')) return 'json';
  return 'text';
}

/** The sha256 the source must have at the pinned commit: the source's own for a cut, the copy's otherwise. */
export function pinnedSourceSha256(entry) {
  return entry.derived ? entry.source_sha256 : entry.sha256;
}

const sorted = (values) => [...values].sort();
const minus = (a, b) => sorted([...a].filter((x) => !b.has(x)));

/** Types of a CSDL by qualified name (aliases resolved), each with its members: properties, navigations, enum members. */
export function csdlTypes(xml) {
  const types = new Map();
  for (const [, open, body] of xml.matchAll(/(<Schema\b[^>]*>)([\s\S]*?)<\/Schema>/g)) {
    const namespace = /\bNamespace="([^"]+)"/.exec(open)?.[1] ?? '';
    for (const [, kind, attributes, inner = ''] of body.matchAll(
      /<(EntityType|ComplexType|EnumType)\b([^>]*?)(?:\/>|>([\s\S]*?)<\/\1>)/g,
    )) {
      const name = /\bName="([^"]+)"/.exec(attributes)?.[1];
      if (!name) continue;
      const members = new Set();
      for (const [, element, member, type] of inner.matchAll(
        /<(Property|NavigationProperty|Member)\b[^>]*?\bName="([^"]+)"(?:[^>]*?\bType="([^"]+)")?/g,
      )) {
        members.add(element === 'Member' ? member : `${member}: ${type ?? '?'}`);
      }
      types.set(`${namespace}.${name}`, { kind, members });
    }
  }
  return types;
}

/**
 * The CSDL change for the types of `pinned` (the cut): types gone from `next`, and per type the members added and
 * removed (a changed type shows as one removed and one added). Types the cut does not hold are not reported.
 */
export function diffCsdl(pinned, next) {
  const before = csdlTypes(pinned);
  const after = csdlTypes(next);
  const removedTypes = sorted([...before.keys()].filter((name) => !after.has(name)));
  const changedTypes = [];
  for (const [name, type] of before) {
    const other = after.get(name);
    if (!other) continue;
    const added = minus(other.members, type.members);
    const removed = minus(type.members, other.members);
    if (added.length + removed.length > 0) changedTypes.push({ name, added, removed });
  }
  changedTypes.sort((a, b) => a.name.localeCompare(b.name));
  return { removedTypes, changedTypes };
}

const normalisePath = (path) => path.toLowerCase().replace(/\{[^}]+\}/g, '{id}');

/** `Permission Scheme METHOD /path` for every grant of a permissions file, optionally only for some paths. */
export function permissionGrants(json, paths) {
  const grants = new Set();
  for (const [name, permission] of Object.entries(json.permissions ?? {})) {
    for (const set of permission.pathSets ?? []) {
      for (const path of Object.keys(set.paths ?? {})) {
        const normal = normalisePath(path);
        if (paths && !paths.has(normal)) continue;
        for (const scheme of set.schemeKeys ?? []) {
          for (const method of set.methods ?? []) grants.add(`${name} ${scheme} ${method} ${normal}`);
        }
      }
    }
  }
  return grants;
}

/** Grants added and removed for the paths the pinned cut holds (a grant for another path is not the product's). */
export function diffPermissions(pinned, next) {
  const before = permissionGrants(pinned);
  const paths = new Set([...before].map((grant) => grant.split(' ')[3]));
  const after = permissionGrants(next, paths);
  return { added: minus(after, before), removed: minus(before, after) };
}

const METHODS = new Set(['get', 'put', 'post', 'patch', 'delete', 'head', 'options']);

/** An OpenAPI (Swagger 2 or OpenAPI 3) document's operations (`METHOD /path`) and schema names. */
function openApiParts(document) {
  const operations = new Set();
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const method of Object.keys(item ?? {})) {
      if (METHODS.has(method)) operations.add(`${method.toUpperCase()} ${path}`);
    }
  }
  const schemas = new Set(Object.keys(document.definitions ?? document.components?.schemas ?? {}));
  return { paths: new Set(Object.keys(document.paths ?? {})), operations, schemas };
}

/** Every leaf of a JSON value by its JSON path, for documents that are not OpenAPI. */
function leaves(value, at = '$', out = new Map()) {
  if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) leaves(child, `${at}.${key}`, out);
  } else {
    out.set(at, JSON.stringify(value));
  }
  return out;
}

/**
 * A JSON file's change: for an OpenAPI document its paths, operations and definitions added and removed; for any
 * other document the leaves (JSON paths) added, removed and changed.
 */
export function diffJson(pinned, next) {
  const before = JSON.parse(pinned);
  const after = JSON.parse(next);
  if (before.swagger || before.openapi) {
    const a = openApiParts(before);
    const b = openApiParts(after);
    return {
      kind: 'openapi',
      pathsAdded: minus(b.paths, a.paths),
      pathsRemoved: minus(a.paths, b.paths),
      operationsAdded: minus(b.operations, a.operations),
      operationsRemoved: minus(a.operations, b.operations),
      definitionsAdded: minus(b.schemas, a.schemas),
      definitionsRemoved: minus(a.schemas, b.schemas),
    };
  }
  const a = leaves(before);
  const b = leaves(after);
  return {
    kind: 'json',
    added: minus(new Set(b.keys()), new Set(a.keys())),
    removed: minus(new Set(a.keys()), new Set(b.keys())),
    changed: sorted([...a.keys()].filter((key) => b.has(key) && b.get(key) !== a.get(key))),
  };
}

/** A text file's change as its distinct lines added and removed (order changes are not reported). */
export function diffText(pinned, next) {
  const split = (text) => new Set(text.split(/\r?\n/).filter((line) => line.trim() !== ''));
  const before = split(pinned);
  const after = split(next);
  return { kind: 'text', added: minus(after, before), removed: minus(before, after) };
}

/** The change of one entry's file, by its kind; null when nothing the tests read changed. */
export function diffEntry(kind, pinned, next) {
  const diff =
    kind === 'csdl-cut'
      ? { kind, ...diffCsdl(pinned, next) }
      : kind === 'permissions-cut'
        ? { kind, ...diffPermissions(JSON.parse(pinned), JSON.parse(next)) }
        : kind === 'json'
          ? diffJson(pinned, next)
          : diffText(pinned, next);
  const empty = Object.entries(diff).every(([key, value]) => key === 'kind' || value.length === 0);
  return empty ? null : diff;
}

/** Lines for the terminal: at most `limit` items per list, then how many more. */
export function formatDiff(diff, limit = 20) {
  if (!diff) return ['  no change the contract tests read'];
  const lines = [];
  const list = (label, items) => {
    if (!items || items.length === 0) return;
    lines.push(`  ${label} (${items.length}):`);
    for (const item of items.slice(0, limit)) lines.push(`    ${item}`);
    if (items.length > limit) lines.push(`    … ${items.length - limit} more`);
  };
  if (diff.kind === 'csdl-cut') {
    list('types removed', diff.removedTypes);
    for (const type of diff.changedTypes) {
      list(`${type.name}: members added`, type.added);
      list(`${type.name}: members removed`, type.removed);
    }
  } else if (diff.kind === 'permissions-cut') {
    list('grants added (permission scheme method path)', diff.added);
    list('grants removed', diff.removed);
  } else if (diff.kind === 'openapi') {
    list('paths added', diff.pathsAdded);
    list('paths removed', diff.pathsRemoved);
    list('operations added', diff.operationsAdded);
    list('operations removed', diff.operationsRemoved);
    list('definitions added', diff.definitionsAdded);
    list('definitions removed', diff.definitionsRemoved);
  } else if (diff.kind === 'json') {
    list('added', diff.added);
    list('removed', diff.removed);
    list('changed', diff.changed);
  } else {
    list('lines added', diff.added);
    list('lines removed', diff.removed);
  }
  return lines;
}
