import { GraphFailure } from '../graph-directory.js';
import type { PeerRequest, Reply, Route } from '../router.js';
import type { DirectoryUser, Tenant } from '../state.js';
import type { GroupRecord, TenantDirectories, TenantDirectory } from '../tenant-directory.js';
import {
  context,
  type Guard,
  graphError,
  MAX_PAGE_SIZE,
  ok,
  parseSelect,
  project,
  queryOption,
  SELECTABLE_USER_PROPERTIES,
  USER_DEFAULT_PROPERTIES,
} from './graph-odata.js';

/**
 * Graph's change tracking and the Teams user configurations, over a tenant's `TenantDirectory`:
 * - `GET /users/delta`, `GET /groups/delta`: a first round lists everything page by page (`@odata.nextLink`) and
 *   ends with an `@odata.deltaLink`; following it lists what changed since (removals as `@removed`, membership as
 *   `members@delta`). `$deltatoken=latest` answers at once with a deltaLink for "now". Page size from
 *   `Prefer: odata.maxpagesize` (delta ignores `$top`, as Graph does). A token Graph no longer honours — of an
 *   earlier epoch (the sandbox was reset), or a deltaLink older than seven days — answers 400 `syncStateNotFound`,
 *   as Graph does for users and groups (Microsoft 365 Developer Blog, "Duration of change tracking tokens for
 *   identity and education resources", 2020-07-03: "a BadRequest response with the error code syncStateNotFound").
 * - `GET /groups`, `GET /groups/{id}/members`: plain paged lists.
 * - `GET /admin/teams/userConfigurations` (`$top`, `$filter=modifiedDateTime ge …`, `$expand=user($select=…)`),
 *   `GET /admin/teams/userConfigurations/{id}`.
 */
const PERMISSIONS = {
  users: ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  groups: [
    'Group.Read.All',
    'Group.ReadWrite.All',
    'GroupMember.Read.All',
    'Directory.Read.All',
    'Directory.ReadWrite.All',
  ],
  /** Graph does not list Directory.ReadWrite.All for `/groups/{id}/members` (contracts/graph/permissions.json). */
  members: ['Group.Read.All', 'Group.ReadWrite.All', 'GroupMember.Read.All', 'Directory.Read.All'],
  teamsUsers: ['TeamsUserConfiguration.Read.All'],
} as const;

const DEFAULT_DELTA_PAGE_SIZE = 100;
/** How long a users or groups deltaLink stays valid (the blog post above; delta-query-overview "token duration"). */
export const DELTA_LINK_LIFETIME_MS = 7 * 24 * 3600 * 1000;
/** Graph's words for an expired users or groups delta token (the blog post above). */
const SYNC_STATE_NOT_FOUND =
  'The sync state generation is not found. The delta token is expired and data must be synchronized again.';
const DEFAULT_LIST_PAGE_SIZE = 100;
/** How many members one occurrence of a group carries in a first round; a larger group repeats on later items. */
export const MEMBERS_PER_OCCURRENCE = 500;

const GROUP_PROPERTIES = [
  'id',
  'displayName',
  'description',
  'mailEnabled',
  'securityEnabled',
  'mailNickname',
  'groupTypes',
] as const;
const GROUP_SELECTABLE: readonly string[] = [...GROUP_PROPERTIES, 'members'];

const TEAMS_USER_PROPERTIES = [
  'id',
  'tenantId',
  'userPrincipalName',
  'accountType',
  'isEnterpriseVoiceEnabled',
  'telephoneNumbers',
  'effectivePolicyAssignments',
  'featureTypes',
  'createdDateTime',
  'modifiedDateTime',
] as const;

/** What a skip or delta token carries; opaque to clients (base64url JSON). */
interface TokenState {
  /** The directory's epoch. */
  readonly e: string;
  readonly k: 'users' | 'groups';
  /** First round (`init`) or changes (`chg`). */
  readonly p: 'init' | 'chg';
  /** init: the sequence the round's deltaLink will carry; chg: the upper bound of the changes listed. */
  readonly s: number;
  /** chg: the lower bound (exclusive). */
  readonly f?: number;
  /** init: the last object listed; chg: how many changes were listed. */
  readonly a?: string;
  readonly o?: number;
  /** groups init: the group whose members continue, and the member cursor. */
  readonly g?: string;
  readonly m?: string;
  /** `$select` of the first request, which the round keeps. */
  readonly sel?: readonly string[];
  /** Page size. */
  readonly n: number;
  /** When the round's deltaLink was handed out (ms since the epoch); deltaLinks only. */
  readonly t?: number;
}

