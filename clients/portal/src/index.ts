import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { paths } from './schema.js';

export type { components, operations, paths } from './schema.js';

/** The Direct Routing Hub API, typed by its OpenAPI document: `client.GET('/customers', …)` and so on. */
export type PortalClient = Client<paths>;

export interface PortalClientOptions {
  /** The fetch to call, for a test double or a runtime without a global fetch. */
  readonly fetch?: ClientOptions['fetch'];
}

/**
 * A client of the API at `baseUrl` (the document's server: the host followed by `/api/v1`), sending the bearer
 * token `getToken` gives on every request. `getToken` is asked each time, so an expiring token can be renewed
 * there (MSAL's acquireTokenSilent, for instance).
 */
export function createPortalClient(
  baseUrl: string,
  getToken: () => string | Promise<string>,
  options: PortalClientOptions = {},
): PortalClient {
  const client = createClient<paths>({
    baseUrl,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  client.use({
    async onRequest({ request }) {
      request.headers.set('authorization', `Bearer ${await getToken()}`);
      return request;
    },
  });
  return client;
}

/** The key of a next page, as every list operation takes it back in its query. */
export interface NextPageKey {
  cursor?: string;
}

/**
 * The cursor a page's `nextLink` carries, to spread into the same operation's query for the next page. `nextLink` is
 * an absolute path on the host (`/api/v1/customers?top=10&cursor=…`), not a path relative to `baseUrl`, so it
 * cannot be passed to the client as it is; the rest of its query is what the caller sent for the first page.
 */
export function followNextLink(nextLink: string): NextPageKey {
  const cursor = new URL(nextLink, 'http://next.invalid').searchParams.get('cursor');
  return cursor === null ? {} : { cursor };
}
