import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import azureFunctions, { type HttpResponseInit } from '@azure/functions';
import { exportJWK, generateKeyPair, type JSONWebKeySet, SignJWT } from 'jose';
import { serializeCookie } from '../../dev/host/cookies.js';
import { evaluateCors, withCorsHeaders } from '../../dev/host/cors.js';
import { invoke, invokeHttp } from '../../dev/host/invocation.js';
import { createLoggers, describeError, type Loggers, type LogRecord } from '../../dev/host/log.js';
import { createRouter } from '../../dev/host/router.js';
import { DEMO } from '../../dev/sandbox/demo-data.js';
import { stableGuid } from '../../dev/sandbox/directory-model.js';
import { type RunningSandbox, type SandboxOptions, startSandbox } from '../../dev/sandbox/index.js';
import { sandboxEndpointSettings } from '../../dev/sandbox/product-settings.js';
import { type AppOverrides, createApp } from '../../functions/app.js';
import { loadSettings, type Settings } from '../../shared/config/settings.js';
import { poisonQueueOf } from '../../shared/ops/product-queues.js';
import type { ProblemCode } from '../../shared/errors/problem-codes.js';
import { PROBLEM_CONTENT_TYPE, problemType } from '../../shared/http/problem.js';
import type {
  HttpFunctionDefinition,
  QueueFunctionDefinition,
} from '../../shared/platform/function-definitions.js';
import { memoryQueues, type MemoryQueues, type QueuedMessage } from '../../shared/storage/memory-queue.js';
import { memoryTables } from '../../shared/storage/memory-tables.js';
import type { Tables } from '../../shared/storage/versioned-table.js';
import type { ApiTarget } from './api-client.js';
import { responseContract } from './response-contract.js';
import type { TestStack } from './stack.js';

// CommonJS package: plain Node only exposes its exports through the default import.
const { HttpResponse } = azureFunctions;

/** Peers answer nowhere: an in-process test that reaches one fails at once instead of calling Microsoft. */
const NO_PEER = 'https://peer.invalid';

export interface MemoryStack extends Pick<TestStack, 'publicBaseUrl' | 'services' | 'registry' | 'token'> {
  /** The app's HTTP functions, called in process: pass it to apiClient. */
  readonly api: ApiTarget;
  /** The rows every store keeps, for tests that seed or inspect storage directly. */
  readonly tables: Tables;
  /** The app's queues; the stack delivers their messages to the queue functions, as the host does. */
  readonly queues: MemoryQueues;
  /** Every operation the stack answered and with which status, in order: the conformance test's coverage. */
  readonly answered: readonly AnsweredOperation[];
  /** The contract violations found so far (each also fails the call that caused it). */
  readonly violations: readonly string[];
  /**
   * Stops delivering queued messages (after the deliveries under way): a test that built its state with running
   * tasks then sees what each later call queues, and nothing moves behind its back.
   */
  holdQueues(): Promise<void>;
  close(): Promise<void>;
}

export interface AnsweredOperation {
  readonly operationId: string;
  readonly status: number;
}

export interface MemoryStackOptions {
  tenantLicenses?: number;
  userLicenses?: number;
  /** Receives every log record of the functions, as Application Insights would. */
  log?: (record: LogRecord) => void;
  overrides?: AppOverrides;
  settings?: Partial<Settings>;
  /**
   * False leaves queued messages where they are: a test can then see what holds until a task has run. A function
   * delivers only the queues it accepts (a test that runs replication cycles itself, and lets tasks run).
   */
  deliverQueues?: boolean | ((queueName: string) => boolean);
  /** Wraps the memory tables the stores get (counting or failing calls); `tables` stays the unwrapped twin. */
  wrapTables?: (tables: Tables) => Tables;
  /** With peers: how fast the sandbox's Teams works (`timeScale`, 1 = real delays) and which profile it plays. */
  sandbox?: Pick<SandboxOptions, 'timeScale' | 'profile'>;
}

/**
 * The app on its memory twins, its HTTP functions called in process as the local host would call them (same
 * router, same request and context objects, the host's answers when no function matches or one throws): for
 * route, validation and scope tests. Tokens are signed with a key of this stack; no port or Azurite, and no
 * sandbox unless a test's route needs a peer.
 */
export async function startMemoryStack(options: MemoryStackOptions = {}): Promise<MemoryStack> {
  return start(options, undefined);
}

export interface MemoryStackWithPeers extends MemoryStack {
  readonly sandbox: RunningSandbox;
}