/** The licenses Graph keeps beside a directory user (`assignedLicenses`, selectable like a property). */
export type LicensesOf = (tenant: Tenant, userId: string) => ReadonlyArray<{ readonly skuId: string }>;

export function changeTrackingRoutes(
  directories: TenantDirectories,
  guarded: Guard,
  licensesOf: LicensesOf = () => [],
): Route[] {
  const directoryOf = (tenant: Tenant) => directories.of(tenant);
  const withLicenses = (tenant: Tenant) => (user: DirectoryUser) => ({
    ...user,
    assignedLicenses: licensesOf(tenant, user.id),
  });
  return [
    {
      method: 'GET',
      path: '/v1.0/users/delta',
      handle: guarded(PERMISSIONS.users, (request, tenant) =>
        usersDelta(request, directoryOf(tenant), withLicenses(tenant)),
      ),
    },
    {
      method: 'GET',
      path: '/v1.0/groups/delta',
      handle: guarded(PERMISSIONS.groups, (request, tenant) => groupsDelta(request, directoryOf(tenant))),
    },
    {
      method: 'GET',
      path: '/v1.0/groups',
      handle: guarded(PERMISSIONS.groups, (request, tenant) => listGroups(request, directoryOf(tenant))),
    },
    {
      method: 'GET',
      path: '/v1.0/groups/:id/members',
      handle: guarded(PERMISSIONS.members, (request, tenant) => listMembers(request, directoryOf(tenant))),
    },
    {
      method: 'GET',
      path: '/v1.0/admin/teams/userConfigurations',
      handle: guarded(PERMISSIONS.teamsUsers, (request, tenant) =>
        listTeamsUsers(request, directoryOf(tenant), withLicenses(tenant)),
      ),
    },
    {
      method: 'GET',
      path: '/v1.0/admin/teams/userConfigurations/:id',
      handle: guarded(PERMISSIONS.teamsUsers, (request, tenant) => {
        const directory = directoryOf(tenant);
        const expand = parseExpand(request);
        const id = request.params.id ?? '';
        const teams = directory.teamsUser(id);
        if (!teams) {
          throw new GraphFailure(404, 'NotFound', `The Teams user configuration '${id}' was not found.`);
        }
        return ok(request, {
          '@odata.context': `${request.origin}/graph/v1.0/$metadata#admin/teams/userConfigurations/$entity`,
          ...teamsView(directory, teams.id, expand, withLicenses(tenant)),
        });
      }),
    },
  ];
}

type UserView = (user: DirectoryUser) => Record<string, unknown>;

function usersDelta(request: PeerRequest, directory: TenantDirectory, full: UserView): Reply {
  const state = startOrContinue(
    request,
    directory,
    'users',
    SELECTABLE_USER_PROPERTIES,
    'microsoft.graph.user',
  );
  if ('status' in state) return state;
  const select = state.sel ?? USER_DEFAULT_PROPERTIES;
  const view = (user: DirectoryUser) =>
    project(full(user), select.includes('id') ? select : ['id', ...select]);
  if (state.p === 'init') {
    const users = directory.usersAfter(state.a, state.n);
    const last = users.at(-1);
    return deltaPage(
      request,
      'users',
      state,
      users.map(view),
      users.length < state.n || !last ? null : { a: last.id },
    );
  }
  const ids = directory.userChanges(state.f ?? 0, state.s);
  const offset = state.o ?? 0;
  const page = ids.slice(offset, offset + state.n).map((id) => {
    const user = directory.user(id);
    return user
      ? view(user)
      : { '@odata.type': '#microsoft.graph.user', id, '@removed': { reason: 'changed' } };
  });
  return deltaPage(
    request,
    'users',
    state,
    page,
    offset + state.n < ids.length ? { o: offset + state.n } : null,
  );
}

