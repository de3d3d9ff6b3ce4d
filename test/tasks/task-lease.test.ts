import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTrustedTransport } from '../../shared/net/trusted-transport.js';
import { checkOutbound, withOutboundGuard } from '../../shared/platform/outbound-guard.js';
import { memoryTables } from '../../shared/storage/memory-tables.js';
import {
  type AnyTaskDefinition,
  defineTask,
  type TaskChange,
  TransientTaskError,
} from '../../shared/tasks/task-definition.js';
import {
  createTaskEngine,
  LeaseLostError,
  type TaskEngine,
  type TaskMessage,
} from '../../shared/tasks/task-engine.js';
import { createTaskStore, type TaskStore } from '../../shared/tasks/task-store.js';

/**
 * Two engine instances ("hosts") over one store and one queue, on a clock the test moves: leases, heartbeats and
 * takeovers without waiting. The lease is the acceptance's 6 s, renewed every 2 s.
 */
const LEASE_MS = 6_000;
const RENEW_MS = 2_000;

/** A peer the step changes: records are created "if not exists", and every creation is counted. */
interface Peer {
  readonly records: Set<string>;
  readonly created: string[];
  /** A gate the step waits at after its first record, while the test crashes or freezes its host. */
  gate: Promise<void> | null;
  reached: (() => void) | null;
  /** Every call fails while set (an SBC rebooting). */
  down: string | null;
  /** Calls that reached the peer. */
  calls: number;
}

const input = z.strictObject({ records: z.array(z.string()) });

