// Cuts the pinned Microsoft Graph v1.0 CSDL (3.5 MB) and permissions file (3 MB) down to what the contract tests
// use: the entity sets, navigations and bound operations the product calls, every type they reach through
// properties and base types, and the permissions of the product's paths. Elements are copied verbatim, so the cut
// says nothing the source does not. Refuses a source whose sha256 is not the pinned one.
//
//   node dev/contracts/cut-graph.mjs [--from ../shared/contracts]
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const fromIndex = process.argv.indexOf('--from');
const from = resolve(root, fromIndex > 0 ? process.argv[fromIndex + 1] : '../shared/contracts');
const specs = join(here, 'specs', 'graph');

const PINNED = {
  'graph/cleanMetadata.xml': '79b90dfb12d57adecfa110069397ed7003719e713840a9f885ae946fd9ee6e6b',
  'graph/permissions.json': '43dfa0184b83f88f36a42ffcf7e1a5012629952f17affe75eb08040260d8c469',
};

/** The entry points of the product's Graph calls (shared/m365, shared/replication, shared/users, shared/credentials). */
const ENTITY_SETS = [
  'applications',
  'directoryObjects',
  'domains',
  'groups',
  'organization',
  'subscribedSkus',
  'users',
];
const SINGLETONS = ['admin'];
/** Navigation properties followed (others are kept as declarations, their targets not cut in). */
const NAVIGATIONS = {
  'microsoft.graph.admin': ['teams'],
  'microsoft.graph.teamsAdministration.teamsAdminRoot': ['userConfigurations', 'telephoneNumberManagement'],
  'microsoft.graph.teamsAdministration.telephoneNumberManagementRoot': ['numberAssignments', 'operations'],
  'microsoft.graph.domain': ['verificationDnsRecords'],
  'microsoft.graph.group': ['members'],
};
/** Derived types the sandbox names in `@odata.type`: a base type alone does not reach them. */
const DERIVED = ['microsoft.graph.domainDnsTxtRecord', 'microsoft.graph.domainDnsMxRecord'];
/** Bound actions and functions the product calls, by name; kept where bound to a type in the cut. */
const OPERATIONS = ['assignLicense', 'assignNumber', 'unassignNumber', 'verify', 'delta'];
/** The permission file's paths (lower case, `{id}` for any key) of the product's calls. */
const PERMISSION_PATHS = [
  '/admin/teams/telephonenumbermanagement/numberassignments',
  '/admin/teams/telephonenumbermanagement/numberassignments/assignnumber',
  '/admin/teams/telephonenumbermanagement/numberassignments/unassignnumber',
  '/admin/teams/telephonenumbermanagement/operations/{id}',
  '/admin/teams/userconfigurations',
  '/admin/teams/userconfigurations/{id}',
  '/applications',
  '/directory/deleteditems/{id}/restore',
  '/domains',
  '/domains/{id}',
  '/domains/{id}/domainnamereferences',
  '/domains/{id}/verificationdnsrecords',
  '/domains/{id}/verify',
  '/groups',
  '/groups/delta',
  '/groups/{id}/members',
  '/organization',
  '/subscribedskus',
  '/users',
  '/users/delta',
  '/users/{id}',
  '/users/{id}/assignlicense',
];

function pinned(name) {
  const bytes = readFileSync(join(from, name));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== PINNED[name]) throw new Error(`${name}: sha256 ${sha256}, pinned ${PINNED[name]}`);
  return bytes.toString('utf8');
}

// ---- CSDL ----
const xml = pinned('graph/cleanMetadata.xml');
const schemas = [
  ...xml.matchAll(
    /^ {4}(<Schema Namespace="([^"]+)"(?: Alias="([^"]+)")?[^>]*>)\n([\s\S]*?)^ {4}<\/Schema>/gm,
  ),
].map(([, open, namespace, alias, body]) => ({
  namespace,
  alias,
  open: `    ${open}`,
  // Top-level elements are indented six spaces in the pinned file.
  elements: [...body.matchAll(/^ {6}<(\w+)\b([^>]*?)(?:\/>|>[\s\S]*?^ {6}<\/\1>)$/gm)].map(
    ([text, kind, attributes]) => ({
      kind,
      name: /\bName="([^"]+)"/.exec(attributes)?.[1],
      text,
    }),
  ),
}));
const aliases = new Map(schemas.flatMap((s) => (s.alias ? [[s.alias, s.namespace]] : [])));
const qualify = (name) => {
  const dot = name.lastIndexOf('.');
  const prefix = name.slice(0, dot);
  return aliases.has(prefix) ? `${aliases.get(prefix)}${name.slice(dot)}` : name;
};
const elementType = (type) => qualify(/^Collection\((.+)\)$/.exec(type)?.[1] ?? type);

