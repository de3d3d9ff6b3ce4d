import { createApp } from '../../functions/app.js';
import { loadSettings } from '../../shared/config/settings.js';
import { freePort } from '../host/free-port.js';
import { startLocalHost } from '../host/index.js';
import type { ApiWorkerRequest } from './bench-protocol.js';

/**
 * The product's process in the API load benchmark: the local Functions host, as `npm start` runs it, serving HTTP.
 * The load clients live in the parent so that they do not take this process's event loop.
 */
const request = JSON.parse(process.env.BENCH_REQUEST ?? '{}') as ApiWorkerRequest;

async function main(): Promise<void> {
  const port = await freePort();
  const app = createApp(loadSettings({ ...request.settings, PUBLIC_BASE_URL: `http://127.0.0.1:${port}` }));
  const host = await startLocalHost({
    registry: app.registry,
    port,
    storage: app.services.storage,
    log: () => {},
  });
  process.send?.({ url: host.url });
  await new Promise<void>((resolve) => process.once('disconnect', () => resolve()));
  await host.close();
  await app.close();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
