import type { AccessToken, TokenCredential } from '@azure/identity';
import type { Client } from '@microsoft/microsoft-graph-client';
import { GraphError } from '../m365/graph-error.js';
import { z } from 'zod';
import { isDomainError } from '../errors/domain-errors.js';
import type { TrustedTransport } from '../net/trusted-transport.js';
import { isAuthenticationError } from '../net/identity-credentials.js';
import { aadstsCode, describeEntraFailure } from '../m365/aadsts.js';
import { EntraOAuthError } from '../m365/entra-oauth.js';
import { createGraphClient } from '../m365/graph-client.js';
import {
  createTeamsAdminClient,
  GROUP_POLICY_ASSIGNMENT,
  TEAMS_ADMIN_SCOPE,
  TeamsAdminError,
} from '../teams/teams-admin-client.js';
import type { MirrorSku, MirrorVoiceObject } from './mirror-store.js';
import type { MirrorUser } from './mirror-user.js';

/**
 * What replication reads from a customer's tenant, one Graph page per call so that the caller can checkpoint
 * between pages (external-apis.md: Graph paging, delta, throttling; the Teams admin API):
 * - users and their Teams side in one listing: `/admin/teams/userConfigurations?$expand=user(...)` (the manual's
 *   replicated user is the Graph user merged with its CsOnlineUser);
 * - directory changes: `/users/delta` (a full cycle takes `$deltatoken=latest` before it lists, so nothing that
 *   changes while it runs is missed by the next quick cycle);
 * - groups and membership: `/groups/delta` with `members`;
 * - Teams voice objects: the Teams admin configuration API;
 * - the tenant's subscriptions, `/subscribedSkus` (skuId → skuPartNumber for the users' licenses; one small
 *   response, `Organization.Read.All` as the licence check already needs).
 */

/** The name a credential refusal carries through the Graph SDK, which re-wraps errors as GraphError(code = name). */
export const AUTH_FAILURE = 'ReplicationAuthFailure';

/** The customer's credentials no longer work (refused by Entra ID, or Graph/Teams refuse the token): stop. */
export class AuthFailureError extends Error {
  override readonly name = AUTH_FAILURE;
}

/**
 * Graph's "start over": the delta token is no longer valid. For users and groups an expired or unknown token answers
 * 400 `syncStateNotFound` (Microsoft 365 Developer Blog, "Duration of change tracking tokens for identity and
 * education resources"); Graph may also answer any delta query 410 Gone when it reset its own tracking state
 * (learn.microsoft.com/graph/delta-query-overview, "Synchronization reset").
 */
export class ResyncRequiredError extends Error {
  override readonly name = 'ResyncRequiredError';
}

/** Whether Graph refused a delta or skip token and wants a new round (see ResyncRequiredError). */
export function isSyncReset(error: unknown): error is GraphError {
  if (!(error instanceof GraphError)) return false;
  if (error.statusCode === 410) return true;
  return error.statusCode === 400 && error.code?.toLowerCase() === 'syncstatenotfound';
}

export const USER_SELECT = [
  'id',
  'userPrincipalName',
  'displayName',
  'department',
  'usageLocation',
  'businessPhones',
  'mobilePhone',
  'accountEnabled',
  'assignedLicenses',
] as const;

export const GROUP_SELECT = [
  'displayName',
  'description',
  'mailEnabled',
  'securityEnabled',
  'members',
] as const;

/**
 * The most group items a groups delta page asks for. Each item carries up to a few hundred member references (a
 * large group repeats on later items), so a page of 999 items could hold all of a directory's 175,000 memberships:
 * ~14 MB of body, its text and its parse alive at once, the peak of a full cycle's memory. 100 items keep a page
 * near a tenth of that for a few more requests.
 */
export const GROUPS_PAGE_SIZE = 100;