const types = new Map();
for (const schema of schemas) {
  for (const element of schema.elements) {
    if (['EntityType', 'ComplexType', 'EnumType'].includes(element.kind)) {
      types.set(`${schema.namespace}.${element.name}`, { ...element, schema });
    }
  }
}

const kept = new Set();
const reach = (name) => {
  if (name.startsWith('Edm.') || kept.has(name)) return;
  const type = types.get(name);
  if (!type) throw new Error(`type ${name} is not in the CSDL`);
  kept.add(name);
  const base = /\bBaseType="([^"]+)"/.exec(type.text)?.[1];
  if (base) reach(qualify(base));
  for (const [, property] of type.text.matchAll(/<Property Name="[^"]+" Type="([^"]+)"/g)) {
    reach(elementType(property));
  }
  const followed = NAVIGATIONS[name] ?? [];
  for (const [, navigation, target] of type.text.matchAll(
    /<NavigationProperty Name="([^"]+)" Type="([^"]+)"/g,
  )) {
    if (followed.includes(navigation)) reach(elementType(target));
  }
};

const graphSchema = schemas.find((s) => s.namespace === 'microsoft.graph');
const container = graphSchema.elements.find((e) => e.kind === 'EntityContainer');
const sources = [
  ...container.text.matchAll(
    /^ {8}<(EntitySet|Singleton) Name="([^"]+)"[^>]*?(?:\/>|>[\s\S]*?^ {8}<\/\1>)$/gm,
  ),
];
const containerLines = [];
for (const [text, kind, name] of sources) {
  if (!(kind === 'EntitySet' ? ENTITY_SETS : SINGLETONS).includes(name)) continue;
  reach(qualify(/\b(?:EntityType|Type)="([^"]+)"/.exec(text)[1]));
  containerLines.push(text);
}
for (const name of DERIVED) reach(name);

const operationKept = (element) => {
  if (!['Action', 'Function'].includes(element.kind) || !OPERATIONS.includes(element.name)) return false;
  const binding = /<Parameter Name="bindingParameter" Type="([^"]+)"/i.exec(element.text)?.[1];
  return binding !== undefined && kept.has(elementType(binding));
};

const out = [
  '<?xml version="1.0" encoding="utf-8"?>',
  '<!-- Cut by dev/contracts/cut-graph.mjs from msgraph-metadata clean_v10_metadata/cleanMetadata.xml',
  `     (commit f54f11b60956ea7b185ca0447b2b80805836ec7b, sha256 ${PINNED['graph/cleanMetadata.xml']}).`,
  '     Elements are copied verbatim; MIT, see LICENSE.msgraph-metadata. Regenerate, do not edit. -->',
  '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">',
  '  <edmx:DataServices>',
];
for (const schema of schemas) {
  const elements = schema.elements.filter(
    (e) => kept.has(`${schema.namespace}.${e.name}`) && e.kind !== 'EntityContainer',
  );
  const operations = schema.elements.filter(operationKept);
  const hasContainer = schema === graphSchema;
  if (elements.length === 0 && operations.length === 0 && !hasContainer) continue;
  out.push(schema.open);
  for (const element of [...elements, ...operations]) out.push(element.text);
  if (hasContainer) {
    out.push('      <EntityContainer Name="GraphService">', ...containerLines, '      </EntityContainer>');
  }
  out.push('    </Schema>');
}
out.push('  </edmx:DataServices>', '</edmx:Edmx>', '');
writeFileSync(join(specs, 'v1.0-metadata.cut.xml'), out.join('\n'));

// ---- permissions ----
const permissions = JSON.parse(pinned('graph/permissions.json')).permissions;
const normalise = (path) => path.toLowerCase().replace(/\{[^}]+\}/g, '{id}');
const cut = {};
for (const [name, permission] of Object.entries(permissions)) {
  const pathSets = (permission.pathSets ?? []).flatMap((set) => {
    const paths = Object.fromEntries(
      Object.entries(set.paths).filter(([path]) => PERMISSION_PATHS.includes(normalise(path))),
    );
    return Object.keys(paths).length > 0 ? [{ ...set, paths }] : [];
  });
  if (pathSets.length > 0) cut[name] = { pathSets };
}
writeFileSync(
  join(specs, 'permissions.cut.json'),
  `${JSON.stringify(
    {
      source: `microsoft-graph-devx-content permissions/new/permissions.json (commit 6cbd6bbd665a877560fdefbad74f3bdb5b57af88, sha256 ${PINNED['graph/permissions.json']}); cut by dev/contracts/cut-graph.mjs to the product's paths; MIT, see LICENSE.microsoft-graph-devx-content`,
      permissions: cut,
    },
    null,
    2,
  )}\n`,
);
console.log(
  `kept ${kept.size} types, ${containerLines.length} entity sets/singletons, ${Object.keys(cut).length} permissions`,
);
