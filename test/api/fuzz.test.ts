import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RATE_LIMITS_TABLE } from '../../shared/access/rate-limiter.js';
import { PROBLEM_CODES } from '../../shared/errors/problem-codes.js';
import { PROBLEM_CONTENT_TYPE } from '../../shared/http/problem.js';
import { WIZARD_SESSIONS_TABLE } from '../../shared/wizard/wizard-session-store.js';
import {
  type ConformanceWorld,
  type Operation,
  orderedOperations,
  startConformanceWorld,
} from '../support/conformance-world.js';
import {
  deepNesting,
  hostileNumber,
  hostileString,
  hostileValue,
  type JsonSchema,
  pathsOf,
  percentEncode,
  RawJson,
  REMOVE,
  replaceAt,
  type SchemaContext,
  schemaValue,
  toJsonText,
} from '../support/fuzz-values.js';
import { type Role, ROLES } from '../support/roles.js';
import { type StorageWrite, type WriteLog, writeLog } from '../support/write-log.js';

/**
 * The fuzz suite (docs/security.md): every operation of the served document, called with requests generated from its
 * JSON Schemas — valid values, and hostile ones in every parameter and the body — as every role and anonymously, on
 * the conformance world. Each answer must be below 500; every error application/problem+json with a documented
 * `code`; a 4xx must leave storage as it was; and each answer must come within TIME_LIMIT_MS (a hang is the failure,
 * the bound is far above any honest answer). `npm test` runs a fixed seed; `npm run fuzz` a random one, longer.
 */

const LONG = process.env.FUZZ_LONG === 'true';
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : LONG ? Date.now() % 2 ** 31 : 20261203;
/** Cases per operation: over 200 operations, so a few thousand in `npm test`. */
const RUNS = Number(process.env.FUZZ_RUNS ?? (LONG ? 300 : 12));
/** One operation only (its operationId), to reproduce a failure; FUZZ_PATH then replays fast-check's path. */
const ONLY = process.env.FUZZ_OPERATION;
const REPLAY_PATH = process.env.FUZZ_PATH;
const TIME_LIMIT_MS = 5_000;

/**
 * The writes a refused request may make, each because the write is the point: today a wizard session's sliding
 * expiry (any request to a session is activity, refused or not: shared/wizard/wizard-service.ts renews `expiresAt`
 * before it looks at the request), and the cleanup of a session found expired (answered 410; the sweep would do it).
 * And a rate-limit counter: a call that reaches an SBC or a tenant is counted when it passes the limit, before its
 * handler may refuse it (the counter is what the call cost the device, not data of the product's); a call the limit
 * itself refuses (429) writes nothing. An audit log of API calls would go here too.
 */
function writtenOnRefusal(write: StorageWrite, code: string): boolean {
  if (code === 'wizard_session_expired' || write.table === RATE_LIMITS_TABLE) return true;
  return (
    write.table === WIZARD_SESSIONS_TABLE &&
    write.operation === 'replace' &&
    write.changed?.join() === 'expiresAt'
  );
}

/**
 * 5xx answers that are not the product failing, besides the health check's 503 report (storage does not answer: the
 * memory stack's storage account is a closed port, deliberately): a problem saying a peer failed (502: an SBC or
 * Microsoft did not answer, e.g. the SBC whose address a generated valid update changed) or is down (503). A 500 is
 * always a failure.
 */
function peerFailure(status: number): boolean {
  return status === 502 || status === 503;
}

const PROBLEM_CODE_SET = new Set<string>(PROBLEM_CODES);

interface FuzzParameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: JsonSchema;
}
interface FuzzDocument {
  components: { schemas: Record<string, JsonSchema>; parameters: Record<string, FuzzParameter> };
}

