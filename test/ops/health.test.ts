import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalHost } from '../../dev/host/index.js';
import { createHealthFunctions } from '../../functions/health.js';
import { healthReportSchema } from '../../shared/ops/health.js';
import { PRODUCT_QUEUES } from '../../shared/ops/product-queues.js';
import { endpointsOf } from '../../shared/storage/storage-endpoints.js';
import { apiClient } from '../support/api-client.js';
import { startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let call: ReturnType<typeof apiClient>;

beforeAll(async () => {
  stack = await startStack();
  const token = await stack.token();
  call = apiClient(stack.apiUrl, async () => token);
}, 60_000);
afterAll(async () => stack?.close());

interface Report {
  status: string;
  checks: Record<string, { status: string; durationMs: number; error: string | null }>;
  queues: Array<{
    name: string;
    messages: number | null;
    poisonQueue: string;
    poisonMessages: number | null;
  }>;
}

const health = async () => {
  const response = await call('GET', '/api/v1/health');
  expect(healthReportSchema.safeParse(response.body).success, JSON.stringify(response.body)).toBe(true);
  return { status: response.status, report: response.body as Report };
};
const depthOf = (report: Report, queue: string) => report.queues.find((q) => q.name === queue);

describe('GET /api/v1/health', () => {
  it('reports storage ok and every product queue with its poison queue', async () => {
    const { status, report } = await health();
    expect(status).toBe(200);
    expect(report.status).toBe('ok');
    expect(report.checks.tableStorage).toMatchObject({ status: 'ok', error: null });
    expect(report.checks.queueStorage).toMatchObject({ status: 'ok', error: null });
    expect(report.queues.map((q) => q.name).sort()).toEqual([...PRODUCT_QUEUES].sort());
    expect(depthOf(report, 'tasks')).toEqual({
      name: 'tasks',
      messages: expect.any(Number),
      poisonQueue: 'tasks-poison',
      poisonMessages: 0,
    });
  });

  it("counts a queue's messages and its poison queue's", async () => {
    const before = depthOf((await health()).report, 'email-outbox');
    const queues = QueueServiceClient.fromConnectionString(stack.storageConnectionString);
    // Invisible for five minutes, so the host's listener does not take it before the count.
    await queues.getQueueClient('email-outbox').createIfNotExists();
    await queues.getQueueClient('email-outbox').sendMessage('eyJ9', { visibilityTimeout: 300 });
    const poison = queues.getQueueClient('email-outbox-poison');
    await poison.createIfNotExists();
    await poison.sendMessage('eyJ9');
    await poison.sendMessage('eyJ9');

    const { status, report } = await health();
    expect(status).toBe(200);
    expect(depthOf(report, 'email-outbox')).toMatchObject({
      messages: (before?.messages ?? 0) + 1,
      poisonQueue: 'email-outbox-poison',
      poisonMessages: 2,
    });
  });

  it('answers an anonymous probe liveness only, never the report', async () => {
    const anonymous = await call('GET', '/api/v1/health', { token: null });
    expect(anonymous.status).toBe(200);
    expect(anonymous.body).toEqual({ status: 'ok' });
  });

  it('answers 503 with the same report, saying which check failed, when storage does not answer', async () => {
    // Every port of the connection string closed: what a storage outage looks like from here.
    const { services } = stack;
    const unreachable = stack.storageConnectionString.replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:1');
    const broken = await startLocalHost({
      registry: createHealthFunctions({
        ...services,
        storage: endpointsOf(unreachable),
      }),
      port: 0,
      storageConnectionString: stack.storageConnectionString,
      log: () => {},
    });
    try {
      const response = await apiClient(broken.url, () => stack.token())('GET', '/api/v1/health');
      expect(response.status).toBe(503);
      expect(response.contentType).toMatch(/^application\/json/);
      const report = healthReportSchema.parse(response.body);
      expect(report.status).toBe('failed');
      expect(report.checks.tableStorage).toMatchObject({ status: 'failed', error: expect.any(String) });
      expect(report.checks.queueStorage).toMatchObject({ status: 'failed', error: expect.any(String) });
      expect(report.queues.map((q) => q.name).sort()).toEqual([...PRODUCT_QUEUES].sort());
      expect(report.queues.every((q) => q.messages === null && q.poisonMessages === null)).toBe(true);
      // Nothing about where the storage is or how to get in.
      expect(JSON.stringify(report)).not.toMatch(/127\.0\.0\.1|AccountKey|devstoreaccount1/);
    } finally {
      await broken.close();
    }
    expect((await health()).status).toBe(200);
  });
});

describe('the product queue list', () => {
  it('is the queue list of infra/main.bicep', () => {
    const main = readFileSync(join(import.meta.dirname, '..', '..', 'infra', 'main.bicep'), 'utf8');
    const block = /var queueNames = \[([^\]]*)\]/.exec(main)?.[1] ?? '';
    const declared = [...block.matchAll(/'([^']+)'/g)].map((m) => m[1]);
    expect([...PRODUCT_QUEUES].sort()).toEqual(declared.sort());
  });
});
