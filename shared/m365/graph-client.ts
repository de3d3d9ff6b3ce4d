import type { TokenCredential } from '@azure/identity';
import type * as GraphSdk from '@microsoft/microsoft-graph-client';
import type { Client, Context, Middleware } from '@microsoft/microsoft-graph-client';
import { z } from 'zod';
import type { TrustedTransport } from '../net/trusted-transport.js';
import { lazyRequire } from '../platform/lazy.js';

/** The Graph SDK (CommonJS, some forty modules) loads with the first client made, not at start-up (docs/decisions.md, 82). */
const graphSdk = lazyRequire<typeof GraphSdk>('@microsoft/microsoft-graph-client');

/** App-only Graph tokens: whatever application permissions the tenant's admin consented to. */
export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

export interface GraphClientOptions {
  /** `settings.endpoints.graph`, e.g. `https://graph.microsoft.com`; the client appends `/v1.0`. */
  readonly baseUrl: string;
  /** A credential for the customer's tenant, e.g. a `ClientSecretCredential`. */
  readonly credential: TokenCredential;
  readonly transport: Pick<TrustedTransport, 'fetch'>;
}

/**
 * The Graph SDK client with its default middleware (auth, retry honouring Retry-After, redirects, telemetry),
 * except that the last step sends through the trusted transport's fetch instead of the global one.
 */
export function createGraphClient(options: GraphClientOptions): Client {
  const {
    AuthenticationHandler,
    Client,
    RedirectHandler,
    RedirectHandlerOptions,
    RetryHandler,
    RetryHandlerOptions,
    TelemetryHandler,
  } = graphSdk();
  const authentication = new AuthenticationHandler({
    async getAccessToken() {
      const token = await options.credential.getToken(GRAPH_SCOPE);
      if (!token) throw new Error('The credential returned no access token for Microsoft Graph.');
      return token.token;
    },
  });
  const middleware: Middleware[] = [
    authentication,
    new RetryHandler(new RetryHandlerOptions()),
    new RedirectHandler(new RedirectHandlerOptions()),
    new TelemetryHandler(),
    fetchHandler(options.transport.fetch),
  ];
  return Client.initWithMiddleware({
    baseUrl: options.baseUrl,
    defaultVersion: 'v1.0',
    middleware,
    // The SDK attaches tokens only to hosts it knows as Graph; a configured base URL (the sandbox) is Graph too.
    customHosts: new Set([new URL(options.baseUrl).hostname]),
  });
}

function fetchHandler(fetch: typeof globalThis.fetch): Middleware {
  return {
    async execute(context: Context) {
      context.response = await fetch(context.request, context.options);
    },
  };
}

const verifiedDomainSchema = z.object({
  name: z.string(),
  isDefault: z.boolean(),
  isInitial: z.boolean(),
  type: z.string().nullable().optional(),
  capabilities: z.string().nullable().optional(),
});

const organizationSchema = z.object({
  id: z.string(),
  displayName: z.string().nullable(),
  verifiedDomains: z.array(verifiedDomainSchema),
});

export type GraphOrganization = z.output<typeof organizationSchema>;

const optionalText = z.string().nullable().optional();

const userSchema = z.object({
  id: z.string(),
  userPrincipalName: z.string().optional(),
  displayName: optionalText,
  givenName: optionalText,
  surname: optionalText,
  mail: optionalText,
  jobTitle: optionalText,
  department: optionalText,
  officeLocation: optionalText,
  preferredLanguage: optionalText,
  usageLocation: optionalText,
  businessPhones: z.array(z.string()).optional(),
  mobilePhone: optionalText,
  accountEnabled: z.boolean().nullable().optional(),
});

/** A user as Graph returns it; properties not selected (or not in Graph's default set) are absent. */
export type GraphUser = z.output<typeof userSchema>;
export type GraphUserProperty = keyof GraphUser;

