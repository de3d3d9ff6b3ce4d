import { randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import { z } from 'zod';
import type { AlarmService } from '../alarms/alarm-service.js';
import {
  CREDENTIAL_ALARM,
  credentialAlarmSource,
  type CredentialService,
} from '../credentials/credential-service.js';
import type { CustomerCredential } from '../credentials/credential.js';
import type { CredentialStore } from '../credentials/credential-store.js';
import { VersionConflictError } from '../errors/domain-errors.js';
import type { JsonQueue } from '../storage/json-queue.js';
import { type CycleContext, runCycle } from './cycle-runner.js';
import type { DriftReport } from './drift.js';
import { AuthFailureError, authFailureOf, type M365Reader, ResyncRequiredError } from './m365-reader.js';
import type { MirrorStore, MirrorVoiceObject } from './mirror-store.js';
import {
  type CycleKind,
  type CycleState,
  CycleFencedError,
  EMPTY_COUNTS,
  emptyCounters,
  emptyStatus,
  type Lease,
  LeaseLostError,
  type ReplicationStatus,
  type ReplicationStore,
  type TriggerReason,
} from './replication-store.js';
import { VERIFICATION_STATUS_LABELS } from '../credentials/credential.js';

/** The manual's words while the first replication runs (Part A §3.6). */
export const FIRST_REPLICATION_MESSAGE =
  'First replication is ongoing! Please wait 5Min and Refresh the page.';
/** Raised when a cycle keeps failing (not for credentials: those raise the credential alarm). */
export const REPLICATION_ALARM = 'Replication failed';
/** Chunks in a row that may fail before the cycle is given up (each retried after a growing pause). */
const MAX_FAILURES = 5;
/** A full cycle's checkpoint interval while it lists, when the lease allows it. */
const CHECKPOINT_MS = 3000;

export interface ReplicationSettings {
  readonly quickIntervalSeconds: number;
  readonly quickDelaySeconds: number;
  readonly fullIntervalSeconds: number;
  readonly maxParallelCycles: number;
  readonly leaseSeconds: number;
  readonly chunkSeconds: number;
  readonly pageSize: number;
}

export const replicationMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('trigger'),
    customerId: z.string().min(1).max(64),
    kind: z.enum(['full', 'quick']),
    reason: z.enum(['initial', 'manual', 'schedule', 'change', 'credentials']),
    requestedAt: z.iso.datetime(),
    /** `change` triggers: the change they debounce; a later change supersedes them. */
    changeAt: z.iso.datetime().optional(),
  }),
  z.strictObject({
    type: z.literal('continue'),
    customerId: z.string().min(1).max(64),
    cycleId: z.string().min(1),
  }),
]);
export type ReplicationMessage = z.output<typeof replicationMessageSchema>;

export interface ReplicationDeps {
  readonly settings: ReplicationSettings;
  readonly store: ReplicationStore;
  readonly mirror: MirrorStore;
  readonly queue: JsonQueue<ReplicationMessage>;
  readonly credentials: Pick<CredentialService, 'get' | 'graphCredential'>;
  /** Marks the Authentication Status Failed when a cycle's token is refused. */
  readonly credentialStore: Pick<CredentialStore, 'get' | 'update' | 'list'>;
  readonly alarms: AlarmService;
  readonly customerExists: (customerId: string) => Promise<boolean>;
  /** Puts a completed cycle's time on the customer's row, where the Tenants list reads it. Idempotent. */
  readonly noteReplicated: (customerId: string, at: string) => Promise<void>;
  readonly reader: (credential: TokenCredential) => M365Reader;
  readonly drift: (input: {
    customerId: string;
    voice: readonly MirrorVoiceObject[];
    cycleId: string | null;
    now: Date;
  }) => Promise<DriftReport>;
  /**
   * Runs after a cycle's end is noted and before its checkpoint goes, under the customer's lease (the lifecycle
   * pass): a crash in it leaves the cycle to be resumed, which runs it again. Its failure is its own to report.
   */
  readonly afterCycle?: (customerId: string) => Promise<void>;
  /**
   * How often a full cycle saves its checkpoint while it lists (CycleContext.checkpointMs): by default every few
   * seconds, and often enough that the leases, renewed with it, never lapse under a cycle that makes progress.
   */
  readonly checkpointMs?: number;
  readonly now?: () => Date;
  readonly log?: (message: string) => void;
}

