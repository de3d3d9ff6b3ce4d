import type { TokenCredential } from '@azure/identity';
import { z } from 'zod';
import type { TrustedTransport } from '../net/trusted-transport.js';

/** The "Skype and Teams Tenant Admin API" resource; delegated (`user_impersonation`) or app tokens. */
export const TEAMS_ADMIN_RESOURCE = '48ac35b8-9aa8-4d74-927d-1f4a14a0b239';
export const TEAMS_ADMIN_SCOPE = `${TEAMS_ADMIN_RESOURCE}/.default`;
/** The production base URL; the sandbox's is `${sandboxUrl}/teams`. */
export const TEAMS_ADMIN_BASE_URL = 'https://api.interfaces.records.teams.microsoft.com';

/**
 * Group policy assignments (`New/Get/Set/Remove-CsGroupPolicyAssignment`) are not a `{PolicyName}` of the
 * configurations API but their own collection, `/Skype.Policy/groupPolicyAssignments`. The client serves them under
 * this name through the same five calls, each assignment an object with `Identity` `{PolicyType}:{GroupId}` (a group
 * has at most one assignment per policy type), so that the command engine, the dry-run overlay, the mirror and drift
 * treat them like any other configuration object. Calls, per the sources in docs/day-two-contracts.md:
 * - list: `GET /Skype.Policy/groupPolicyAssignments` → `[{GroupId, PolicyType, PolicyName, Rank, CreatedTime,
 *   CreatedBy}]` (Get-CsGroupPolicyAssignment's output; autorest op GroupGetPolicyAssignment);
 * - create: `POST /Skype.Policy/groupPolicyAssignments` `{GroupId, PolicyType, PolicyName, Rank}`
 *   (shared/reference/external-apis.md);
 * - update: `PATCH /Skype.Policy/groupPolicyAssignments/{groupId}/policyTypes/{policyType}` `{PolicyName?, Rank?}`
 *   (the group route of `Grant-Cs…Policy -Group -Rank`, terraprovider/go-msadmin teamsapi);
 * - delete: `DELETE /Skype.Policy/groupPolicyAssignments/{groupId}/policyTypes/{policyType}` (autorest op
 *   GroupRemovePolicyAssignment).
 */
export const GROUP_POLICY_ASSIGNMENT = 'GroupPolicyAssignment';

/** An assignment's `Identity`: `{PolicyType}:{GroupId}`, the group id in lower case as Entra ID spells it. */
export function groupAssignmentIdentity(policyType: string, groupId: string): string {
  return `${policyType}:${groupId.toLowerCase()}`;
}

/** The policy type and group of an assignment's `Identity`; undefined when it is not one. */
export function groupAssignmentKey(identity: string): { policyType: string; groupId: string } | undefined {
  const match = /^([A-Za-z]+):(.+)$/.exec(identity);
  return match?.[1] && match[2] ? { policyType: match[1], groupId: match[2] } : undefined;
}

/** A configuration object as the API returns it: the cmdlet's properties, `Identity` included. */
export type TeamsConfigObject = Readonly<Record<string, unknown>> & { readonly Identity: string };