/** The tenant behind the client's credential: id, name and verified domains (the initial one is `isInitial`). */
export async function getOrganization(client: Client): Promise<GraphOrganization> {
  const page = parse(
    pageSchema(organizationSchema),
    await client.api('/organization').get(),
    'GET /organization',
  );
  const organization = page.value[0];
  if (!organization) throw new Error('Microsoft Graph returned no organization for this tenant.');
  return organization;
}

/** A page of results; `continuationToken` resumes after it (Azure SDK paging convention). */
export type GraphPage<T> = T[] & { readonly continuationToken?: string };

export interface PagedAsyncIterableIterator<T> extends AsyncIterableIterator<T> {
  /** Page by page, optionally resuming from a page's `continuationToken` (e.g. after a checkpoint). */
  byPage(settings?: { readonly continuationToken?: string }): AsyncIterableIterator<GraphPage<T>>;
}

export interface ListUsersOptions {
  /** Graph's `$top`: 1-999; Graph's default (100) when omitted. */
  readonly pageSize?: number;
  /** Graph's `$select`; `id` is always included. Graph's default property set when omitted. */
  readonly select?: readonly GraphUserProperty[];
}

/** Every user of the tenant, following `@odata.nextLink` lazily, one request per page. */
export function listUsers(
  client: Client,
  options: ListUsersOptions = {},
): PagedAsyncIterableIterator<GraphUser> {
  const first = () => {
    let request = client.api('/users');
    if (options.pageSize !== undefined) request = request.top(options.pageSize);
    if (options.select) request = request.select([...new Set<string>(['id', ...options.select])]);
    return request;
  };
  return paged(client, first, pageSchema(userSchema), 'GET /users');
}

function paged<T>(
  client: Client,
  first: () => { get(): Promise<unknown> },
  schema: z.ZodType<{ value: T[]; '@odata.nextLink'?: string | undefined }>,
  what: string,
): PagedAsyncIterableIterator<T> {
  async function* pages(continuationToken?: string): AsyncIterableIterator<GraphPage<T>> {
    let body = await (continuationToken ? client.api(continuationToken) : first()).get();
    for (;;) {
      const page = parse(schema, body, what);
      const next = page['@odata.nextLink'];
      yield Object.assign(page.value, next ? { continuationToken: next } : {});
      if (!next) return;
      body = await client.api(next).get();
    }
  }
  async function* items(): AsyncIterableIterator<T> {
    for await (const page of pages()) yield* page;
  }
  const iterator = items();
  return {
    next: () => iterator.next(),
    [Symbol.asyncIterator]() {
      return this;
    },
    byPage: (settings) => pages(settings?.continuationToken),
  };
}

function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ value: z.array(item), '@odata.nextLink': z.string().optional() });
}

function parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const result = schema.safeParse(body);
  if (!result.success) {
    throw new Error(
      `Microsoft Graph answered ${what} with an unexpected shape: ${z.prettifyError(result.error)}`,
    );
  }
  return result.data;
}

const applicationSecretsSchema = z.object({
  value: z.array(
    z.object({
      appId: z.string(),
      passwordCredentials: z.array(
        z.object({
          keyId: z.string(),
          hint: z.string().nullable(),
          endDateTime: z.string().nullable(),
        }),
      ),
    }),
  ),
});

export type GraphPasswordCredential = z.output<
  typeof applicationSecretsSchema
>['value'][number]['passwordCredentials'][number];

/**
 * The client secrets (hint and end date, never the text) of an app registration in the token's tenant. Needs
 * Application.Read.All (or Directory.Read.All) in that tenant.
 */
export async function listApplicationSecrets(
  client: Client,
  appId: string,
): Promise<GraphPasswordCredential[]> {
  const body = applicationSecretsSchema.parse(
    await client
      .api('/applications')
      .filter(`appId eq '${appId.replace(/'/g, "''")}'`)
      .select('appId,passwordCredentials')
      .get(),
  );
  return body.value.flatMap((application) => application.passwordCredentials);
}
