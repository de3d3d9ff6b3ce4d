import type { InvocationContext } from '@azure/functions';
import type { z } from 'zod';
import type { QueueFunctionDefinition, TimerFunctionDefinition } from './function-definitions.js';
import { type LogFields, productLog, traceIdOf, withLogFields } from './product-log.js';

/**
 * What defineApiRoute is to HTTP, for timers and queue triggers: every line the run logs carries its correlation id
 * (the host's trace, else the invocation) and its fields, the start and any failure are logged with the error, and
 * the error is rethrown so that the host retries (a queue message, after its last try, moves to `<queue>-poison`).
 */
export interface TimerSpec {
  readonly name: string;
  /** Six-field NCRONTAB, UTC. */
  readonly schedule: string;
  readonly run: (context: InvocationContext) => Promise<void>;
}

export function defineTimer(spec: TimerSpec): TimerFunctionDefinition {
  return {
    kind: 'timer',
    name: spec.name,
    schedule: spec.schedule,
    handler: (_timer, context) => background(context, {}, `Timer ${spec.name}`, () => spec.run(context)),
  };
}

export interface QueueSpec<S extends z.ZodType> {
  readonly name: string;
  readonly queueName: string;
  /**
   * The message's shape and what to call it in the log. One that does not fit is logged and thrown: no retry fixes
   * it, so it ends up poisoned. Absent when the domain reads the message itself (the outbox's).
   */
  readonly message?: { readonly schema: S; readonly describe: string };
  /** Fields of the message every line of its run should carry (its customer, its task). */
  readonly logFields?: (message: z.output<S>) => LogFields;
  readonly run: (message: z.output<S>, context: InvocationContext) => Promise<void>;
}

export function defineQueueHandler<S extends z.ZodType = z.ZodUnknown>(
  spec: QueueSpec<S>,
): QueueFunctionDefinition {
  return {
    kind: 'queue',
    name: spec.name,
    queueName: spec.queueName,
    handler: async (raw, context) => {
      const message = parseMessage(spec, raw, context);
      const fields = spec.logFields?.(message) ?? {};
      await background(context, fields, `Queue ${spec.name}`, () => spec.run(message, context));
    },
  };
}

function parseMessage<S extends z.ZodType>(
  spec: QueueSpec<S>,
  raw: unknown,
  context: InvocationContext,
): z.output<S> {
  if (!spec.message) return raw as z.output<S>;
  const parsed = spec.message.schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  productLog(context, 'error', `A message of ${spec.queueName} was rejected: ${spec.message.describe}`, {
    correlationId: correlationOf(context),
    issues: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
  });
  throw new Error(spec.message.describe);
}

function background(
  context: InvocationContext,
  fields: LogFields,
  what: string,
  run: () => Promise<void>,
): Promise<void> {
  return withLogFields({ correlationId: correlationOf(context), ...fields }, async () => {
    productLog(context, 'info', `${what} started.`);
    try {
      await run();
    } catch (error) {
      productLog(context, 'error', `${what} failed.`, {
        error: error instanceof Error ? error.stack : String(error),
      });
      throw error;
    }
  });
}

function correlationOf(context: InvocationContext): string {
  return traceIdOf(context.traceContext?.traceParent) ?? context.invocationId;
}