export interface TeamsAdminClientOptions {
  /** `settings.endpoints.teamsAdmin`, e.g. `https://api.interfaces.records.teams.microsoft.com`. */
  readonly baseUrl: string;
  /** A credential for the customer's tenant (delegated refresh-token credential or client secret). */
  readonly credential: TokenCredential;
  readonly transport: Pick<TrustedTransport, 'fetch'>;
  /** Retries of a 429/5xx/network failure before giving up; 3 by default. */
  readonly maxRetries?: number;
  /** The longest wait between attempts, whatever Retry-After says; 30 s by default. */
  readonly maxRetryDelayMs?: number;
  /** For tests. */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface TeamsAdminClient {
  /** `GET /Skype.Policy/configurations/{policyName}`: every object of the type. */
  list(policyName: string): Promise<TeamsConfigObject[]>;
  /** One object by identity (case-insensitive, from the list as the cmdlets do); undefined when absent. */
  get(policyName: string, identity: string): Promise<TeamsConfigObject | undefined>;
  /** `POST`, with `Identity` in the body; 409 → `TeamsAdminError` with code `Conflict`. */
  create(
    policyName: string,
    body: Readonly<Record<string, unknown>> & { Identity: string },
  ): Promise<TeamsConfigObject>;
  /** `PUT …/configuration/{identity}` with the properties to set. */
  update(
    policyName: string,
    identity: string,
    body: Readonly<Record<string, unknown>>,
  ): Promise<TeamsConfigObject>;
  /** `DELETE …/configuration/{identity}`. */
  delete(policyName: string, identity: string): Promise<void>;
  /**
   * `PATCH /Skype.Policy/users/{userId}/policies/{policyType}` `{PolicyName}` (what `Grant-Cs…Policy -Identity`
   * sends, per go-teams); a null name returns the user to the Global policy. The grant shows in the user's
   * effective assignments only tens of seconds later.
   */
  grantPolicy(userId: string, policyType: string, policyName: string | null): Promise<void>;
  /**
   * `PATCH /Teams.User/users/{userId}` `{EnterpriseVoiceEnabled}`: `Set-CsPhoneNumberAssignment
   * -EnterpriseVoiceEnabled`. No public contract shows this call; docs/day-two-contracts.md says why it is the
   * choice.
   */
  setEnterpriseVoice(userId: string, enabled: boolean): Promise<void>;
  /**
   * The user's effective policies by type (`Global` where the user holds none), as Get-CsOnlineUser reports them:
   * `GET /Teams.User/users/{userId}` → `effectivePolicyAssignments[{policyType, policyAssignment{displayName}}]`
   * (go-teams `cs/users.go` `EffectiveUserPolicy`). The read lags a grant by tens of seconds ("~30-45s", same
   * source), so it shows what was, not what a grant just sent will be; undefined when the user is unknown.
   */
  effectivePolicies(userId: string): Promise<Readonly<Record<string, string>> | undefined>;
}

/**
 * What an operator does about a 403 of the Teams admin API. App-only calls need a Teams admin directory role on the
 * app's service principal (Learn, "Application-based authentication in Teams PowerShell Module"; go-teams
 * `teamsapi/invoke.go` says the same of a 403), delegated ones a signed-in Teams or Global Administrator.
 */
export const TEAMS_ADMIN_ROLE_HINT =
  "Teams refused the customer's credentials. For an app registration, assign the Teams Administrator role to " +
  "its service principal in the customer's tenant (Microsoft Entra admin center > Roles and administrators > " +
  'Teams Administrator > Add assignments > the app), wait a few minutes and re-run the task; for a delegated ' +
  'sign-in, the user must be a Teams Administrator or Global Administrator.';

/** A failed call; `transient` for 429, 5xx and network failures that outlasted the retries. */
export class TeamsAdminError extends Error {
  override readonly name = 'TeamsAdminError';
  constructor(
    message: string,
    readonly code: string,
    /** 0 for a network failure. */
    readonly status: number,
    readonly transient: boolean,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/**
 * Teams refusing a PSTN gateway because its domain is not activated in the tenant yet: Learn ("Configure a Session
 * Border Controller for multiple tenants") quotes the answer `Can not use the "…" domain as it was not configured
 * for this tenant` and says to allow time for domain registration and activation to replicate, then try again
 * (up to 24 hours after the licensed user on the domain exists). The status is not public; any 4xx with the text.
 */
export function isGatewayDomainNotActivated(error: unknown): error is TeamsAdminError {
  return (
    error instanceof TeamsAdminError &&
    error.status >= 400 &&
    error.status < 500 &&
    /domain as it (was|is) not configured for this tenant/i.test(error.message)
  );
}

const discoverySchema = z.object({
  Endpoints: z.object({ AdminServiceEndpoint: z.string().min(1) }),
  Headers: z.record(z.string(), z.string()).optional(),
});

const objectSchema = z.looseObject({ Identity: z.string() });

/** Get-CsOnlineUser's user, as much of it as the product reads (go-teams `cs/users.go`). */
const onlineUserSchema = z.looseObject({
  effectivePolicyAssignments: z
    .array(
      z.looseObject({
        policyType: z.string(),
        policyAssignment: z
          .looseObject({ displayName: z.string().nullable().optional() })
          .nullable()
          .optional(),
      }),
    )
    .nullable()
    .optional(),
});

/** A client of the Teams admin configuration API, with the discovery handshake done once per client. */
export function createTeamsAdminClient(options: TeamsAdminClientOptions): TeamsAdminClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const maxRetries = options.maxRetries ?? 3;
  const maxDelay = options.maxRetryDelayMs ?? 30_000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let discovery: Promise<Record<string, string>> | undefined;

  const token = async () => {
    const access = await options.credential.getToken(TEAMS_ADMIN_SCOPE);
    if (!access)
      throw new TeamsAdminError(
        'The credential returned no token for the Teams admin API.',
        'NoToken',
        401,
        false,
      );
    return access.token;
  };

  /** One request with retries; the body of a 2xx as parsed JSON (undefined when empty). */
  const send = async (
    method: string,
    path: string,
    init: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<unknown> => {
    for (let attempt = 0; ; attempt += 1) {
      let response: Response;
      try {
        response = await options.transport.fetch(`${base}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${await token()}`,
            accept: 'application/json',
            ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...init.headers,
          },
          ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
        });
      } catch (error) {
        if (error instanceof TeamsAdminError) throw error;
        if (attempt < maxRetries) {
          await sleep(Math.min(maxDelay, 1000 * 2 ** attempt));
          continue;
        }
        throw new TeamsAdminError(
          `${method} ${path} failed: ${error instanceof Error ? error.message : String(error)}`,
          'NetworkError',
          0,
          true,
        );
      }
      const text = await response.text();
      if (response.ok) return text ? (JSON.parse(text) as unknown) : undefined;
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
      const transient = response.status === 429 || response.status >= 500;
      if (transient && attempt < maxRetries) {
        await sleep(Math.min(maxDelay, retryAfter !== undefined ? retryAfter * 1000 : 1000 * 2 ** attempt));
        continue;
      }
      const { code, message } = errorOf(text, response.status);
      throw new TeamsAdminError(
        `${method} ${path}: ${message}${response.status === 403 ? ` ${TEAMS_ADMIN_ROLE_HINT}` : ''}`,
        code,
        response.status,
        transient,
        retryAfter,
      );
    }
  };

