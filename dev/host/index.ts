import { createHash, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { hostname as machineName } from 'node:os';
import type { AddressInfo } from 'node:net';
import type {
  FunctionDefinition,
  HttpFunctionDefinition,
  QueueFunctionDefinition,
  TimerFunctionDefinition,
} from '../../shared/platform/function-definitions.js';
import { endpointsOf, type StorageEndpoints } from '../../shared/storage/storage-endpoints.js';
import type { CorsPolicy } from './cors.js';
import { AZURE_MAX_REQUEST_BODY_BYTES, createHttpServer } from './http-server.js';
import { InFlight } from './in-flight.js';
import { createLoggers, describeError, jsonLinesToStdout, type LogRecord } from './log.js';
import { NcrontabError, parseNcrontab } from './ncrontab.js';
import { type RunningQueueListener, startQueueListener } from './queue-listener.js';
import { createRouter } from './router.js';
import { timerCoordination } from './timer-coordination.js';
import { type RunningTimer, startTimer } from './timer-scheduler.js';

export type { LogLevel, LogRecord } from './log.js';
export { NcrontabError, nextOccurrence, parseNcrontab } from './ncrontab.js';
export { RouteTemplateError } from './route-template.js';
export type { CorsPolicy } from './cors.js';

/** Where queue triggers listen: the `AzureWebJobsStorage` connection string, or the app's storage endpoints. */
export type LocalHostStorage =
  | { readonly storage: StorageEndpoints; readonly storageConnectionString?: never }
  | { readonly storageConnectionString: string; readonly storage?: never };

export type LocalHostOptions = LocalHostStorage & LocalHostSettings;

interface LocalHostSettings {
  /** The same registry that feeds Azure's app.http/app.timer/app.storageQueue registration. */
  readonly registry: readonly FunctionDefinition[];
  /** 0 picks a free port. Default 7071, as `func start`. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly hostname?: string;
  readonly queues?: {
    /** The longest idle wait between polls, like Azure's maxPollingInterval but small locally. Default 1000. */
    readonly pollIntervalMs?: number;
    /** host.json `queues.visibilityTimeout`: how long a failed message stays hidden before its retry. Default 0. */
    readonly visibilityTimeoutMs?: number;
    /** Deliveries before a failing message moves to `<queue>-poison`. Default 5. */
    readonly maxDequeueCount?: number;
    /** Messages fetched, and run concurrently, per poll; 1–32. Default 16. */
    readonly batchSize?: number;
  };
  readonly http?: {
    /** Larger bodies get 413. Default 100 MB, Azure's host limit; lower it only to test the limit. */
    readonly maxRequestBodyBytes?: number;
    /**
     * Azure's platform CORS (siteConfig.cors): the settings' `cors`. Default: no origin allowed, as a Function App
     * on Linux without a CORS list answers.
     */
    readonly cors?: CorsPolicy;
  };
  /** Receives every log record; default: JSON lines on stdout. */
  readonly log?: (line: LogRecord) => void;
  readonly timers?: {
    /** The clock timers schedule against. Default: the system clock. */
    readonly now?: () => Date;
    /**
     * Azure's host ID: the instances of one app share it, and with it each timer's listener lock and schedule
     * status. Default: this machine and working directory, as Core Tools derives one locally.
     */
    readonly hostId?: string;
    /** This instance, as its locks name it. Default: machine, process and a random suffix. */
    readonly instanceId?: string;
    /** host.json `singleton.listenerLockPeriod` (15–60 s in Azure). Default 60 s, Azure's. */
    readonly lockPeriodMs?: number;
    /** host.json `singleton.listenerLockRecoveryPollingInterval`. Default 60 s, Azure's. */
    readonly lockRecoveryPollMs?: number;
  };
}

export interface RunningHost {
  /** `http://host:port`, no trailing slash; routes are served at their template (routePrefix ""). */
  readonly url: string;
  /** Stops the server, timers and queue polling, and waits for invocations in progress. Idempotent. */
  close(): Promise<void>;
}

/**
 * Serves a function registry locally without Azure Functions Core Tools: HTTP routes, NCRONTAB timers and
 * storage queue triggers with Azure's semantics (see DESIGN.md decision 7).
 */
