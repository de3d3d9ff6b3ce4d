import { type DeletedUser, GraphFailure, type GraphDomain } from '../graph-directory.js';
import { ReplicationLag } from '../replication-lag.js';
import type { Peer, PeerRequest, Reply } from '../router.js';
import { type DirectoryUser, findUser, type SandboxState, SandboxStateError, type Tenant } from '../state.js';
import type { TeamsAdminState } from '../teams-state.js';
import type { TenantDirectories } from '../tenant-directory.js';
import { removeFromGroups } from '../tenant-groups.js';
import { type TokenIssuer, TokenRejectedError, type VerifiedToken } from '../tokens.js';
import { changeTrackingRoutes } from './graph-delta.js';
import { numberManagementRoutes } from './graph-numbers.js';
import {
  context,
  type Guard,
  graphError,
  MAX_PAGE_SIZE,
  ok,
  parseSelect,
  project,
  queryOption,
  requestIds,
  SELECTABLE_USER_PROPERTIES,
  USER_DEFAULT_PROPERTIES,
} from './graph-odata.js';

const GRAPH_AUDIENCES = [
  'https://graph.microsoft.com',
  'https://graph.microsoft.com/',
  '00000003-0000-0000-c000-000000000000',
];

const ORGANIZATION_PROPERTIES = [
  'id',
  'countryLetterCode',
  'createdDateTime',
  'displayName',
  'tenantType',
  'verifiedDomains',
];

/**
 * The permissions that allow each call, any one of them suffices: never one that Microsoft's permissions reference
 * (contracts/graph/permissions.json) does not list for the path and method, as application and as delegated
 * permission (test/contracts/graph-permissions.test.ts). `Directory.ReadWrite.All` is not among them for domain
 * writes, `verificationDnsRecords`, user deletes or application reads: Graph refuses it there.
 */
const PERMISSIONS = {
  organization: [
    'Organization.Read.All',
    'Organization.ReadWrite.All',
    'Directory.Read.All',
    'Directory.ReadWrite.All',
  ],
  users: ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  applications: ['Application.Read.All', 'Application.ReadWrite.All', 'Directory.Read.All'],
  domainsRead: ['Domain.Read.All', 'Domain.ReadWrite.All', 'Directory.Read.All'],
  domainRecords: ['Domain.Read.All', 'Domain.ReadWrite.All'],
  domainsWrite: ['Domain.ReadWrite.All'],
  usersWrite: ['User.ReadWrite.All', 'Directory.ReadWrite.All'],
  usersDelete: ['User.ReadWrite.All', 'User.DeleteRestore.All'],
  /**
   * Deleted users: permissions.json has no entry for `/directory/deletedItems` lists or permanent deletes, so these
   * follow learn.microsoft.com/graph/api/directory-deleteditems-list and -delete (user items) and the file's entry
   * for `/directory/deletedItems/{id}/restore` (User.DeleteRestore.All, User.ReadWrite.All).
   */
  deletedUsersRead: ['User.Read.All', 'User.ReadWrite.All', 'User.DeleteRestore.All', 'Directory.Read.All'],
  deletedUsersWrite: ['User.ReadWrite.All', 'User.DeleteRestore.All'],
  domainReferences: ['Domain.Read.All', 'Domain.ReadWrite.All'],
  licensesWrite: ['LicenseAssignment.ReadWrite.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All'],
  subscribedSkus: [
    'LicenseAssignment.Read.All',
    'Organization.Read.All',
    'Organization.ReadWrite.All',
    'Directory.Read.All',
    'Directory.ReadWrite.All',
  ],
} as const;

const DEFAULT_PAGE_SIZE = 100;

/** A domain's properties in Graph's order; `$select` picks among them (the product's permission probe selects id). */
const DOMAIN_PROPERTIES = [
  'id',
  'authenticationType',
  'availabilityStatus',
  'isAdminManaged',
  'isDefault',
  'isInitial',
  'isRoot',
  'isVerified',
  'passwordNotificationWindowInDays',
  'passwordValidityPeriodInDays',
  'supportedServices',
  'state',
] as const satisfies ReadonlyArray<keyof GraphDomain>;