export type HandleOutcome =
  | 'done'
  | 'paused'
  | 'covered'
  | 'superseded'
  | 'skipped'
  | 'busy'
  | 'stale'
  | 'gone'
  | 'waiting-for-slot'
  | 'fenced'
  | 'authentication-failed'
  | 'failed';

/** Whether a cycle that started at `startedAt` satisfies a trigger: it began after the request, and is broad enough. */
function covers(
  cycle: { startedAt: string; kind: CycleKind },
  trigger: { requestedAt: string; kind: CycleKind },
) {
  return cycle.startedAt >= trigger.requestedAt && (cycle.kind === 'full' || trigger.kind === 'quick');
}

const isVerified = (credential: CustomerCredential | null) =>
  credential?.lastVerificationStatus === 'successful';

interface QueueDeps {
  readonly store: ReplicationStore;
  readonly queue: JsonQueue<ReplicationMessage>;
  readonly now: () => Date;
}

/** Queues a trigger and notes it, so that the timer does not queue another meanwhile. */
export async function queueReplication(
  deps: QueueDeps,
  customerId: string,
  kind: CycleKind,
  reason: TriggerReason,
): Promise<void> {
  const requestedAt = deps.now().toISOString();
  await deps.queue.send({ type: 'trigger', customerId, kind, reason, requestedAt });
  await deps.store.updateStatus(customerId, (s) => ({
    ...s,
    queuedAt: requestedAt,
    queuedKind: s.queuedKind === 'full' ? 'full' : kind,
  }));
}

/**
 * The credential service's hook: a customer whose credentials are verified for the first time replicates at once
 * (the manual's initial replication "after successful authentication"); so does one whose last cycle stopped on
 * refused credentials, now fixed.
 */
export async function queueFirstReplication(deps: QueueDeps, customerId: string): Promise<void> {
  const status = await deps.store.status(customerId);
  if (status?.lastSyncAt && status.lastCycle?.outcome !== 'failed') return;
  await queueReplication(deps, customerId, 'full', status?.lastSyncAt ? 'credentials' : 'initial');
}

