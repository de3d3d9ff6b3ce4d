import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createApp } from '../../functions/app.js';
import { loadSettings } from '../../shared/config/settings.js';
import { azureTables } from '../../shared/storage/azure-tables.js';
import { storageEndpoints } from '../../shared/storage/storage-endpoints.js';
import { freePort } from '../host/free-port.js';
import { startLocalHost } from '../host/index.js';
import { runWorker, type WorkerCommand, type WorkerReport, type WorkerRequest } from './bench-protocol.js';
import { azureCostTables } from './azure-cost-tables.js';
import { ipcTables } from './ipc-tables.js';
import { countWrites } from './write-counter.js';

/**
 * The product's process in the replication benchmark: the local Functions host with every function, replicating
 * one customer through its queue and timers as in Azure. Its peak RSS is what the benchmark reports, so the
 * sandbox (the 100,000-user tenant) lives in the parent and the in-memory twin of Table storage in a child of this
 * process (storage-twin.ts), not here: each storage request is a message to the twin, charged here with Azure's
 * costs.
 */
const request = JSON.parse(process.env.BENCH_REQUEST ?? '{}') as WorkerRequest;

function send(report: WorkerReport): void {
  process.send?.(report);
}

const peakRssBytes = () => process.resourceUsage().maxRSS * 1024;

async function main(): Promise<void> {
  const port = await freePort();
  const settings = loadSettings({ ...request.settings, PUBLIC_BASE_URL: `http://127.0.0.1:${port}` });
  // Not this process's Node flags (the heap's, a CPU profile's): the twin stands for Azure, not for the product.
  // BENCH_TWIN_NODE_ARGS (e.g. `--cpu-prof`) profiles it, as BENCH_WORKER_NODE_ARGS this process.
  const twin =
    request.storage === 'twin'
      ? fork(fileURLToPath(new URL('./storage-twin.js', import.meta.url)), {
          execArgv: process.env.BENCH_TWIN_NODE_ARGS?.split(' ').filter(Boolean) ?? [],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          // The twin's calls carry their JSON as one string (ipc-tables.ts), which structured clone copies unescaped.
          serialization: 'advanced',
        })
      : undefined;
  const cost = twin ? azureCostTables(ipcTables(twin), { requestMs: request.requestMs }) : undefined;
  const writes = countWrites(cost?.tables ?? azureTables(storageEndpoints(settings.storage)));
  const app = createApp(settings, { tables: writes.tables });
  const { services } = app;
  const host = await startLocalHost({
    registry: app.registry,
    port,
    storageConnectionString: request.storageConnectionString,
    queues: { pollIntervalMs: 50 },
    log: () => {},
  });
  const { replication } = services;
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
    licenseType: 'hosted-pro',
    licensedUsers: 10,
  });
  /** Starts a cycle with `start`, waits for it to end, and reports its wall time and the peak RSS so far. */
  async function measure(phase: WorkerReport['phase'], start: () => Promise<void>): Promise<void> {
    const since = new Date().toISOString();
    writes.take();
    cost?.take();
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
      writes: writes.take(),
      ...(cost ? { storageCost: cost.take() } : {}),
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
  const next = () =>
    new Promise<WorkerCommand>((resolve) => {
      const listener = (message: unknown) => {
        process.off('message', listener);
        resolve(message as WorkerCommand);
      };
      process.on('message', listener);
    });
  for (let command = await next(); command !== 'done'; command = await next()) {
    if (command === 'steady')
      await measure('steady', () => replication.trigger(customer.shortName, 'full', 'manual'));
    else await measure('quick', () => replication.trigger(customer.shortName, 'quick', 'manual'));
  }
  await host.close();
  await app.close();
  twin?.disconnect();
}

runWorker(main);
