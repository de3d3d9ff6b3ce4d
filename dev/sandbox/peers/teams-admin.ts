import { createHash, randomUUID } from 'node:crypto';
import type { Peer, PeerRequest, Reply } from '../router.js';
import { findUser, type SandboxState, type Tenant } from '../state.js';
import { TEAMS_POLICY_NAMES, TeamsAdminStateError, type TeamsAdminState } from '../teams-state.js';
import { gatewayActivationRefusal, NO_TEAMS_ADMIN_ROLE_MESSAGE } from '../teams-reality.js';
import type { TenantDirectories } from '../tenant-directory.js';
import { type TokenIssuer, TokenRejectedError, type VerifiedToken } from '../tokens.js';
import { hasPhoneSystem } from './graph-numbers.js';

/** The "Skype and Teams Tenant Admin API" resource: the `aud` of its tokens. */
export const TEAMS_ADMIN_AUDIENCE = '48ac35b8-9aa8-4d74-927d-1f4a14a0b239';

/** The tenant's admin service host and forest, as `serviceDiscovery` tells them; stable per tenant. */
export function teamsAdminEndpoint(tenantId: string): { host: string; forest: string } {
  const hash = createHash('sha256').update(`teams-forest/${tenantId.toLowerCase()}`).digest();
  const forest = `${String.fromCharCode(65 + ((hash[0] ?? 0) % 26))}${(hash[1] ?? 0) % 10}`;
  return { host: `admin${forest.toLowerCase()}.online.lync.com`, forest: `${forest}B` };
}

/**
 * The Teams admin configuration API (`https://api.interfaces.records.teams.microsoft.com`) at `/teams`: the
 * `serviceDiscovery` handshake, collection-style configuration objects under `/Skype.Policy/configurations`
 * and user policy grants, per tenant of the bearer token.
 */
