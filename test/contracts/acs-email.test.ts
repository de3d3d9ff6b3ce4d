import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEMO_MAIL } from '../../dev/sandbox/mail-demo.js';
import { type SandboxFixture, startFixture } from '../sandbox/fixtures.js';
import { swaggerValidator } from './json-schema.js';
import { readSpecText } from './specs.js';

/**
 * Azure Communication Services Email (data plane, stable 2023-03-31): the sandbox's send and operation answers,
 * their statuses, LRO headers and error bodies validate against the spec, its schemas closed to undeclared
 * properties. The spec's relative `$ref` into common-types is resolved by merging that file's definitions in.
 */

const SPEC_DIR = 'acs-email/specification/communication/data-plane/Email/stable/2023-03-31';
const COMMON_REF = '../../../../../common-types/data-plane/v1/types.json#/definitions/';

const definitionsSchema = z.object({ definitions: z.record(z.string(), z.unknown()) });
const specSchema = definitionsSchema.extend({
  paths: z.record(
    z.string(),
    z.record(
      z.string(),
      z.object({ responses: z.record(z.string(), z.object({ schema: z.unknown() }).loose()) }).loose(),
    ),
  ),
});
const spec = specSchema.parse(
  JSON.parse(
    readSpecText(`${SPEC_DIR}/CommunicationServicesEmail.json`).replaceAll(COMMON_REF, '#/definitions/'),
  ),
);
const common = definitionsSchema.parse(
  JSON.parse(readSpecText('acs-email/specification/common-types/data-plane/v1/types.json')),
);
const validate = swaggerValidator({ definitions: { ...common.definitions, ...spec.definitions } });

const exampleSchema = z.object({
  parameters: z.record(z.string(), z.unknown()),
  responses: z.record(
    z.string(),
    z.object({ headers: z.record(z.string(), z.unknown()).optional(), body: z.unknown() }),
  ),
});
const example = (name: string) =>
  exampleSchema.parse(JSON.parse(readSpecText(`${SPEC_DIR}/examples/${name}.json`)));

const send = spec.paths['/emails:send']?.post;
const status = spec.paths['/emails/operations/{operationId}']?.get;
const schemaOf = (operation: typeof send, code: number) =>
  (operation?.responses[String(code)] ?? operation?.responses.default)?.schema;
const TERMINAL = ['Succeeded', 'Failed', 'Canceled'];

