import type { InvocationContext } from '@azure/functions';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAzurite, startAzurite } from '../../dev/azurite.js';
import { type LogRecord, type RunningHost, startLocalHost } from '../../dev/host/index.js';
import type { FunctionDefinition, QueueHandler } from '../../shared/platform/function-definitions.js';

interface Delivery {
  readonly message: unknown;
  readonly metadata: Record<string, unknown>;
}

const deliveries = new Map<string, Delivery[]>();
const record = (queueName: string, message: unknown, context: InvocationContext) => {
  const list = deliveries.get(queueName) ?? [];
  list.push({ message, metadata: { ...context.triggerMetadata } });
  deliveries.set(queueName, list);
  return list.length;
};
const delivered = (queueName: string) => deliveries.get(queueName) ?? [];

let running = 0;
let maxRunning = 0;
const queue = (queueName: string, handler: QueueHandler): FunctionDefinition => ({
  kind: 'queue',
  name: `on-${queueName}`,
  queueName,
  handler,
});
const registry: FunctionDefinition[] = [
  queue('dh-always-fails', async (message, context) => {
    record('dh-always-fails', message, context);
    throw new Error('handler always fails');
  }),
  queue('dh-succeeds', async (message, context) => {
    record('dh-succeeds', message, context);
  }),
  queue('dh-not-base64', async (message, context) => {
    record('dh-not-base64', message, context);
  }),
  queue('dh-flaky', async (message, context) => {
    if (record('dh-flaky', message, context) <= 2) throw new Error('transient failure');
  }),
  queue('dh-slow', async (message, context) => {
    record('dh-slow', message, context);
    running++;
    maxRunning = Math.max(maxRunning, running);
    await new Promise((resolve) => setTimeout(resolve, 300));
    running--;
  }),
];

let azurite: RunningAzurite;
let host: RunningHost;
let service: QueueServiceClient;
const logs: LogRecord[] = [];

beforeAll(async () => {
  azurite = await startAzurite();
  service = QueueServiceClient.fromConnectionString(azurite.connectionString);
  host = await startLocalHost({
    registry,
    port: 0,
    storageConnectionString: azurite.connectionString,
    queues: { pollIntervalMs: 50, visibilityTimeoutMs: 0 },
    log: (line) => logs.push(line),
  });
});

afterAll(async () => {
  await host?.close();
  await azurite?.close();
});

const base64Json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Messages in a queue, visible or not; 0 for a queue that does not exist. */
async function messageCount(queueName: string): Promise<number> {
  const client = service.getQueueClient(queueName);
  if (!(await client.exists())) return 0;
  return (await client.getProperties()).approximateMessagesCount ?? 0;
}

async function peekAll(queueName: string): Promise<string[]> {
  const client = service.getQueueClient(queueName);
  if (!(await client.exists())) return [];
  const { peekedMessageItems } = await client.peekMessages({ numberOfMessages: 32 });
  return peekedMessageItems.map((m) => m.messageText);
}