function groupsDelta(request: PeerRequest, directory: TenantDirectory): Reply {
  const state = startOrContinue(request, directory, 'groups', GROUP_SELECTABLE, 'microsoft.graph.group');
  if ('status' in state) return state;
  const select = state.sel ?? GROUP_PROPERTIES;
  const withMembers = select.includes('members');
  const properties = (group: GroupRecord) =>
    project(group, ['id', ...select.filter((p) => p !== 'members' && p !== 'id')]);
  if (state.p === 'init') {
    const items: object[] = [];
    let continuing = state.g;
    let cursor = state.m;
    let after = state.a;
    while (items.length < state.n) {
      const group = continuing ? directory.group(continuing) : directory.groupsAfter(after, 1)[0];
      if (!group) return deltaPage(request, 'groups', state, items, null);
      const first = continuing === undefined;
      const chunk = withMembers
        ? directory.members(group.id, cursor, MEMBERS_PER_OCCURRENCE)
        : { ids: [] as string[] };
      items.push({
        ...(first ? properties(group) : { id: group.id }),
        ...(withMembers
          ? {
              'members@delta': chunk.ids.map((id) => ({ '@odata.type': '#microsoft.graph.user', id })),
            }
          : {}),
      });
      if (chunk.next) {
        continuing = group.id;
        cursor = chunk.next;
      } else {
        continuing = undefined;
        cursor = undefined;
        after = group.id;
      }
    }
    const next = continuing ? { g: continuing, m: cursor as string, a: after } : { a: after };
    return deltaPage(request, 'groups', state, items, next);
  }
  const changes = directory.groupChanges(state.f ?? 0, state.s);
  const offset = state.o ?? 0;
  const page = changes.slice(offset, offset + state.n).map((change) => {
    const group = directory.group(change.id);
    if (change.removed || !group) {
      return { '@odata.type': '#microsoft.graph.group', id: change.id, '@removed': { reason: 'changed' } };
    }
    return {
      ...(change.properties ? properties(group) : { id: group.id }),
      ...(withMembers && change.members.size > 0
        ? {
            'members@delta': [...change.members].map(([id, op]) => ({
              '@odata.type': '#microsoft.graph.user',
              id,
              ...(op === 'remove' ? { '@removed': { reason: 'deleted' } } : {}),
            })),
          }
        : {}),
    };
  });
  return deltaPage(
    request,
    'groups',
    state,
    page,
    offset + state.n < changes.length ? { o: offset + state.n } : null,
  );
}

/** A page of a round: a nextLink carrying `next`, or (the round's end) the deltaLink. */
function deltaPage(
  request: PeerRequest,
  kind: 'users' | 'groups',
  state: TokenState,
  value: readonly object[],
  next: Partial<TokenState> | null,
): Reply {
  const base = `${request.origin}/graph/v1.0/${kind}/delta`;
  const { a: _a, o: _o, g: _g, m: _m, ...kept } = state;
  const link = next
    ? { '@odata.nextLink': `${base}?$skiptoken=${encode({ ...kept, ...next })}` }
    : {
        '@odata.deltaLink': `${base}?$deltatoken=${encode({ e: state.e, k: kind, p: 'chg', s: state.s, n: state.n, t: Date.now(), ...(state.sel ? { sel: state.sel } : {}) })}`,
      };
  const reply = ok(request, {
    '@odata.context': context(request, kind, state.sel),
    ...link,
    value,
  });
  return { ...reply, headers: { ...reply.headers, 'preference-applied': `odata.maxpagesize=${state.n}` } };
}

/**
 * The round a request is in: a first request starts a first round at the current sequence, `$deltatoken` starts a
 * changes round after the token's sequence (or, for `latest`, only hands out a deltaLink), `$skiptoken` continues.
 */
function startOrContinue(
  request: PeerRequest,
  directory: TenantDirectory,
  kind: 'users' | 'groups',
  selectable: readonly string[],
  typeName: string,
): TokenState | Reply {
  for (const key of request.url.searchParams.keys()) {
    if (
      key.startsWith('$') &&
      !['$select', '$skiptoken', '$deltatoken', '$top'].includes(key.toLowerCase())
    ) {
      return graphError(
        request,
        400,
        'Request_UnsupportedQuery',
        `The sandbox does not support '${key}' with delta.`,
      );
    }
  }
  const pageSize = preferredPageSize(request);
  if (typeof pageSize !== 'number') return pageSize;
  const skip = queryOption(request, '$skiptoken');
  const delta = queryOption(request, '$deltatoken');
  if (skip !== null || (delta !== null && delta.toLowerCase() !== 'latest')) {
    const state = decode(skip ?? delta ?? '');
    if (!state || state.k !== kind) return graphError(request, 400, 'BadRequest', 'The token is not valid.');
    const expired = delta !== null && state.t !== undefined && Date.now() - state.t > DELTA_LINK_LIFETIME_MS;
    if (state.e !== directory.epoch || expired) {
      return graphError(request, 400, 'syncStateNotFound', SYNC_STATE_NOT_FOUND);
    }
    const withSize = pageSize === 0 ? state : { ...state, n: pageSize };
    if (skip !== null) return withSize;
    const { t: _t, ...round } = withSize;
    return { ...round, p: 'chg', f: state.s, s: directory.seq() };
  }
  const select = parseSelect(request, selectable, typeName);
  if ('status' in select) return select;
  const state: TokenState = {
    e: directory.epoch,
    k: kind,
    p: 'init',
    s: directory.seq(),
    n: pageSize || DEFAULT_DELTA_PAGE_SIZE,
    ...(select.explicit ? { sel: select.explicit } : {}),
  };
  return delta === null ? state : deltaPage(request, kind, state, [], null);
}