  const targetHeaders = (): Promise<Record<string, string>> => {
    discovery ??= (async () => {
      const parsed = discoverySchema.safeParse(await send('GET', '/Teams.Tenant/serviceDiscovery'));
      if (!parsed.success) {
        throw new TeamsAdminError(
          'serviceDiscovery returned no AdminServiceEndpoint.',
          'InvalidResponse',
          200,
          false,
        );
      }
      return {
        ...parsed.data.Headers,
        'X-MS-Target-Uri': `https://${parsed.data.Endpoints.AdminServiceEndpoint}/`,
      };
    })().catch((error: unknown) => {
      discovery = undefined;
      throw error;
    });
    return discovery;
  };

  const call = async (method: string, path: string, body?: unknown) =>
    send(method, path, { body, headers: await targetHeaders() });

  const configurations = (policyName: string) =>
    `/Skype.Policy/configurations/${encodeURIComponent(policyName)}`;
  const one = (policyName: string, identity: string) =>
    `${configurations(policyName)}/configuration/${encodeURIComponent(identity)}`;

  const isGroupAssignment = (policyName: string) =>
    policyName.toLowerCase() === GROUP_POLICY_ASSIGNMENT.toLowerCase();
  const assignmentPath = (identity: string) => {
    const key = groupAssignmentKey(identity);
    if (!key) {
      throw new TeamsAdminError(
        `'${identity}' is not a group policy assignment ({PolicyType}:{GroupId}).`,
        'InvalidIdentity',
        400,
        false,
      );
    }
    return `/Skype.Policy/groupPolicyAssignments/${encodeURIComponent(key.groupId)}/policyTypes/${encodeURIComponent(key.policyType)}`;
  };
  /** An assignment as the service answers it, with the `Identity` the rest of the product names it by. */
  const asAssignment = (value: unknown, what: string): TeamsConfigObject => {
    const parsed = z.looseObject({ GroupId: z.string(), PolicyType: z.string() }).safeParse(value);
    if (!parsed.success)
      throw new TeamsAdminError(
        `${what} returned no group policy assignment.`,
        'InvalidResponse',
        200,
        false,
      );
    return { ...parsed.data, Identity: groupAssignmentIdentity(parsed.data.PolicyType, parsed.data.GroupId) };
  };

  const asObject = (value: unknown, what: string): TeamsConfigObject => {
    const parsed = objectSchema.safeParse(value);
    if (!parsed.success)
      throw new TeamsAdminError(`${what} returned no configuration object.`, 'InvalidResponse', 200, false);
    return parsed.data;
  };

