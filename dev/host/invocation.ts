import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import azureFunctions, {
  type FunctionTrigger,
  type HttpResponseInit,
  type TriggerMetadata,
} from '@azure/functions';
import type { HttpFunctionDefinition } from '../../shared/platform/function-definitions.js';
import type { Loggers } from './log.js';

// The package is CommonJS without statically detectable named exports: plain Node (npm start) only sees a default.
const { HttpRequest, InvocationContext } = azureFunctions;

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

/** What an HTTP trigger receives, as the Azure host hands it over. */
export interface HttpInvocation {
  readonly method: string;
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly params: Record<string, string>;
  readonly body: Uint8Array;
}

/** One HTTP invocation of a definition, as the Azure host makes it: the local server and the in-process tests share it. */
export function invokeHttp(
  loggers: Loggers,
  definition: HttpFunctionDefinition,
  http: HttpInvocation,
): Promise<InvocationResult<HttpResponseInit>> {
  const { method, url } = http;
  return invoke(loggers, {
    functionName: definition.name,
    trigger: {
      type: 'httpTrigger',
      name: 'httpTrigger',
      authLevel: 'anonymous',
      methods: [...definition.methods],
      route: definition.route,
    },
    run: (context) =>
      definition.handler(
        new HttpRequest({
          method,
          url: url.href,
          headers: http.headers,
          query: queryRecord(url.searchParams),
          params: http.params,
          // Fetch's Request refuses a body on GET/HEAD; Azure drops it there too.
          ...(method === 'GET' || method === 'HEAD' ? {} : { body: { bytes: http.body } }),
        }),
        context,
      ),
  });
}

/** As the Azure host passes the query: one string per key, repeated keys joined with commas. */
function queryRecord(search: URLSearchParams): Record<string, string> {
  const query: Record<string, string> = {};
  for (const key of new Set(search.keys())) query[key] = search.getAll(key).join(',');
  return query;
}