describe('the sandbox ACS Email peer answers as CommunicationServicesEmail.json 2023-03-31 says', () => {
  let f: SandboxFixture;

  /** Signed with the access key as the SDK signs (HMAC-SHA256 over method, path and query, date, host, hash). */
  const signed = async (
    method: 'GET' | 'POST',
    url: URL,
    body?: unknown,
    key: string = DEMO_MAIL.acs.accessKey,
  ) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    const date = new Date().toUTCString();
    const hash = createHash('sha256').update(text).digest('base64');
    const signature = createHmac('sha256', Buffer.from(key, 'base64'))
      .update(`${method}\n${url.pathname}${url.search}\n${date};${url.host};${hash}`)
      .digest('base64');
    const response = await f.transport.fetch(url, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        'x-ms-date': date,
        'x-ms-content-sha256': hash,
        authorization: `HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=${signature}`,
      },
      ...(body === undefined ? {} : { body: text }),
    });
    const responseText = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: responseText ? (JSON.parse(responseText) as unknown) : undefined,
    };
  };
  const sendUrl = () => new URL(`${f.sandbox.url}/emails:send?api-version=2023-03-31`);
  /** The spec's SendEmail example, from the sandbox's linked sender domain (any other is DomainNotLinked). */
  const exampleMessage = (recipients?: unknown) => {
    const message = example('SendEmail').parameters.emailMessage as Record<string, unknown>;
    return { ...message, senderAddress: DEMO_MAIL.acs.senderAddress, ...(recipients ? { recipients } : {}) };
  };

  /** Polls Operation-Location to a terminal status, checking each answer. */
  const follow = async (location: string) => {
    for (let polls = 0; polls < 5; polls++) {
      const answer = await signed('GET', new URL(location));
      expect(answer.status).toBe(200);
      expect(validate(schemaOf(status, 200), answer.body)).toEqual([]);
      const current = (answer.body as { status: string }).status;
      if (TERMINAL.includes(current)) return answer.body as { status: string; error?: unknown };
      expect(answer.headers.get('retry-after'), 'a non-terminal status carries retry-after').toMatch(/^\d+$/);
    }
    throw new Error('no terminal status in 5 polls');
  };

  beforeAll(async () => {
    f = await startFixture();
  });
  afterAll(() => f.close());

  it("validates the spec's own example answers (the closed schemas are not too strict)", () => {
    const problems = [
      ['SendEmail', send, 202],
      ['GetOperationStatusReturnsNonTerminalStatus', status, 200],
      ['GetOperationStatusReturnsSuccessTerminalStatus', status, 200],
      ['GetOperationStatusReturnsFailedTerminalStatus', status, 200],
    ].flatMap(([name, operation, code]) =>
      validate(
        schemaOf(operation as typeof send, code as number),
        example(name as string).responses[String(code)]?.body,
      ),
    );
    expect(problems).toEqual([]);
  });

  it('accepts the SendEmail example with 202, an EmailSendResult, Operation-Location and retry-after, then Succeeded', async () => {
    const accepted = await signed('POST', sendUrl(), exampleMessage());
    expect(accepted.status).toBe(202);
    expect(validate(schemaOf(send, 202), accepted.body)).toEqual([]);
    expect(accepted.headers.get('retry-after')).toMatch(/^\d+$/);
    const location = accepted.headers.get('operation-location') ?? '';
    expect(location).toMatch(/\/emails\/operations\/[^/?]+\?api-version=2023-03-31$/);
    expect(await follow(location)).toMatchObject({ status: 'Succeeded' });
  });

  it('ends an undeliverable send Failed with an ErrorDetail', async () => {
    const accepted = await signed(
      'POST',
      sendUrl(),
      exampleMessage({ to: [{ address: DEMO_MAIL.acs.undeliverableRecipient }] }),
    );
    const final = await follow(accepted.headers.get('operation-location') ?? '');
    expect(final).toMatchObject({
      status: 'Failed',
      error: { code: expect.any(String), message: expect.any(String) },
    });
  });

  it('answers refusals with the common ErrorResponse and x-ms-error-code naming the same code', async () => {
    const refusals = [
      await signed('POST', sendUrl(), { senderAddress: DEMO_MAIL.acs.senderAddress }),
      await signed('POST', sendUrl(), exampleMessage(), Buffer.from('not the key').toString('base64')),
      await signed(
        'GET',
        new URL(`${f.sandbox.url}/emails/operations/no-such-operation?api-version=2023-03-31`),
      ),
      await signed('POST', new URL(`${f.sandbox.url}/emails:send?api-version=2019-01-01`), exampleMessage()),
    ];
    expect(refusals.map((r) => r.status)).toEqual([400, 401, 404, 400]);
    for (const refusal of refusals) {
      expect(validate(schemaOf(send, refusal.status), refusal.body)).toEqual([]);
      expect(refusal.headers.get('x-ms-error-code')).toBe(
        (refusal.body as { error: { code: string } }).error.code,
      );
    }
  });

  it('fails a status the spec does not list and a property it lacks (broken on purpose)', () => {
    expect(validate(schemaOf(status, 200), { id: 'x', status: 'Queued' })).toEqual([
      '/status must be equal to one of the allowed values',
    ]);
    expect(validate(schemaOf(status, 200), { id: 'x', status: 'Running', sandboxOnly: 1 })).toEqual([
      "/ must NOT have additional properties 'sandboxOnly'",
    ]);
  });
});
