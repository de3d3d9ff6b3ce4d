import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import azureFunctions, { type FunctionTrigger, type TriggerMetadata } from '@azure/functions';
import type { Loggers } from './log.js';

// The package is CommonJS without statically detectable named exports: plain Node (npm start) only sees a default.
const { InvocationContext } = azureFunctions;

export interface InvocationRequest<T> {
  readonly functionName: string;
  /** What Azure reports as `context.options.trigger`. */
  readonly trigger: FunctionTrigger;
  readonly triggerMetadata?: TriggerMetadata;
  readonly run: (context: InstanceType<typeof InvocationContext>) => Promise<T>;
}

export type InvocationResult<T> =
  | { readonly ok: true; readonly value: T; readonly invocationId: string; readonly durationMs: number }
  | {
      readonly ok: false;
      readonly error: unknown;
      readonly invocationId: string;
      readonly durationMs: number;
    };

/** Runs one invocation with a real InvocationContext; never rejects, so callers decide what a failure means. */
export async function invoke<T>(
  loggers: Loggers,
  request: InvocationRequest<T>,
): Promise<InvocationResult<T>> {
  const invocationId = randomUUID();
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const context = new InvocationContext({
      invocationId,
      functionName: request.functionName,
      logHandler: loggers.forInvocation(request.functionName, invocationId),
      ...(request.triggerMetadata ? { triggerMetadata: request.triggerMetadata } : {}),
      options: { trigger: request.trigger },
    });
    const value = await request.run(context);
    return { ok: true, value, invocationId, durationMs: elapsed() };
  } catch (error) {
    return { ok: false, error, invocationId, durationMs: elapsed() };
  }
}