/** The voice objects mirrored (external-apis.md `{PolicyName}` values); the network site's name is one constant. */
export const TENANT_NETWORK_SITE = 'TenantNetworkSite';
export const VOICE_POLICY_NAMES = [
  'OnlinePSTNGateway',
  'OnlinePstnUsages',
  'OnlineVoiceRoute',
  'OnlineVoiceRoutingPolicy',
  'TenantDialPlan',
  'TeamsCallingPolicy',
  'TenantNetworkRegion',
  TENANT_NETWORK_SITE,
  'TenantNetworkSubnet',
  'TenantTrustedIPAddress',
  // Not a configuration type: the client reads it from /Skype.Policy/groupPolicyAssignments (teams-admin-client.ts).
  GROUP_POLICY_ASSIGNMENT,
  // The emergency policies a network site names (day two edits them, and the simulator routes emergency calls by the
  // emergency call routing policy).
  'TeamsEmergencyCallingPolicy',
  'TeamsEmergencyCallRoutingPolicy',
] as const;

const nullableText = z.string().nullable().optional();

// Objects parse to what the mirror reads (z.object drops the other properties rather than refusing them): a page of
// 999 Teams users is copied as it is validated, and properties nobody reads made a tenth of a first cycle's garbage.
const directoryUserSchema = z.object({
  id: z.string(),
  userPrincipalName: z.string().optional(),
  displayName: nullableText,
  department: nullableText,
  usageLocation: nullableText,
  businessPhones: z.array(z.string()).nullable().optional(),
  mobilePhone: nullableText,
  accountEnabled: z.boolean().nullable().optional(),
  assignedLicenses: z
    .array(z.object({ skuId: z.string() }))
    .nullable()
    .optional(),
  '@removed': z.object({ reason: z.string().optional() }).optional(),
});
export type DeltaUser = z.output<typeof directoryUserSchema>;

const teamsUserSchema = z.object({
  id: z.string(),
  userPrincipalName: nullableText,
  accountType: nullableText,
  isEnterpriseVoiceEnabled: z.boolean().nullable().optional(),
  telephoneNumbers: z
    .array(z.object({ telephoneNumber: z.string(), assignmentCategory: nullableText }))
    .nullable()
    .optional(),
  effectivePolicyAssignments: z
    .array(
      z.object({
        policyType: z.string(),
        policyAssignment: z.object({ displayName: nullableText }).nullable().optional(),
      }),
    )
    .nullable()
    .optional(),
  modifiedDateTime: nullableText,
  user: directoryUserSchema.nullable().optional(),
});
type TeamsUser = z.output<typeof teamsUserSchema>;

const memberDeltaSchema = z.object({
  id: z.string(),
  '@odata.type': z.string().optional(),
  '@removed': z.object({ reason: z.string().optional() }).optional(),
});

const deltaGroupSchema = z.object({
  id: z.string(),
  displayName: nullableText,
  description: nullableText,
  mailEnabled: z.boolean().nullable().optional(),
  securityEnabled: z.boolean().nullable().optional(),
  'members@delta': z.array(memberDeltaSchema).optional(),
  '@removed': z.object({ reason: z.string().optional() }).optional(),
});
export type DeltaGroup = z.output<typeof deltaGroupSchema>;

const subscribedSkusSchema = z.object({
  value: z.array(
    z.looseObject({
      skuId: z.string(),
      skuPartNumber: nullableText,
      capabilityStatus: nullableText,
      consumedUnits: z.number().int().nullable().optional(),
      prepaidUnits: z.looseObject({ enabled: z.number().int().nullable().optional() }).nullable().optional(),
    }),
  ),
});

const pageSchema = <T extends z.ZodType>(item: T) =>
  z.object({
    value: z.array(item),
    '@odata.nextLink': z.string().optional(),
    '@odata.deltaLink': z.string().optional(),
  });

export interface Page<T> {
  readonly items: T[];
  readonly nextLink: string | null;
  readonly deltaLink: string | null;
}

/** A voice object type the tenant's Teams admin API would not list, with the service's answer. */
export interface RefusedVoiceType {
  readonly policyType: string;
  readonly status: number;
  readonly message: string;
}

export interface VoiceRead {
  readonly objects: MirrorVoiceObject[];
  /** Types the service refused (none read); their mirrored objects stand as they were. */
  readonly refused: RefusedVoiceType[];
}

/**
 * A type the tenant's Teams admin API does not serve: 404 or 400 to the list itself (a retired type, or one not
 * rolled out to the tenant). go-teams `teamsapi/invoke.go` takes a 404 as "not found" and reads the body's
 * `{ error: { code, message } }`; its `validated-policy-types.txt` lists the names "confirmed to resolve (HTTP 200) on
 * a live tenant", so a name is served per tenant. Throttling, 5xx and network failures are transient (the cycle
 * retries), 401/403 the credentials' failure: neither is a refused type.
 */
