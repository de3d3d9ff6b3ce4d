import { randomBytes } from 'node:crypto';
import type { Client } from '@microsoft/microsoft-graph-client';
import { GraphError } from './graph-error.js';
import { z } from 'zod';

/** A failed Graph call, with Graph's error code; the message never carries tokens or secrets. */
export class GraphRequestError extends Error {
  override readonly name = 'GraphRequestError';
  constructor(
    /** Graph's `error.code` (`Request_BadRequest`, `Request_ResourceNotFound`, ...), or `NetworkError`. */
    readonly code: string,
    message: string,
    /** The HTTP status, null when no response came back. */
    readonly status: number | null,
    /** Worth retrying later: throttling (after the client's own retries), server errors, no response. */
    readonly transient: boolean,
  ) {
    super(message);
  }
}

/** Runs one Graph call and turns its failure into a GraphRequestError naming the operation. */
export async function graphCall<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toGraphRequestError(error, what);
  }
}

export function toGraphRequestError(error: unknown, what: string): GraphRequestError {
  if (error instanceof GraphRequestError) return error;
  if (error instanceof GraphError) {
    const status = error.statusCode > 0 ? error.statusCode : null;
    const code = error.code ?? (status === null ? 'NetworkError' : `Http${status}`);
    return new GraphRequestError(
      code,
      `Microsoft Graph ${what} failed${status === null ? '' : ` (${status})`}: ${code}: ${error.message}`,
      status,
      status === null || status === 429 || status >= 500,
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new GraphRequestError('NetworkError', `Microsoft Graph ${what} failed: ${message}`, null, true);
}

const statusOf = (error: unknown) => (error instanceof GraphError ? error.statusCode : undefined);

/**
 * The waits before asking again for a user the product just created and Graph does not show yet (404): Entra ID
 * copies a write to its replicas asynchronously, so for a few seconds the replica that answers may not know the new
 * user ("Designing for Eventual Consistency for Microsoft Entra", devblogs.microsoft.com/identity). About half a
 * minute in all; after that the 404 stands and the task's own retry takes over.
 */
export const READ_AFTER_WRITE_WAITS_MS: readonly number[] = [250, 500, 1000, 2000, 4000, 8000, 16000];

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `attempt` again after each wait while Graph answers it 404; any other outcome at once. */
export async function untilVisible<T>(
  attempt: () => Promise<T>,
  waits: readonly number[] = READ_AFTER_WRITE_WAITS_MS,
): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      const notFound =
        statusOf(error) === 404 || (error instanceof GraphRequestError && error.status === 404);
      const wait = waits[i];
      if (!notFound || wait === undefined) throw error;
      await pause(wait);
    }
  }
}

/** A user the product knows exists (it just created it), once Graph shows it; null if it never does. */
export async function visibleUser(
  client: Client,
  idOrUpn: string,
  waits: readonly number[] = READ_AFTER_WRITE_WAITS_MS,
): Promise<DirectoryUser | null> {
  const missing = new GraphRequestError(
    'Request_ResourceNotFound',
    `User '${idOrUpn}' not found.`,
    404,
    true,
  );
  return untilVisible(async () => (await getUser(client, idOrUpn)) ?? Promise.reject(missing), waits).catch(
    (error: unknown) => {
      if (error === missing) return null;
      throw error;
    },
  );
}

const domainSchema = z.object({
  id: z.string(),
  authenticationType: z.string().nullable().optional(),
  isDefault: z.boolean().nullable().optional(),
  isInitial: z.boolean().nullable().optional(),
  isRoot: z.boolean().nullable().optional(),
  isVerified: z.boolean(),
  supportedServices: z.array(z.string()).nullable().optional(),
});

/** A domain of the customer's tenant as Graph returns it. */
export type GraphDomain = z.output<typeof domainSchema>;

const dnsRecordsSchema = z.object({
  value: z.array(
    z
      .object({
        '@odata.type': z.string().optional(),
        recordType: z.string().nullable().optional(),
        label: z.string(),
        text: z.string().optional(),
        ttl: z.number(),
      })
      .loose(),
  ),
});

export interface VerificationTxt {
  /** The host the record goes at (the domain name itself). */
  readonly label: string;
  /** `MS=ms########`. */
  readonly text: string;
  readonly ttl: number;
}

export interface VerifyOutcome {
  readonly verified: boolean;
  /** Graph's explanation when it is not verified yet (e.g. the TXT record is not visible). */
  readonly message?: string;
}

const domainPath = (name: string) => `/domains/${encodeURIComponent(name)}`;