type Caller = Role | 'anonymous';
interface FuzzBody {
  readonly data: string | Uint8Array;
  readonly contentType: string | undefined;
  /** What kind of body, for the failure report. */
  readonly kind: string;
}
interface FuzzCase {
  readonly caller: Caller;
  readonly path: string;
  readonly query: readonly (readonly [string, string])[];
  readonly ifMatch: string | undefined;
  readonly body: FuzzBody | undefined;
}

let conformance: ConformanceWorld;
let log: WriteLog;
const durations: number[] = [];

beforeAll(async () => {
  let logged: WriteLog | undefined;
  conformance = await startConformanceWorld({
    wrapTables: (tables) => {
      logged = writeLog(tables);
      return logged.tables;
    },
  });
  log = logged!;
}, 180_000);
afterAll(async () => conformance?.stack.close());

describe('the fuzz suite', () => {
  it(
    'answers every generated request to every operation below 500, with a coded problem, writing nothing on a 4xx',
    async () => {
      const document = conformance.document as unknown as FuzzDocument;
      const context: SchemaContext = { schemas: document.components.schemas };
      const failures: string[] = [];
      const started = performance.now();
      let operations = orderedOperations(conformance.document);
      if (ONLY) operations = operations.filter((o) => o.operation.operationId === ONLY);
      expect(operations.length, `FUZZ_OPERATION=${ONLY} names no operation`).toBeGreaterThan(0);
      console.log(`fuzz: seed ${SEED}, ${RUNS} cases per operation`);
      for (const { path, method, operation } of operations) {
        const verb = method.toUpperCase();
        const seed = (SEED ^ hash(operation.operationId)) >>> 0;
        const property = fc.asyncProperty(fuzzCase(document, verb, context, path, operation), async (c) => {
          const problem = await check(operation.operationId, verb, c);
          if (problem) throw new Error(problem);
        });
        const details = await fc.check(property, {
          seed,
          numRuns: RUNS,
          ...(REPLAY_PATH && ONLY ? { path: REPLAY_PATH } : {}),
        });
        if (details.failed) {
          const [c] = (details.counterexample ?? []) as [FuzzCase | undefined];
          const error =
            details.errorInstance instanceof Error
              ? details.errorInstance.message
              : String(details.errorInstance);
          failures.push(
            `${operation.operationId}: ${error}\n  ${c ? describeCase(verb, c) : '(no counterexample)'}\n` +
              `  reproduce: FUZZ_SEED=${SEED} FUZZ_OPERATION=${operation.operationId} ` +
              `FUZZ_PATH=${details.counterexamplePath ?? ''} FUZZ_RUNS=${RUNS} npm run fuzz`,
          );
        }
      }
      const sorted = [...durations].sort((a, b) => a - b);
      console.log(
        `fuzz: ${durations.length} requests to ${operations.length} operations in ` +
          `${Math.round((performance.now() - started) / 1000)} s (seed ${SEED}); ` +
          `median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(1)} ms, slowest ${sorted.at(-1)?.toFixed(0)} ms`,
      );
      expect(failures, failures.join('\n\n')).toEqual([]);
    },
    LONG ? 24 * 3_600_000 : 300_000,
  );
});

