import { registry } from '../../functions/registry.js';
import { loadSettings } from '../../shared/config/settings.js';
import { useSettings } from '../../shared/platform/services.js';
import { replicationFor } from '../../shared/replication/replication-accessor.js';
import { startLocalHost } from '../host/index.js';
import type { WorkerReport, WorkerRequest } from './bench-protocol.js';

/**
 * The product's process in the replication benchmark: the local Functions host with every function, replicating
 * one customer through its queue and timers as in Azure. Its peak RSS is what the benchmark reports, so the
 * sandbox (the 100,000-user tenant) lives in the parent, not here.
 */
const request = JSON.parse(process.env.BENCH_REQUEST ?? '{}') as WorkerRequest;

function send(report: WorkerReport): void {
  process.send?.(report);
}

const peakRssBytes = () => process.resourceUsage().maxRSS * 1024;

async function main(): Promise<void> {
  const host = await startLocalHost({
    registry,
    port: 0,
    storageConnectionString: request.storageConnectionString,
    queues: { pollIntervalMs: 50 },
    log: () => {},
  });
  const services = useSettings(loadSettings({ ...request.settings, PUBLIC_BASE_URL: host.url }));
  const replication = replicationFor(services);
  const { customer } = request;

  async function waitForCycle(since: string): Promise<Awaited<ReturnType<typeof replication.status>>> {
    for (;;) {
      const status = await replication.status(customer.shortName);
      const last = status.status.lastCycle;
      if (last && last.startedAt >= since && status.cycle === null) return status;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  await services.customers.create({
    fullName: `${customer.shortName} Ltd`,
    shortName: customer.shortName,
    licenseType: 'Hosted Pro',
    licensedUsers: 10,
  });
  // Verifying the credentials queues the initial (full) replication, as for any new customer.
  const fullStart = new Date();
  const started = performance.now();
  await services.credentials.connectAppRegistration(customer.shortName, {
    tenantId: customer.tenantId,
    clientId: customer.clientId,
    clientSecret: customer.clientSecret,
  });
  const full = await waitForCycle(fullStart.toISOString());
  send({
    phase: 'full',
    wallMs: performance.now() - started,
    peakRssBytes: peakRssBytes(),
    outcome: full.status.lastCycle?.outcome ?? 'unknown',
    counts: full.status.counts,
    pages: full.status.lastCycle?.counters.pages ?? 0,
  });

  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  const quickStart = new Date();
  const quickStarted = performance.now();
  await replication.trigger(customer.shortName, 'quick', 'manual');
  const quick = await waitForCycle(quickStart.toISOString());
  send({
    phase: 'quick',
    wallMs: performance.now() - quickStarted,
    peakRssBytes: peakRssBytes(),
    outcome: quick.status.lastCycle?.outcome ?? 'unknown',
    counts: quick.status.counts,
    pages: quick.status.lastCycle?.counters.pages ?? 0,
  });
  await host.close();
  await services.transport.close();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
