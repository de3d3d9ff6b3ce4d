import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEMO } from '../../dev/sandbox/demo-data.js';
import { teamsAdminEndpoint, teamsAdminPeer } from '../../dev/sandbox/peers/teams-admin.js';
import { GRANTABLE_POLICY_TYPES, TEAMS_POLICY_NAMES } from '../../dev/sandbox/teams-state.js';
import { VOICE_POLICY_NAMES } from '../../shared/replication/m365-reader.js';
import { GROUP_POLICY_ASSIGNMENT } from '../../shared/teams/teams-admin-client.js';
import { USER_POLICY_TYPES } from '../../shared/users/user-change.js';
import { type SandboxFixture, startFixture } from '../sandbox/fixtures.js';
import { readSpecText } from './specs.js';

/**
 * The Teams admin API has no published specification; the catalogue is what terraprovider/go-teams derived from the
 * MicrosoftTeams module and live traffic (dev/contracts/specs/teams-admin, NOTICE.md): the `{PolicyName}` values
 * confirmed live and the cmdlets' routes. Every policy name and route the sandbox serves, and every name the product
 * sends, is in it, or is an exception below with its source. Documented in dev/sandbox/README.md.
 */

const GO_TEAMS = 'https://github.com/terraprovider/go-teams/blob';
const GO_TEAMS_AT = `${GO_TEAMS}/2be9f011dea8158872edde99ccbefed22312c9e8`;
const GO_TEAMS_GRANTS = `${GO_TEAMS}/460f696620775507decb3cb948ff19759bbe84f0`;

/** `{PolicyName}` values outside validated-policy-types.txt, each with why it is served anyway. */
export const POLICY_NAME_EXCEPTIONS: Readonly<Record<string, string>> = {
  TenantNetworkSite:
    'Microsoft documents New/Get/Set/Remove-CsTenantNetworkSite (https://learn.microsoft.com/powershell/module/teams/new-cstenantnetworksite) ' +
    'and the MicrosoftTeams module exports Get-CsTenantNetworkSite from Microsoft.Teams.Policy.Administration.Core; ' +
    'its siblings TenantNetworkRegion, TenantNetworkSubnet and TenantTrustedIPAddress are in the live-captured ' +
    '{PolicyName} list under /Skype.Policy/configurations/, and a public Python client of this API lists, reads, ' +
    'creates, updates and deletes sites at Skype.Policy/configurations/TenantNetworkSite (found in the code index, ' +
    'its repository not named there). Not live-confirmed by go-teams (its list has TenantNetworkConfiguration): the ' +
    'product keeps the name one constant (shared/replication/m365-reader.ts TENANT_NETWORK_SITE).',
};

/** Sandbox routes outside autorest-cmdlets.json, each with its source. */
export const ROUTE_EXCEPTIONS: Readonly<Record<string, string>> = {
  'GET /Teams.Tenant/serviceDiscovery': `the module's connect handshake (X-MS-Target-Uri routing): go-teams ${GO_TEAMS_AT}/teamsapi/client.go`,
  'GET /Skype.Policy/configurations/{PolicyName}': `PolicyList / PolicyGet in go-teams ${GO_TEAMS_AT}/teamsapi/invoke.go (resolve); also the header of validated-policy-types.txt`,
  'POST /Skype.Policy/configurations/{PolicyName}': `PolicyNew in go-teams ${GO_TEAMS_AT}/teamsapi/invoke.go (resolve)`,
  'PUT /Skype.Policy/configurations/{PolicyName}/configuration/{Identity}': `PolicySet in go-teams ${GO_TEAMS_AT}/teamsapi/invoke.go (resolve)`,
  'DELETE /Skype.Policy/configurations/{PolicyName}/configuration/{Identity}': `PolicyRemove in go-teams ${GO_TEAMS_AT}/teamsapi/invoke.go (resolve)`,
  'GET /Skype.Policy/configurations/{PolicyName}/configuration/{Identity}':
    'one object by Identity: the product never calls it (teams-admin-client.ts reads the list and filters, as go-teams’ ' +
    'PolicyGet does); the sandbox keeps it for its own tests, and the Python client named for TenantNetworkSite reads ' +
    'sites, regions, subnets and trusted IPs at this path',
  'POST /Skype.Policy/groupPolicyAssignments': `Grant-Cs…Policy -Group in go-teams ${GO_TEAMS_AT}/teamsapi/invoke.go (resolve, PolicyGrant)`,
  'PATCH /Skype.Policy/groupPolicyAssignments/{groupId}/policyTypes/{policyType}': `the group grant route in go-teams ${GO_TEAMS_GRANTS}/teamsapi/invoke.go (PolicyGrant, "Routes decompiled from {User,Group,Global}GrantPolicy") and teamsapi_test.go TestPolicyGrantRoutes`,
  'PATCH /Skype.Policy/users/{userId}/policies/{policyType}': `the user grant route, "live-validated", in go-teams ${GO_TEAMS_GRANTS}/teamsapi/invoke.go (PolicyGrant) and teamsapi_test.go TestPolicyGrantRoutes`,
};