/** Adds the domain to the customer's tenant; a domain the tenant already has is returned as it is. */
export async function createDomain(client: Client, name: string): Promise<GraphDomain> {
  try {
    return parse(domainSchema, await client.api('/domains').post({ id: name }), 'POST /domains');
  } catch (error) {
    const status = statusOf(error);
    if (status === 400 || status === 409) {
      const existing = await getDomain(client, name);
      if (existing) return existing;
    }
    throw toGraphRequestError(error, 'POST /domains');
  }
}

/** The domain, or null when the tenant does not have it. */
export async function getDomain(client: Client, name: string): Promise<GraphDomain | null> {
  try {
    return parse(domainSchema, await client.api(domainPath(name)).get(), 'GET /domains/{id}');
  } catch (error) {
    if (statusOf(error) === 404) return null;
    throw toGraphRequestError(error, 'GET /domains/{id}');
  }
}

/** The TXT record Microsoft wants to see at the domain before it verifies it. */
export async function getVerificationTxt(client: Client, name: string): Promise<VerificationTxt> {
  const what = 'GET /domains/{id}/verificationDnsRecords';
  const body = await graphCall(what, () => client.api(`${domainPath(name)}/verificationDnsRecords`).get());
  const records = parse(dnsRecordsSchema, body, what).value;
  const txt = records.find(
    (r) =>
      r.recordType?.toLowerCase() === 'txt' || r['@odata.type'] === '#microsoft.graph.domainDnsTxtRecord',
  );
  if (!txt?.text) {
    throw new GraphRequestError(
      'NoTxtRecord',
      `Microsoft Graph offered no TXT record to verify '${name}'.`,
      null,
      false,
    );
  }
  return { label: txt.label, text: txt.text, ttl: txt.ttl };
}

/**
 * Asks Graph to verify the domain. Graph's 400 while the TXT record is not visible yet is an answer
 * (`verified: false`), not a failure; a domain that is already verified is `verified: true`.
 */
export async function verifyDomain(client: Client, name: string): Promise<VerifyOutcome> {
  try {
    const domain = parse(
      domainSchema,
      await client.api(`${domainPath(name)}/verify`).post({}),
      'POST verify',
    );
    return { verified: domain.isVerified };
  } catch (error) {
    if (statusOf(error) !== 400) throw toGraphRequestError(error, 'POST /domains/{id}/verify');
    const domain = await getDomain(client, name);
    if (domain?.isVerified) return { verified: true };
    return { verified: false, message: error instanceof Error ? error.message : String(error) };
  }
}

/** Removes the domain from the tenant; a domain that is already gone is fine. */
export async function deleteDomain(client: Client, name: string): Promise<void> {
  try {
    await client.api(domainPath(name)).delete();
  } catch (error) {
    if (statusOf(error) === 404) return;
    throw toGraphRequestError(error, 'DELETE /domains/{id}');
  }
}

const userSchema = z.object({
  id: z.string(),
  userPrincipalName: z.string(),
  displayName: z.string().nullable().optional(),
  usageLocation: z.string().nullable().optional(),
  accountEnabled: z.boolean().nullable().optional(),
  assignedLicenses: z
    .array(z.object({ skuId: z.string(), disabledPlans: z.array(z.string()).optional() }))
    .optional(),
});

export type DirectoryUser = z.output<typeof userSchema>;

export interface EnsureUserInput {
  readonly userPrincipalName: string;
  readonly displayName: string;
  /** ISO 3166 alpha-2; licenses can only be assigned to users with a usage location. */
  readonly usageLocation: string;
}

export const USER_SELECT = 'id,userPrincipalName,displayName,usageLocation,accountEnabled,assignedLicenses';

/** The user by id or UPN, or null. */
export async function getUser(client: Client, idOrUpn: string): Promise<DirectoryUser | null> {
  try {
    const body: unknown = await client
      .api(`/users/${encodeURIComponent(idOrUpn)}`)
      .select(USER_SELECT)
      .get();
    return parse(userSchema, body, 'GET /users/{id}');
  } catch (error) {
    if (statusOf(error) === 404) return null;
    throw toGraphRequestError(error, 'GET /users/{id}');
  }
}

/**
 * The user with this UPN, created if missing (enabled, with a random password nobody learns: the domain activation
 * user never signs in). An existing user gets the usage location if it differs. Idempotent.
 */