  return {
    async list(policyName) {
      if (isGroupAssignment(policyName)) {
        const body = await call('GET', '/Skype.Policy/groupPolicyAssignments');
        if (!Array.isArray(body)) {
          throw new TeamsAdminError(
            'GET groupPolicyAssignments returned no array.',
            'InvalidResponse',
            200,
            false,
          );
        }
        return body.map((item) => asAssignment(item, 'GET groupPolicyAssignments'));
      }
      const body = await call('GET', configurations(policyName));
      if (!Array.isArray(body)) {
        throw new TeamsAdminError(`GET ${policyName} returned no array.`, 'InvalidResponse', 200, false);
      }
      return body.map((item) => asObject(item, `GET ${policyName}`));
    },
    async get(policyName, identity) {
      const wanted = identity.toLowerCase();
      return (await this.list(policyName)).find((o) => o.Identity.toLowerCase() === wanted);
    },
    async create(policyName, body) {
      if (isGroupAssignment(policyName)) {
        const { Identity: _identity, ...assignment } = body;
        const created = await call('POST', '/Skype.Policy/groupPolicyAssignments', assignment);
        // The service may answer the write with an empty body: the assignment is then what was sent.
        return asAssignment(created ?? assignment, 'POST groupPolicyAssignments');
      }
      const created = await call('POST', configurations(policyName), body);
      return created === undefined
        ? await reread(this, policyName, body.Identity, body)
        : asObject(created, `POST ${policyName}`);
    },
    async update(policyName, identity, body) {
      if (isGroupAssignment(policyName)) {
        const updated = await call('PATCH', assignmentPath(identity), body);
        return asAssignment(
          updated ?? { ...groupAssignmentFields(identity), ...body },
          'PATCH groupPolicyAssignments',
        );
      }
      const updated = await call('PUT', one(policyName, identity), body);
      return updated === undefined
        ? await reread(this, policyName, identity, body)
        : asObject(updated, `PUT ${policyName}`);
    },

    async delete(policyName, identity) {
      if (isGroupAssignment(policyName)) {
        await call('DELETE', assignmentPath(identity));
        return;
      }
      await call('DELETE', one(policyName, identity));
    },
    async grantPolicy(userId, policyType, policyName) {
      await call(
        'PATCH',
        `/Skype.Policy/users/${encodeURIComponent(userId)}/policies/${encodeURIComponent(policyType)}`,
        { PolicyName: policyName },
      );
    },
    async setEnterpriseVoice(userId, enabled) {
      await call('PATCH', `/Teams.User/users/${encodeURIComponent(userId)}`, {
        EnterpriseVoiceEnabled: enabled,
      });
    },
    async effectivePolicies(userId) {
      let body: unknown;
      try {
        body = await call('GET', `/Teams.User/users/${encodeURIComponent(userId)}`);
      } catch (error) {
        if (error instanceof TeamsAdminError && error.status === 404) return undefined;
        throw error;
      }
      const parsed = onlineUserSchema.safeParse(body);
      if (!parsed.success) {
        throw new TeamsAdminError(
          `GET /Teams.User/users/${userId} returned no user.`,
          'InvalidResponse',
          200,
          false,
        );
      }
      const policies: Record<string, string> = {};
      for (const { policyType, policyAssignment } of parsed.data.effectivePolicyAssignments ?? []) {
        policies[policyType] = policyAssignment?.displayName || 'Global';
      }
      return policies;
    },
  };
}

/**
 * After a write answered with no body (204, or 200 empty; go-teams `teamsapi/invoke.go` `decodeValue` takes an
 * empty answer as no objects and a single object as what "some writes" return): the object read back, or what was
 * written while the read does not show it yet.
 */
async function reread(
  client: Pick<TeamsAdminClient, 'get'>,
  policyName: string,
  identity: string,
  written: Readonly<Record<string, unknown>>,
): Promise<TeamsConfigObject> {
  return (await client.get(policyName, identity)) ?? { ...written, Identity: identity };
}

function groupAssignmentFields(identity: string): Record<string, string> {
  const key = groupAssignmentKey(identity);
  return key ? { GroupId: key.groupId, PolicyType: key.policyType } : {};
}

/** Retry-After in seconds: delta-seconds or an HTTP date. */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

function errorOf(text: string, status: number): { code: string; message: string } {
  try {
    const body = JSON.parse(text) as {
      error?: { code?: unknown; message?: unknown };
      code?: unknown;
      message?: unknown;
    };
    const code = body.error?.code ?? body.code;
    const message = body.error?.message ?? body.message;
    return {
      code: typeof code === 'string' ? code : `Http${status}`,
      message: typeof message === 'string' ? message : `HTTP ${status}`,
    };
  } catch {
    return { code: `Http${status}`, message: text.slice(0, 200) || `HTTP ${status}` };
  }
}
