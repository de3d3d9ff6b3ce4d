import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * A check every outbound call makes before it leaves: the task engine sets one around a step, so that a holder
 * that lost its task's lease (another host took the task over) changes nothing more in a tenant, a zone or an SBC,
 * whichever adapter the step calls through. Outside a guarded section there is no check.
 */
const guards = new AsyncLocalStorage<() => void>();

export function withOutboundGuard<T>(check: () => void, body: () => Promise<T>): Promise<T> {
  return guards.run(check, body);
}

/** Throws what the current guard throws; nothing outside a guarded section. */
export function checkOutbound(): void {
  guards.getStore()?.();
}
