import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultInjector, FaultPlan } from './faults.js';
import type { RequestLog } from './request-log.js';
import type { Peer, PeerRequest, Reply, Router } from './router.js';

const MAX_BODY_BYTES = 1024 * 1024;

export interface HandlerDependencies {
  readonly origin: string;
  readonly router: Router;
  readonly faults: FaultInjector;
  readonly requests: RequestLog;
  /** Peers whose traffic is neither logged nor subject to faults (the control API). */
  readonly exempt: ReadonlySet<Peer>;
  /** Called when a request has been answered; any request may have changed state worth saving. */
  readonly answered?: () => void;
}

/** The sandbox's one request listener: route, apply injected faults, reply in the peer's own format, log. */
export function createRequestHandler(deps: HandlerDependencies) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const started = Date.now();
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', deps.origin);
    const match = deps.router.match(method, url.pathname);
    const logged = match !== undefined && !deps.exempt.has(match.peer);
    let fault: FaultPlan['outcome'] | undefined;
    let delayed = false;
    if (deps.answered) res.once('close', deps.answered);
    if (logged) {
      res.once('close', () =>
        deps.requests.record({
          time: new Date(started).toISOString(),
          method,
          path: url.pathname,
          search: url.search,
          status: res.headersSent ? res.statusCode : null,
          durationMs: Date.now() - started,
          ...(fault ? { fault: fault.kind } : delayed ? { fault: 'latency' as const } : {}),
        }),
      );
    }
    const respond = async (): Promise<Reply | 'drop'> => {
      if (!match) {
        return {
          status: 404,
          body: { error: { code: 'NotFound', message: `No simulated service at ${url.pathname}.` } },
        };
      }
      const body = await readBody(req);
      const request: PeerRequest = {
        method,
        url,
        path: match.path,
        headers: req.headers,
        body,
        params: match.params,
        origin: deps.origin,
      };
      if (logged) {
        const plan = deps.faults.plan(method, url.pathname);
        if (plan.latencyMs > 0) {
          delayed = true;
          await sleep(plan.latencyMs);
        }
        const outcome = plan.outcome;
        fault = outcome;
        if (outcome?.kind === 'drop') return 'drop';
        if (outcome?.kind === 'status') {
          const reply = match.peer.error(outcome.status, 'Injected fault.', request);
          return outcome.retryAfterSeconds === undefined
            ? reply
            : { ...reply, headers: { ...reply.headers, 'retry-after': String(outcome.retryAfterSeconds) } };
        }
      }
      if (!match.route) {
        return match.wrongMethod
          ? match.peer.error(405, `The method ${method} is not allowed here.`, request)
          : match.peer.error(404, `The sandbox does not simulate ${method} ${url.pathname}.`, request);
      }
      try {
        return await match.route.handle(request);
      } catch (error) {
        return match.peer.error(
          500,
          `The sandbox failed: ${error instanceof Error ? error.message : String(error)}`,
          request,
        );
      }
    };
    respond().then(
      (reply) => {
        if (reply === 'drop') {
          req.socket.destroy();
          return;
        }
        send(res, reply);
      },
      (error: unknown) => {
        const tooLarge = error instanceof BodyTooLargeError;
        send(res, {
          status: tooLarge ? 413 : 400,
          body: {
            error: { code: 'BadRequest', message: error instanceof Error ? error.message : String(error) },
          },
        });
      },
    );
  };
}

function send(res: ServerResponse, reply: Reply): void {
  const text =
    typeof reply.body === 'string' ? reply.body : reply.body === undefined ? '' : JSON.stringify(reply.body);
  const headers: Record<string, string> = {
    ...(reply.body !== undefined && typeof reply.body !== 'string'
      ? { 'content-type': 'application/json; charset=utf-8' }
      : {}),
    ...reply.headers,
  };
  res.writeHead(reply.status, { ...headers, 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_BODY_BYTES)
      throw new BodyTooLargeError(`Request bodies are limited to ${MAX_BODY_BYTES} bytes.`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}
