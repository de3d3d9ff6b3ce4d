import { AsyncLocalStorage } from 'node:async_hooks';
import type { InvocationContext } from '@azure/functions';
import { redactText, redactValue } from '../tasks/redact.js';

/** What every log line of the product says besides its message (docs/operations.md). */
export interface LogFields {
  readonly correlationId?: string;
  readonly customerId?: string | null;
  readonly taskId?: string | null;
  readonly [field: string]: unknown;
}

const current = new AsyncLocalStorage<LogFields>();

/** Runs `body` with these fields on every line it logs (nested calls add to them). */
export function withLogFields<T>(fields: LogFields, body: () => T): T {
  return current.run({ ...current.getStore(), ...fields }, body);
}

/** The W3C trace id of a `traceparent` header, so a portal's request and our lines correlate. */
export function traceIdOf(traceparent: string | null | undefined): string | undefined {
  return /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(traceparent ?? '')?.[1];
}

/**
 * One JSON line through the invocation's logger (Application Insights in Azure): the message, the correlation id
 * (the caller's trace id, else the invocation id), the customer and the task (null when none), and any other
 * fields; secret-named fields and known secret values are blanked.
 */
export function productLog(
  context: InvocationContext,
  level: 'info' | 'warn' | 'error',
  message: string,
  fields: LogFields = {},
): void {
  const merged = { ...current.getStore(), ...fields };
  const { correlationId, customerId, taskId, ...rest } = merged;
  const line = {
    level,
    message: redactText(message),
    correlationId: correlationId ?? context.invocationId,
    customerId: customerId ?? null,
    taskId: taskId ?? null,
    functionName: context.functionName,
    ...(redactValue(rest).value as Record<string, unknown>),
  };
  context[level](JSON.stringify(line));
}

/** `info`/`warn`/`error` of one invocation as product lines, for modules that take a logger. */
export function productLogger(context: InvocationContext, fields: LogFields = {}) {
  return {
    info: (message: string) => productLog(context, 'info', message, fields),
    warn: (message: string) => productLog(context, 'warn', message, fields),
    error: (message: string) => productLog(context, 'error', message, fields),
  };
}
