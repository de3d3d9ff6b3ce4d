// The flows the portal needs, written against the typed client: a page loop over nextLink, an update guarded by
// If-Match, and an operation previewed with dryRun. It compiles in strict mode without a cast.
import { createPortalClient, followNextLink, type PortalClient, type components } from './src/index.js';

type Customer = components['schemas']['CustomerListItem'];
type Task = components['schemas']['Task'];

/** Every customer, one page of `top` after another until the last page (nextLink null). */
export async function listAllCustomers(client: PortalClient, top = 100): Promise<Customer[]> {
  const customers: Customer[] = [];
  let next: string | null = null;
  do {
    const query: { top: number; cursor?: string } = { top, ...(next === null ? {} : followNextLink(next)) };
    const { data, error } = await client.GET('/customers', { params: { query } });
    if (error) throw new Error(`Listing customers failed: ${error.title}`);
    customers.push(...data.value);
    next = data.nextLink;
  } while (next !== null);
  return customers;
}

/**
 * Sets a customer's licensed users if nobody changed the customer since it was read: 'conflict' when someone did
 * (412), so the portal can reload and show the newer version instead of overwriting it.
 */
export async function setLicensedUsers(
  client: PortalClient,
  customerId: string,
  licensedUsers: number,
): Promise<'updated' | 'conflict'> {
  const read = await client.GET('/customers/{customerId}', { params: { path: { customerId } } });
  const etag = read.response.headers.get('etag');
  if (read.error || etag === null) throw new Error(`Reading ${customerId} failed: ${read.response.status}`);
  return updateIfMatch(client, customerId, licensedUsers, etag);
}

/** The update itself, with the ETag the caller read: 'conflict' when it is no longer the customer's. */
export async function updateIfMatch(
  client: PortalClient,
  customerId: string,
  licensedUsers: number,
  etag: string,
): Promise<'updated' | 'conflict'> {
  const { error, response } = await client.PATCH('/customers/{customerId}', {
    params: { path: { customerId }, header: { 'If-Match': etag } },
    body: { licensedUsers },
  });
  if (response.status === 412) return 'conflict';
  if (error) throw new Error(`Updating ${customerId} failed: ${error.title}`);
  return 'updated';
}

/** What syncing a customer's dial-plan prefixes would do, changing nothing: a task to poll at Location. */
export async function previewPrefixSync(client: PortalClient, customerId: string): Promise<Task> {
  const { data, error } = await client.POST('/customers/{customerId}/prefixes/sync', {
    params: { path: { customerId }, query: { dryRun: true } },
  });
  if (error) throw new Error(`Previewing the prefix sync of ${customerId} failed: ${error.title}`);
  return data;
}

/** How the portal wires it: its API base URL and a token source (MSAL in the portal). */
export async function main(baseUrl: string, getToken: () => Promise<string>): Promise<void> {
  const client = createPortalClient(baseUrl, getToken);
  const customers = await listAllCustomers(client);
  console.log(`${customers.length} customers`);
  const first = customers[0];
  if (first === undefined) return;
  console.log(await setLicensedUsers(client, first.id, 10));
  console.log((await previewPrefixSync(client, first.id)).id);
}