/** What is wrong with the answer to `c`, or undefined. */
async function check(operationId: string, verb: string, c: FuzzCase): Promise<string | undefined> {
  log.take();
  const url = `${conformance.stack.api.url}${c.path}${c.query.length > 0 ? `?${c.query.map(([k, v]) => `${k}=${v}`).join('&')}` : ''}`;
  const headers: Record<string, string> = {};
  const token = c.caller === 'anonymous' ? undefined : conformance.tokens[c.caller];
  if (token) headers.authorization = `Bearer ${token}`;
  if (c.body?.contentType) headers['content-type'] = c.body.contentType;
  if (c.ifMatch !== undefined) headers['if-match'] = c.ifMatch;
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const answered = await Promise.race([
    conformance.stack.api
      .fetch(url, { method: verb, headers, ...(c.body ? { body: c.body.data } : {}) })
      .then(
        async (response) => ({ response, text: await response.text() }),
        (error: unknown) => ({ error }),
      ),
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), TIME_LIMIT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
  durations.push(performance.now() - started);
  if (answered === 'timeout') return `no answer within ${TIME_LIMIT_MS} ms`;
  // The memory stack throws when an answer breaks the document's contract (an undocumented status, a body its schema
  // refuses): conformance's check, on inputs conformance never sends.
  if ('error' in answered)
    return `the call failed: ${answered.error instanceof Error ? answered.error.message : String(answered.error)}`;
  const { response, text } = answered;
  const writes = log.take();
  if (operationId === 'health' && response.status === 503) return undefined;
  if (response.status < 400) return undefined;
  const mediaType = response.headers.get('content-type')?.split(';')[0]?.trim();
  if (mediaType !== PROBLEM_CONTENT_TYPE)
    return `answered ${response.status} as ${mediaType ?? 'no content type'}: ${text.slice(0, 300)}`;
  let code: unknown;
  try {
    code = (JSON.parse(text) as { code?: unknown }).code;
  } catch {
    return `answered ${response.status} with a problem that is not JSON: ${text.slice(0, 200)}`;
  }
  if (typeof code !== 'string' || !PROBLEM_CODE_SET.has(code))
    return `answered ${response.status} with a problem whose code ${JSON.stringify(code)} is not a problem code`;
  if (response.status >= 500 && !peerFailure(response.status))
    return `answered ${response.status}: ${text.slice(0, 500)}`;
  const written = writes.filter((w) => !writtenOnRefusal(w, code));
  if (response.status < 500 && written.length > 0)
    return (
      `answered ${response.status} (${code}) yet wrote ` +
      written.map((w) => `${w.operation} ${w.table} ${w.partitionKey}/${w.rowKey}`).join(', ')
    );
  return undefined;
}

function fuzzCase(
  document: FuzzDocument,
  verb: string,
  context: SchemaContext,
  path: string,
  operation: Operation,
): fc.Arbitrary<FuzzCase> {
  const { operationId } = operation;
  const parameters = ((operation.parameters ?? []) as (FuzzParameter & { $ref?: string })[]).map((p) =>
    p.$ref ? document.components.parameters[p.$ref.replace('#/components/parameters/', '')] : p,
  );
  const caller = fc.oneof(
    { weight: 6, arbitrary: fc.constant<Caller>('provider') },
    { weight: 2, arbitrary: fc.constantFrom<Caller>(...ROLES.filter((r) => r !== 'provider')) },
    { weight: 1, arbitrary: fc.constant<Caller>('anonymous') },
  );
  const segmentNames = [...path.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]!);
  const segments = fc.tuple(
    ...segmentNames.map((name) => {
      // The world's value: what the operation's success needs (its prefix /api/v1/ taken off).
      const valid = conformance.pathOf(`/{${name}}`, operationId).slice('/api/v1/'.length);
      const schema = parameters.find((p) => p?.in === 'path' && p.name === name)?.schema ?? {};
      return fc.oneof(
        { weight: 5, arbitrary: fc.constant(valid) },
        { weight: 2, arbitrary: hostileString.filter((s) => s !== '').map(percentEncode) },
        { weight: 1, arbitrary: schemaValue(schema, context).map((v) => percentEncode(String(v))) },
        // Not what a client's encoder writes: broken escapes, an encoded slash, dot segments.
        {
          weight: 1,
          arbitrary: fc.constantFrom('%', '%E0%A4%A', '%2F', '%2e%2e', '%00', '%ED%A0%80', '..%2F..'),
        },
      );
    }),
  );
  const pathOf = segments.map((values) => {
    let i = 0;
    return `/api/v1${path.replace(/\{[A-Za-z0-9_]+\}/g, () => values[i++]!)}`;
  });

  const validQuery = [...new URLSearchParams(conformance.validQuery(operationId))].map(
    ([k, v]) => [k, encodeURIComponent(v)] as const,
  );
  const queryParameters = parameters.filter((p): p is FuzzParameter => p?.in === 'query');
  const query = fc
    .tuple(
      fc.boolean(),
      ...queryParameters.map((p) =>
        fc.option(
          fc.oneof(
            { weight: 3, arbitrary: schemaValue(p.schema ?? {}, context).map(queryText) },
            { weight: 2, arbitrary: hostileString },
            { weight: 1, arbitrary: hostileNumber.map(queryText) },
          ),
          { nil: undefined, freq: 2 },
        ),
      ),
    )
    .chain(([keepValid, ...values]) =>
      fc
        .option(
          fc.tuple(
            fc.oneof(fc.constantFrom(...queryParameters.map((p) => p.name), 'x'), hostileString),
            hostileString,
          ),
          {
            freq: 4,
            nil: undefined,
          },
        )
        .map((extra) => [
          ...(keepValid ? validQuery : []),
          ...queryParameters.flatMap((p, i) =>
            values[i] === undefined ? [] : [[p.name, percentEncode(values[i])] as const],
          ),
          // An unknown parameter, or a second value of a known one.
          ...(extra ? [[percentEncode(extra[0]), percentEncode(extra[1])] as const] : []),
        ]),
    );

  const ifMatch = parameters.some((p) => p?.in === 'header' && p.name.toLowerCase() === 'if-match')
    ? fc.option(fc.constantFrom('*', '"x"', 'W/"memory-1"', '', 'garbage', 'W/', '"'.repeat(5000)), {
        nil: undefined,
      })
    : fc.constant(undefined);

  return fc.record({
    caller,
    path: pathOf,
    query,
    ifMatch,
    body: bodyArbitrary(verb, operation, context),
  });
}

