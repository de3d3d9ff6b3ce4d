import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEMO } from '../../dev/sandbox/demo-data.js';
import { type SandboxFixture, startFixture } from '../sandbox/fixtures.js';
import { swaggerValidator } from './json-schema.js';
import { sendJson } from './sandbox-json.js';
import { readSpecJson, specPath } from './specs.js';

/**
 * The Azure DNS spec's own examples (dns.json 2018-05-01, Azure/azure-rest-api-specs) replayed against the sandbox's
 * ARM peer: each answer's status is one the example lists and its body validates against the operation's response
 * schema, closed (no property the spec lacks); then the ETag preconditions and the error body.
 */

const operationSchema = z.object({
  operationId: z.string(),
  responses: z.record(z.string(), z.object({ schema: z.unknown().optional() }).loose()),
  'x-ms-examples': z.record(z.string(), z.object({ $ref: z.string() })).optional(),
});
const specSchema = z.object({
  paths: z.record(z.string(), z.record(z.string(), z.unknown())),
  definitions: z.record(z.string(), z.unknown()),
});
const exampleSchema = z.object({
  parameters: z.record(z.string(), z.unknown()),
  responses: z.record(z.string(), z.object({ body: z.unknown().optional() }).loose()),
});

const spec = specSchema.parse(readSpecJson('arm-dns/dns.json'));
const validate = swaggerValidator(spec);

interface Operation {
  readonly method: string;
  readonly template: string;
  readonly id: string;
  readonly responses: Readonly<Record<string, { schema?: unknown }>>;
  readonly examples: readonly string[];
}

