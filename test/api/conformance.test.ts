import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiResponse } from '../support/api-client.js';
import {
  type ConformanceWorld,
  type Operation,
  type Parameter,
  orderedOperations,
  startConformanceWorld,
} from '../support/conformance-world.js';
import { ROLES } from '../support/roles.js';

/**
 * The live conformance run: every operation of the served document is called on the running stack, unauthenticated,
 * as each role with a valid request and as the provider with an invalid one. The stack checks each answer against
 * the document (status, headers, content type, body by its JSON Schema 2020-12) and records which operation
 * answered what; at the end the operations run must be the document's, each answered a success at least once, and
 * no answer may have broken it. The setup builds what the successes need through the API and the sandbox, as an
 * operator and a customer's admin would (test/support/onboarded-world.ts), then holds the queues.
 */

/** Operations no request can make invalid: public, with no parameter and no body. */
const NO_INVALID_REQUEST = new Set(['openapi']);

let conformance: ConformanceWorld;
const failures: string[] = [];

beforeAll(async () => {
  conformance = await startConformanceWorld();
}, 180_000);
afterAll(async () => conformance?.stack.close());

/** A value the parameter's schema refuses, or undefined when it refuses none the test can name. */
function invalidValue(parameter: Parameter): string | undefined {
  const schema = parameter.schema ?? {};
  if (schema.type === 'integer') return 'many';
  if (schema.enum || schema.$ref) return 'not-one-of-them';
  if (schema.pattern) return '!!';
  if (schema.maxLength !== undefined) return 'x'.repeat(schema.maxLength + 1);
  return undefined;
}

async function drive(path: string, method: string, operation: Operation): Promise<void> {
  const { call, tokens, pathOf, bodyOf, validQuery } = conformance;
  const { operationId } = operation;
  const target = pathOf(path, operationId);
  const verb = method.toUpperCase();
  const csv = operation.requestBody?.content['text/csv'] !== undefined;
  const body = csv
    ? { body: String(bodyOf(operationId)), contentType: 'text/csv' }
    : operation.requestBody
      ? { json: bodyOf(operationId) }
      : {};
  const attempt = async (what: string, run: () => Promise<ApiResponse>) => {
    try {
      return await run();
    } catch (error) {
      failures.push(`${operationId} ${what}: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  };
  // An empty requirement among them makes the token optional: anyone is answered, but a bad token is refused.
  const tokenOptional = operation.security?.some(
    (requirement) =>
      typeof requirement === 'object' && requirement !== null && Object.keys(requirement).length === 0,
  );
  if (tokenOptional) {
    const badToken = await attempt('with a bad token', () =>
      call(verb, target, { ...body, token: 'not-a-token' }),
    );
    if (badToken && badToken.status !== 401)
      failures.push(`${operationId} answered ${badToken.status} to a bad token.`);
  } else if (operation.security === undefined || operation.security.length > 0) {
    const anonymous = await attempt('unauthenticated', () => call(verb, target, { ...body, token: null }));
    if (anonymous && anonymous.status !== 401)
      failures.push(`${operationId} answered ${anonymous.status} without a token.`);
  }
  // The provider's invalid call before the valid ones: it changes nothing, while a valid deletion removes what it names.
  const query = (operation.parameters ?? []).filter((p) => p.in === 'query');
  const badQuery = query
    .map((p) => [p.name, invalidValue(p)] as const)
    .find(([, value]) => value !== undefined);
  let invalid: (() => Promise<ApiResponse>) | undefined;
  let expected: number[] = [400];
  if (csv) invalid = () => call(verb, target, { body: 'Not,A,Header\n1,2,3\n', contentType: 'text/csv' });
  else if (operation.requestBody)
    invalid = () => call(verb, target, { body: '"not the body"', contentType: 'application/json' });
  else if (badQuery)
    invalid = () => call(verb, `${target}?${new URLSearchParams([[badQuery[0], badQuery[1] ?? '']])}`);
  else if (/\{/.test(path)) {
    // The first path parameter naming nothing (the outermost resource, looked up first): 404, or 400 where its
    // schema refuses the value.
    const unknown = path.replace(/\{[A-Za-z0-9_]+\}/, 'nothing-here');
    invalid = () => call(verb, pathOf(unknown, operationId));
    // A revocation is idempotent: revoking what is not there succeeds, as a repeated DELETE must.
    expected = verb === 'DELETE' ? [204, 400, 404] : [400, 404];
  }
  if (invalid) {
    const answered = await attempt('invalid', invalid);
    if (answered && !expected.includes(answered.status))
      failures.push(`${operationId} answered ${answered.status} to an invalid request.`);
  }
  for (const role of ROLES) {
    await attempt(`as ${role}`, () =>
      call(verb, `${target}${validQuery(operationId)}`, { ...body, token: tokens[role] }),
    );
  }
}

describe('the live conformance run', () => {
  // Over two hundred operations as every role: more than the default minute on a busy machine.
  it('calls every operation of the document, validly and invalidly, as every role, within the contract', async () => {
    const { stack, document } = conformance;
    const operations = orderedOperations(document);
    for (const { path, method, operation } of operations) await drive(path, method, operation);

    const documented = new Set(operations.map((o) => o.operation.operationId));
    const run = new Set(stack.answered.map((a) => a.operationId));
    const succeeded = new Set(stack.answered.filter((a) => a.status < 300).map((a) => a.operationId));
    const refused = new Set(
      stack.answered
        .filter((a) => a.status >= 400 && a.status < 500 && a.status !== 403)
        .map((a) => a.operationId),
    );
    expect(
      [...documented].filter((id) => !run.has(id)),
      'operations never answered',
    ).toEqual([]);
    expect(
      [...run].filter((id) => !documented.has(id)),
      'operations answered but undocumented',
    ).toEqual([]);
    expect(
      [...documented].filter((id) => !succeeded.has(id)),
      'operations without a success',
    ).toEqual([]);
    expect(
      [...documented].filter((id) => !refused.has(id) && !NO_INVALID_REQUEST.has(id)),
      'operations never refused',
    ).toEqual([]);
    expect(stack.violations).toEqual([]);
    expect(failures).toEqual([]);
    console.log(
      `conformance: ${run.size}/${documented.size} operations run, ${succeeded.size} with a success, ` +
        `${stack.answered.length} answers, ${stack.violations.length} contract violations`,
    );
  }, 180_000);
});