export function isRefusedType(error: unknown): error is TeamsAdminError {
  return error instanceof TeamsAdminError && (error.status === 404 || error.status === 400);
}

export interface M365Reader {
  /** A deltaLink for the users as they are now. */
  usersDeltaNow(): Promise<string>;
  /** Users with their Teams side; `since` limits it to Teams configurations modified since then. */
  teamsUsers(link: string | null, options: { pageSize: number; since?: string }): Promise<Page<MirrorUser>>;
  teamsUser(id: string): Promise<MirrorUser | null>;
  usersDelta(link: string): Promise<Page<DeltaUser>>;
  /** At most GROUPS_PAGE_SIZE items a page, whatever `pageSize` asks. */
  groupsDelta(link: string | null, pageSize: number): Promise<Page<DeltaGroup>>;
  /** The tenant's voice objects, with the types its Teams admin API refused to list (see `isRefusedType`). */
  voiceObjects(): Promise<VoiceRead>;
  /** Every subscription of the tenant, whatever its status: a user may still hold a suspended one's license. */
  subscribedSkus(): Promise<MirrorSku[]>;
}

export interface ReaderOptions {
  readonly graphBaseUrl: string;
  readonly teamsAdminBaseUrl: string;
  readonly credential: TokenCredential;
  readonly transport: Pick<TrustedTransport, 'fetch'>;
  /** Retries of a page after the SDK's own (429/503/504 with Retry-After): network failures and 5xx. */
  readonly retries?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export function createM365Reader(options: ReaderOptions): M365Reader {
  const credential = guardedCredential(options.credential);
  const graph: Client = createGraphClient({
    baseUrl: options.graphBaseUrl,
    credential,
    transport: options.transport,
  });
  const retries = options.retries ?? 4;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  /** One GET with retries of what is worth retrying; auth refusals and expired delta tokens become their own errors. */
  async function get<T>(what: string, schema: z.ZodType<T>, request: () => Promise<unknown>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        const body = await request();
        const parsed = schema.safeParse(body);
        if (!parsed.success) {
          throw new Error(
            `Microsoft Graph answered ${what} with an unexpected shape: ${z.prettifyError(parsed.error)}`,
          );
        }
        return parsed.data;
      } catch (error) {
        const refusal = authFailureOf(error);
        if (refusal) throw new AuthFailureError(refusal);
        if (isSyncReset(error)) {
          throw new ResyncRequiredError(`${what}: ${error.message || 'the delta token expired'}`);
        }
        const status = error instanceof GraphError ? error.statusCode : -1;
        const transient = status === -1 || status === 0 || status === 429 || status >= 500;
        if (!transient || attempt >= retries) throw error;
        await sleep(Math.min(30_000, 1000 * 2 ** attempt));
      }
    }
  }

  const page = <T>(body: {
    value: T[];
    '@odata.nextLink'?: string;
    '@odata.deltaLink'?: string;
  }): Page<T> => ({
    items: body.value,
    nextLink: body['@odata.nextLink'] ?? null,
    deltaLink: body['@odata.deltaLink'] ?? null,
  });

  const expandUser = `user($select=${USER_SELECT.join(',')})`;

  return {
    async usersDeltaNow() {
      const body = await get('GET /users/delta (latest)', pageSchema(directoryUserSchema), () =>
        graph
          .api('/users/delta')
          .query({ $deltatoken: 'latest' })
          .select([...USER_SELECT])
          .get(),
      );
      const link = body['@odata.deltaLink'];
      if (!link) throw new Error('Microsoft Graph answered $deltatoken=latest without a deltaLink.');
      return link;
    },

    async teamsUsers(link, { pageSize, since }) {
      const body = await get('GET /admin/teams/userConfigurations', pageSchema(teamsUserSchema), () => {
        if (link) return graph.api(link).get();
        let request = graph.api('/admin/teams/userConfigurations').top(pageSize).expand(expandUser);
        if (since) request = request.filter(`modifiedDateTime ge ${since}`);
        return request.get();
      });
      return {
        items: body.value.flatMap((item) => toMirrorUser(item) ?? []),
        nextLink: body['@odata.nextLink'] ?? null,
        deltaLink: body['@odata.deltaLink'] ?? null,
      };
    },

    async teamsUser(id) {
      try {
        const body = await get('GET /admin/teams/userConfigurations/{id}', teamsUserSchema, () =>
          graph
            .api(`/admin/teams/userConfigurations/${encodeURIComponent(id)}`)
            .expand(expandUser)
            .get(),
        );
        return toMirrorUser(body);
      } catch (error) {
        if (error instanceof GraphError && error.statusCode === 404) return null;
        throw error;
      }
    },

    async usersDelta(link) {
      const body = await get('GET /users/delta', pageSchema(directoryUserSchema), () =>
        graph.api(link).get(),
      );
      return page(body);
    },

    async groupsDelta(link, pageSize) {
      const body = await get('GET /groups/delta', pageSchema(deltaGroupSchema), () =>
        (link ? graph.api(link) : graph.api('/groups/delta').select([...GROUP_SELECT]))
          .header('Prefer', `odata.maxpagesize=${Math.min(pageSize, GROUPS_PAGE_SIZE)}`)
          .get(),
      );
      return page(body);
    },

    async subscribedSkus() {
      const body = await get('GET /subscribedSkus', subscribedSkusSchema, () =>
        graph.api('/subscribedSkus').get(),
      );
      return body.value.map((sku) => ({
        skuId: sku.skuId.toLowerCase(),
        skuPartNumber: sku.skuPartNumber ?? null,
        capabilityStatus: sku.capabilityStatus ?? null,
        enabled: sku.prepaidUnits?.enabled ?? 0,
        consumed: sku.consumedUnits ?? 0,
      }));
    },

    async voiceObjects() {
      try {
        // Asked first so that a refused token is told apart from the Teams API's own failures.
        await credential.getToken(TEAMS_ADMIN_SCOPE);
        const teams = createTeamsAdminClient({
          baseUrl: options.teamsAdminBaseUrl,
          credential,
          transport: options.transport,
        });
        const refused: RefusedVoiceType[] = [];
        const lists = await Promise.all(
          VOICE_POLICY_NAMES.map(async (policyName) => {
            try {
              return (await teams.list(policyName)).map((data) => ({
                policyName,
                identity: data.Identity,
                data,
              }));
            } catch (error) {
              if (!isRefusedType(error)) throw error;
              refused.push({ policyType: policyName, status: error.status, message: error.message });
              return [];
            }
          }),
        );
        // Every type refused is no unknown type but a call the service refuses (a wrong target, say): a failure.
        const [first] = refused;
        if (first && refused.length === VOICE_POLICY_NAMES.length) {
          throw new TeamsAdminError(first.message, 'VoiceReadRefused', first.status, false);
        }
        refused.sort((a, b) => a.policyType.localeCompare(b.policyType));
        return { objects: lists.flat(), refused };
      } catch (error) {
        const refusal = authFailureOf(error);
        if (refusal) throw new AuthFailureError(refusal);
        throw error;
      }
    },
  };
}