const operations: Operation[] = Object.entries(spec.paths).flatMap(([template, methods]) =>
  Object.entries(methods)
    .filter(([method]) => method !== 'parameters')
    .map(([method, raw]) => {
      const operation = operationSchema.parse(raw);
      return {
        method: method.toUpperCase(),
        template,
        id: operation.operationId,
        responses: operation.responses,
        examples: Object.values(operation['x-ms-examples'] ?? {}).map((e) => e.$ref.replace(/^\.\//, '')),
      };
    }),
);

/** The operations the sandbox serves (dev/sandbox/peers/arm-dns.ts), in an order that replays: create before read. */
const SERVED = [
  'RecordSets_CreateOrUpdate',
  'RecordSets_Get',
  'RecordSets_Update',
  'RecordSets_ListByType',
  'RecordSets_ListByDnsZone',
  'RecordSets_ListAllByDnsZone',
  'Zones_Get',
  'RecordSets_Delete',
] as const;

/**
 * Examples the sandbox answers differently, and why. Alias record sets point at another Azure resource
 * (`targetResource`), which the sandbox does not model; the product writes TXT and A records only.
 */
const NOT_REPLAYED: Readonly<Record<string, string>> = {
  'examples/CreateOrUpdateARecordsetAlias.json': 'alias record set: no Azure resources to point at',
};

/** Examples whose own bodies the spec's schema refuses, upstream as pinned. */
const EXAMPLE_QUIRKS: Readonly<Record<string, string>> = {
  'examples/CreateOrUpdateARecordsetAlias.json':
    'spells `ProvisioningState` where RecordSetProperties has `provisioningState`',
};

const operation = (id: string) => {
  const found = operations.find((o) => o.id === id);
  if (!found) throw new Error(`dns.json has no operation ${id}`);
  return found;
};

/** The response schema the spec gives for a status, or its `default` (CloudError). */
const responseSchema = (op: Operation, status: number) =>
  (op.responses[String(status)] ?? op.responses.default)?.schema;

describe('the sandbox ARM DNS peer replays dns.json and its examples', () => {
  let f: SandboxFixture;
  let token: string;
  const principal = '5b1f0c2e-7d3a-4c8e-9f61-2a4b6c8d0e1f';

  const send = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    sendJson(f, token, method, `${f.sandbox.url}/arm${path}`, body, headers);

  beforeAll(async () => {
    f = await startFixture();
    const tenantId = DEMO.customers.contoso.tenantId;
    // The examples' own zones: subscription `subid`, resource group `rg1`, `zone1` and the PTR examples' zone.
    for (const name of ['zone1', '0.0.127.in-addr.arpa']) {
      f.sandbox.state.dns.addZone({
        subscriptionId: 'subid',
        resourceGroup: 'rg1',
        name,
        tenantId,
        contributors: [principal],
      });
    }
    token = await f.sandbox.issueToken({
      tenantId,
      audience: 'https://management.azure.com/',
      subject: principal,
    });
  });
  afterAll(() => f.close());

  it("validates every example's own response bodies against the closed schemas (the check is not too strict)", () => {
    const problems = operations.flatMap((op) =>
      op.examples.flatMap((file) => {
        if (file in EXAMPLE_QUIRKS) return [];
        const example = exampleSchema.parse(readSpecJson(`arm-dns/${file}`));
        return Object.entries(example.responses).flatMap(([status, { body }]) =>
          body === undefined
            ? []
            : validate(responseSchema(op, Number(status)), body).map((p) => `${file} ${status}: ${p}`),
        );
      }),
    );
    expect(problems).toEqual([]);
  });

  it('answers each served example with one of its statuses and a body dns.json allows', async () => {
    const problems: string[] = [];
    for (const id of SERVED) {
      const op = operation(id);
      for (const file of op.examples) {
        if (file in NOT_REPLAYED) continue;
        const example = exampleSchema.parse(readSpecJson(`arm-dns/${file}`));
        const path = op.template.replace(/\{(\w+)\}/g, (_, name: string) => String(example.parameters[name]));
        // One example says 2017-10-01 (kept as upstream has it); the sandbox answers the product's version.
        const answer = await send(op.method, `${path}?api-version=2018-05-01`, example.parameters.parameters);
        if (!(String(answer.status) in example.responses)) {
          problems.push(
            `${file}: ${answer.status} ${JSON.stringify(answer.body)}, example lists ${Object.keys(example.responses).join('/')}`,
          );
          continue;
        }
        if (answer.body !== undefined) {
          problems.push(
            ...validate(responseSchema(op, answer.status), answer.body).map((p) => `${file}: ${p}`),
          );
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('replays every example file it keeps (none left out unnoticed)', () => {
    const referenced = new Set(operations.flatMap((op) => op.examples));
    const onDisk = readdirSync(`${dirname(specPath('arm-dns/dns.json'))}/examples`).map(
      (f) => `examples/${f}`,
    );
    // DeleteCNAME/MX/NS are kept beside the referenced ones (contracts README); zone writes are not served.
    expect(
      onDisk.filter((f) => !referenced.has(f) && !/^examples\/Delete(CNAME|MX|NS)Recordset\.json$/.test(f)),
    ).toEqual([]);
  });

  it('honours If-Match and If-None-Match as Azure DNS does, 412 in the CloudError shape', async () => {
    const path =
      '/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network/dnsZones/zone1/TXT/etag-case?api-version=2018-05-01';
    const body = { properties: { TTL: 60, TXTRecords: [{ value: ['one'] }] } };
    const put = operation('RecordSets_CreateOrUpdate');
    const created = await send('PUT', path, body, { 'if-none-match': '*' });
    expect(created.status).toBe(201);
    const etag = (created.body as { etag: string }).etag;
    expect(created.headers.get('etag')).toBe(etag);
    const again = await send('PUT', path, body, { 'if-none-match': '*' });
    expect(again.status).toBe(412);
    expect(validate(responseSchema(put, 412), again.body)).toEqual([]);
    expect(again.body).toMatchObject({ error: { code: 'PreconditionFailed' } });
    const stale = await send('PUT', path, body, { 'if-match': '00000000-0000-0000-0000-000000000000' });
    expect(stale.status).toBe(412);
    const current = await send('PUT', path, body, { 'if-match': etag });
    expect(current.status).toBe(200);
    expect(validate(responseSchema(put, 200), current.body)).toEqual([]);
    const newEtag = (current.body as { etag: string }).etag;
    expect(newEtag).not.toBe(etag);
    expect((await send('DELETE', path, undefined, { 'if-match': etag })).status).toBe(412);
    expect((await send('DELETE', path, undefined, { 'if-match': newEtag })).status).toBe(200);
    const missing = await send('PATCH', path, body, { 'if-match': '*' });
    expect(missing.status).toBe(404);
    expect(validate(responseSchema(operation('RecordSets_Update'), 404), missing.body)).toEqual([]);
  });

  it('fails an answer with a property the spec lacks (broken on purpose)', () => {
    const recordSet = {
      id: 'x',
      name: 'r',
      type: 'Microsoft.Network/dnsZones/TXT',
      etag: 'e',
      properties: { TTL: 1, sandboxOnly: true },
    };
    expect(validate(responseSchema(operation('RecordSets_Get'), 200), recordSet)).toEqual([
      "/properties must NOT have additional properties 'sandboxOnly'",
    ]);
  });
});
