import { appendFileSync } from 'node:fs';
import { createApp } from '../../functions/app.js';
import { loadSettings } from '../../shared/config/settings.js';
import { startLocalHost } from '../host/index.js';
import { runWorker } from './bench-protocol.js';
import type { ScaleOutWorkerRequest } from './scale-out.js';
import {
  SCALE_OUT_TASK_TIMING,
  SCALE_OUT_TIMER_LOCKS,
  SCALE_OUT_TIMER_SCHEDULES,
} from './scale-out-world.js';

/**
 * One instance of the app in the bench's scale-out section: the local Functions host as `npm start` runs it, on the
 * shared Azurite, with the run's timer cadences; its log records go to a file the parent reads afterwards.
 */
const request = JSON.parse(process.env.BENCH_REQUEST ?? '{}') as ScaleOutWorkerRequest;

async function main(): Promise<void> {
  const app = createApp(loadSettings(request.settings), {
    taskTiming: SCALE_OUT_TASK_TIMING,
    taskInstanceId: request.instanceId,
  });
  const host = await startLocalHost({
    registry: app.registry.map((definition) =>
      definition.kind === 'timer'
        ? { ...definition, schedule: SCALE_OUT_TIMER_SCHEDULES[definition.name] ?? definition.schedule }
        : definition,
    ),
    port: request.port,
    storage: app.services.storage,
    queues: { pollIntervalMs: 200 },
    timers: { hostId: request.hostId, instanceId: request.instanceId, ...SCALE_OUT_TIMER_LOCKS },
    log: (record) => appendFileSync(request.logFile, `${JSON.stringify(record)}\n`),
  });
  process.send?.({ url: host.url });
  await new Promise<void>((resolve) => process.once('disconnect', () => resolve()));
  await host.close();
  await app.close();
}

runWorker(main);