/** A Teams user configuration with its expanded Graph user, as the mirror keeps it; null without the user. */
export function toMirrorUser(item: TeamsUser): MirrorUser | null {
  const user = item.user;
  if (!user) return null;
  const numbers = (item.telephoneNumbers ?? []).map((n) => n.telephoneNumber);
  const primary =
    (item.telephoneNumbers ?? []).find((n) => n.assignmentCategory?.toLowerCase() === 'primary')
      ?.telephoneNumber ?? numbers[0];
  const policies: Record<string, string> = {};
  for (const assignment of item.effectivePolicyAssignments ?? []) {
    policies[assignment.policyType] = assignment.policyAssignment?.displayName ?? 'Global';
  }
  return {
    id: item.id.toLowerCase(),
    userPrincipalName: user.userPrincipalName ?? item.userPrincipalName ?? '',
    displayName: user.displayName ?? null,
    department: user.department ?? null,
    usageLocation: user.usageLocation ?? null,
    businessPhones: user.businessPhones ?? [],
    mobilePhone: user.mobilePhone ?? null,
    accountEnabled: user.accountEnabled ?? null,
    accountType: item.accountType ?? null,
    enterpriseVoiceEnabled: item.isEnterpriseVoiceEnabled === true,
    lineUri: primary ? `tel:${primary}` : null,
    telephoneNumbers: numbers,
    policies,
    teamsModifiedAt: item.modifiedDateTime ?? null,
    assignedLicenses: skuIdsOf(user.assignedLicenses),
  };
}

