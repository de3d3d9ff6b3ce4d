import { createApp } from '../../functions/app.js';
import { loadSettings } from '../../shared/config/settings.js';
import { freePort } from '../host/free-port.js';
import { startLocalHost } from '../host/index.js';
import { memoryTables } from '../../shared/storage/memory-tables.js';
import { type ApiWorkerReady, type ApiWorkerRequest, runWorker } from './bench-protocol.js';
import { seedUsersMirror } from './users-seed.js';

/**
 * The product's process in the API load benchmark: the local Functions host, as `npm start` runs it, serving HTTP.
 * The load clients live in the parent so that they do not take this process's event loop. For the Users list at
 * 100,000 users the tables are the in-memory twin, seeded here (it lives in this process); see docs/decisions.md, 49.
 */
const request = JSON.parse(process.env.BENCH_REQUEST ?? '{}') as ApiWorkerRequest;

async function main(): Promise<void> {
  const port = await freePort();
  const settings = loadSettings({ ...request.settings, PUBLIC_BASE_URL: `http://127.0.0.1:${port}` });
  const tables = request.memoryUsersMirror === undefined ? undefined : memoryTables();
  const app = createApp(settings, tables ? { tables } : {});
  const seedMs =
    tables && request.memoryUsersMirror !== undefined
      ? await seedUsersMirror(app, tables, request.memoryUsersMirror, (line) =>
          process.stdout.write(`${line}\n`),
        )
      : undefined;
  const host = await startLocalHost({
    registry: app.registry,
    port,
    storage: app.services.storage,
    log: () => {},
  });
  const ready: ApiWorkerReady = { url: host.url, ...(seedMs === undefined ? {} : { seedMs }) };
  process.send?.(ready);
  await new Promise<void>((resolve) => process.once('disconnect', () => resolve()));
  await host.close();
  await app.close();
}

runWorker(main);
