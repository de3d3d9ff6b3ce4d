import { format } from 'node:util';
import type { LogHandler } from '@azure/functions';

/** Azure Functions' log levels, as `context.log/info/warn/error` report them. */
export type LogLevel = 'trace' | 'debug' | 'information' | 'warning' | 'error' | 'critical';

export interface LogRecord {
  readonly time: string;
  readonly level: LogLevel;
  /** `function` for what a handler logged through its context; `host` for what the host itself reports. */
  readonly category: 'host' | 'function';
  readonly message: string;
  readonly functionName?: string;
  readonly invocationId?: string;
  /** Invocation outcome records only. */
  readonly outcome?: 'succeeded' | 'failed' | 'skipped';
  readonly durationMs?: number;
  /** Timer invocation and skip records: the schedule occurrence (ISO) they stand for; none for runOnStartup. */
  readonly occurrence?: string;
  /** HTTP invocation outcome records only. */
  readonly status?: number;
  /** The failure's stack (or text) when an invocation or the host failed; never sent to clients. */
  readonly error?: string;
}

export type LogSink = (record: LogRecord) => void;

export const jsonLinesToStdout: LogSink = (record) => {
  process.stdout.write(`${JSON.stringify(record)}\n`);
};

export type HostLog = (record: Omit<LogRecord, 'time' | 'category'>) => void;

export interface Loggers {
  /** What the host reports about itself and about invocations. */
  readonly host: HostLog;
  /** The `logHandler` for one invocation's `InvocationContext`. */
  forInvocation(functionName: string, invocationId: string): LogHandler;
}

export function createLoggers(sink: LogSink): Loggers {
  // A faulty sink must not take down an invocation or the host's own bookkeeping.
  const emit = (record: LogRecord) => {
    try {
      sink(record);
    } catch {
      // Nothing sensible to report a logging failure to.
    }
  };
  return {
    host: (record) => emit({ time: new Date().toISOString(), category: 'host', ...record }),
    forInvocation:
      (functionName, invocationId) =>
      (level, ...args) => {
        if (level === 'none') return;
        // util.format is what the Azure worker uses, so `%s`/objects/errors render the same way.
        emit({
          time: new Date().toISOString(),
          category: 'function',
          level,
          functionName,
          invocationId,
          message: format(...args),
        });
      },
  };
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return format(error);
}