/** The memory stack for the tests whose route calls a peer: the HTTPS sandbox plays them, as in the full stack. */
export async function startMemoryStackWithPeers(
  options: MemoryStackOptions = {},
): Promise<MemoryStackWithPeers> {
  const dataDir = mkdtempSync(join(tmpdir(), 'drh-memory-'));
  const sandbox = await startSandbox({ ...options.sandbox, port: 0, dataDir });
  const stack = await start(options, sandbox).catch(async (error: unknown) => {
    await sandbox.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  });
  return {
    ...stack,
    sandbox,
    async close() {
      await stack.close();
      await sandbox.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function start(options: MemoryStackOptions, sandbox: RunningSandbox | undefined): Promise<MemoryStack> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const kid = randomUUID();
  const signingKeys: JSONWebKeySet = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256' }] };
  const settings = loadSettings({
    PUBLIC_BASE_URL: 'http://localhost:7071',
    SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    // Nothing may reach storage: the stores are on memory tables, and a port-1 endpoint refuses at once.
    AzureWebJobsStorage:
      'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=' +
      `${randomBytes(64).toString('base64')};TableEndpoint=http://127.0.0.1:1/devstoreaccount1;` +
      'QueueEndpoint=http://127.0.0.1:1/devstoreaccount1;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1',
    API_TENANT_ID: DEMO.provider.tenantId,
    API_AUDIENCE: DEMO.provider.apiAudience,
    ENTRA_AUTHORITY_HOST: `${NO_PEER}/entra`,
    GRAPH_BASE_URL: `${NO_PEER}/graph`,
    TEAMS_ADMIN_BASE_URL: `${NO_PEER}/teams`,
    ARM_BASE_URL: `${NO_PEER}/arm`,
    SBC_BASE_URL_TEMPLATE: `${NO_PEER}/sbc/{device}`,
    ALLOW_DEVELOPMENT_ENDPOINTS: 'true',
    ...(sandbox ? sandboxEndpointSettings(sandbox) : {}),
    LICENSE_TENANT_COUNT: String(options.tenantLicenses ?? 1000),
    LICENSE_USER_COUNT: String(options.userLicenses ?? 100_000),
  });
  const tables = memoryTables();
  const queues = memoryQueues();
  const effective = { ...settings, ...options.settings };
  const app = createApp(effective, {
    // Public DNS is the sandbox's zones, as Microsoft's peers are the sandbox.
    ...(sandbox ? { resolveAddresses: async (fqdn: string) => sandbox.state.dns.addressesAt(fqdn) } : {}),
    ...options.overrides,
    tables: options.wrapTables ? options.wrapTables(tables) : tables,
    queues,
    signingKeys,
  });
  const loggers = createLoggers(options.log ?? (() => {}));
  const httpDefinitions = app.registry.filter((d): d is HttpFunctionDefinition => d.kind === 'http');
  const router = createRouter(httpDefinitions);
  const contract = responseContract(httpDefinitions);
  const answered: AnsweredOperation[] = [];
  const violated: string[] = [];
  const delivery = deliverQueues(
    app.registry.filter(
      (d): d is QueueFunctionDefinition =>
        d.kind === 'queue' &&
        (typeof options.deliverQueues === 'function'
          ? options.deliverQueues(d.queueName)
          : options.deliverQueues !== false),
    ),
    queues,
    loggers,
  );

  async function inProcessFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const request = new Request(input, init);
    const method = request.method.toUpperCase();
    const url = new URL(request.url);
    // As the local host and Azure's platform CORS: before routing, and on every answer that follows.
    const cors = evaluateCors(effective.cors, {
      method,
      header: (name) => request.headers.get(name) ?? undefined,
    });
    if (cors.kind === 'preflight') return new Response(null, { status: 204, headers: cors.headers });
    const corsHeaders = cors.kind === 'actual' ? cors.headers : {};
    const resolution = router.resolve(method, url.pathname);
    if (resolution.kind === 'not-found') {
      return hostProblem(404, 'route_not_found', 'Route not found', corsHeaders);
    }
    if (resolution.kind === 'method-not-allowed') {
      return hostProblem(405, 'method_not_allowed', 'Method not allowed', {
        ...corsHeaders,
        allow: resolution.allow.join(', '),
      });
    }
    const { definition, params } = resolution;
    const result = await invokeHttp(loggers, definition, {
      method,
      url,
      headers: Object.fromEntries(request.headers),
      params,
      body: new Uint8Array(await request.arrayBuffer()),
    });
    if (!result.ok) {
      loggers.host({
        level: 'error',
        functionName: definition.name,
        invocationId: result.invocationId,
        message: `Executed '${definition.name}' (Failed, 500)`,
        outcome: 'failed',
        status: 500,
        error: describeError(result.error),
      });
      if (definition.openapi) answered.push({ operationId: definition.openapi.operationId, status: 500 });
      return hostProblem(500, 'internal_error', 'Internal server error', corsHeaders);
    }
    const response = await toResponse(method, result.value, corsHeaders);
    // Every route test doubles as a contract test: what the handler answers must be what the document says.
    const body = await response.clone().text();
    const violations = contract.violations(definition, response.status, response.headers, body);
    if (definition.openapi)
      answered.push({ operationId: definition.openapi.operationId, status: response.status });
    violated.push(...violations);
    if (violations.length > 0) throw new Error(violations.join('\n'));
    return response;
  }

  return {
    api: { url: settings.publicBaseUrl, fetch: inProcessFetch },
    publicBaseUrl: settings.publicBaseUrl,
    services: app.services,
    registry: app.registry,
    tables,
    queues,
    answered,
    violations: violated,
    holdQueues: () => delivery.close(),
    token: async (o = {}) => {
      const tenantId = o.tenantId ?? DEMO.provider.tenantId;
      const subject = o.subject ?? stableGuid(`${tenantId}/caller`);
      const now = Math.floor(Date.now() / 1000);
      const exp = now + (o.expiresInSeconds ?? 3600);
      // An already expired token must still look issued in the past, as the sandbox issues it.
      const iat = Math.min(now, exp - 3600);
      const roles = o.roles ?? ['provider-admin'];
      const v1 = o.version === '1.0';
      // Entra's two formats: v1.0 names the account `upn` and the client `appid`, and has the v1.0 issuer.
      const account = o.username ? (v1 ? { upn: o.username } : { preferred_username: o.username }) : {};
      return new SignJWT({
        oid: subject,
        tid: tenantId,
        ver: v1 ? '1.0' : '2.0',
        ...account,
        ...(roles.length > 0 ? { roles } : {}),
      })
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
        .setIssuer(`${settings.endpoints.authorityHost}/${tenantId}/${v1 ? '' : 'v2.0'}`)
        .setAudience(o.audience ?? DEMO.provider.apiAudience)
        .setSubject(subject)
        .setIssuedAt(iat)
        .setNotBefore(iat)
        .setExpirationTime(exp)
        .sign(privateKey);
    },
    async close() {
      await delivery.close();
      await app.close();
    },
  };
}

function hostProblem(
  status: number,
  code: ProblemCode,
  title: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ type: problemType(code), title, status, code }), {
    status,
    headers: { ...headers, 'content-type': PROBLEM_CONTENT_TYPE },
  });
}