/** A directory change applied to a mirrored user: properties the delta item carries replace the mirror's. */
export function applyDirectoryChange(user: MirrorUser, change: DeltaUser): MirrorUser {
  return {
    ...user,
    ...(change.userPrincipalName !== undefined ? { userPrincipalName: change.userPrincipalName } : {}),
    ...(change.displayName !== undefined ? { displayName: change.displayName } : {}),
    ...(change.department !== undefined ? { department: change.department } : {}),
    ...(change.usageLocation !== undefined ? { usageLocation: change.usageLocation } : {}),
    ...(change.businessPhones !== undefined ? { businessPhones: change.businessPhones ?? [] } : {}),
    ...(change.mobilePhone !== undefined ? { mobilePhone: change.mobilePhone } : {}),
    ...(change.accountEnabled !== undefined ? { accountEnabled: change.accountEnabled } : {}),
    ...(change.assignedLicenses !== undefined ? { assignedLicenses: skuIdsOf(change.assignedLicenses) } : {}),
  };
}

/** The skuIds of Graph's `assignedLicenses`, lowercased and sorted (the mirror's hash ignores their order). */
function skuIdsOf(licenses: ReadonlyArray<{ skuId: string }> | null | undefined): string[] {
  return [...new Set((licenses ?? []).map((l) => l.skuId.toLowerCase()))].sort();
}

/**
 * The message of a refusal that only the customer or the operator can fix: Entra ID refusing the credential
 * (AADSTS…, invalid_grant, invalid_client), the token app missing, or Graph/Teams refusing the token (401/403).
 * Network failures and 5xx are not refusals.
 */
export function authFailureOf(error: unknown): string | null {
  if (error instanceof AuthFailureError) return error.message;
  if (error instanceof GraphError) {
    if (error.code === AUTH_FAILURE) return error.message;
    if (error.statusCode === 401 || error.statusCode === 403) {
      return `Microsoft Graph refused the customer's token: ${error.message}`;
    }
  }
  if (error instanceof TeamsAdminError && (error.status === 401 || error.status === 403)) {
    return `The Teams admin API refused the customer's token: ${error.message}`;
  }
  return null;
}

/** Whether a token request failed because Entra ID refused it (rather than not being reachable). */
function credentialRefusal(error: unknown): string | null {
  if (isDomainError(error)) return error.detail ?? error.message;
  const text =
    error instanceof Error
      ? `${error.message} ${JSON.stringify((error as { errorResponse?: unknown }).errorResponse ?? '')}`
      : String(error);
  const refused =
    aadstsCode(text) !== null ||
    (error instanceof EntraOAuthError && error.status >= 400 && error.status < 500) ||
    (isAuthenticationError(error) && error.statusCode >= 400 && error.statusCode < 500);
  return refused ? describeEntraFailure(text).message : null;
}

/**
 * The customer's credential, with tokens kept until a minute before they expire (a delegated refresh-token
 * credential would otherwise redeem and rotate its refresh token for every page) and refusals marked as such.
 */
export function guardedCredential(inner: TokenCredential): TokenCredential {
  const tokens = new Map<string, Promise<AccessToken>>();
  return {
    async getToken(scopes) {
      const scope = Array.isArray(scopes) ? scopes.join(' ') : String(scopes);
      const cached = tokens.get(scope);
      if (cached) {
        const token = await cached.catch(() => null);
        if (token && token.expiresOnTimestamp - 60_000 > Date.now()) return token;
      }
      const fresh = (async () => {
        try {
          const token = await inner.getToken(scope);
          if (!token) throw new AuthFailureError('The credential returned no access token.');
          return token;
        } catch (error) {
          const refusal = credentialRefusal(error);
          throw refusal ? new AuthFailureError(refusal) : error;
        }
      })();
      tokens.set(scope, fresh);
      return fresh;
    },
  };
}
