import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  diffEntry,
  formatDiff,
  kindOf,
  pinnedSourceSha256,
  rawUrl,
  type SourceEntry,
} from '../../dev/contracts/contract-diff.mjs';
import { readSpecText } from './specs.js';

/**
 * `npm run contracts:refresh` compares a pinned file with another version of its source; these are its diff rules,
 * run on the pinned files themselves, edited as an upstream change would edit them (no network).
 */

const sources = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', '..', 'dev', 'contracts', 'specs', 'SOURCES.json'), 'utf8'),
) as SourceEntry[];
const entry = (path: string) => {
  const found = sources.find((e) => e.path === path);
  if (!found) throw new Error(`${path} is not in SOURCES.json`);
  return found;
};

describe('contracts:refresh diff rules', () => {
  it('downloads each file by repository and commit, and knows which sha256 its source must have', () => {
    const csdl = entry('graph/v1.0-metadata.cut.xml');
    expect(rawUrl(csdl)).toBe(
      'https://raw.githubusercontent.com/microsoftgraph/msgraph-metadata/f54f11b60956ea7b185ca0447b2b80805836ec7b/clean_v10_metadata/cleanMetadata.xml',
    );
    expect(rawUrl(csdl, 'HEAD')).toContain('/msgraph-metadata/HEAD/clean_v10_metadata/');
    expect(pinnedSourceSha256(csdl)).toBe(csdl.source_sha256);
    expect(pinnedSourceSha256(entry('arm-dns/dns.json'))).toBe(entry('arm-dns/dns.json').sha256);
    expect(
      Object.fromEntries(
        [
          'graph/v1.0-metadata.cut.xml',
          'graph/permissions.cut.json',
          'arm-dns/dns.json',
          'audiocodes/README.md',
        ].map((p) => [p, kindOf(entry(p))]),
      ),
    ).toEqual({
      'graph/v1.0-metadata.cut.xml': 'csdl-cut',
      'graph/permissions.cut.json': 'permissions-cut',
      'arm-dns/dns.json': 'json',
      'audiocodes/README.md': 'authored',
    });
  });

  it('CSDL: a property gone and one added on a type of the cut, a type of the cut gone; others not reported', () => {
    const pinned = readSpecText('graph/v1.0-metadata.cut.xml');
    const next = pinned
      .replace('        <Property Name="isRoot" Type="Edm.Boolean" Nullable="false" />\n', '')
      .replace(
        '        <Property Name="isVerified" Type="Edm.Boolean" Nullable="false" />\n',
        '        <Property Name="isVerified" Type="Edm.Boolean" Nullable="false" />\n' +
          '        <Property Name="verifiedAt" Type="Edm.DateTimeOffset" />\n',
      )
      .replace(/ {6}<ComplexType Name="domainState"[\s\S]*?<\/ComplexType>\n/, '')
      .replace('</Schema>', '  <EntityType Name="somethingNew" />\n    </Schema>');
    const diff = diffEntry('csdl-cut', pinned, next);
    expect(diff).toEqual({
      kind: 'csdl-cut',
      removedTypes: ['microsoft.graph.domainState'],
      changedTypes: [
        {
          name: 'microsoft.graph.domain',
          added: ['verifiedAt: Edm.DateTimeOffset'],
          removed: ['isRoot: Edm.Boolean'],
        },
      ],
    });
    expect(formatDiff(diff)).toContain('  microsoft.graph.domain: members removed (1):');
    expect(diffEntry('csdl-cut', pinned, pinned)).toBeNull();
  });

  it('permissions: grants added and removed for the paths of the cut only', () => {
    const pinned = readSpecText('graph/permissions.cut.json');
    const next = JSON.parse(pinned) as {
      permissions: Record<
        string,
        { pathSets: Array<{ schemeKeys: string[]; methods: string[]; paths: object }> }
      >;
    };
    const domains = next.permissions['Domain.ReadWrite.All']?.pathSets[0];
    if (!domains) throw new Error('Domain.ReadWrite.All has no path set');
    domains.schemeKeys = domains.schemeKeys.filter((s) => s !== 'DelegatedWork');
    next.permissions['Directory.ReadWrite.All']?.pathSets.push({
      schemeKeys: ['Application'],
      methods: ['DELETE'],
      paths: { '/users/{user-id}': 'least=Application', '/somewhere/else': 'least=Application' },
    });
    const diff = diffEntry('permissions-cut', pinned, JSON.stringify(next));
    if (diff?.kind !== 'permissions-cut') throw new Error('no permissions change found');
    // '/somewhere/else' is not a path of the product's: not reported.
    expect(diff.added).toEqual(['Directory.ReadWrite.All Application DELETE /users/{id}']);
    expect(diff.removed.length).toBeGreaterThan(0);
    expect(diff.removed.filter((g) => !g.startsWith('Domain.ReadWrite.All DelegatedWork '))).toEqual([]);
  });

  it('OpenAPI: paths, operations and definitions added and removed; an example by its JSON paths', () => {
    const pinned = readSpecText('arm-dns/dns.json');
    const next = JSON.parse(pinned) as {
      paths: Record<string, Record<string, unknown>>;
      definitions: Record<string, unknown>;
    };
    const [first = ''] = Object.keys(next.paths);
    delete next.paths[first];
    next.paths['/subscriptions/{subscriptionId}/providers/Microsoft.Network/dnsResolvers'] = { get: {} };
    delete next.definitions.CloudError;
    expect(diffEntry('json', pinned, JSON.stringify(next))).toMatchObject({
      kind: 'openapi',
      pathsAdded: ['/subscriptions/{subscriptionId}/providers/Microsoft.Network/dnsResolvers'],
      pathsRemoved: [first],
      operationsAdded: ['GET /subscriptions/{subscriptionId}/providers/Microsoft.Network/dnsResolvers'],
      definitionsAdded: [],
      definitionsRemoved: ['CloudError'],
    });

    const example = readSpecText('arm-dns/examples/GetZone.json');
    const edited = JSON.parse(example) as { parameters: Record<string, unknown> };
    edited.parameters['api-version'] = '2023-07-01-preview';
    expect(diffEntry('json', example, JSON.stringify(edited))).toEqual({
      kind: 'json',
      added: [],
      removed: [],
      changed: ['$.parameters.api-version'],
    });
  });

  it('text: lines added and removed, and a whitespace-only change is no change', () => {
    const pinned = readSpecText('teams-admin/validated-policy-types.txt');
    const [first = ''] = pinned.split('\n');
    const next = `${pinned.replace(`${first}\n`, '')}NewPolicyType\n\n`;
    expect(diffEntry('text', pinned, next)).toEqual({
      kind: 'text',
      added: ['NewPolicyType'],
      removed: [first],
    });
    expect(diffEntry('text', pinned, pinned.replace(/\n/g, '\r\n'))).toBeNull();
  });
});
