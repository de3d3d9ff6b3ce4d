import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogRecord } from '../../dev/host/log.js';
import { waitFor } from '../consent/consent-fixture.js';
import { apiClient } from '../support/api-client.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';

const records: LogRecord[] = [];
let stack: MemoryStack;
let call: ReturnType<typeof apiClient>;

/** The product's own lines: JSON from the handlers, not the host's invocation records. */
const productLines = () =>
  records
    .filter((r) => r.category === 'function')
    .map((r) => JSON.parse(r.message) as Record<string, unknown>);

beforeAll(async () => {
  stack = await startMemoryStack({ log: (record) => records.push(record) });
  call = apiClient(stack.api, () => stack.token());
}, 60_000);
afterAll(() => stack?.close());

describe('structured logs', () => {
  it('put the customer, the task and a correlation id on every line of a task run, as JSON', async () => {
    const created = await call('POST', '/api/v1/customers', {
      json: { fullName: 'Logged Ltd', shortName: 'Logged', licenseType: 'hosted-essentials' },
    });
    expect(created.status).toBe(201);
    const started = await call('POST', '/api/v1/customers/Logged/prefixes/sync');
    expect(started.status).toBe(202);
    const taskId = (started.body as { id: string }).id;
    const line = await waitFor('the task outcome line', async () =>
      productLines().find((l) => l.taskId === taskId && l.state === 'finish-success'),
    );
    expect(line).toMatchObject({
      level: 'info',
      message: 'Task SbcUpdatePrefixes is FinishSuccess.',
      customerId: 'Logged',
      taskId,
      functionName: 'tasks-run',
      correlationId: expect.any(String),
    });
    for (const l of productLines()) {
      expect(Object.keys(l)).toEqual(
        expect.arrayContaining(['correlationId', 'customerId', 'taskId', 'message']),
      );
    }
  });

  it("take the caller's trace id as correlation id, and never show a secret", async () => {
    const { productLog, withLogFields, traceIdOf } = await import('../../shared/platform/product-log.js');
    const lines: string[] = [];
    const context = {
      invocationId: 'inv-1',
      functionName: 'f',
      info: (line: string) => lines.push(line),
      warn: (line: string) => lines.push(line),
      error: (line: string) => lines.push(line),
    } as unknown as Parameters<typeof productLog>[0];
    const traceId = traceIdOf('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    expect(traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    withLogFields({ correlationId: traceId, customerId: 'Contoso' }, () =>
      productLog(context, 'warn', 'Login refused', { clientSecret: 'Sbc-Admin-Pa55!', device: 'sbc-eu1' }),
    );
    const parsed = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(parsed).toMatchObject({
      correlationId: traceId,
      customerId: 'Contoso',
      taskId: null,
      device: 'sbc-eu1',
      clientSecret: '[redacted]',
    });
    expect(lines[0]).not.toContain('Sbc-Admin-Pa55!');
  });
});