const catalogueSchema = z.object({
  cmdlets: z.record(z.string(), z.object({ method: z.string(), path: z.string() })),
});
const VALIDATED = new Set(
  readSpecText('teams-admin/validated-policy-types.txt')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#')),
);
const CATALOGUED_ROUTES = Object.values(
  catalogueSchema.parse(JSON.parse(readSpecText('teams-admin/autorest-cmdlets.json'))).cmdlets,
);

/** Whether the catalogue maps a cmdlet to this method and path: its paths are prefixes the module appends an id to. */
function catalogued(method: string, path: string): boolean {
  const concrete = path.replace(/\{[^}]+\}/g, 'x');
  return CATALOGUED_ROUTES.some((route) => {
    const prefix = route.path.replace(/[/?=]+$/, '');
    return (
      route.method === method &&
      (concrete === prefix || concrete.startsWith(`${prefix}/`) || concrete.startsWith(`${prefix}?`))
    );
  });
}

/** Names and routes that are neither catalogued nor excepted. */
function uncatalogued(names: readonly string[], routes: readonly string[]): string[] {
  return [
    ...names
      .filter((n) => !VALIDATED.has(n) && !(n in POLICY_NAME_EXCEPTIONS))
      .map((n) => `policy name ${n}`),
    ...routes.filter((r) => {
      const [method = '', path = ''] = r.split(' ');
      return !catalogued(method, path) && !(r in ROUTE_EXCEPTIONS);
    }),
  ];
}

/** The sandbox's Teams routes, spelled as the catalogue spells paths (`{name}` for a parameter). */
const SANDBOX_ROUTES = teamsAdminPeer({} as Parameters<typeof teamsAdminPeer>[0]).routes.map(
  (route) =>
    `${route.method} ${route.path.replace(/:(\w+)/g, (_, name: string) => `{${name === 'policyName' ? 'PolicyName' : name === 'identity' ? 'Identity' : name}}`)}`,
);

describe('the Teams admin catalogue', () => {
  it('holds every policy name the sandbox serves and grants, and every name the product sends', () => {
    const productNames = [
      ...VOICE_POLICY_NAMES.filter((name) => name !== GROUP_POLICY_ASSIGNMENT),
      ...Object.values(USER_POLICY_TYPES).map((type) => type.teamsType),
    ];
    expect(uncatalogued([...TEAMS_POLICY_NAMES, ...GRANTABLE_POLICY_TYPES, ...productNames], [])).toEqual([]);
  });

  it('holds every route the sandbox serves', () => {
    expect(uncatalogued([], SANDBOX_ROUTES)).toEqual([]);
  });

  it('keeps no exception that nothing needs any more', () => {
    const served = new Set([...TEAMS_POLICY_NAMES, ...GRANTABLE_POLICY_TYPES]);
    expect(Object.keys(POLICY_NAME_EXCEPTIONS).filter((n) => !served.has(n) || VALIDATED.has(n))).toEqual([]);
    expect(Object.keys(ROUTE_EXCEPTIONS).filter((r) => !SANDBOX_ROUTES.includes(r))).toEqual([]);
  });

  it('reports a policy name or route outside the catalogue (broken on purpose)', () => {
    expect(
      uncatalogued(['TeamsSandboxOnlyPolicy', 'OnlineVoiceRoute'], ['GET /Skype.Policy/sandboxOnly/{id}']),
    ).toEqual(['policy name TeamsSandboxOnlyPolicy', 'GET /Skype.Policy/sandboxOnly/{id}']);
  });
});

describe('the sandbox serves no other policy name', () => {
  let f: SandboxFixture;
  let token: string;
  const get = async (path: string) => {
    const response = await f.transport.fetch(`${f.sandbox.url}/teams${path}`, {
      headers: {
        authorization: `Bearer ${token}`,
        'x-ms-target-uri': `https://${teamsAdminEndpoint(DEMO.customers.contoso.tenantId).host}/`,
      },
    });
    await response.arrayBuffer();
    return response.status;
  };

  beforeAll(async () => {
    f = await startFixture();
    const credential = f.credential(
      DEMO.customers.contoso.tenantId,
      DEMO.tokenApp.clientId,
      DEMO.tokenApp.clientSecret,
    );
    token = (await credential.getToken('48ac35b8-9aa8-4d74-927d-1f4a14a0b239/.default')).token;
  });
  afterAll(() => f.close());

  it('lists each of its names and refuses one the catalogue lacks', async () => {
    for (const name of TEAMS_POLICY_NAMES)
      expect(await get(`/Skype.Policy/configurations/${name}`), name).toBe(200);
    expect(await get('/Skype.Policy/configurations/TeamsSandboxOnlyPolicy')).toBeGreaterThanOrEqual(400);
  });
});
