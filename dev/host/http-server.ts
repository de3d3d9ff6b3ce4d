import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import azureFunctions, { type HttpResponseInit } from '@azure/functions';
import { serializeCookie } from './cookies.js';
import { type CorsDecision, type CorsPolicy, evaluateCors, withCorsHeaders } from './cors.js';
import type { InFlight } from './in-flight.js';
import { invokeHttp } from './invocation.js';
import { describeError, type Loggers } from './log.js';
import { writeProblem } from './problem.js';
import type { Router } from './router.js';

// CommonJS package: plain Node only exposes its exports through the default import.
const { HttpResponse } = azureFunctions;
type HttpResponseInstance = InstanceType<typeof HttpResponse>;

/** The Azure Functions host's request body limit; the product enforces its own, smaller one. */
export const AZURE_MAX_REQUEST_BODY_BYTES = 100 * 1024 * 1024;

export interface HttpServerOptions {
  readonly router: Router;
  readonly loggers: Loggers;
  readonly inFlight: InFlight;
  readonly maxRequestBodyBytes: number;
  /** Used to build the request URL when the client sent no usable Host header. */
  readonly origin: () => string;
  /** What Azure's platform CORS is configured with (siteConfig.cors), applied before any route, as there. */
  readonly cors: CorsPolicy;
}

/** Hop-by-hop headers a handler cannot meaningfully set; Node frames the response itself. */
const FRAMING_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'set-cookie',
]);

export function createHttpServer(options: HttpServerOptions): Server {
  return createServer((req, res) => {
    const cors = evaluateCors(options.cors, {
      method: req.method ?? 'GET',
      header: (name) => header(req, name),
    });
    void options.inFlight.track(
      handle(req, res, options, cors).catch((error: unknown) => {
        if (res.headersSent || res.destroyed || req.destroyed) {
          options.loggers.host({
            level: 'warning',
            message: 'HTTP exchange aborted',
            error: describeError(error),
          });
          res.destroy();
          return;
        }
        options.loggers.host({
          level: 'error',
          message: 'HTTP request failed in the host',
          error: describeError(error),
        });
        writeProblem(res, 500, 'internal_error', corsHeadersOf(cors));
      }),
    );
  });
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: HttpServerOptions,
  cors: CorsDecision,
): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const url = requestUrl(req, options.origin());
  if (cors.kind === 'preflight') {
    // Answered before routing, allowed or not: a refused origin learns it from the missing headers, not a status.
    options.loggers.host({
      level: 'information',
      message: `CORS preflight for ${url.pathname} from ${header(req, 'origin')}: ${cors.allowed ? 'allowed' : 'refused'} (204)`,
      status: 204,
    });
    req.resume();
    res.writeHead(204, cors.headers);
    res.end();
    return;
  }
  const corsHeaders = corsHeadersOf(cors);
  const resolution = options.router.resolve(method, url.pathname);
  if (resolution.kind !== 'matched') {
    // The path is logged, never the query string: OAuth callbacks carry codes there.
    const notFound = resolution.kind === 'not-found';
    options.loggers.host({
      level: 'information',
      message: `${method} ${url.pathname} matched no function (${notFound ? 404 : 405})`,
      status: notFound ? 404 : 405,
    });
    if (notFound) writeProblem(res, 404, 'route_not_found', corsHeaders);
    else {
      writeProblem(res, 405, 'method_not_allowed', { ...corsHeaders, allow: resolution.allow.join(', ') });
    }
    return;
  }

  const body = await readBody(req, options.maxRequestBodyBytes);
  if (body === 'too-large') {
    options.loggers.host({
      level: 'warning',
      functionName: resolution.definition.name,
      message: `${method} ${url.pathname} rejected: body above ${options.maxRequestBodyBytes} bytes (413)`,
      status: 413,
    });
    // Closing the connection is what stops the client's upload; the rest is discarded, never buffered.
    writeProblem(res, 413, 'payload_too_large', { ...corsHeaders, connection: 'close' });
    return;
  }

  const { definition, params } = resolution;
  const result = await invokeHttp(options.loggers, definition, {
    method,
    url,
    headers: headerRecord(req),
    params,
    body,
  });

  // A wrapper, because a handler may throw anything, even undefined.
  let failure: { readonly error: unknown } | undefined = result.ok ? undefined : { error: result.error };
  let status = 500;
  if (result.ok) {
    try {
      status = await writeResponse(res, method, toHttpResponse(result.value), corsHeaders);
    } catch (error) {
      failure = { error };
    }
  }
  if (failure) {
    // The client learns only that it failed; the reason is for the developer's log.
    if (!res.headersSent) writeProblem(res, 500, 'internal_error', corsHeaders);
    else res.destroy();
  }
  options.loggers.host({
    level: failure ? 'error' : 'information',
    functionName: definition.name,
    invocationId: result.invocationId,
    message: `Executed '${definition.name}' (${failure ? 'Failed' : 'Succeeded'}, ${status}, ${result.durationMs} ms)`,
    outcome: failure ? 'failed' : 'succeeded',
    status,
    durationMs: result.durationMs,
    ...(failure ? { error: describeError(failure.error) } : {}),
  });
}

function corsHeadersOf(cors: CorsDecision): Readonly<Record<string, string>> {
  return cors.kind === 'actual' ? cors.headers : {};
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function requestUrl(req: IncomingMessage, origin: string): URL {
  const target = req.url?.startsWith('/') ? req.url : `/${req.url ?? ''}`;
  const host = req.headers.host;
  if (host) {
    try {
      // Concatenated, not resolved: `//x/y` is a path here, not a protocol-relative URL.
      return new URL(`http://${host}${target}`);
    } catch {
      // A Host header that is not a valid authority; fall back to the listening address.
    }
  }
  return new URL(`${origin}${target}`);
}

function headerRecord(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.resolve('too-large');
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        chunks.length = 0;
        req.resume();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('The client closed the connection before sending the whole body.'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

function isHttpResponse(value: unknown): value is HttpResponseInstance {
  return value instanceof HttpResponse;
}

/** What the Functions library does with a handler's return value before it reaches the host. */
function toHttpResponse(value: unknown): HttpResponseInstance {
  if (isHttpResponse(value)) return value;
  // A handler that returns nothing gets an empty response; the product's handler type does not allow it.
  if (value === undefined || value === null) return new HttpResponse({ status: 204 });
  if (typeof value !== 'object') {
    throw new TypeError(
      'The HTTP response must be an object with optional properties "body", "jsonBody", "status", "headers" and "cookies".',
    );
  }
  return new HttpResponse(value as HttpResponseInit);
}

/** Buffers the body and sends it with a Content-Length, as the host does without HTTP streaming enabled. */
async function writeResponse(
  res: ServerResponse,
  method: string,
  response: HttpResponseInstance,
  cors: Readonly<Record<string, string>>,
): Promise<number> {
  const status = response.status;
  const bytes = Buffer.from(await response.arrayBuffer());
  const own: Record<string, string> = {};
  for (const [name, value] of response.headers) {
    if (!FRAMING_HEADERS.has(name)) own[name] = value;
  }
  const headers: Record<string, string | string[]> = withCorsHeaders(own, cors);
  const cookies = [...response.headers.getSetCookie(), ...response.cookies.map(serializeCookie)];
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  const bodyless = method === 'HEAD' || status === 204 || status === 304;
  if (!bodyless) headers['content-length'] = String(bytes.length);
  res.writeHead(status, headers);
  res.end(bodyless ? undefined : bytes);
  return status;
}