export function teamsAdminPeer(deps: {
  readonly issuer: TokenIssuer;
  readonly state: SandboxState;
  readonly teams: TeamsAdminState;
  readonly directories: TenantDirectories;
}): Peer {
  const { issuer, state, teams, directories } = deps;

  /** Authenticates; with `target`, also checks the `X-MS-Target-Uri` of the tenant's admin endpoint. */
  const guarded =
    (
      handler: (request: PeerRequest, tenant: Tenant) => Reply,
      options: { readonly target: boolean } = { target: true },
    ) =>
    async (request: PeerRequest): Promise<Reply> => {
      const token = await authenticate(request);
      if ('status' in token) return token;
      const delegated = typeof token.claims.scp === 'string';
      if (delegated) {
        const scopes = String(token.claims.scp).split(' ');
        const user = typeof token.claims.oid === 'string' ? token.claims.oid : '';
        if (!scopes.includes('user_impersonation')) {
          return teamsError(request, 403, 'Forbidden', 'The token lacks the user_impersonation scope.');
        }
        if (!state.entra.isGlobalAdministrator(token.tenant.id, user)) {
          return teamsError(
            request,
            403,
            'Forbidden',
            'The user is not a Teams administrator (Teams Communications Administrator or Global Administrator).',
          );
        }
      }
      const appId = typeof token.claims.appid === 'string' ? token.claims.appid : '';
      if (!delegated && state.profile.name === 'reality' && !teams.adminRoles.has(token.tenant.id, appId)) {
        return teamsError(request, 403, 'Forbidden', NO_TEAMS_ADMIN_ROLE_MESSAGE);
      }
      if (options.target) {
        const expected = `https://${teamsAdminEndpoint(token.tenant.id).host}/`;
        const header = request.headers['x-ms-target-uri'];
        const target = typeof header === 'string' ? header : '';
        if (target.toLowerCase() !== expected) {
          return teamsError(
            request,
            400,
            'BadRequest',
            target
              ? `X-MS-Target-Uri '${target}' is not the admin service endpoint of this tenant.`
              : 'The X-MS-Target-Uri header is required; call Teams.Tenant/serviceDiscovery first.',
          );
        }
      }
      try {
        return handler(request, token.tenant);
      } catch (error) {
        if (error instanceof TeamsAdminStateError) {
          return teamsError(request, error.status, error.code, error.message);
        }
        throw error;
      }
    };

  const authenticate = async (request: PeerRequest): Promise<VerifiedToken | Reply> => {
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    if (!match?.[1]) return teamsError(request, 401, 'Unauthorized', 'Authorization header is missing.');
    try {
      return await issuer.verify(match[1], [TEAMS_ADMIN_AUDIENCE]);
    } catch (error) {
      if (!(error instanceof TokenRejectedError)) throw error;
      return teamsError(request, 401, 'Unauthorized', error.message);
    }
  };

  const parseBody = (request: PeerRequest): Record<string, unknown> => {
    let body: unknown;
    try {
      body = JSON.parse(request.body.toString('utf8') || 'null');
    } catch {
      throw new TeamsAdminStateError(400, 'BadRequest', 'The request body is not valid JSON.');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new TeamsAdminStateError(400, 'BadRequest', 'The request body must be a JSON object.');
    }
    return body as Record<string, unknown>;
  };

  /**
   * A write's answer: the object under `strict`; under `reality` 204 with no body, as some of the service's writes
   * answer (go-teams `teamsapi/invoke.go` `decodeValue`: an empty answer is no objects, a single object is what
   * "some writes" return), so that a client must read the object back.
   */
  const written = (request: PeerRequest, status: number, body: unknown): Reply =>
    state.profile.name === 'reality'
      ? { status: 204, headers: requestIds(request) }
      : ok(request, status, body);

  /** The request's configuration type, refused as unknown where the reality profile makes the tenant refuse it. */
  const typeOf = (tenant: Tenant, request: PeerRequest): string => {
    const name = policyName(request);
    if (state.profile.name === 'reality' && teams.refusedTypes.has(tenant.id, name)) {
      throw new TeamsAdminStateError(404, 'NotFound', `Unknown configuration type '${name}'.`);
    }
    return name;
  };

  const userOf = (tenant: Tenant, request: PeerRequest) => {
    const id = request.params.userId ?? '';
    const user = findUser(tenant, id);
    if (!user) throw new TeamsAdminStateError(404, 'NotFound', `User '${id}' was not found in the tenant.`);
    return user;
  };

  return {
    name: 'teams-admin',
    prefix: '/teams',
    error: (status, message, request) => teamsError(request, status, codeByStatus(status), message),
    routes: [
      {
        method: 'GET',
        path: '/Teams.Tenant/serviceDiscovery',
        handle: guarded(
          (request, tenant) => {
            const endpoint = teamsAdminEndpoint(tenant.id);
            return ok(request, 200, {
              Endpoints: { AdminServiceEndpoint: endpoint.host },
              Headers: { 'X-MS-Forest': endpoint.forest },
            });
          },
          { target: false },
        ),
      },
      {
        method: 'GET',
        path: '/Skype.Policy/configurations/:policyName',
        handle: guarded((request, tenant) =>
          ok(request, 200, teams.list(tenant.id, typeOf(tenant, request))),
        ),
      },
      {
        method: 'POST',
        path: '/Skype.Policy/configurations/:policyName',
        handle: guarded((request, tenant) => {
          const name = typeOf(tenant, request);
          const body = parseBody(request);
          if (name === 'OnlinePSTNGateway') {
            const fqdn = body.Identity ?? body.Fqdn;
            const refusal =
              typeof fqdn === 'string' ? gatewayActivationRefusal(state, tenant, fqdn) : undefined;
            if (refusal) throw new TeamsAdminStateError(400, 'BadRequest', refusal);
          }
          return written(request, 201, teams.create(tenant.id, name, body));
        }),
      },
      {
        method: 'GET',
        path: '/Skype.Policy/configurations/:policyName/configuration/:identity',
        handle: guarded((request, tenant) => {
          const name = typeOf(tenant, request);
          const identity = request.params.identity ?? '';
          const found = teams.get(tenant.id, name, identity);
          if (!found) {
            throw new TeamsAdminStateError(
              404,
              'NotFound',
              `The ${name} with Identity '${identity}' was not found.`,
            );
          }
          return ok(request, 200, found);
        }),
      },
      {
        method: 'PUT',
        path: '/Skype.Policy/configurations/:policyName/configuration/:identity',
        handle: guarded((request, tenant) =>
          written(
            request,
            200,
            teams.update(
              tenant.id,
              typeOf(tenant, request),
              request.params.identity ?? '',
              parseBody(request),
            ),
          ),
        ),
      },
      {
        method: 'DELETE',
        path: '/Skype.Policy/configurations/:policyName/configuration/:identity',
        handle: guarded((request, tenant) => {
          teams.delete(tenant.id, typeOf(tenant, request), request.params.identity ?? '');
          return { status: 204, headers: requestIds(request) };
        }),
      },
      {
        // Grant-Cs…Policy -Identity: the type in the path, the instance (null for Global) in the body (go-teams).
        method: 'PATCH',
        path: '/Skype.Policy/users/:userId/policies/:policyType',
        handle: guarded((request, tenant) => {
          const user = userOf(tenant, request);
          const { PolicyName: name } = parseBody(request);
          if (!(typeof name === 'string' || name === null || name === undefined)) {
            throw new TeamsAdminStateError(400, 'BadRequest', 'PolicyName must be a string or null.');
          }
          teams.grant(tenant.id, user.id, request.params.policyType ?? '', name ?? null);
          return { status: 204, headers: requestIds(request) };
        }),
      },
      // New/Get/Set/Remove-CsGroupPolicyAssignment: the calls teams-admin-client.ts documents, with the
      // service's checks (teams-state.ts). Writes answer with the assignment as it now is.
      {
        method: 'GET',
        path: '/Skype.Policy/groupPolicyAssignments',
        handle: guarded((request, tenant) => ok(request, 200, teams.groupAssignments(tenant.id))),
      },
      {
        method: 'POST',
        path: '/Skype.Policy/groupPolicyAssignments',
        handle: guarded((request, tenant) =>
          written(
            request,
            201,
            teams.createGroupAssignment(
              tenant.id,
              parseBody(request),
              (groupId) => tenant.groups.get(groupId.toLowerCase())?.record,
              null,
            ),
          ),
        ),
      },
      {
        method: 'PATCH',
        path: '/Skype.Policy/groupPolicyAssignments/:groupId/policyTypes/:policyType',
        handle: guarded((request, tenant) =>
          written(
            request,
            200,
            teams.updateGroupAssignment(
              tenant.id,
              request.params.groupId ?? '',
              request.params.policyType ?? '',
              parseBody(request),
            ),
          ),
        ),
      },
      {
        method: 'DELETE',
        path: '/Skype.Policy/groupPolicyAssignments/:groupId/policyTypes/:policyType',
        handle: guarded((request, tenant) => {
          teams.deleteGroupAssignment(
            tenant.id,
            request.params.groupId ?? '',
            request.params.policyType ?? '',
          );
          return { status: 204, headers: requestIds(request) };
        }),
      },
      {
        // Get-CsOnlineUser -Identity: the user with effectivePolicyAssignments (go-teams cs/users.go), which shows a
        // grant only after timings.grantVisibleMs, as Graph's userConfigurations does.
        method: 'GET',
        path: '/Teams.User/users/:userId',
        handle: guarded((request, tenant) => {
          const user = directories.of(tenant).teamsUser(userOf(tenant, request).id);
          if (!user) throw new TeamsAdminStateError(404, 'NotFound', 'The user was not found in the tenant.');
          return ok(request, 200, {
            objectId: user.id,
            userPrincipalName: user.userPrincipalName,
            enterpriseVoiceEnabled: user.isEnterpriseVoiceEnabled,
            effectivePolicyAssignments: user.effectivePolicyAssignments,
          });
        }),
      },
      {
        // Set-CsPhoneNumberAssignment -EnterpriseVoiceEnabled: no public REST contract (docs/day-two-contracts.md).
        method: 'PATCH',
        path: '/Teams.User/users/:userId',
        handle: guarded((request, tenant) => {
          const user = userOf(tenant, request);
          const body = parseBody(request);
          const names = Object.keys(body);
          const enabled = body.EnterpriseVoiceEnabled;
          if (names.length !== 1 || typeof enabled !== 'boolean') {
            throw new TeamsAdminStateError(
              400,
              'BadRequest',
              'The body must be { EnterpriseVoiceEnabled: true | false }.',
            );
          }
          if (enabled && !hasPhoneSystem(state, tenant, user.id)) {
            throw new TeamsAdminStateError(
              400,
              'BadRequest',
              `The user '${user.userPrincipalName}' is not licensed for Teams Phone (Phone System, MCOEV); Enterprise Voice cannot be enabled.`,
            );
          }
          teams.voice.setEnterpriseVoice(tenant.id, user.id, enabled);
          return { status: 204, headers: requestIds(request) };
        }),
      },
    ],
  };
}

