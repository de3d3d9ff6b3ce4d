import { describe, expect, it } from 'vitest';
import { memoryQueues } from '../../shared/storage/memory-queue.js';

describe('memory queues', () => {
  it('hand out a JSON copy of what was sent, once, and only when it is visible', async () => {
    let now = 1_000_000;
    const queues = memoryQueues(() => now);
    const sent = { taskId: 't1', at: new Date(0) };
    await queues.queue<typeof sent>('tasks').send(sent);
    // As storage counts visibility: whole seconds, rounded up.
    await queues.queue<{ n: number }>('tasks').send({ n: 2 }, { delayMs: 1 });
    sent.taskId = 'changed';

    expect(queues.take('tasks')).toEqual([
      { message: { taskId: 't1', at: '1970-01-01T00:00:00.000Z' }, visibleAt: now, dequeueCount: 0 },
    ]);
    expect(queues.take('tasks')).toEqual([]);
    expect(queues.peek('tasks')).toHaveLength(1);
    now += 1000;
    expect(queues.take('tasks').map((m) => m.message)).toEqual([{ n: 2 }]);
  });

  it('keep queues apart and take back what a consumer puts', async () => {
    const queues = memoryQueues(() => 0);
    await queues.queue('a').send('one');
    queues.put('a-poison', { message: 'two', visibleAt: 0, dequeueCount: 5 });
    expect(queues.take('a').map((m) => m.message)).toEqual(['one']);
    expect(queues.take('a-poison')).toEqual([{ message: 'two', visibleAt: 0, dequeueCount: 5 }]);
  });
});
