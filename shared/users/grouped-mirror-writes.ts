import type { MirrorStore, MirrorUserUpdate } from '../replication/mirror-store.js';

/** Writes one user's update to the mirror, grouped with others of the same customer and source. */
export type MirrorWrite = (customerId: string, cycle: string, update: MirrorUserUpdate) => Promise<void>;

/** Users per grouped write: an index partition's share of it is one transaction (at most 100 actions). */
const MAX_USERS = 100;

/**
 * Mirror writes of applied day-two changes, many users at a time. A lone update is written at once; updates that
 * arrive while a write of the same customer and source is under way wait for it and go together in the next one,
 * as an import's rows, hundreds in flight, do. A user's row and its nine or so index rows are then one action each
 * of a few shared transactions instead of a dozen requests of its own. Each caller is answered when its update is
 * written, or with the error of the write that carried it.
 */
export function groupedMirrorWrites(mirror: Pick<MirrorStore, 'updateUsers'>): MirrorWrite {
  interface Waiting {
    readonly update: MirrorUserUpdate;
    readonly resolve: () => void;
    readonly reject: (error: unknown) => void;
  }
  interface Lane {
    readonly customerId: string;
    readonly cycle: string;
    readonly waiting: Waiting[];
    busy: boolean;
  }
  const lanes = new Map<string, Lane>();

  function pump(key: string, lane: Lane): void {
    if (lane.busy) return;
    if (lane.waiting.length === 0) {
      lanes.delete(key);
      return;
    }
    const batch = lane.waiting.splice(0, MAX_USERS);
    lane.busy = true;
    mirror
      .updateUsers(
        lane.customerId,
        batch.map((w) => w.update),
        lane.cycle,
      )
      .then(
        () => batch.forEach((w) => w.resolve()),
        (error: unknown) => batch.forEach((w) => w.reject(error)),
      )
      .finally(() => {
        lane.busy = false;
        pump(key, lane);
      });
  }

  return (customerId, cycle, update) =>
    new Promise<void>((resolve, reject) => {
      const key = `${customerId}\n${cycle}`;
      let lane = lanes.get(key);
      if (!lane) {
        lane = { customerId, cycle, waiting: [], busy: false };
        lanes.set(key, lane);
      }
      lane.waiting.push({ update, resolve, reject });
      pump(key, lane);
    });
}