export async function startLocalHost(options: LocalHostOptions): Promise<RunningHost> {
  const queueSettings = resolveQueueSettings(options.queues);
  const maxRequestBodyBytes = options.http?.maxRequestBodyBytes ?? AZURE_MAX_REQUEST_BODY_BYTES;
  const hostname = options.hostname ?? '127.0.0.1';
  const now = options.timers?.now ?? (() => new Date());
  const lockPeriodMs = options.timers?.lockPeriodMs ?? 60_000;
  const lockRecoveryPollMs = options.timers?.lockRecoveryPollMs ?? 60_000;
  if (!(lockPeriodMs > 0) || !(lockRecoveryPollMs > 0)) {
    throw new RangeError('startLocalHost: timers.lockPeriodMs and lockRecoveryPollMs must be > 0');
  }
  const loggers = createLoggers(options.log ?? jsonLinesToStdout);

  rejectDuplicateNames(options.registry);
  const httpFunctions = options.registry.filter((d): d is HttpFunctionDefinition => d.kind === 'http');
  const timerFunctions = options.registry.filter((d): d is TimerFunctionDefinition => d.kind === 'timer');
  const queueFunctions = options.registry.filter((d): d is QueueFunctionDefinition => d.kind === 'queue');
  // Every registration problem surfaces before anything starts listening, as the Azure host refuses to start.
  const router = createRouter(httpFunctions);
  const timerSchedules = timerFunctions.map((definition) => {
    try {
      return { definition, schedule: parseNcrontab(definition.schedule) };
    } catch (error) {
      if (error instanceof NcrontabError) {
        throw new NcrontabError(`Timer function '${definition.name}': ${error.message}`);
      }
      throw error;
    }
  });

  const inFlight = new InFlight();
  let url = '';
  const cors = options.http?.cors ?? { allowedOrigins: [] };
  const server = createHttpServer({
    router,
    loggers,
    inFlight,
    maxRequestBodyBytes,
    origin: () => url,
    cors,
  });
  const port = await listen(server, options.port ?? 7071, hostname);
  url = `http://${urlHost(hostname)}:${port}`;

  const queueListeners: RunningQueueListener[] = [];
  if (queueFunctions.length > 0) {
    // Few quick retries: locally a storage outage should show in the log now, not after minutes of backoff.
    const service = await endpointsOf(options.storage ?? options.storageConnectionString).queueService({
      retryOptions: { maxTries: 3, retryDelayInMs: 200, maxRetryDelayInMs: 2000 },
    });
    const started = await Promise.allSettled(
      queueFunctions.map((definition) =>
        startQueueListener({ definition, service, loggers, ...queueSettings }),
      ),
    );
    for (const result of started) if (result.status === 'fulfilled') queueListeners.push(result.value);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) {
      await Promise.all(queueListeners.map((listener) => listener.stop()));
      await closeServer(server);
      loggers.host({
        level: 'error',
        message: 'Host failed to start queue listeners',
        error: describeError(failed.reason),
      });
      throw failed.reason;
    }
  }

  const coordinationOf = timerCoordination(
    options.storage ?? options.storageConnectionString,
    {
      hostId: options.timers?.hostId ?? defaultHostId(),
      instanceId: options.timers?.instanceId ?? `${machineName()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    },
    now,
  );
  const timers: RunningTimer[] = timerSchedules.map(({ definition, schedule }) =>
    startTimer({
      definition,
      schedule,
      now,
      loggers,
      inFlight,
      coordination: coordinationOf(definition.name),
      lockPeriodMs,
      lockRecoveryPollMs,
    }),
  );

  loggers.host({
    level: 'information',
    message: `Host started at ${url}: ${httpFunctions.length} HTTP, ${timerFunctions.length} timer, ${queueFunctions.length} queue function(s)`,
  });

  let closing: Promise<void> | undefined;
  const close = async () => {
    // Stop accepting first; 'close' fires once the last connection is gone, so listen for it right away.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await Promise.all([
      ...timers.map((timer) => timer.stop()),
      ...queueListeners.map((listener) => listener.stop()),
    ]);
    await inFlight.drain();
    server.closeAllConnections();
    await closed;
    loggers.host({ level: 'information', message: 'Host stopped' });
  };
  return {
    url,
    close() {
      closing ??= close();
      return closing;
    },
  };
}

function resolveQueueSettings(queues: LocalHostOptions['queues']) {
  const settings = {
    pollIntervalMs: queues?.pollIntervalMs ?? 1000,
    visibilityTimeoutMs: queues?.visibilityTimeoutMs ?? 0,
    maxDequeueCount: queues?.maxDequeueCount ?? 5,
    batchSize: queues?.batchSize ?? 16,
  };
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new RangeError(`startLocalHost: queues.${what}`);
  };
  check(
    Number.isFinite(settings.pollIntervalMs) && settings.pollIntervalMs > 0,
    'pollIntervalMs must be > 0',
  );
  check(
    settings.visibilityTimeoutMs >= 0 && settings.visibilityTimeoutMs <= 7 * 24 * 60 * 60 * 1000,
    'visibilityTimeoutMs must be between 0 and 7 days',
  );
  check(
    Number.isInteger(settings.maxDequeueCount) && settings.maxDequeueCount >= 1,
    'maxDequeueCount must be an integer ≥ 1',
  );
  check(
    Number.isInteger(settings.batchSize) && settings.batchSize >= 1 && settings.batchSize <= 32,
    'batchSize must be 1–32',
  );
  return settings;
}

/** Like Core Tools' local host ID: the same for every instance started from this checkout on this machine. */
function defaultHostId(): string {
  const digest = createHash('sha256').update(`${machineName()}|${process.cwd()}`).digest('hex');
  return `local-${digest.slice(0, 24)}`;
}

function rejectDuplicateNames(registry: readonly FunctionDefinition[]): void {
  const seen = new Set<string>();
  for (const definition of registry) {
    // Azure function names are case-insensitive.
    const key = definition.name.toLowerCase();
    if (seen.has(key)) throw new Error(`The registry has two functions named '${definition.name}'.`);
    seen.add(key);
  }
}

function listen(server: Server, port: number, hostname: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, hostname, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A URL authority for the listening address; wildcard addresses become the loopback a client can reach. */
function urlHost(hostname: string): string {
  if (hostname === '0.0.0.0') return '127.0.0.1';
  if (hostname === '::') return '[::1]';
  return hostname.includes(':') ? `[${hostname}]` : hostname;
}