export async function ensureUser(
  client: Client,
  input: EnsureUserInput,
): Promise<{ user: DirectoryUser; created: boolean }> {
  const existing = await getUser(client, input.userPrincipalName);
  if (existing) {
    if (existing.usageLocation !== input.usageLocation) {
      await graphCall('PATCH /users/{id}', () =>
        client.api(`/users/${encodeURIComponent(existing.id)}`).patch({ usageLocation: input.usageLocation }),
      );
      return { user: { ...existing, usageLocation: input.usageLocation }, created: false };
    }
    return { user: existing, created: false };
  }
  const mailNickname =
    (input.userPrincipalName.split('@')[0] ?? '').replace(/[^A-Za-z0-9._-]/g, '').slice(0, 64) || 'user';
  let body: unknown;
  try {
    body = await client.api('/users').post({
      accountEnabled: true,
      displayName: input.displayName,
      mailNickname,
      userPrincipalName: input.userPrincipalName,
      usageLocation: input.usageLocation,
      passwordProfile: { forceChangePasswordNextSignIn: true, password: randomPassword() },
    });
  } catch (error) {
    // Another run created it (the UPN is taken), maybe so recently that Graph does not show it yet.
    const duplicate = statusOf(error) === 400 && /already exists/i.test(errorMessage(error));
    const raced = duplicate ? await visibleUser(client, input.userPrincipalName) : null;
    if (!raced) throw toGraphRequestError(error, 'POST /users');
    return { user: raced, created: false };
  }
  // The answer is the new user: reading it back could miss it on a replica that has not seen it yet.
  // Its default properties leave out the usage location, which is what was sent.
  const user = parse(userSchema, body, 'POST /users');
  return { user: { ...user, usageLocation: input.usageLocation, assignedLicenses: [] }, created: true };
}

const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Deletes the user (to deleted items, restorable for 30 days); one that is already gone is fine. */
export async function deleteUser(client: Client, idOrUpn: string): Promise<void> {
  try {
    await client.api(`/users/${encodeURIComponent(idOrUpn)}`).delete();
  } catch (error) {
    if (statusOf(error) === 404) return;
    throw toGraphRequestError(error, 'DELETE /users/{id}');
  }
}

const deletedUsersSchema = z.object({
  value: z.array(z.object({ id: z.string(), userPrincipalName: z.string().nullable().optional() })),
  '@odata.nextLink': z.string().optional(),
});

/**
 * The id of a deleted user with this UPN in the tenant's deleted items, or null. Entra ID keeps a deleted user there
 * for 30 days (learn.microsoft.com/graph/api/resources/directory) and may show its UPN prefixed with its object id
 * (without hyphens), so both forms match.
 */
export async function findDeletedUser(client: Client, upn: string): Promise<string | null> {
  const what = 'GET /directory/deletedItems/microsoft.graph.user';
  const wanted = upn.toLowerCase();
  let link: string | undefined =
    '/directory/deletedItems/microsoft.graph.user?$select=id,userPrincipalName&$top=999';
  while (link) {
    const current: string = link;
    const page = parse(deletedUsersSchema, await graphCall(what, () => client.api(current).get()), what);
    const found = page.value.find((u) => {
      const name = (u.userPrincipalName ?? '').toLowerCase();
      return name === wanted || name === `${u.id.replace(/-/g, '').toLowerCase()}${wanted}`;
    });
    if (found) return found.id;
    link = page['@odata.nextLink'];
  }
  return null;
}

/**
 * Deletes the user for good: `DELETE /users/{id}` only moves it to deleted items, where it keeps its UPN and so
 * keeps its domain referenced (`DELETE /domains/{id}` is refused until it goes); `DELETE /directory/deletedItems/{id}`
 * then removes it (learn.microsoft.com/graph/api/directory-deleteditems-delete). Finds the user live or already
 * deleted; one gone for good is fine. Whether there was anything to delete.
 */
export async function deleteUserPermanently(client: Client, upn: string): Promise<boolean> {
  const live = await getUser(client, upn);
  if (live) await deleteUser(client, live.id);
  const id = live?.id ?? (await findDeletedUser(client, upn));
  if (!id) return false;
  try {
    await client.api(`/directory/deletedItems/${encodeURIComponent(id)}`).delete();
  } catch (error) {
    if (statusOf(error) !== 404) throw toGraphRequestError(error, 'DELETE /directory/deletedItems/{id}');
  }
  return true;
}

/** 24 characters from all four classes, as Entra ID's complexity rule wants; never logged or stored. */
function randomPassword(): string {
  return `${randomBytes(18).toString('base64url')}aA1!`;
}

export function parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const result = schema.safeParse(body);
  if (!result.success) {
    throw new GraphRequestError(
      'UnexpectedResponse',
      `Microsoft Graph answered ${what} with an unexpected shape: ${z.prettifyError(result.error)}`,
      null,
      false,
    );
  }
  return result.data;
}