/** `Prefer: odata.maxpagesize=N`; 0 when absent. */
function preferredPageSize(request: PeerRequest): number | Reply {
  const header = request.headers.prefer;
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  const match = /odata\.maxpagesize\s*=\s*(\d+)/i.exec(text);
  if (!match) return 0;
  const size = Number(match[1]);
  if (size < 1 || size > MAX_PAGE_SIZE) {
    return graphError(
      request,
      400,
      'Request_UnsupportedQuery',
      `Invalid page size specified: '${size}'. Must be between 1 and ${MAX_PAGE_SIZE} inclusive.`,
    );
  }
  return size;
}

function listGroups(request: PeerRequest, directory: TenantDirectory): Reply {
  const top = pageSizeOf(request, DEFAULT_LIST_PAGE_SIZE);
  if (typeof top !== 'number') return top;
  const select = parseSelect(request, GROUP_PROPERTIES, 'microsoft.graph.group');
  if ('status' in select) return select;
  const after = skipTokenAfter(request);
  const groups = directory.groupsAfter(after, top + 1);
  const page = groups.slice(0, top);
  const last = page.at(-1);
  return ok(request, {
    '@odata.context': context(request, 'groups', select.explicit),
    ...(groups.length > top && last
      ? {
          '@odata.nextLink': `${request.origin}/graph/v1.0/groups?$top=${top}&$skiptoken=${encodeAfter(last.id)}`,
        }
      : {}),
    value: page.map((g) => project(g, select.properties ?? GROUP_PROPERTIES)),
  });
}

function listMembers(request: PeerRequest, directory: TenantDirectory): Reply {
  const id = request.params.id ?? '';
  if (!directory.group(id)) {
    throw new GraphFailure(
      404,
      'Request_ResourceNotFound',
      `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
    );
  }
  const top = pageSizeOf(request, DEFAULT_LIST_PAGE_SIZE);
  if (typeof top !== 'number') return top;
  const token = queryOption(request, '$skiptoken');
  const cursor = token === null ? undefined : Buffer.from(token, 'base64url').toString('utf8');
  const chunk = directory.members(id, cursor, top);
  return ok(request, {
    '@odata.context': `${request.origin}/graph/v1.0/$metadata#directoryObjects`,
    ...(chunk.next
      ? {
          '@odata.nextLink': `${request.origin}/graph/v1.0/groups/${id}/members?$top=${top}&$skiptoken=${Buffer.from(chunk.next).toString('base64url')}`,
        }
      : {}),
    value: chunk.ids.map((member) => {
      const user = directory.user(member);
      return {
        '@odata.type': '#microsoft.graph.user',
        id: member,
        ...(user ? { displayName: user.displayName, userPrincipalName: user.userPrincipalName } : {}),
      };
    }),
  });
}

interface Expand {
  readonly user: boolean;
  readonly select?: readonly string[];
}

