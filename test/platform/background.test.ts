import { InvocationContext } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineQueueHandler, defineTimer } from '../../shared/platform/background.js';
import { productLog } from '../../shared/platform/product-log.js';

function invocation(traceParent?: string) {
  const lines: Record<string, unknown>[] = [];
  const context = new InvocationContext({
    invocationId: 'inv-9',
    functionName: 'bg',
    ...(traceParent ? { traceContext: { traceParent } } : {}),
    logHandler: (_level, message) => lines.push(JSON.parse(String(message)) as Record<string, unknown>),
  });
  return { context, lines };
}

const timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: undefined as never };

describe('defineTimer', () => {
  it('keeps the name and schedule, logs the start, and correlates every line by the host trace', async () => {
    const definition = defineTimer({
      name: 'sweep',
      schedule: '0 * * * * *',
      run: async (context) => productLog(context, 'info', 'Swept.'),
    });
    expect(definition).toMatchObject({ kind: 'timer', name: 'sweep', schedule: '0 * * * * *' });
    const trace = '0af7651916cd43dd8448eb211c80319c';
    const { context, lines } = invocation(`00-${trace}-b7ad6b7169203331-01`);
    await definition.handler(timer, context);
    expect(lines.map((l) => [l.message, l.correlationId])).toEqual([
      ['Timer sweep started.', trace],
      ['Swept.', trace],
    ]);
  });

  it('logs a failure with its stack and rethrows it, so the host sees the run fail', async () => {
    const definition = defineTimer({
      name: 'sweep',
      schedule: '0 * * * * *',
      run: () => Promise.reject(new Error('storage down')),
    });
    const { context, lines } = invocation();
    await expect(definition.handler(timer, context)).rejects.toThrow('storage down');
    expect(lines[1]).toMatchObject({
      level: 'error',
      message: 'Timer sweep failed.',
      correlationId: 'inv-9',
    });
    expect(String(lines[1]?.error)).toContain('Error: storage down');
  });
});

describe('defineQueueHandler', () => {
  const seen: unknown[] = [];
  const definition = defineQueueHandler({
    name: 'verify',
    queueName: 'verify-queue',
    message: {
      schema: z.strictObject({ customerId: z.string() }),
      describe: 'A message is { "customerId" }.',
    },
    logFields: ({ customerId }) => ({ customerId }),
    run: async (message, context) => {
      seen.push(message);
      productLog(context, 'info', 'Verified.');
    },
  });

  it('hands the parsed message on, its fields on every line', async () => {
    const { context, lines } = invocation();
    await definition.handler({ customerId: 'OwnCo' }, context);
    expect(seen).toEqual([{ customerId: 'OwnCo' }]);
    expect(lines.map((l) => [l.message, l.customerId])).toEqual([
      ['Queue verify started.', 'OwnCo'],
      ['Verified.', 'OwnCo'],
    ]);
  });

  it('logs a malformed message and throws without running, so that it ends up poisoned', async () => {
    seen.length = 0;
    const { context, lines } = invocation();
    await expect(definition.handler({ tenant: 'x' }, context)).rejects.toThrow(
      'A message is { "customerId" }.',
    );
    expect(seen).toEqual([]);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'error',
        message: 'A message of verify-queue was rejected: A message is { "customerId" }.',
      }),
    ]);
  });
});
