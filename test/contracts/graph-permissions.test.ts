import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEMO } from '../../dev/sandbox/demo-data.js';
import { loadOrCreateSigningKey } from '../../dev/sandbox/signing-key.js';
import { claimsOf, type SandboxFixture, startFixture } from '../sandbox/fixtures.js';
import { readSpecJson } from './specs.js';

/**
 * The permissions each sandbox Graph route accepts are among those Microsoft lists for the path and method
 * (microsoft-graph-devx-content permissions.json, cut to the product's paths): a sandbox that accepted more would
 * pass a product whose customers' grants Graph refuses. Both kinds are checked: application permissions (`roles`,
 * app-only tokens) against the file's `Application` lists, and delegated ones (`scp`, a signed-in admin's token)
 * against its `DelegatedWork` lists, which for some operations name other permissions.
 */

const contoso = DEMO.customers.contoso;

const permissionsSchema = z.object({
  permissions: z.record(
    z.string(),
    z.object({
      pathSets: z.array(
        z.object({
          schemeKeys: z.array(z.string()),
          methods: z.array(z.string()),
          paths: z.record(z.string(), z.string()),
        }),
      ),
    }),
  ),
});
const reference = permissionsSchema.parse(readSpecJson('graph/permissions.cut.json')).permissions;
const normalise = (path: string) => path.toLowerCase().replace(/\{[^}]+\}/g, '{id}');

/** How a token carries its permissions: application (`roles`) or delegated to a work account (`scp`). */
type Scheme = 'Application' | 'DelegatedWork';

/**
 * Routes the product calls that permissions.json does not list at all, each with the permissions its Microsoft Learn
 * page names for user objects (the same for application and delegated work accounts); the sandbox must accept
 * exactly these.
 */
const NOT_IN_FILE: Readonly<Record<string, readonly string[]>> = {
  // learn.microsoft.com/graph/api/directory-deleteditems-list (user): least privileged User.Read.All.
  'GET /directory/deletedItems/microsoft.graph.user': [
    'User.Read.All',
    'User.ReadWrite.All',
    'User.DeleteRestore.All',
    'Directory.Read.All',
  ],
  // learn.microsoft.com/graph/api/directory-deleteditems-get (user).
  'GET /directory/deletedItems/{id}': [
    'User.Read.All',
    'User.ReadWrite.All',
    'User.DeleteRestore.All',
    'Directory.Read.All',
  ],
  // learn.microsoft.com/graph/api/directory-deleteditems-delete (user): User.DeleteRestore.All, as the file lists
  // it with User.ReadWrite.All for the same items' restore.
  'DELETE /directory/deletedItems/{id}': ['User.DeleteRestore.All', 'User.ReadWrite.All'],
};

/** The permissions of one scheme Microsoft lists for a path (`{id}` for any key) and method. */
function listed(method: string, path: string, scheme: Scheme = 'Application'): Set<string> {
  const unlisted = NOT_IN_FILE[`${method} ${path}`];
  if (unlisted) return new Set(unlisted);
  const names = new Set<string>();
  for (const [name, { pathSets }] of Object.entries(reference)) {
    for (const set of pathSets) {
      const matches = Object.keys(set.paths).some((p) => normalise(p) === normalise(path));
      if (matches && set.methods.includes(method) && set.schemeKeys.includes(scheme)) names.add(name);
    }
  }
  return names;
}

/** Every permission the file names for any of the product's paths: what a sandbox route could wrongly accept. */
const CANDIDATES = [...new Set([...Object.keys(reference), ...Object.values(NOT_IN_FILE).flat()])].toSorted();

interface Route {
  readonly method: string;
  /** The route as permissions.json spells it. */
  readonly path: string;
}

