import { createHash } from 'node:crypto';
import type { CustomerService } from '../customers/customer-service.js';
import type { RemovedCustomers } from '../customers/removed-customers.js';
import type { TaskStore } from '../tasks/task-store.js';
import type { CustomerPurge } from './customer-purge.js';

export interface LegacyRemovalDeps {
  readonly tasks: Pick<TaskStore, 'list'>;
  readonly removed: Pick<RemovedCustomers, 'releasedAt' | 'record'>;
  readonly purge: Pick<CustomerPurge, 'parts'>;
}

const PAGE = 100;

/** A uid for a removal that recorded none: the same from every host and every retry, since it comes from its task. */
function uidOfRemovalTask(taskId: string): string {
  const h = createHash('sha256').update(`legacy-removal:${taskId}`).digest('hex');
  const variant = ((Number.parseInt(h.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Customers removed before removals purged and recorded what they left (docs/decisions.md, 69) left their tasks,
 * audit, directory and data under the Short Name, and no removal record. Before a customer of such a name is created,
 * its finished TenantRemove task tells when the name was released: that is recorded as the removal (so the new
 * customer's task list and audit start after it, and the provider reads the old ones under /removed-customers), and
 * what the purge deletes is deleted — but for what may already be the new customer's (its invitation, consent and
 * wizard session, written before it exists). Once recorded, the name is never looked at again.
 */
export async function settleLegacyRemoval(deps: LegacyRemovalDeps, shortName: string): Promise<void> {
  if ((await deps.removed.releasedAt(shortName)) !== null) return;
  let after: string | undefined;
  for (;;) {
    const page = await deps.tasks.list({
      customerId: shortName,
      state: 'finish-success',
      top: PAGE,
      ...(after ? { after } : {}),
    });
    // Newest first: the last removal is the one the name was released by.
    const removal = page.tasks.find((task) => task.type === 'TenantRemove' && !task.dryRun);
    if (removal) {
      for (const part of deps.purge.parts) if (!part.precedesCustomer) await part.forget(shortName);
      await deps.removed.record(
        { uid: uidOfRemovalTask(removal.id), shortName, fullName: shortName, createdAt: removal.createdAt },
        removal.finishedAt ?? removal.createdAt,
      );
      return;
    }
    if (!page.nextKey) return;
    after = page.nextKey;
  }
}

/** The customer service, settling a legacy removal of the Short Name before each create. */
export function withLegacyRemovals(customers: CustomerService, deps: LegacyRemovalDeps): CustomerService {
  return {
    ...customers,
    async create(input) {
      await settleLegacyRemoval(deps, input.shortName);
      return customers.create(input);
    },
  };
}