function bodyArbitrary(
  verb: string,
  operation: Operation,
  context: SchemaContext,
): fc.Arbitrary<FuzzBody | undefined> {
  const content = operation.requestBody?.content ?? {};
  const valid = conformance.bodyOf(operation.operationId);
  if (content['text/csv']) return csvBody(String(valid));
  const schema = (content['application/json'] as { schema?: JsonSchema } | undefined)?.schema;
  // A body where none is taken (fetch sends none with a GET): ignored, or refused.
  if (!schema && verb === 'GET') return fc.constant(undefined);
  if (!schema)
    return fc.option(
      fc.constantFrom('{}', 'garbage', '\u0000').map((data) => json(data, 'unexpected')),
      {
        freq: 6,
        nil: undefined,
      },
    );
  const paths = pathsOf(valid);
  return fc.oneof(
    { weight: 3, arbitrary: schemaValue(schema, context).map((v) => json(toJsonText(v), 'from the schema')) },
    { weight: 1, arbitrary: fc.constant(json(JSON.stringify(valid), 'the valid one')) },
    {
      weight: 5,
      arbitrary: fc
        .tuple(
          fc.nat(paths.length - 1),
          fc.oneof({ weight: 5, arbitrary: hostileValue }, fc.constant(REMOVE)),
        )
        .map(([i, replacement]) =>
          json(toJsonText(replaceAt(valid, paths[i]!, replacement) ?? null), 'mutated'),
        ),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(hostileString, hostileValue, fc.boolean())
        .map(([key, value, first]) =>
          json(toJsonText(addMember(valid, key, value, first)), 'with an extra key'),
        ),
    },
    { weight: 1, arbitrary: duplicateKeys(valid) },
    {
      weight: 2,
      arbitrary: fc
        .oneof(
          fc.constantFrom(
            '',
            '{',
            '{"a":',
            'nul',
            '[1,]',
            '{"a":1}}',
            "{'a':1}",
            '{a:1}',
            '\ufeff{}',
            'null',
            '[]',
            '0',
            '"text"',
            '1e400',
            '{"__proto__":{"polluted":true}}',
          ),
          deepNesting.map((raw) => raw.text),
          hostileString.map((s) => JSON.stringify(s)),
        )
        .map((data) => json(data, 'malformed or of the wrong type')),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          undefined,
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/json; charset=utf-16',
          'application/xml',
          'text/csv',
          'application/merge-patch+json',
          'application/json;;',
          'APPLICATION/JSON',
        )
        .map((contentType) => ({
          data: JSON.stringify(valid),
          contentType,
          kind: 'the valid one, wrongly typed',
        })),
    },
    {
      weight: 1,
      arbitrary: fc.constant({
        data: new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc0, 0x80, 0x22, 0x7d]),
        contentType: 'application/json',
        kind: 'invalid UTF-8',
      }),
    },
  );
}