/** What the host sends for a handler's result: the buffered body, its headers and its cookies. */
async function toResponse(
  method: string,
  value: HttpResponseInit,
  cors: Readonly<Record<string, string>>,
): Promise<Response> {
  const response = value instanceof HttpResponse ? value : new HttpResponse(value);
  const headers = new Headers(response.headers);
  // Set-Cookie may repeat, so the CORS headers go onto the Headers rather than through a plain record.
  for (const [name, value] of Object.entries(withCorsHeaders({ vary: headers.get('vary') ?? '' }, cors))) {
    if (value !== '') headers.set(name, value);
  }
  for (const cookie of response.cookies) headers.append('set-cookie', serializeCookie(cookie));
  const bytes = new Uint8Array(await response.arrayBuffer());
  const empty = method === 'HEAD' || [204, 304].includes(response.status) || bytes.length === 0;
  return new Response(empty ? null : bytes, { status: response.status, headers });
}

/** The host's deliveries and retries as in host.json: at once, then again after a failure, up to five times. */
const POLL_MS = 10;
const MAX_DEQUEUE_COUNT = 5;

/** Runs each queue function on its queue's messages as they become visible, as the local host's listener does. */
function deliverQueues(
  definitions: readonly QueueFunctionDefinition[],
  queues: MemoryQueues,
  loggers: Loggers,
): { close(): Promise<void> } {
  const inFlight = new Set<Promise<void>>();
  const deliver = async (definition: QueueFunctionDefinition, queued: QueuedMessage) => {
    const dequeueCount = queued.dequeueCount + 1;
    const result = await invoke(loggers, {
      functionName: definition.name,
      trigger: { type: 'queueTrigger', name: 'queueTrigger', queueName: definition.queueName },
      triggerMetadata: { dequeueCount },
      run: (context) => definition.handler(queued.message, context),
    });
    loggers.host({
      level: result.ok ? 'information' : 'error',
      functionName: definition.name,
      invocationId: result.invocationId,
      message: `Executed '${definition.name}' (${result.ok ? 'Succeeded' : 'Failed'}, dequeue ${dequeueCount})`,
      outcome: result.ok ? 'succeeded' : 'failed',
      durationMs: result.durationMs,
      ...(result.ok ? {} : { error: describeError(result.error) }),
    });
    if (result.ok) return;
    const retry = { ...queued, dequeueCount, visibleAt: Date.now() };
    if (dequeueCount >= MAX_DEQUEUE_COUNT) queues.put(poisonQueueOf(definition.queueName), retry);
    else queues.put(definition.queueName, retry);
  };
  const timer = setInterval(() => {
    for (const definition of definitions) {
      for (const queued of queues.take(definition.queueName)) {
        const running = deliver(definition, queued).finally(() => inFlight.delete(running));
        inFlight.add(running);
      }
    }
  }, POLL_MS);
  return {
    async close() {
      clearInterval(timer);
      await Promise.all(inFlight);
    },
  };
}
