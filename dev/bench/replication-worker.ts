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
  /** Starts a cycle with `start`, waits for it to end, and reports its wall time and the peak RSS so far. */
  async function measure(phase: WorkerReport['phase'], start: () => Promise<void>): Promise<void> {
    const since = new Date().toISOString();
    const started = performance.now();
    await start();
    const { status } = await waitForCycle(since);
    send({
      phase,
      wallMs: performance.now() - started,
      peakRssBytes: peakRssBytes(),
      outcome: status.lastCycle?.outcome ?? 'unknown',
      counts: status.counts,
      pages: status.lastCycle?.counters.pages ?? 0,
    });
  }

  // Verifying the credentials queues the initial (full) replication, as for any new customer.
  await measure('full', () =>
    services.credentials
      .connectAppRegistration(customer.shortName, {
        tenantId: customer.tenantId,
        clientId: customer.clientId,
        clientSecret: customer.clientSecret,
      })
      .then(() => undefined),
  );
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  await measure('quick', () => replication.trigger(customer.shortName, 'quick', 'manual'));
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