function csvBody(valid: string): fc.Arbitrary<FuzzBody | undefined> {
  const [header = 'User'] = valid.split('\n');
  const csv = (data: string, kind: string): FuzzBody => ({ data, contentType: 'text/csv', kind });
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(csv(valid, 'the valid one')) },
    {
      weight: 4,
      arbitrary: fc
        .array(fc.array(hostileString, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 })
        .map((rows) => csv(`${header}\n${rows.map((r) => r.join(',')).join('\n')}\n`, 'hostile rows')),
    },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom(
          '',
          '\n',
          '"',
          `${header}\n"unclosed\n`,
          `"${header}`,
          `\ufeff${valid}`,
          `${header}\u0000\nx\n`,
          valid.replace(/\n/g, '\r'),
          `${header}\n${'x,'.repeat(10_000)}\n`,
          `${header}\n${'a'.repeat(300_000)}\n`,
          `${header}\n${'row\n'.repeat(20_000)}`,
        )
        .map((data) => csv(data, 'malformed')),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(undefined, 'application/json', 'text/plain', 'text/csv; charset=utf-16')
        .map((contentType) => ({ data: valid, contentType, kind: 'the valid one, wrongly typed' })),
    },
  );
}

function json(data: string, kind: string): FuzzBody {
  return { data, contentType: 'application/json', kind };
}

function addMember(value: unknown, key: string, member: unknown, first: boolean): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return first ? { [key]: member, ...value } : { ...value, [key]: member };
}

/** The valid body with one of its keys twice, the hostile value first or last (JSON.parse keeps the last). */
function duplicateKeys(valid: unknown): fc.Arbitrary<FuzzBody> {
  const keys = valid !== null && typeof valid === 'object' && !Array.isArray(valid) ? Object.keys(valid) : [];
  const text = JSON.stringify(valid);
  if (keys.length === 0) return fc.constant(json(`{"a":1,"a":${text}}`, 'duplicate keys'));
  return fc.tuple(fc.constantFrom(...keys), hostileValue, fc.boolean()).map(([key, value, before]) => {
    const member = `${JSON.stringify(key)}:${toJsonText(value)}`;
    const data = before ? `{${member},${text.slice(1)}` : `${text.slice(0, -1)},${member}}`;
    return json(data, 'duplicate keys');
  });
}

function queryText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function describeCase(verb: string, c: FuzzCase): string {
  const query = c.query.map(([k, v]) => `${k}=${v}`).join('&');
  const body = c.body
    ? ` with ${c.body.kind} body (${c.body.contentType ?? 'no content type'}): ${preview(c.body.data)}`
    : '';
  const ifMatch = c.ifMatch === undefined ? '' : ` If-Match ${preview(c.ifMatch)}`;
  return `${verb} ${preview(`${c.path}${query ? `?${query}` : ''}`)} as ${c.caller}${ifMatch}${body}`;
}

function preview(data: string | Uint8Array): string {
  const text = typeof data === 'string' ? data : Buffer.from(data).toString('hex');
  return text.length > 300
    ? `${JSON.stringify(text.slice(0, 300))}… (${text.length} characters)`
    : JSON.stringify(text);
}

/** A stable 32-bit hash of an operation id: each operation's own seed, the same when run alone. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