/** The Graph routes the sandbox serves for the product (dev/sandbox/peers/graph*.ts). */
const ROUTES: readonly Route[] = [
  { method: 'GET', path: '/organization' },
  { method: 'GET', path: '/applications' },
  { method: 'GET', path: '/users' },
  { method: 'POST', path: '/users' },
  { method: 'GET', path: '/users/{id}' },
  { method: 'PATCH', path: '/users/{id}' },
  { method: 'DELETE', path: '/users/{id}' },
  { method: 'POST', path: '/users/{id}/assignLicense' },
  { method: 'GET', path: '/users/delta' },
  { method: 'GET', path: '/subscribedSkus' },
  { method: 'GET', path: '/domains' },
  { method: 'POST', path: '/domains' },
  { method: 'GET', path: '/domains/{id}' },
  { method: 'DELETE', path: '/domains/{id}' },
  { method: 'GET', path: '/domains/{id}/verificationDnsRecords' },
  { method: 'GET', path: '/domains/{id}/domainNameReferences' },
  { method: 'GET', path: '/directory/deletedItems/microsoft.graph.user' },
  { method: 'GET', path: '/directory/deletedItems/{id}' },
  { method: 'DELETE', path: '/directory/deletedItems/{id}' },
  { method: 'POST', path: '/directory/deletedItems/{id}/restore' },
  { method: 'POST', path: '/domains/{id}/verify' },
  { method: 'GET', path: '/groups' },
  { method: 'GET', path: '/groups/delta' },
  { method: 'GET', path: '/groups/{id}/members' },
  { method: 'GET', path: '/admin/teams/userConfigurations' },
  { method: 'GET', path: '/admin/teams/userConfigurations/{id}' },
  { method: 'GET', path: '/admin/teams/telephoneNumberManagement/numberAssignments' },
  { method: 'POST', path: '/admin/teams/telephoneNumberManagement/numberAssignments/assignNumber' },
  { method: 'POST', path: '/admin/teams/telephoneNumberManagement/numberAssignments/unassignNumber' },
  { method: 'GET', path: '/admin/teams/telephoneNumberManagement/operations/{id}' },
];

/** Whether a token holding exactly these permissions (of the scheme) gets past the route's permission check. */
type Accepts = (route: Route, permissions: readonly string[], scheme?: Scheme) => Promise<boolean>;

/**
 * What is wrong with a route's permissions of one scheme: any accepted one Microsoft does not list (found by
 * offering all of them at once, as a token's permissions are any-of, then narrowing down to name them); for
 * application permissions, which the product's app-only calls use, also none of the listed accepted.
 */
async function permissionProblems(
  route: Route,
  accepts: Accepts,
  scheme: Scheme = 'Application',
): Promise<string[]> {
  const allowed = listed(route.method, route.path, scheme);
  const what = scheme === 'Application' ? '' : ' (delegated)';
  if (scheme === 'Application' && allowed.size === 0) {
    return [`${route.method} ${route.path}: not in permissions.json`];
  }
  const problems: string[] = [];
  const unlisted = CANDIDATES.filter((name) => !allowed.has(name));
  if (await accepts(route, unlisted, scheme)) {
    for (const name of unlisted) {
      if (await accepts(route, [name], scheme)) {
        problems.push(`${route.method} ${route.path} accepts ${name}${what}`);
      }
    }
  }
  if (scheme === 'Application' && !(await accepts(route, [...allowed]))) {
    problems.push(`${route.method} ${route.path} refuses all of ${[...allowed].join(', ')}`);
  }
  return problems;
}

