import { appendFileSync } from 'node:fs';
import { type LocalHostOptions, startLocalHost } from '../../dev/host/index.js';
import { type AppOverrides, createApp } from '../../functions/app.js';
import { loadSettings } from '../../shared/config/settings.js';

/** What the parent asks for: the App Settings (as Azure gives them) and the local host's own knobs. */
export interface HostProcessRequest {
  readonly settings: Record<string, string>;
  readonly port: number;
  readonly storageConnectionString: string;
  readonly queuePollIntervalMs: number;
  /** The overrides that are plain data (timings): what a test tunes beyond the settings. */
  readonly overrides: Pick<AppOverrides, 'taskTiming' | 'userChangeDebounceMs' | 'taskInstanceId'>;
  /** Where the host's log records go, one JSON line each (Application Insights' part); nowhere when absent. */
  readonly logFile?: string;
  /** Timer schedules by function name, in place of the registry's: a test's faster cadence (Azure's `%Setting%`). */
  readonly timerSchedules?: Readonly<Record<string, string>>;
  /** The host's timer coordination (host ID, instance, listener lock timings). */
  readonly timers?: Omit<NonNullable<LocalHostOptions['timers']>, 'now'>;
}

/** The child's side: the app and the host as `npm start` runs them, its URL sent to the parent once it serves. */
export async function main(unload: () => Promise<void>): Promise<void> {
  const request = JSON.parse(process.env.HOST_PROCESS_REQUEST ?? '{}') as HostProcessRequest;
  const app = createApp(loadSettings(request.settings), request.overrides);
  const schedules = request.timerSchedules ?? {};
  const { logFile } = request;
  const host = await startLocalHost({
    registry: app.registry.map((definition) =>
      definition.kind === 'timer' && schedules[definition.name]
        ? { ...definition, schedule: schedules[definition.name] ?? definition.schedule }
        : definition,
    ),
    port: request.port,
    storageConnectionString: request.storageConnectionString,
    queues: { pollIntervalMs: request.queuePollIntervalMs },
    // A killed host's timer locks lapse within Azure's shortest listenerLockPeriod (15 s), not its default minute.
    timers: { lockPeriodMs: 15_000, lockRecoveryPollMs: 5_000, ...request.timers },
    log: logFile ? (record) => appendFileSync(logFile, `${JSON.stringify(record)}\n`) : () => {},
  });
  process.send?.({ url: host.url });
  // A graceful stop when the parent lets go; a test's crash is a SIGKILL, which runs none of this.
  await new Promise<void>((resolve) => process.once('disconnect', () => resolve()));
  await host.close();
  await app.close();
  await unload();
  process.exit(0);
}