/** Microsoft Graph v1.0 at `/graph/v1.0`: bearer tokens from the sandbox's Entra ID, OData shapes and paging. */
export function graphPeer(
  issuer: TokenIssuer,
  state: SandboxState,
  directories: TenantDirectories,
  teams: TeamsAdminState,
): Peer {
  const lag = new ReplicationLag(() => state.profile);
  /** Authenticates and authorises, then runs the handler for the token's tenant. */
  const guarded =
    (
      permissions: readonly string[],
      handler: (request: PeerRequest, tenant: Tenant) => Reply | Promise<Reply>,
    ) =>
    async (request: PeerRequest): Promise<Reply> => {
      const token = await authenticate(request);
      if ('status' in token) return token;
      const granted = [
        ...(Array.isArray(token.claims.roles) ? token.claims.roles : []),
        ...(typeof token.claims.scp === 'string' ? token.claims.scp.split(' ') : []),
      ];
      if (!permissions.some((p) => granted.includes(p))) {
        return graphError(
          request,
          403,
          'Authorization_RequestDenied',
          'Insufficient privileges to complete the operation.',
        );
      }
      try {
        return await handler(request, token.tenant);
      } catch (error) {
        if (error instanceof GraphFailure)
          return graphError(request, error.status, error.code, error.message);
        if (error instanceof SandboxStateError) {
          return graphError(request, error.status, codeByStatus(error.status), error.message);
        }
        throw error;
      }
    };

  const authenticate = async (request: PeerRequest): Promise<VerifiedToken | Reply> => {
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    if (!match?.[1]) return unauthenticated(request, 'Access token is empty.');
    try {
      return await issuer.verify(match[1], GRAPH_AUDIENCES);
    } catch (error) {
      if (!(error instanceof TokenRejectedError)) throw error;
      const messages: Record<TokenRejectedError['reason'], string> = {
        expired: 'Lifetime validation failed, the token is expired.',
        audience: 'Access token validation failure. Invalid audience.',
        signature: 'Access token validation failure. Invalid signature.',
        issuer: 'Access token validation failure. Invalid issuer.',
        malformed: 'IDX14100: JWT is not well formed, there are no dots (.).',
      };
      return unauthenticated(request, messages[error.reason]);
    }
  };

  return {
    name: 'graph',
    prefix: '/graph',
    error: (status, message, request) => graphError(request, status, codeByStatus(status), message),
    routes: [
      {
        method: 'GET',
        path: '/v1.0/organization',
        handle: guarded(PERMISSIONS.organization, (request, tenant) => {
          const select = parseSelect(request, ORGANIZATION_PROPERTIES, 'microsoft.graph.organization');
          if ('status' in select) return select;
          const organization = {
            id: tenant.id,
            countryLetterCode: tenant.countryLetterCode,
            createdDateTime: tenant.createdDateTime,
            displayName: tenant.displayName,
            tenantType: 'AAD',
            verifiedDomains: tenant.verifiedDomains,
          };
          return ok(request, {
            '@odata.context': context(request, 'organization', select.explicit),
            value: [project(organization, select.properties ?? ORGANIZATION_PROPERTIES)],
          });
        }),
      },
      {
        method: 'GET',
        path: '/v1.0/applications',
        handle: guarded(PERMISSIONS.applications, (request, tenant) =>
          listApplications(request, tenant, state),
        ),
      },
      // Before `/users/:id`, which would take `/users/delta` for a user id.
      ...changeTrackingRoutes(directories, guarded, (tenant, userId) =>
        state.directory.assignedLicenses(tenant, userId),
      ),
      {
        method: 'GET',
        path: '/v1.0/users',
        handle: guarded(PERMISSIONS.users, (request, tenant) => listUsers(request, tenant, state)),
      },
      {
        method: 'GET',
        path: '/v1.0/users/:id',
        handle: guarded(PERMISSIONS.users, (request, tenant) => {
          const select = parseSelect(request, SELECTABLE_USER_PROPERTIES, 'microsoft.graph.user');
          if ('status' in select) return select;
          const id = request.params.id ?? '';
          const user = findUser(tenant, id);
          if (!user || lag.hides(tenant.id, user.id)) {
            return graphError(
              request,
              404,
              'Request_ResourceNotFound',
              `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
            );
          }
          return ok(request, {
            '@odata.context': `${context(request, 'users', select.explicit)}/$entity`,
            ...project(userView(state, tenant, user), select.properties ?? USER_DEFAULT_PROPERTIES),
          });
        }),
      },
      ...directoryRoutes(state, teams, guarded, lag),
      ...numberManagementRoutes(state, teams, directories, guarded),
    ],
  };
}

/** Domains, user writes, licenses and subscribed SKUs: what domain provisioning and activation use. */
function directoryRoutes(state: SandboxState, teams: TeamsAdminState, guarded: Guard, lag: ReplicationLag) {
  const requireUser = (tenant: Tenant, id: string) => requireVisibleUser(tenant, id, lag);
  const { directory } = state;
  const domainEntity = (request: PeerRequest, body: object, status = 200): Reply => ({
    ...ok(request, { '@odata.context': `${request.origin}/graph/v1.0/$metadata#domains/$entity`, ...body }),
    status,
  });
  return [
    {
      method: 'GET',
      path: '/v1.0/domains',
      handle: guarded(PERMISSIONS.domainsRead, (request, tenant) => {
        const select = parseSelect(request, DOMAIN_PROPERTIES, 'microsoft.graph.domain');
        if ('status' in select) return select;
        return ok(request, {
          '@odata.context': context(request, 'domains', select.explicit),
          value: directory.domains(tenant).map((d) => project(d, select.properties ?? DOMAIN_PROPERTIES)),
        });
      }),
    },
    {
      method: 'POST',
      path: '/v1.0/domains',
      handle: guarded(PERMISSIONS.domainsWrite, (request, tenant) => {
        const body = jsonBody(request);
        return domainEntity(request, directory.addDomain(tenant, body.id), 201);
      }),
    },
    {
      method: 'GET',
      path: '/v1.0/domains/:id',
      handle: guarded(PERMISSIONS.domainsRead, (request, tenant) =>
        domainEntity(request, directory.requireDomain(tenant, request.params.id ?? '')),
      ),
    },
    {
      method: 'DELETE',
      path: '/v1.0/domains/:id',
      handle: guarded(PERMISSIONS.domainsWrite, (request, tenant) => {
        directory.deleteDomain(tenant, request.params.id ?? '');
        return { status: 204, headers: requestIds(request) };
      }),
    },
    {
      method: 'GET',
      path: '/v1.0/domains/:id/domainNameReferences',
      handle: guarded(PERMISSIONS.domainReferences, (request, tenant) => {
        const domain = directory.requireDomain(tenant, request.params.id ?? '');
        return ok(request, {
          '@odata.context': `${request.origin}/graph/v1.0/$metadata#directoryObjects`,
          value: directory.domainNameReferences(tenant, domain.id).map((user) => ({
            '@odata.type': '#microsoft.graph.user',
            ...project(userView(state, tenant, user), USER_DEFAULT_PROPERTIES),
          })),
        });
      }),
    },
    {
      method: 'GET',
      path: '/v1.0/domains/:id/verificationDnsRecords',
      handle: guarded(PERMISSIONS.domainRecords, (request, tenant) => {
        const id = request.params.id ?? '';
        return ok(request, {
          '@odata.context': `${request.origin}/graph/v1.0/$metadata#domains('${id}')/verificationDnsRecords`,
          value: directory.verificationDnsRecords(tenant, id),
        });
      }),
    },
    {
      method: 'POST',
      path: '/v1.0/domains/:id/verify',
      handle: guarded(PERMISSIONS.domainsWrite, (request, tenant) =>
        domainEntity(request, directory.verifyDomain(tenant, request.params.id ?? '')),
      ),
    },
    {
      method: 'POST',
      path: '/v1.0/users',
      handle: guarded(PERMISSIONS.usersWrite, (request, tenant) => createUser(request, tenant, state, lag)),
    },
    {
      method: 'PATCH',
      path: '/v1.0/users/:id',
      handle: guarded(PERMISSIONS.usersWrite, (request, tenant) => {
        const user = requireUser(tenant, request.params.id ?? '');
        const body = jsonBody(request);
        const changes: Partial<Record<'displayName' | 'usageLocation' | 'accountEnabled', unknown>> = {};
        for (const [name, value] of Object.entries(body)) {
          if (name !== 'displayName' && name !== 'usageLocation' && name !== 'accountEnabled') {
            throw new GraphFailure(
              400,
              'Request_BadRequest',
              `The sandbox does not update the property '${name}' of resource 'User'.`,
            );
          }
          changes[name] = value;
        }
        if (changes.usageLocation !== undefined && changes.usageLocation !== null) {
          checkUsageLocation(changes.usageLocation);
        }
        if (
          changes.displayName !== undefined &&
          (typeof changes.displayName !== 'string' || !changes.displayName)
        ) {
          throw invalidProperty('displayName');
        }
        if (changes.accountEnabled !== undefined && typeof changes.accountEnabled !== 'boolean') {
          throw invalidProperty('accountEnabled');
        }
        tenant.users.set(user.id, { ...user, ...(changes as Partial<DirectoryUser>) });
        return { status: 204, headers: requestIds(request) };
      }),
    },
    {
      method: 'DELETE',
      path: '/v1.0/users/:id',
      handle: guarded(PERMISSIONS.usersDelete, (request, tenant) => {
        const user = requireUser(tenant, request.params.id ?? '');
        tenant.users.delete(user.id);
        removeFromGroups(tenant, user.id);
        directory.softDeleteUser(tenant, user);
        teams.voice.removeUser(tenant.id, user.id);
        return { status: 204, headers: requestIds(request) };
      }),
    },
    ...deletedItemRoutes(state, guarded),
    {
      method: 'POST',
      path: '/v1.0/users/:id/assignLicense',
      handle: guarded(PERMISSIONS.licensesWrite, (request, tenant) => {
        const user = requireUser(tenant, request.params.id ?? '');
        const body = jsonBody(request);
        const add = body.addLicenses;
        const remove = body.removeLicenses;
        if (!Array.isArray(add)) throw invalidProperty('addLicenses');
        if (!Array.isArray(remove) || remove.some((s) => typeof s !== 'string')) {
          throw invalidProperty('removeLicenses');
        }
        const licenses = add.map((item: unknown) => {
          const { skuId, disabledPlans } = (item ?? {}) as { skuId?: unknown; disabledPlans?: unknown };
          if (typeof skuId !== 'string') throw invalidProperty('addLicenses');
          const plans = Array.isArray(disabledPlans)
            ? disabledPlans.filter((p) => typeof p === 'string')
            : [];
          return { skuId, disabledPlans: plans };
        });
        directory.assignLicense(tenant, user.id, licenses, remove as string[]);
        return ok(request, {
          '@odata.context': `${request.origin}/graph/v1.0/$metadata#users/$entity`,
          ...project(userView(state, tenant, user), USER_DEFAULT_PROPERTIES),
        });
      }),
    },
    {
      method: 'GET',
      path: '/v1.0/subscribedSkus',
      handle: guarded(PERMISSIONS.subscribedSkus, (request, tenant) =>
        ok(request, {
          '@odata.context': context(request, 'subscribedSkus', undefined),
          value: directory.subscribedSkus(tenant),
        }),
      ),
    },
  ];
}

/**
 * Soft-deleted users (`/directory/deletedItems`), as Entra ID keeps them for 30 days after `DELETE /users/{id}`:
 * listed (`microsoft.graph.user` cast, `$select`, `$top`), read, restored, or deleted for good. Both profiles: the
 * recycle bin is Graph's documented contract (learn.microsoft.com/graph/api/resources/directory).
 */
function deletedItemRoutes(state: SandboxState, guarded: Guard) {
  const { directory } = state;
  const view = (tenant: Tenant, entry: DeletedUser, select?: readonly string[]) => ({
    '@odata.type': '#microsoft.graph.user',
    ...project(userView(state, tenant, entry.user), select ?? USER_DEFAULT_PROPERTIES),
    deletedDateTime: entry.deletedDateTime,
  });
  return [
    {
      method: 'GET',
      path: '/v1.0/directory/deletedItems/microsoft.graph.user',
      handle: guarded(PERMISSIONS.deletedUsersRead, (request, tenant) => {
        const select = parseSelect(request, SELECTABLE_USER_PROPERTIES, 'microsoft.graph.user');
        if ('status' in select) return select;
        const top = Number(queryOption(request, '$top') ?? DEFAULT_PAGE_SIZE);
        const skip = Number(queryOption(request, '$skiptoken') ?? 0);
        if (!Number.isInteger(top) || top < 1 || top > MAX_PAGE_SIZE || !Number.isInteger(skip) || skip < 0) {
          throw new GraphFailure(400, 'Request_BadRequest', 'Invalid $top or $skiptoken.');
        }
        const all = directory.deletedUsers(tenant);
        const nextLink =
          skip + top < all.length
            ? `${request.origin}/graph/v1.0/directory/deletedItems/microsoft.graph.user?${[
                `$top=${top}`,
                ...(select.explicit ? [`$select=${select.explicit.join(',')}`] : []),
                `$skiptoken=${skip + top}`,
              ].join('&')}`
            : undefined;
        return ok(request, {
          '@odata.context': `${request.origin}/graph/v1.0/$metadata#directory/deletedItems/microsoft.graph.user`,
          ...(nextLink ? { '@odata.nextLink': nextLink } : {}),
          value: all.slice(skip, skip + top).map((entry) => view(tenant, entry, select.properties)),
        });
      }),
    },
    {
      method: 'GET',
      path: '/v1.0/directory/deletedItems/:id',
      handle: guarded(PERMISSIONS.deletedUsersRead, (request, tenant) =>
        ok(request, {
          '@odata.context': `${request.origin}/graph/v1.0/$metadata#directoryObjects/$entity`,
          ...view(tenant, directory.deletedUser(tenant, request.params.id ?? '')),
        }),
      ),
    },
    {
      method: 'DELETE',
      path: '/v1.0/directory/deletedItems/:id',
      handle: guarded(PERMISSIONS.deletedUsersWrite, (request, tenant) => {
        directory.purgeDeletedUser(tenant, request.params.id ?? '');
        return { status: 204, headers: requestIds(request) };
      }),
    },
    {
      method: 'POST',
      path: '/v1.0/directory/deletedItems/:id/restore',
      handle: guarded(PERMISSIONS.deletedUsersWrite, (request, tenant) => {
        const user = directory.takeDeletedUser(tenant, request.params.id ?? '');
        tenant.users.set(user.id, user);
        return ok(request, {
          '@odata.context': `${request.origin}/graph/v1.0/$metadata#directoryObjects/$entity`,
          '@odata.type': '#microsoft.graph.user',
          ...project(userView(state, tenant, user), USER_DEFAULT_PROPERTIES),
        });
      }),
    },
  ];
}

/** `POST /users`: the properties Graph requires, a UPN on a verified domain, a unique UPN. */
function createUser(request: PeerRequest, tenant: Tenant, state: SandboxState, lag: ReplicationLag): Reply {
  const body = jsonBody(request);
  for (const name of [
    'accountEnabled',
    'displayName',
    'mailNickname',
    'userPrincipalName',
    'passwordProfile',
  ]) {
    if (body[name] === undefined || body[name] === null) {
      throw new GraphFailure(
        400,
        'Request_BadRequest',
        `Property '${name}' is required when creating the resource of type 'User'.`,
      );
    }
  }
  const { accountEnabled, displayName, userPrincipalName, passwordProfile, usageLocation } = body;
  if (typeof accountEnabled !== 'boolean') throw invalidProperty('accountEnabled');
  if (typeof displayName !== 'string' || !displayName) throw invalidProperty('displayName');
  if (typeof userPrincipalName !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(userPrincipalName)) {
    throw invalidProperty('userPrincipalName');
  }
  const password = (passwordProfile as { password?: unknown }).password;
  if (typeof password !== 'string' || password.length < 8) throw invalidProperty('passwordProfile');
  if (usageLocation !== undefined && usageLocation !== null) checkUsageLocation(usageLocation);
  const domain = userPrincipalName.split('@')[1]?.toLowerCase() ?? '';
  if (!tenant.verifiedDomains.some((d) => d.name.toLowerCase() === domain)) {
    throw new GraphFailure(
      400,
      'Request_BadRequest',
      'The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.',
    );
  }
  if (findUser(tenant, userPrincipalName)) {
    throw new GraphFailure(
      400,
      'Request_BadRequest',
      'Another object with the same value for property userPrincipalName already exists.',
    );
  }
  const optionalText = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : null);
  const user = state.addUser(tenant.id, {
    userPrincipalName,
    displayName,
    accountEnabled,
    givenName: optionalText('givenName'),
    surname: optionalText('surname'),
    jobTitle: optionalText('jobTitle'),
    department: optionalText('department'),
    usageLocation: typeof usageLocation === 'string' ? usageLocation : null,
  });
  state.entra.setCredentials(tenant.id, user.userPrincipalName, { password });
  lag.created(tenant.id, user.id);
  return {
    ...ok(request, {
      '@odata.context': `${request.origin}/graph/v1.0/$metadata#users/$entity`,
      ...project(userView(state, tenant, user), USER_DEFAULT_PROPERTIES),
    }),
    status: 201,
  };
}

/** The user by id or UPN, unless missing or (reality profile) created too recently for this replica to know. */
function requireVisibleUser(tenant: Tenant, id: string, lag: ReplicationLag): DirectoryUser {
  const user = findUser(tenant, id);
  if (!user || lag.hides(tenant.id, user.id)) {
    throw new GraphFailure(
      404,
      'Request_ResourceNotFound',
      `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
    );
  }
  return user;
}

/** A user with what Graph keeps beside the directory entry (licenses). */
function userView(state: SandboxState, tenant: Tenant, user: DirectoryUser): Record<string, unknown> {
  return { ...user, assignedLicenses: state.directory.assignedLicenses(tenant, user.id) };
}

function checkUsageLocation(value: unknown): void {
  if (typeof value !== 'string' || !/^[A-Z]{2}$/.test(value)) throw invalidProperty('usageLocation');
}

function invalidProperty(name: string): GraphFailure {
  return new GraphFailure(
    400,
    'Request_BadRequest',
    `Invalid value specified for property '${name}' of resource 'User'.`,
  );
}

/** The request's JSON object; Graph answers 400 BadRequest to anything else. */
function jsonBody(request: PeerRequest): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(request.body.toString('utf8') || '{}');
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // Answered below.
  }
  throw new GraphFailure(
    400,
    'BadRequest',
    'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
  );
}

/**
 * The tenant's app registrations, filtered by `appId eq '…'` as the product asks; secrets appear as Graph shows
 * them after creation: hint and dates, never the text.
 */
function listApplications(request: PeerRequest, tenant: Tenant, state: SandboxState): Reply {
  const filter = queryOption(request, '$filter');
  const appId = filter === null ? null : /^appId eq '([0-9a-fA-F-]{36})'$/.exec(filter.trim())?.[1];
  if (appId === undefined) {
    return graphError(
      request,
      400,
      'Request_UnsupportedQuery',
      `The sandbox supports $filter=appId eq '<guid>' only.`,
    );
  }
  const applications = state
    .applications()
    .filter(
      (a) =>
        a.homeTenantId === tenant.id && (appId === null || a.appId.toLowerCase() === appId.toLowerCase()),
    )
    .map((a) => ({
      id: a.appId,
      appId: a.appId,
      displayName: a.displayName,
      signInAudience: a.signInAudience,
      passwordCredentials: a.passwordCredentials.map(({ secretText: _secret, ...credential }) => ({
        ...credential,
        secretText: null,
        customKeyIdentifier: null,
      })),
    }));
  const select = parseSelect(
    request,
    ['id', 'appId', 'displayName', 'signInAudience', 'passwordCredentials'],
    'microsoft.graph.application',
  );
  if ('status' in select) return select;
  return ok(request, {
    '@odata.context': context(request, 'applications', select.explicit),
    value: applications.map((a) => project(a, select.properties ?? Object.keys(a))),
  });
}

function listUsers(request: PeerRequest, tenant: Tenant, state: SandboxState): Reply {
  for (const key of request.url.searchParams.keys()) {
    if (key.startsWith('$') && !['$top', '$select', '$skiptoken'].includes(key.toLowerCase())) {
      return graphError(
        request,
        400,
        'Request_UnsupportedQuery',
        `The sandbox does not support the query option '${key}'.`,
      );
    }
  }
  const topText = queryOption(request, '$top');
  let top = DEFAULT_PAGE_SIZE;
  if (topText !== null) {
    if (!/^\d+$/.test(topText)) {
      return graphError(request, 400, 'BadRequest', `Invalid value '${topText}' for query option '$top'.`);
    }
    top = Number(topText);
    if (top < 1 || top > MAX_PAGE_SIZE) {
      return graphError(
        request,
        400,
        'Request_UnsupportedQuery',
        `Invalid page size specified: '${topText}'. Must be between 1 and ${MAX_PAGE_SIZE} inclusive.`,
      );
    }
  }
  const select = parseSelect(request, SELECTABLE_USER_PROPERTIES, 'microsoft.graph.user');
  if ('status' in select) return select;
  const skipToken = queryOption(request, '$skiptoken');
  const after = skipToken === null ? undefined : decodeSkipToken(skipToken);
  if (after === null) return graphError(request, 400, 'BadRequest', 'The $skiptoken is not valid.');

  // Ordered by id so that a page boundary stays put while users are added or removed between pages.
  const users = [...tenant.users.values()].sort((a, b) => a.id.localeCompare(b.id));
  const remaining = after === undefined ? users : users.filter((u) => u.id.localeCompare(after) > 0);
  const page = remaining.slice(0, top);
  const last = page.at(-1);
  const nextLink =
    remaining.length > top && last
      ? `${request.origin}/graph/v1.0/users?${[
          ...(topText !== null ? [`$top=${top}`] : []),
          ...(select.explicit ? [`$select=${select.explicit.join(',')}`] : []),
          `$skiptoken=${encodeSkipToken(last.id)}`,
        ].join('&')}`
      : undefined;
  return ok(request, {
    '@odata.context': context(request, 'users', select.explicit),
    ...(nextLink ? { '@odata.nextLink': nextLink } : {}),
    value: page.map((user) =>
      project(userView(state, tenant, user), select.properties ?? USER_DEFAULT_PROPERTIES),
    ),
  });
}

function encodeSkipToken(lastId: string): string {
  return Buffer.from(`sandbox-users:${lastId}`).toString('base64url');
}

/** The id after which the page starts, or null for a token the sandbox did not issue. */
function decodeSkipToken(token: string): string | null {
  const match = /^sandbox-users:([0-9a-f-]{36})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  return match?.[1] ?? null;
}

function unauthenticated(request: PeerRequest, message: string): Reply {
  const reply = graphError(request, 401, 'InvalidAuthenticationToken', message);
  return {
    ...reply,
    headers: {
      ...reply.headers,
      'www-authenticate': `Bearer realm="", authorization_uri="${request.origin}/entra/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`,
    },
  };
}

function codeByStatus(status: number): string {
  const codes: Record<number, string> = {
    400: 'BadRequest',
    401: 'InvalidAuthenticationToken',
    403: 'Authorization_RequestDenied',
    404: 'Request_ResourceNotFound',
    405: 'Request_BadRequest',
    409: 'Request_MultipleObjectsWithSameKeyValue',
    429: 'TooManyRequests',
    500: 'InternalServerError',
    502: 'BadGateway',
    503: 'ServiceUnavailable',
    504: 'GatewayTimeout',
  };
  return codes[status] ?? (status >= 500 ? 'InternalServerError' : 'BadRequest');
}