describe('the sandbox Graph accepts no permission Microsoft does not list', () => {
  let f: SandboxFixture;
  const tokens = new Map<string, Promise<string>>();
  /**
   * A signed-in admin's token: the sandbox's caller token with `scp` set to the permissions and no roles, signed
   * with the sandbox's key (from its data folder) as its Entra ID signs user tokens.
   */
  const delegatedToken = async (scopes: readonly string[]) => {
    const { roles: _roles, ...claims } = claimsOf(
      await f.sandbox.issueToken({ tenantId: contoso.tenantId, audience: 'https://graph.microsoft.com' }),
    );
    const key = await loadOrCreateSigningKey(f.dataDir);
    return new SignJWT({ ...claims, scp: scopes.join(' ') })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid })
      .sign(key.privateKey);
  };
  const accepts: Accepts = async (route, permissions, scheme = 'Application') => {
    const key = `${scheme} ${permissions.join(' ')}`;
    let token = tokens.get(key);
    if (!token) {
      token =
        scheme === 'Application'
          ? f.sandbox.issueToken({
              tenantId: contoso.tenantId,
              audience: 'https://graph.microsoft.com',
              roles: [...permissions],
            })
          : delegatedToken(permissions);
      tokens.set(key, token);
    }
    const path = route.path.replace(/\{id\}/g, '00000000-0000-0000-0000-000000000000');
    const response = await f.transport.fetch(`${f.sandbox.url}/graph/v1.0${path}`, {
      method: route.method,
      headers: {
        authorization: `Bearer ${await token}`,
        ...(route.method === 'GET' || route.method === 'DELETE'
          ? {}
          : { 'content-type': 'application/json' }),
      },
      // Past the permission check a route refuses an empty body: nothing in the sandbox changes.
      ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { body: '{}' }),
    });
    const body = (await response.json().catch(() => ({}))) as { error?: { code?: string } };
    return !(response.status === 403 && body.error?.code === 'Authorization_RequestDenied');
  };

  beforeAll(async () => {
    f = await startFixture();
  });
  afterAll(() => f.close());

  it.each(ROUTES)('$method $path', async (route) => {
    expect(await permissionProblems(route, accepts)).toEqual([]);
  });

  it.each(ROUTES)('$method $path, delegated (scp)', async (route) => {
    expect(await permissionProblems(route, accepts, 'DelegatedWork')).toEqual([]);
  });

  it("the product's own grants are each listed for the paths it calls with them", async () => {
    // DEMO.appRegistrationGraphRoles is the customer registration the product asks for (shared/credentials).
    const granted = new Set<string>(DEMO.appRegistrationGraphRoles);
    const unreachable = ROUTES.filter(
      (r) => r.path !== '/applications' && ![...listed(r.method, r.path)].some((p) => granted.has(p)),
    );
    expect(unreachable).toEqual([]);
    for (const route of ROUTES.filter((r) => r.path !== '/applications')) {
      expect(await accepts(route, [...granted]), `${route.method} ${route.path}`).toBe(true);
    }
  });

  it('reports a route that accepts a permission Microsoft does not (a sandbox broken on purpose)', async () => {
    // As the sandbox was: Directory.ReadWrite.All allowed user deletes, which Graph refuses.
    const lenient: Accepts = async (route, roles) =>
      roles.includes('Directory.ReadWrite.All') || (await accepts(route, roles));
    expect(await permissionProblems({ method: 'DELETE', path: '/users/{id}' }, lenient)).toEqual([
      'DELETE /users/{id} accepts Directory.ReadWrite.All',
    ]);
  });

  it('reports a route that accepts a delegated permission Microsoft does not (a sandbox broken on purpose)', async () => {
    // A guard that checks a token's scp against the application list: Application.ReadWrite.OwnedBy is an
    // application permission only, so Graph refuses it to a signed-in admin reading applications.
    // The delegated tokens are real to the sandbox: a listed scope passes, another is refused with 403.
    const users = { method: 'GET', path: '/users' };
    expect(await accepts(users, ['User.Read.All'], 'DelegatedWork')).toBe(true);
    expect(await accepts(users, ['access_as_user'], 'DelegatedWork')).toBe(false);
    const route = { method: 'GET', path: '/applications' };
    const applicationOnly = listed(route.method, route.path, 'Application');
    expect(listed(route.method, route.path, 'DelegatedWork').has('Application.ReadWrite.OwnedBy')).toBe(
      false,
    );
    const lenient: Accepts = async (r, permissions, scheme) =>
      scheme === 'DelegatedWork'
        ? permissions.some((p) => applicationOnly.has(p)) || (await accepts(r, permissions, scheme))
        : accepts(r, permissions, scheme);
    expect(await permissionProblems(route, lenient, 'DelegatedWork')).toEqual([
      'GET /applications accepts Application.ReadWrite.OwnedBy (delegated)',
    ]);
  });
});