function listTeamsUsers(request: PeerRequest, directory: TenantDirectory, full: UserView): Reply {
  for (const key of request.url.searchParams.keys()) {
    if (key.startsWith('$') && !['$top', '$skiptoken', '$filter', '$expand'].includes(key.toLowerCase())) {
      return graphError(request, 400, 'BadRequest', `The sandbox does not support '${key}' here.`);
    }
  }
  const top = pageSizeOf(request, DEFAULT_LIST_PAGE_SIZE);
  if (typeof top !== 'number') return top;
  const expand = parseExpand(request);
  const filter = queryOption(request, '$filter');
  let since: number | undefined;
  if (filter !== null) {
    const match = /^\s*modifiedDateTime\s+(ge|gt)\s+(\S+)\s*$/i.exec(filter);
    const at = match?.[2] ? Date.parse(match[2]) : Number.NaN;
    if (!match || Number.isNaN(at)) {
      return graphError(
        request,
        400,
        'BadRequest',
        'The sandbox supports $filter=modifiedDateTime ge <ISO 8601 date-time> only.',
      );
    }
    since = match[1]?.toLowerCase() === 'gt' ? at + 1 : at;
  }
  const after = skipTokenAfter(request);
  let ids: string[];
  if (since === undefined) {
    ids = directory.usersAfter(after, top + 1).map((u) => u.id);
  } else {
    ids = directory.teamsModifiedSince(since).filter((id) => after === undefined || id > after);
    ids = ids.slice(0, top + 1);
  }
  const page = ids.slice(0, top).filter((id) => directory.teamsUser(id));
  const last = ids.slice(0, top).at(-1);
  const search = new URLSearchParams();
  search.set('$top', String(top));
  if (filter !== null) search.set('$filter', filter);
  const rawExpand = queryOption(request, '$expand');
  if (rawExpand !== null) search.set('$expand', rawExpand);
  return ok(request, {
    '@odata.context': `${request.origin}/graph/v1.0/$metadata#admin/teams/userConfigurations`,
    ...(ids.length > top && last
      ? {
          '@odata.nextLink': `${request.origin}/graph/v1.0/admin/teams/userConfigurations?${search.toString()}&$skiptoken=${encodeAfter(last)}`,
        }
      : {}),
    value: page.map((id) => teamsView(directory, id, expand, full)),
  });
}

function teamsView(
  directory: TenantDirectory,
  id: string,
  expand: Expand,
  full: UserView,
): Record<string, unknown> {
  const teams = directory.teamsUser(id);
  const user = directory.user(id);
  return {
    ...project(teams ?? { id }, TEAMS_USER_PROPERTIES),
    ...(expand.user
      ? { user: user ? project(full(user), expand.select ?? USER_DEFAULT_PROPERTIES) : null }
      : {}),
  };
}

/** `$expand=user` or `$expand=user($select=a,b)`. */
function parseExpand(request: PeerRequest): Expand {
  const raw = queryOption(request, '$expand');
  if (raw === null) return { user: false };
  const match = /^\s*user\s*(?:\(\s*\$select\s*=\s*([^)]*)\))?\s*$/i.exec(raw);
  if (!match) throw new GraphFailure(400, 'BadRequest', `The sandbox can expand 'user' only, not '${raw}'.`);
  if (match[1] === undefined) return { user: true };
  const select: string[] = [];
  for (const name of match[1]
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const known = SELECTABLE_USER_PROPERTIES.find((p) => p.toLowerCase() === name.toLowerCase());
    if (!known) {
      throw new GraphFailure(
        400,
        'BadRequest',
        `Could not find a property named '${name}' on type 'microsoft.graph.user'.`,
      );
    }
    select.push(known);
  }
  return { user: true, select: select.includes('id') ? select : ['id', ...select] };
}

function pageSizeOf(request: PeerRequest, fallback: number): number | Reply {
  const text = queryOption(request, '$top');
  if (text === null) return fallback;
  const top = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(top >= 1 && top <= MAX_PAGE_SIZE)) {
    return graphError(
      request,
      400,
      'Request_UnsupportedQuery',
      `Invalid page size specified: '${text}'. Must be between 1 and ${MAX_PAGE_SIZE} inclusive.`,
    );
  }
  return top;
}

function skipTokenAfter(request: PeerRequest): string | undefined {
  const token = queryOption(request, '$skiptoken');
  if (token === null) return undefined;
  const match = /^after:([0-9a-f-]{36})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!match?.[1]) throw new GraphFailure(400, 'BadRequest', 'The $skiptoken is not valid.');
  return match[1];
}

function encodeAfter(id: string): string {
  return Buffer.from(`after:${id}`).toString('base64url');
}

function encode(state: TokenState): string {
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

function decode(token: string): TokenState | null {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<TokenState>;
    if (
      typeof parsed.e !== 'string' ||
      (parsed.k !== 'users' && parsed.k !== 'groups') ||
      (parsed.p !== 'init' && parsed.p !== 'chg') ||
      typeof parsed.s !== 'number' ||
      typeof parsed.n !== 'number'
    ) {
      return null;
    }
    return parsed as TokenState;
  } catch {
    return null;
  }
}