function world() {
  let clock = Date.parse('2026-12-02T10:00:00.000Z');
  const now = () => new Date(clock);
  const tasks = createTaskStore(memoryTables());
  /** While set, every write of a task record waits for it: storage slow to answer. */
  let slowWrites: Promise<void> | null = null;
  const store: TaskStore = {
    ...tasks,
    replace: async (task, etag) => {
      await slowWrites;
      return tasks.replace(task, etag);
    },
  };
  const messages: Array<{ message: TaskMessage; visibleAt: number }> = [];
  const peer: Peer = { records: new Set(), created: [], gate: null, reached: null, down: null, calls: 0 };

  const create = (name: string) => {
    // As the trusted transport does before every request.
    checkOutbound();
    peer.calls++;
    if (peer.down) throw new TransientTaskError(peer.down);
    if (peer.records.has(name)) return false;
    peer.records.add(name);
    peer.created.push(name);
    return true;
  };

  const definition = defineTask<z.output<typeof input>>({
    type: 'Sync lease',
    input,
    steps: [
      {
        name: 'CreateRecords',
        async prepare(ctx) {
          const missing = ctx.input.records.filter((r) => !peer.records.has(r));
          const changes: TaskChange[] = missing.map((r) => ({ kind: 'sbc', description: `Create ${r}` }));
          return {
            changes,
            async apply() {
              for (const [i, change] of changes.entries()) {
                if (create(missing[i] ?? '')) ctx.applied(change);
                const gate = i === 0 ? peer.gate : null;
                if (gate) {
                  // Only the first run waits: the host that takes over goes straight on.
                  peer.gate = null;
                  peer.reached?.();
                  await gate;
                }
              }
              return { done: true };
            },
          };
        },
      },
    ],
  }) as unknown as AnyTaskDefinition<unknown>;

  const host = (instanceId: string) => {
    const beats = new Set<() => void>();
    const engine = createTaskEngine<unknown>({
      store,
      queue: {
        send: async (message, options) =>
          void messages.push({ message, visibleAt: clock + (options?.delayMs ?? 0) }),
      },
      definitions: [definition],
      ports: {},
      now,
      random: () => 0,
      instanceId,
      timing: {
        leaseMs: LEASE_MS,
        renewMs: RENEW_MS,
        backoffMs: 1_000,
        maxBackoffMs: 10_000,
        retryWindowMs: 60_000,
      },
      every: (tick) => {
        beats.add(tick);
        return () => beats.delete(tick);
      },
    });
    /** The heartbeat's timer fires (as it does every renewMs on a live host); its write is awaited. */
    const beat = async () => {
      for (const tick of beats) tick();
      await settle();
    };
    return { engine, beat, beating: () => beats.size > 0 };
  };

  /** Delivers the messages visible now to `engine`, as the queue trigger does. */
  const deliver = async (engine: TaskEngine) => {
    const due = messages.filter((m) => m.visibleAt <= clock);
    for (const m of due) messages.splice(messages.indexOf(m), 1);
    for (const { message } of due) await engine.process(message.taskId, message.watch);
    return due.map((m) => m.message);
  };

  return {
    store,
    peer,
    messages,
    host,
    deliver,
    now,
    advance: (ms: number) => {
      clock += ms;
    },
    /** Task writes wait from now until the returned function is called. */
    slowStorage: () => {
      let answer = () => {};
      slowWrites = new Promise<void>((resolve) => (answer = resolve));
      return () => {
        slowWrites = null;
        answer();
      };
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

function gateOf(peer: Peer) {
  let open = () => {};
  peer.gate = new Promise<void>((resolve) => (open = resolve));
  const reached = new Promise<void>((resolve) => (peer.reached = resolve));
  return { open, reached };
}

describe('the lease and its heartbeat', () => {
  it('renews the lease while a step runs longer than it, and shows who holds it', async () => {
    const w = world();
    const a = w.host('host-a');
    const b = w.host('host-b');
    const gate = gateOf(w.peer);
    const task = await a.engine.start({
      type: 'Sync lease' as never,
      customerId: 'c1',
      input: { records: ['r1', 'r2'] },
    });
    w.messages.length = 0;
    const running = a.engine.process(task.id);
    await gate.reached;
    expect(await a.engine.get(task.id)).toMatchObject({ state: 'executing', leaseHolder: 'host-a' });

    // Three lease lengths pass; the heartbeat renews every 2 s.
    for (let t = 0; t < (3 * LEASE_MS) / RENEW_MS; t++) {
      w.advance(RENEW_MS);
      await a.beat();
    }
    const held = await a.engine.get(task.id);
    expect(held?.leaseUntil).toBe(new Date(w.now().getTime() + LEASE_MS).toISOString());
    // Another host's watch finds the lease live: it leaves the task and looks again when the lease would end.
    w.messages.length = 0;
    await b.engine.process(task.id, held?.leaseRun ?? '');
    expect(w.messages).toEqual([
      {
        message: { taskId: task.id, watch: held?.leaseRun },
        visibleAt: Date.parse(held?.leaseUntil ?? '') + 1_000,
      },
    ]);
    await b.engine.process(task.id);
    expect((await b.engine.get(task.id))?.leaseHolder).toBe('host-a');

    gate.open();
    await running;
    const done = await a.engine.get(task.id);
    expect(done).toMatchObject({ state: 'finish-success', leaseUntil: null, leaseHolder: null });
    expect(w.peer.created).toEqual(['r1', 'r2']);
    expect(done?.changes.map((c) => c.description)).toEqual(['Create r1', 'Create r2']);
    expect(a.beating()).toBe(false);
  });

  it('keeps the changes a step makes while a heartbeat is being written', async () => {
    const w = world();
    const a = w.host('host-a');
    const gate = gateOf(w.peer);
    const task = await a.engine.start({
      type: 'Sync lease' as never,
      customerId: 'c4',
      input: { records: ['r1', 'r2'] },
    });
    const running = a.engine.process(task.id);
    await gate.reached;
    // Storage is slow: the heartbeat's write is under way while the step creates r2 and finishes.
    const answer = w.slowStorage();
    w.advance(RENEW_MS);
    await a.beat();
    gate.open();
    await settle();
    expect(w.peer.created).toEqual(['r1', 'r2']);
    answer();
    await running;
    const done = await a.engine.get(task.id);
    expect(done?.state).toBe('finish-success');
    expect(done?.changes.map((c) => c.description)).toEqual(['Create r1', 'Create r2']);
    expect(done?.result).toBe('Completed with 2 change(s).');
  });

  it('lets another host take a crashed holder’s task over soon after its lease ends, applying nothing twice', async () => {
    const w = world();
    const a = w.host('host-a');
    const b = w.host('host-b');
    const gate = gateOf(w.peer);
    const started = w.now().getTime();
    const task = await a.engine.start({
      type: 'Sync lease' as never,
      customerId: 'c2',
      input: { records: ['r1', 'r2', 'r3'] },
    });
    w.messages.length = 0;
    // Host A runs the step, creates r1, and is killed in the middle of the step: its run never goes on.
    const zombie = a.engine.process(task.id);
    await gate.reached;
    w.advance(RENEW_MS);
    await a.beat();
    // The heartbeat's write keeps the change made so far: the task record already lists r1.
    expect((await b.engine.get(task.id))?.changes.map((c) => c.description)).toEqual(['Create r1']);

    // From here on host A is dead: no beat, no step. Host B only gets the queue's messages.
    let takenOverAt: number | null = null;
    while (takenOverAt === null) {
      const next = Math.min(...w.messages.map((m) => m.visibleAt));
      expect(next).toBeLessThan(started + 60_000);
      w.advance(next - w.now().getTime());
      await w.deliver(b.engine);
      if ((await b.engine.get(task.id))?.state === 'finish-success') takenOverAt = w.now().getTime();
    }
    // Lease 6 s from the last renewal at 2 s, and a watch's 1 s of grace: taken over 9 s in.
    expect(takenOverAt - started).toBeLessThanOrEqual(LEASE_MS + RENEW_MS + 1_000);
    const done = await b.engine.get(task.id);
    expect(done?.steps[0]).toMatchObject({ state: 'done', attempts: 2 });
    expect(w.peer.created).toEqual(['r1', 'r2', 'r3']);
    expect(done?.changes.map((c) => c.description)).toEqual(['Create r1', 'Create r2', 'Create r3']);
    expect(done?.log).toEqual([]);

    // Host A was not dead after all, only frozen: when it wakes, its lease has lapsed and it changes nothing.
    const calls = w.peer.calls;
    w.advance(RENEW_MS);
    await a.beat();
    expect(a.beating()).toBe(false);
    gate.open();
    await expect(zombie).resolves.toBeUndefined();
    expect(w.peer.calls).toBe(calls);
    expect(await b.engine.get(task.id)).toEqual(done);
  });

  it('stops a holder whose renewal finds another holder, before its next change', async () => {
    const w = world();
    const a = w.host('host-a');
    const gate = gateOf(w.peer);
    const task = await a.engine.start({
      type: 'Sync lease' as never,
      customerId: 'c3',
      input: { records: ['r1', 'r2'] },
    });
    const running = a.engine.process(task.id);
    await gate.reached;
    // Another host (its clock ahead of ours) has taken the task over meanwhile.
    const found = await w.store.get(task.id);
    if (!found) throw new Error('no task');
    const theirs = {
      ...found.task,
      leaseHolder: 'host-c',
      leaseUntil: new Date(w.now().getTime() + 60_000).toISOString(),
    };
    await w.store.replace(theirs, found.etag);

    const calls = w.peer.calls;
    w.advance(RENEW_MS);
    await a.beat();
    expect(a.beating()).toBe(false);
    gate.open();
    await expect(running).resolves.toBeUndefined();
    expect(w.peer.calls).toBe(calls);
    expect(w.peer.created).toEqual(['r1']);
    expect((await w.store.get(task.id))?.task).toMatchObject({ leaseHolder: 'host-c', state: 'executing' });
  });

  it('refuses an outbound call through the trusted transport once the guard says the lease is lost', async () => {
    const transport = createTrustedTransport(undefined);
    try {
      const lost = () => {
        throw new LeaseLostError('lost');
      };
      await expect(
        withOutboundGuard(lost, () => transport.fetch('https://peer.invalid/')),
      ).rejects.toBeInstanceOf(LeaseLostError);
    } finally {
      await transport.close();
    }
  });
});

describe('retries over the window', () => {
  /** Runs the task's messages as they come due, moving the clock, until it finishes. */
  async function runToEnd(
    w: ReturnType<typeof world>,
    engine: TaskEngine,
    taskId: string,
    onTry?: () => void,
  ) {
    for (let i = 0; i < 200; i++) {
      const task = await engine.get(taskId);
      if (task?.state === 'finish-success' || task?.state === 'finish-failure') return task;
      const next = Math.min(...w.messages.map((m) => m.visibleAt));
      w.advance(Math.max(0, next - w.now().getTime()));
      onTry?.();
      await w.deliver(engine);
    }
    throw new Error('the task did not finish');
  }

  it('says when it retries and why, and fails at the end of the window naming the last error', async () => {
    const w = world();
    const a = w.host('host-a');
    w.peer.down = 'POST /api/v1/cliScript/incremental: the SBC is unreachable (ECONNRESET).';
    const started = w.now().getTime();
    const task = await a.engine.start({
      type: 'Sync lease' as never,
      customerId: 'c4',
      input: { records: ['r1'] },
    });
    await w.deliver(a.engine);
    const waiting = await a.engine.get(task.id);
    expect(waiting).toMatchObject({
      state: 'queued',
      leaseHolder: null,
      nextExecutionAt: new Date(started + 1_000).toISOString(),
      retry: {
        step: 'CreateRecords',
        since: new Date(started).toISOString(),
        failures: 1,
        lastError: w.peer.down,
        nextAttemptAt: new Date(started + 1_000).toISOString(),
      },
    });
    expect(waiting?.log.at(-1)?.line).toBe(
      `-- CreateRecords: ${w.peer.down} (retrying at ${new Date(started + 1_000).toISOString()}, attempt 2) --`,
    );
    // The wait is the queue's: the message becomes visible then, no invocation sleeps.
    expect(w.messages).toContainEqual({ message: { taskId: task.id }, visibleAt: started + 1_000 });

    const failed = await runToEnd(w, a.engine, task.id);
    expect(w.now().getTime() - started).toBe(60_000);
    expect(failed).toMatchObject({ state: 'finish-failure', retry: null });
    // Tries at 0, 1, 3, 7, 15, 25, 35, 45 and 55 s, the last at the window's end (60 s), then it gives up.
    expect(failed?.result).toBe(
      `CreateRecords kept failing for 60 seconds (10 tries; the retry window is 60 seconds). Last error: ${w.peer.down}`,
    );
    expect(failed?.steps[0]).toMatchObject({ state: 'failed', attempts: 10 });
  });

  it('outlasts an outage shorter than the window, and a success starts the window again', async () => {
    const w = world();
    const a = w.host('host-a');
    w.peer.down = 'The SBC answered 503.';
    const started = w.now().getTime();
    const task = await a.engine.start({
      type: 'Sync lease' as never,
      customerId: 'c5',
      input: { records: ['r1'] },
    });
    // Down for 45 s of the 60 s window: more than five attempts of the old schedule would have covered.
    const done = await runToEnd(w, a.engine, task.id, () => {
      if (w.now().getTime() - started >= 45_000) w.peer.down = null;
    });
    expect(done).toMatchObject({ state: 'finish-success', retry: null });
    expect(done?.steps[0]?.attempts).toBeGreaterThan(5);
    expect(w.peer.created).toEqual(['r1']);
  });
});
