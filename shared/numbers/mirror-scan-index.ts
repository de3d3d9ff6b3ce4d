import type { MirrorStore } from '../replication/mirror-store.js';
import type { MirrorNumberIndex, NumberHolder } from '../users/ports.js';
import { parseTel } from './tel.js';

/**
 * Interim: the mirror's users by number, read by paging through every user of the customer. The mirror's own
 * index (`usersWithNumbersBetween` on the mirror store, issue 11 item 1) replaces it at the composition root.
 */
export function mirrorScanIndex(mirror: Pick<MirrorStore, 'listUsers'>): MirrorNumberIndex {
  return {
    async usersWithNumbersBetween(customerId, from, to) {
      const low = BigInt(from.replace(/^\+/, ''));
      const high = BigInt(to.replace(/^\+/, ''));
      const holders: Array<NumberHolder & { readonly n: bigint }> = [];
      let page = await mirror.listUsers(customerId, 1000);
      for (;;) {
        for (const user of page.items) {
          const tel = user.lineUri ? parseTel(user.lineUri) : null;
          if (!tel || !user.lineUri) continue;
          const n = BigInt(tel.digits);
          if (n < low || n > high) continue;
          holders.push({
            userId: user.id,
            userPrincipalName: user.userPrincipalName,
            displayName: user.displayName,
            lineUri: user.lineUri,
            n,
          });
        }
        if (!page.next) break;
        page = await mirror.listUsers(customerId, 1000, page.next);
      }
      return holders
        .sort((a, b) => (a.n < b.n ? -1 : a.n > b.n ? 1 : 0))
        .map(({ n: _n, ...holder }) => holder);
    },
  };
}