describe('local host: queue triggers', () => {
  it('creates the trigger queues it listens on', async () => {
    for (const definition of registry) {
      if (definition.kind === 'queue')
        expect(await service.getQueueClient(definition.queueName).exists()).toBe(true);
    }
  });

  it('delivers parsed JSON with trigger metadata and deletes the message on success', async () => {
    const sent = await service
      .getQueueClient('dh-succeeds')
      .sendMessage(base64Json({ customerId: 'c-1', step: 2 }));
    const [delivery] = await waitFor('the delivery', () =>
      delivered('dh-succeeds').length >= 1 ? delivered('dh-succeeds') : undefined,
    );
    expect(delivery?.message).toEqual({ customerId: 'c-1', step: 2 });
    expect(delivery?.metadata).toMatchObject({
      id: sent.messageId,
      dequeueCount: 1,
      insertionTime: sent.insertedOn.toISOString(),
      expirationTime: sent.expiresOn.toISOString(),
      nextVisibleTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      popReceipt: expect.any(String),
      queueTrigger: '{"customerId":"c-1","step":2}',
    });
    await waitFor('the message to be deleted', async () =>
      (await messageCount('dh-succeeds')) === 0 ? true : undefined,
    );
    expect(await peekAll('dh-succeeds-poison')).toEqual([]);
  });

  it('delivers text that is not JSON as a string', async () => {
    await service
      .getQueueClient('dh-succeeds')
      .sendMessage(Buffer.from('hello, plain text').toString('base64'));
    await waitFor('the delivery', () =>
      delivered('dh-succeeds').some((d) => d.message === 'hello, plain text') ? true : undefined,
    );
    await waitFor('the message to be deleted', async () =>
      (await messageCount('dh-succeeds')) === 0 ? true : undefined,
    );
  });

  it('retries a failing message up to maxDequeueCount, then moves the original text to <queue>-poison', async () => {
    const text = base64Json({ task: 'doomed' });
    await service.getQueueClient('dh-always-fails').sendMessage(text);
    const poisoned = await waitFor('the poison message', async () => {
      const messages = await peekAll('dh-always-fails-poison');
      return messages.length > 0 ? messages : undefined;
    });
    expect(poisoned).toEqual([text]);
    await waitFor('the original to be deleted', async () =>
      (await messageCount('dh-always-fails')) === 0 ? true : undefined,
    );
    await sleep(300); // would reveal a sixth delivery
    expect(delivered('dh-always-fails').map((d) => d.metadata.dequeueCount)).toEqual([1, 2, 3, 4, 5]);
    expect(delivered('dh-always-fails').every((d) => JSON.stringify(d.message) === '{"task":"doomed"}')).toBe(
      true,
    );
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'warning',
        functionName: 'on-dh-always-fails',
        message: expect.stringContaining("moved to 'dh-always-fails-poison' after 5 dequeue(s)"),
      }),
    );
  });

  it('treats a message that is not base64 as a failure: it ends in poison without reaching the handler', async () => {
    const text = 'this is {not} base64!';
    await service.getQueueClient('dh-not-base64').sendMessage(text);
    const poisoned = await waitFor('the poison message', async () => {
      const messages = await peekAll('dh-not-base64-poison');
      return messages.length > 0 ? messages : undefined;
    });
    expect(poisoned).toEqual([text]);
    await waitFor('the original to be deleted', async () =>
      (await messageCount('dh-not-base64')) === 0 ? true : undefined,
    );
    expect(delivered('dh-not-base64')).toEqual([]);
  });

  it('does not poison a message that fails twice and then succeeds', async () => {
    await service.getQueueClient('dh-flaky').sendMessage(base64Json({ attempt: 'until it works' }));
    await waitFor('three deliveries', () => (delivered('dh-flaky').length >= 3 ? true : undefined));
    await waitFor('the message to be deleted', async () =>
      (await messageCount('dh-flaky')) === 0 ? true : undefined,
    );
    await sleep(300);
    expect(delivered('dh-flaky').map((d) => d.metadata.dequeueCount)).toEqual([1, 2, 3]);
    expect(await peekAll('dh-flaky-poison')).toEqual([]);
  });

  it('runs the messages of a batch concurrently', async () => {
    const client = service.getQueueClient('dh-slow');
    await Promise.all([1, 2, 3, 4].map((n) => client.sendMessage(base64Json({ n }))));
    await waitFor('four deliveries', () => (delivered('dh-slow').length >= 4 ? true : undefined));
    await waitFor('the messages to be deleted', async () =>
      (await messageCount('dh-slow')) === 0 ? true : undefined,
    );
    expect(maxRunning).toBeGreaterThan(1);
    expect(delivered('dh-slow').map((d) => d.message)).toEqual(
      expect.arrayContaining([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]),
    );
  });

  it('hides a failed message for visibilityTimeoutMs before the retry, and honours maxDequeueCount', async () => {
    const seen: number[] = [];
    const slowRetry = await startLocalHost({
      registry: [
        queue('dh-slow-retry', async (_message, context) => {
          seen.push(Date.now());
          record('dh-slow-retry', _message, context);
          throw new Error('fails');
        }),
      ],
      port: 0,
      storageConnectionString: azurite.connectionString,
      queues: { pollIntervalMs: 50, visibilityTimeoutMs: 1000, maxDequeueCount: 2 },
      log: () => {},
    });
    try {
      await service.getQueueClient('dh-slow-retry').sendMessage(base64Json('retry me'));
      await waitFor('the poison message', async () =>
        (await peekAll('dh-slow-retry-poison')).length > 0 ? true : undefined,
      );
      expect(delivered('dh-slow-retry').map((d) => d.metadata.dequeueCount)).toEqual([1, 2]);
      const [first = 0, second = 0] = seen;
      expect(second - first).toBeGreaterThanOrEqual(900);
    } finally {
      await slowRetry.close();
    }
  });
});
