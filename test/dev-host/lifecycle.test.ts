import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RunningAzurite, startAzurite } from '../../dev/azurite.js';
import { type LogRecord, NcrontabError, RouteTemplateError, startLocalHost } from '../../dev/host/index.js';
import type { FunctionDefinition } from '../../shared/platform/function-definitions.js';

let azurite: RunningAzurite;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  azurite = await startAzurite();
});

afterAll(async () => {
  await azurite?.close();
});

describe('local host lifecycle', () => {
  it('close() lets an HTTP invocation in progress finish, then stops listening', async () => {
    let finishedAt = 0;
    const logs: LogRecord[] = [];
    // Events, not delays: on a busy machine a request can take longer than any fixed pause to reach its handler.
    let started!: () => void;
    const handlerStarted = new Promise<void>((resolve) => (started = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const host = await startLocalHost({
      registry: [
        {
          kind: 'http',
          name: 'slow',
          route: 'slow',
          methods: ['GET'],
          handler: async () => {
            started();
            await released;
            finishedAt = Date.now();
            return { body: 'done' };
          },
        },
      ],
      port: 0,
      storageConnectionString: azurite.connectionString,
      log: (line) => logs.push(line),
    });
    const pending = fetch(`${host.url}/slow`);
    await handlerStarted;
    let closedAt = 0;
    const closing = host.close();
    void closing.then(() => {
      closedAt = Date.now();
    });
    expect(host.close()).toBe(closing);
    await sleep(100);
    expect(closedAt).toBe(0);
    release();
    const response = await pending;
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('done');
    await closing;
    expect(finishedAt).toBeGreaterThan(0);
    expect(closedAt).toBeGreaterThanOrEqual(finishedAt);
    await expect(fetch(`${host.url}/slow`)).rejects.toThrow();
    expect(logs.map((r) => r.message)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Host started at http:\/\/127\.0\.0\.1:\d+/),
        'Host stopped',
      ]),
    );
  });

  it('close() lets a queue message in progress finish and settles it', async () => {
    const service = QueueServiceClient.fromConnectionString(azurite.connectionString);
    const queue = service.getQueueClient('lifecycle-slow');
    let started = false;
    let finished = false;
    const host = await startLocalHost({
      registry: [
        {
          kind: 'queue',
          name: 'slow-queue',
          queueName: 'lifecycle-slow',
          handler: async () => {
            started = true;
            await sleep(500);
            finished = true;
          },
        },
      ],
      port: 0,
      storageConnectionString: azurite.connectionString,
      queues: { pollIntervalMs: 50 },
      log: () => {},
    });
    await queue.sendMessage(Buffer.from('"work"').toString('base64'));
    const deadline = Date.now() + 10_000;
    while (!started && Date.now() < deadline) await sleep(20);
    expect(started).toBe(true);
    await host.close();
    expect(finished).toBe(true);
    expect((await queue.getProperties()).approximateMessagesCount).toBe(0);
  });

  it('writes JSON lines to stdout when no log option is given', async () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const host = await startLocalHost({
      registry: [],
      port: 0,
      storageConnectionString: azurite.connectionString,
    });
    await host.close();
    const lines = write.mock.calls.map(([chunk]) => String(chunk));
    write.mockRestore();
    const records = lines.map((line) => JSON.parse(line) as LogRecord);
    expect(lines.every((line) => line.endsWith('\n'))).toBe(true);
    expect(records).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          category: 'host',
          level: 'information',
          message: 'Host stopped',
          time: expect.any(String),
        }),
      ]),
    );
  });

  describe('refuses to start with an invalid registry', () => {
    const noop = async () => {};
    const start = (registry: FunctionDefinition[]) =>
      startLocalHost({ registry, port: 0, storageConnectionString: azurite.connectionString, log: () => {} });

    it('rejects a timer schedule naming the function', async () => {
      await expect(
        start([{ kind: 'timer', name: 'nightly', schedule: '0 0 * * *', handler: noop }]),
      ).rejects.toThrow(NcrontabError);
      await expect(
        start([{ kind: 'timer', name: 'nightly', schedule: '0 0 * * *', handler: noop }]),
      ).rejects.toThrow(/Timer function 'nightly': '0 0 \* \* \*'.*6 fields/);
    });

    it('rejects an invalid route template', async () => {
      await expect(
        start([
          {
            kind: 'http',
            name: 'bad',
            route: 'api/{id:unknown}',
            methods: ['GET'],
            handler: async () => ({}),
          },
        ]),
      ).rejects.toThrow(RouteTemplateError);
    });

    it('rejects two functions with the same name', async () => {
      await expect(
        start([
          { kind: 'queue', name: 'Worker', queueName: 'a', handler: noop },
          { kind: 'queue', name: 'worker', queueName: 'b', handler: noop },
        ]),
      ).rejects.toThrow(/two functions named 'worker'/);
    });

    it('rejects out-of-range queue settings', async () => {
      await expect(
        startLocalHost({
          registry: [],
          port: 0,
          storageConnectionString: azurite.connectionString,
          queues: { batchSize: 33 },
        }),
      ).rejects.toThrow(/batchSize must be 1–32/);
    });
  });
});
