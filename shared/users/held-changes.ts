import type { MirrorStore } from '../replication/mirror-store.js';
import { withChange } from './user-change-fields.js';
import type { UserChangeStore } from './user-change-store.js';

/**
 * The mirror as replication writes it: a user's just-applied values (held for a while after each change, see
 * DEFAULT_HOLD_MS) are kept over what a cycle read from Teams, so that a cycle that read before a change landed,
 * or a Teams read that does not show the change yet, never puts a stale value back in the list and details.
 * Only writes of users pass through here; the user-change engine writes the mirror directly.
 */
export function withHeldChanges(
  mirror: MirrorStore,
  store: Pick<UserChangeStore, 'allHolds'>,
  now: () => Date = () => new Date(),
): MirrorStore {
  return {
    ...mirror,
    async putUsers(customerId, users, cycle) {
      if (users.length === 0) return;
      const holds = await store.allHolds(customerId, now());
      if (holds.size === 0) return mirror.putUsers(customerId, users, cycle);
      const kept = users.map((user) =>
        Object.values(holds.get(user.id) ?? {}).reduce(
          (result, held) => withChange(result, held.change),
          user,
        ),
      );
      return mirror.putUsers(customerId, kept, cycle);
    },
  };
}
