import { loadSettings } from '../../shared/config/settings.js';
import { azureSdkOptions } from '../../shared/net/azure-sdk-options.js';
import { clientSecretCredential } from '../../shared/net/identity-credentials.js';
import { createTrustedTransport } from '../../shared/net/trusted-transport.js';
import { createM365Reader } from '../../shared/replication/m365-reader.js';
import type { FloorReport, WorkerRequest } from './bench-protocol.js';

/**
 * The Graph-read floor of the replication bench, in a process of its own as the cycle is: the pages a full cycle
 * reads (the users' delta link, every page of Teams users with their Graph user, every page of the groups' delta
 * with members, the voice objects, the subscriptions), one after the other through the product's reader, with the
 * same latency and 429s, writing nothing. No cycle can be faster than its reads done in sequence without
 * pipelining them, so a cycle's time over this is what storage and the product's own work add.
 */
const request = JSON.parse(process.env.BENCH_REQUEST ?? '{}') as WorkerRequest;

async function main(): Promise<FloorReport> {
  const settings = loadSettings({ ...request.settings, PUBLIC_BASE_URL: 'http://127.0.0.1:1' });
  const transport = createTrustedTransport(settings.trustedCaCertFile);
  let requests = 0;
  let throttled = 0;
  const fetch = (async (...args: Parameters<typeof globalThis.fetch>) => {
    const response = await transport.fetch(...args);
    requests++;
    if (response.status === 429) throttled++;
    return response;
  }) as typeof globalThis.fetch;
  const { customer } = request;
  const reader = createM365Reader({
    graphBaseUrl: settings.endpoints.graph,
    teamsAdminBaseUrl: settings.endpoints.teamsAdmin,
    credential: clientSecretCredential(customer.tenantId, customer.clientId, customer.clientSecret, {
      authorityHost: settings.endpoints.authorityHost,
      disableInstanceDiscovery: true,
      ...azureSdkOptions(transport),
    }),
    transport: { fetch },
  });
  const { pageSize } = settings.replication;
  const started = performance.now();
  let pages = 1;
  await reader.usersDeltaNow();
  let users = 0;
  for (let link: string | null = null; ;) {
    const page = await reader.teamsUsers(link, { pageSize });
    pages++;
    users += page.items.length;
    link = page.nextLink;
    if (!link) break;
  }
  let groups = 0;
  for (let link: string | null = null; ;) {
    const page = await reader.groupsDelta(link, pageSize);
    pages++;
    groups += page.items.length;
    link = page.nextLink;
    if (!link) break;
  }
  const voiceObjects = (await reader.voiceObjects()).objects.length;
  await reader.subscribedSkus();
  pages += 2;
  const wallMs = performance.now() - started;
  await transport.close();
  return { phase: 'floor', wallMs, pages, requests, throttled, users, groups, voiceObjects };
}

main().then(
  (report) => {
    process.send?.(report, () => process.exit(0));
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
