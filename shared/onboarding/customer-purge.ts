import type { AlarmService } from '../alarms/alarm-service.js';
import type { ConsentFlowStore } from '../consent/consent-flow-store.js';
import { credentialAlarmSource } from '../credentials/credential-service.js';
import type { RemovedCustomers } from '../customers/removed-customers.js';
import { shortNameKey } from '../customers/short-name.js';
import type { PrefixCacheStore } from '../dialplan/prefix-cache-store.js';
import type { InvitationStore } from '../invitations/invitation-store.js';
import type { LicenseStore } from '../licenses/license-store.js';
import type { MirrorStore } from '../replication/mirror-store.js';
import type { ReplicationStore } from '../replication/replication-store.js';
import type { TaskStore } from '../tasks/task-store.js';

/** The lease holder of a removal: the same on every run of its step, so a re-run takes its own lease again. */
const REMOVAL_HOLDER = 'customer-removal';
/** Longer than any removal's remaining steps: the lease is deleted with the customer, not left to run out. */
const REMOVAL_LEASE_SECONDS = 24 * 60 * 60;

/** One kind of data kept under the customer's Short Name, as the removal log names it. */
export interface CustomerDataPart {
  /** The log's noun, e.g. "Invitation and its links". */
  readonly what: string;
  /** Deletes it; idempotent. Returns the rows deleted (0 on a re-run). */
  forget(customerId: string): Promise<number>;
  /**
   * Written for a Short Name before its customer exists (the wizard's session, an invitation and its consent), so
   * it may be the next customer's already: only a removal deletes it, never the clean-up before a create.
   */
  readonly precedesCustomer?: true;
}

/**
 * What removal deletes of a customer before its Short Name is released (docs/decisions.md, 69): everything stored
 * under the name but the task history and the audit, which stay the provider's (RemovedCustomers).
 */
export interface CustomerPurge {
  /**
   * Takes the customer's replication lease for the rest of the removal, so that no cycle writes its directory again
   * after the purge; false while a cycle holds it.
   */
  holdReplication(customerId: string): Promise<boolean>;
  readonly parts: readonly CustomerDataPart[];
  /** Records the customer as removed: from now on its Short Name's next customer sees none of its history. */
  readonly removed: Pick<RemovedCustomers, 'record'>;
  /** Once the customer is gone: its replication lease, the last row under its name. */
  releaseReplication(customerId: string): Promise<void>;
}

export interface CustomerPurgeDeps {
  readonly replication: Pick<ReplicationStore, 'acquireCustomer' | 'forget'>;
  readonly mirror: Pick<MirrorStore, 'deleteCustomer'>;
  readonly voiceChanges: { forgetCustomer(customerId: string): Promise<number> };
  readonly prefixCache: Pick<PrefixCacheStore, 'forgetCustomer'>;
  readonly licenses: Pick<LicenseStore, 'forgetCustomer'>;
  readonly invitations: Pick<InvitationStore, 'forget'>;
  readonly consentFlows: Pick<ConsentFlowStore, 'forgetCustomer'>;
  readonly wizardSessions: { forgetCustomer(customerId: string): Promise<number> };
  readonly userChanges: { forgetCustomer(customerId: string): Promise<number> };
  readonly userImports: { forgetCustomer(customerId: string): Promise<number> };
  readonly userTemplates: { forgetCustomer(customerId: string): Promise<number> };
  readonly numbers: { forgetCustomer(customerId: string): Promise<number> };
  readonly tasks: Pick<TaskStore, 'forgetIdempotencyKeys'>;
  readonly alarms: Pick<AlarmService, 'list' | 'clear'>;
  readonly removed: Pick<RemovedCustomers, 'record'>;
}

export function createCustomerPurge(deps: CustomerPurgeDeps): CustomerPurge {
  const parts: CustomerDataPart[] = [
    {
      what: 'Replicated directory and replication status',
      async forget(customerId) {
        await deps.mirror.deleteCustomer(customerId);
        await deps.replication.forget(customerId, { keepLease: true });
        return 0;
      },
    },
    { what: 'Voice changes and desired state', forget: (id) => deps.voiceChanges.forgetCustomer(id) },
    { what: 'Users’ changes and their audit', forget: (id) => deps.userChanges.forgetCustomer(id) },
    { what: 'User imports', forget: (id) => deps.userImports.forgetCustomer(id) },
    {
      what: 'User templates and lifecycle bindings',
      forget: (id) => deps.userTemplates.forgetCustomer(id),
    },
    { what: 'Number ranges and reserved numbers', forget: (id) => deps.numbers.forgetCustomer(id) },
    { what: 'Dial-plan prefix cache', forget: (id) => deps.prefixCache.forgetCustomer(id) },
    { what: 'License factors and usage history', forget: (id) => deps.licenses.forgetCustomer(id) },
    {
      what: 'Invitation and its links',
      forget: (id) => deps.invitations.forget(id),
      precedesCustomer: true,
    },
    { what: 'Consent flows', forget: (id) => deps.consentFlows.forgetCustomer(id), precedesCustomer: true },
    {
      what: 'Wizard sessions',
      forget: (id) => deps.wizardSessions.forgetCustomer(id),
      precedesCustomer: true,
    },
    { what: 'Idempotency keys of its tasks', forget: (id) => deps.tasks.forgetIdempotencyKeys(id) },
    {
      // Cleared, not deleted: the provider's alarm history; one raised again for a later customer is a new occurrence.
      what: 'Alarms about the customer',
      async forget(customerId) {
        const source = shortNameKey(credentialAlarmSource(customerId));
        let cleared = 0;
        for (const alarm of await deps.alarms.list({ activeOnly: true })) {
          if (shortNameKey(alarm.source) !== source) continue;
          await deps.alarms.clear(alarm.name, alarm.source);
          cleared++;
        }
        return cleared;
      },
    },
  ];
  return {
    async holdReplication(customerId) {
      return (
        (await deps.replication.acquireCustomer(customerId, REMOVAL_HOLDER, REMOVAL_LEASE_SECONDS)) !== null
      );
    },
    parts,
    removed: deps.removed,
    releaseReplication: (customerId) => deps.replication.forget(customerId),
  };
}