export function createReplicationService(deps: ReplicationDeps) {
  const { settings, store, mirror } = deps;
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? (() => {});

  async function enqueue(message: ReplicationMessage, delayMs = 0): Promise<void> {
    await deps.queue.send(message, { delayMs });
  }

  const trigger = (customerId: string, kind: CycleKind, reason: TriggerReason) =>
    queueReplication({ store, queue: deps.queue, now }, customerId, kind, reason);

  async function markCredentialFailed(customerId: string, message: string): Promise<void> {
    for (let attempt = 1; attempt <= 5; attempt++) {
      const credential = await deps.credentialStore.get(customerId);
      if (!credential) break;
      try {
        await deps.credentialStore.update(credential, {
          lastVerificationStatus: 'failed',
          lastVerificationMessage: message,
          whenLastVerified: now().toISOString(),
        });
        break;
      } catch (error) {
        if (!(error instanceof VersionConflictError)) throw error;
      }
    }
    await deps.alarms.raise({
      name: CREDENTIAL_ALARM,
      severity: 'major',
      source: credentialAlarmSource(customerId),
      text: `${customerId}: ${message} Replication stopped until the credentials are fixed.`,
    });
  }

  function newCycle(
    kind: CycleKind,
    message: Extract<ReplicationMessage, { type: 'trigger' }>,
    status: ReplicationStatus,
  ): CycleState {
    const at = now().toISOString();
    return {
      id: `${at.replace(/[-:.TZ]/g, '').slice(0, 14)}-${randomUUID().slice(0, 8)}`,
      kind,
      reason: message.reason,
      requestedAt: message.requestedAt,
      startedAt: at,
      phase: kind === 'full' ? 'users-latest' : 'users-delta',
      next: null,
      phasePage: 0,
      counters: emptyCounters(),
      usersDelta: null,
      groupsDelta: null,
      counts: kind === 'full' ? EMPTY_COUNTS : status.counts,
      lastProgressAt: at,
      failures: 0,
      lastError: null,
    };
  }

  /** Runs the cycle under the customer's lease and a slot until it ends or its chunk's time is up. */
  async function runChunk(
    customerId: string,
    checkpoint: { value: CycleState; etag: string },
    leases: Lease[],
  ): Promise<HandleOutcome> {
    const cycle = checkpoint.value;
    let etag = checkpoint.etag;
    const status = (await store.status(customerId)) ?? emptyStatus(customerId);
    const credential = await deps.credentials.get(customerId);
    if (!credential || !isVerified(credential)) {
      // The credentials were found wanting since the cycle began: it stops here; fixing them starts a new one.
      await store.deleteCycle(customerId, etag);
      return 'skipped';
    }
    const ctx: CycleContext = {
      customerId,
      cycle,
      status,
      reader: deps.reader(deps.credentials.graphCredential(credential)),
      mirror,
      pageSize: settings.pageSize,
      deadline: now().getTime() + settings.chunkSeconds * 1000,
      now: () => now().getTime(),
      checkpointMs: deps.checkpointMs ?? Math.min(CHECKPOINT_MS, (settings.leaseSeconds * 1000) / 4),
      fence() {
        const at = now().getTime();
        const lapsed = leases.find((lease) => lease.expiresAt <= at);
        if (lapsed) {
          throw new LeaseLostError(
            `The ${lapsed.partition} lease ${lapsed.key} ran out before the cycle's next write; another holder may have it.`,
          );
        }
      },
      async checkpoint() {
        etag = await store.saveCycle(customerId, cycle, etag);
        for (let i = 0; i < leases.length; i++) {
          leases[i] = await store.renew(leases[i] as Lease, settings.leaseSeconds);
        }
      },
      async drift() {
        const report = await deps.drift({
          customerId,
          voice: await mirror.voiceObjects(customerId),
          cycleId: cycle.id,
          now: now(),
        });
        await store.putDrift(customerId, report);
      },
    };
    try {
      const outcome = await runCycle(ctx);
      if (outcome === 'paused') return 'paused';
      await finish(customerId, cycle, status);
      await deps.afterCycle?.(customerId);
      await store.deleteCycle(customerId, etag);
      log(
        `Replication ${cycle.kind} cycle ${cycle.id} of ${customerId} done: ${JSON.stringify(cycle.counters)}.`,
      );
      return 'done';
    } catch (error) {
      if (error instanceof CycleFencedError || error instanceof LeaseLostError) return 'fenced';
      const refusal = error instanceof AuthFailureError ? error.message : authFailureOf(error);
      if (refusal) {
        await markCredentialFailed(customerId, refusal);
        // Summarized before the checkpoint goes, so that no reader sees the cycle gone and its outcome not yet in.
        await summarize(customerId, cycle, 'failed', refusal);
        await store.deleteCycle(customerId, etag);
        log(`Replication of ${customerId} stopped: ${refusal}`);
        return 'authentication-failed';
      }
      if (error instanceof ResyncRequiredError) {
        // The delta links are no longer valid: the mirror is rebuilt by a full cycle.
        await store.deleteCycle(customerId, etag);
        await store.updateStatus(customerId, (s) => ({ ...s, usersDelta: null, groupsDelta: null }));
        await enqueue({
          type: 'trigger',
          customerId,
          kind: 'full',
          reason: cycle.reason,
          requestedAt: now().toISOString(),
        });
        return 'failed';
      }
      const message = error instanceof Error ? error.message : String(error);
      cycle.failures += 1;
      cycle.lastError = message.slice(0, 1000);
      if (cycle.failures >= MAX_FAILURES) {
        await summarize(customerId, cycle, 'failed', message);
        await store.deleteCycle(customerId, etag);
        await deps.alarms.raise({
          name: REPLICATION_ALARM,
          severity: 'minor',
          source: credentialAlarmSource(customerId),
          text: `${customerId}: the ${cycle.kind} replication cycle failed ${MAX_FAILURES} times in a row: ${message}`,
        });
        return 'failed';
      }
      etag = await store.saveCycle(customerId, cycle, etag);
      // Tried again from the checkpoint after a growing pause.
      await enqueue({ type: 'continue', customerId, cycleId: cycle.id }, 15_000 * cycle.failures);
      log(`Replication of ${customerId} failed (attempt ${cycle.failures}), will resume: ${message}`);
      return 'failed';
    }
  }

  async function summarize(
    customerId: string,
    cycle: CycleState,
    outcome: 'succeeded' | 'failed',
    message: string | null,
  ): Promise<void> {
    await store.updateStatus(customerId, (s) => ({
      ...s,
      lastCycle: {
        id: cycle.id,
        kind: cycle.kind,
        reason: cycle.reason,
        startedAt: cycle.startedAt,
        finishedAt: now().toISOString(),
        outcome,
        message,
        counters: cycle.counters,
        warnings: cycle.warnings ?? [],
      },
    }));
  }

  async function finish(customerId: string, cycle: CycleState, before: ReplicationStatus): Promise<void> {
    const at = now().toISOString();
    await store.updateStatus(customerId, (s) => ({
      ...s,
      lastSyncAt: at,
      ...(cycle.kind === 'full' ? { lastFullSyncAt: at } : {}),
      usersDelta: cycle.usersDelta ?? s.usersDelta,
      groupsDelta: cycle.groupsDelta ?? s.groupsDelta,
      // Teams users modified after the cycle began are read again by the next quick cycle.
      teamsSince: cycle.startedAt > (before.teamsSince ?? '') ? cycle.startedAt : before.teamsSince,
      counts: cycle.counts,
      lastCycle: {
        id: cycle.id,
        kind: cycle.kind,
        reason: cycle.reason,
        startedAt: cycle.startedAt,
        finishedAt: at,
        outcome: 'succeeded',
        message: null,
        counters: cycle.counters,
        warnings: cycle.warnings ?? [],
      },
      skipped: null,
      // A trigger noted after the cycle began but requested before it (a click handled as the cycle started) was
      // covered by it, and its message will find nothing to do: it is no longer waiting.
      ...(s.queuedAt && covers(cycle, { requestedAt: s.queuedAt, kind: s.queuedKind ?? 'full' })
        ? { queuedAt: null, queuedKind: null }
        : {}),
    }));
    // Before the checkpoint goes: a crash here leaves the cycle to be resumed, and its end is noted again then.
    await deps.noteReplicated(customerId, at);
    await deps.alarms.clear(REPLICATION_ALARM, credentialAlarmSource(customerId));
  }

  async function handle(raw: unknown): Promise<HandleOutcome> {
    const message = replicationMessageSchema.parse(raw);
    const { customerId } = message;
    if (message.type === 'trigger' && message.changeAt) {
      const last = await store.lastChange(customerId);
      if (last && last > message.changeAt) return 'superseded';
    }
    if (!(await deps.customerExists(customerId))) {
      await mirror.deleteCustomer(customerId);
      await store.forget(customerId);
      return 'gone';
    }
    const credential = await deps.credentials.get(customerId);
    if (!isVerified(credential)) {
      const why = credential
        ? `Authentication Status is ${VERIFICATION_STATUS_LABELS[credential.lastVerificationStatus]}${credential.lastVerificationMessage ? `: ${credential.lastVerificationMessage}` : ''}.`
        : 'The customer has no Microsoft 365 credentials yet.';
      await store.updateStatus(customerId, (s) => ({
        ...s,
        queuedAt: null,
        queuedKind: null,
        skipped: { at: now().toISOString(), message: `Replication skipped: ${why}` },
      }));
      return 'skipped';
    }

    const holder = randomUUID();
    const lease = await store.acquireCustomer(customerId, holder, settings.leaseSeconds);
    if (!lease) {
      if (message.type === 'continue') return 'busy';
      const running = await store.cycle(customerId);
      if (running && covers(running.value, message)) return 'covered';
      const until = await store.customerLeaseUntil(customerId);
      await enqueue(message, Math.max(5000, until - now().getTime()));
      return 'busy';
    }
    const leases: Lease[] = [lease];
    let continueWith: string | null = null;
    try {
      let checkpoint = await store.cycle(customerId);
      const status = (await store.status(customerId)) ?? emptyStatus(customerId);
      if (message.type === 'continue') {
        if (!checkpoint || checkpoint.value.id !== message.cycleId) return 'stale';
      } else if (!checkpoint) {
        const last = status.lastCycle;
        if (last && last.outcome === 'succeeded' && covers(last, message)) {
          await store.updateStatus(customerId, (s) => ({ ...s, queuedAt: null, queuedKind: null }));
          return 'covered';
        }
        // A quick cycle needs the links of a completed full one.
        const kind: CycleKind =
          message.kind === 'quick' && status.usersDelta && status.groupsDelta && status.teamsSince
            ? 'quick'
            : 'full';
        const cycle = newCycle(kind, message, status);
        const etag = await store.createCycle(customerId, cycle);
        if (!etag) return 'covered';
        checkpoint = { value: cycle, etag };
        await store.updateStatus(customerId, (s) => ({
          ...s,
          ...(kind === 'full'
            ? { lastFullStartedAt: cycle.startedAt }
            : { lastQuickStartedAt: cycle.startedAt }),
          queuedAt: null,
          queuedKind: null,
          skipped: null,
        }));
      } else if (!covers(checkpoint.value, message)) {
        // A paused cycle continues first; this trigger runs after it.
        await enqueue(message, 5000);
      }
      const slot = await store.acquireSlot(settings.maxParallelCycles, holder, settings.leaseSeconds);
      if (!slot) {
        await enqueue(
          { type: 'continue', customerId, cycleId: checkpoint.value.id },
          5000 + Math.random() * 10_000,
        );
        return 'waiting-for-slot';
      }
      leases.push(slot);
      const outcome = await runChunk(customerId, checkpoint, leases);
      if (outcome === 'paused') continueWith = checkpoint.value.id;
      return outcome;
    } finally {
      for (const held of leases.reverse()) await store.release(held);
      // After the leases are free, so that the continuation does not find its own customer busy.
      if (continueWith) await enqueue({ type: 'continue', customerId, cycleId: continueWith });
    }
  }

  return {
    handle,
    trigger,

    /**
     * QuickReplicationCycleDelay: a quick cycle runs once the customer has had no change for the delay. Each
     * change queues a trigger that shows up after the delay; a later change makes the earlier ones moot.
     */
    async noteCustomerChanged(customerId: string): Promise<void> {
      const at = now().toISOString();
      await store.noteChange(customerId, at);
      await enqueue(
        { type: 'trigger', customerId, kind: 'quick', reason: 'change', requestedAt: at, changeAt: at },
        settings.quickDelaySeconds * 1000,
      );
    },

    /** The credential service's hook: a customer verified for the first time (or again after a failure) replicates. */
    credentialsVerified: (customerId: string) =>
      queueFirstReplication({ store, queue: deps.queue, now }, customerId),

    /**
     * The timer: queues what is due — a first cycle nobody queued, the hourly full cycle, the five-minute quick
     * cycle — and the continuation of a cycle whose holder stopped making progress (it crashed, its lease ran out).
     */
    async tick(): Promise<{ queued: number; resumed: number }> {
      let queued = 0;
      let resumed = 0;
      const at = now().getTime();
      const quiet = (settings.leaseSeconds + settings.chunkSeconds) * 1000 + 60_000;
      for await (const credential of deps.credentialStore.list()) {
        // A wizard's credential has no customer until Submit releases it.
        if (!isVerified(credential) || credential.heldByWizardSession) continue;
        const { customerId } = credential;
        const running = await store.cycle(customerId);
        if (running) {
          const idle = at - Date.parse(running.value.lastProgressAt) > settings.leaseSeconds * 1000;
          if (idle && (await store.customerLeaseUntil(customerId)) === 0) {
            await enqueue({ type: 'continue', customerId, cycleId: running.value.id });
            resumed++;
          }
          continue;
        }
        const status = await store.status(customerId);
        if (status?.queuedAt && at - Date.parse(status.queuedAt) < quiet) continue;
        const since = (iso: string | null | undefined) =>
          iso ? at - Date.parse(iso) : Number.POSITIVE_INFINITY;
        if (!status?.lastSyncAt) {
          if (status?.lastCycle?.outcome === 'failed' && since(status.lastCycle.finishedAt) < quiet) continue;
          await trigger(customerId, 'full', 'initial');
        } else if (since(status.lastFullStartedAt) >= settings.fullIntervalSeconds * 1000) {
          await trigger(customerId, 'full', 'schedule');
        } else if (
          since(status.lastQuickStartedAt ?? status.lastFullStartedAt) >=
          settings.quickIntervalSeconds * 1000
        ) {
          await trigger(customerId, 'quick', 'schedule');
        } else {
          continue;
        }
        queued++;
      }
      return { queued, resumed };
    },

    async status(customerId: string) {
      const [status, cycle, credential, lastChange] = await Promise.all([
        store.status(customerId),
        store.cycle(customerId),
        deps.credentials.get(customerId),
        store.lastChange(customerId),
      ]);
      return {
        status: status ?? emptyStatus(customerId),
        cycle: cycle?.value ?? null,
        credential,
        lastChange,
      };
    },

    drift: (customerId: string) => store.drift<DriftReport>(customerId),
  };
}

export type ReplicationService = ReturnType<typeof createReplicationService>;