/** The `{PolicyName}` segment in its canonical spelling (the router matches case-insensitively). */
function policyName(request: PeerRequest): string {
  const name = request.params.policyName ?? '';
  return TEAMS_POLICY_NAMES.find((known) => known.toLowerCase() === name.toLowerCase()) ?? name;
}

function ok(request: PeerRequest, status: number, body: unknown): Reply {
  return {
    status,
    headers: { ...requestIds(request), 'content-type': 'application/json; charset=utf-8' },
    body,
  };
}

function teamsError(request: PeerRequest, status: number, code: string, message: string): Reply {
  return {
    status,
    headers: { ...requestIds(request), 'content-type': 'application/json; charset=utf-8' },
    body: { error: { code, message } },
  };
}

function requestIds(request: PeerRequest): Record<string, string> {
  const header = request.headers['x-ms-client-request-id'];
  return {
    'x-ms-correlation-id': randomUUID(),
    'x-ms-client-request-id': typeof header === 'string' && header ? header : randomUUID(),
  };
}

function codeByStatus(status: number): string {
  const codes: Record<number, string> = {
    400: 'BadRequest',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    405: 'MethodNotAllowed',
    409: 'Conflict',
    429: 'TooManyRequests',
    500: 'InternalServerError',
    502: 'BadGateway',
    503: 'ServiceUnavailable',
    504: 'GatewayTimeout',
  };
  return codes[status] ?? (status >= 500 ? 'InternalServerError' : 'BadRequest');
}
