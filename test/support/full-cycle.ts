import { type CycleState, EMPTY_COUNTS, emptyCounters } from '../../shared/replication/replication-store.js';

/** A full cycle queued by hand just now, before its first chunk: where the cycle-runner tests start. */
export function newFullCycle(id: string): CycleState {
  const at = new Date().toISOString();
  return {
    id,
    kind: 'full',
    reason: 'manual',
    requestedAt: at,
    startedAt: at,
    phase: 'users-latest',
    next: null,
    phasePage: 0,
    counters: emptyCounters(),
    usersDelta: null,
    groupsDelta: null,
    counts: EMPTY_COUNTS,
    lastProgressAt: at,
    failures: 0,
    lastError: null,
  };
}
