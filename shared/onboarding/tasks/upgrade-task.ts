import { z } from 'zod';
import {
  AUTHENTICATION_METHOD_LABELS,
  type CustomerCredential,
  VERIFICATION_STATUS_LABELS,
} from '../../credentials/credential.js';
import type { CredentialService } from '../../credentials/credential-service.js';
import type { CustomerService } from '../../customers/customer-service.js';
import {
  LICENSE_TYPE_LABELS,
  refuseUnlessEssentials,
  refuseWhileBeingRemoved,
  UPGRADE_LICENSE_TYPES,
} from '../../customers/customer.js';
import { nullIfNotFound } from '../../errors/not-found.js';
import type { InvitationService } from '../../invitations/invitation-service.js';
import {
  defineTask,
  PermanentTaskError,
  type TaskChange,
  type TaskStep,
} from '../../tasks/task-definition.js';

/** How the customer's tenant is connected for the upgrade: the wizard's M365 Authentication choice. */
export const UPGRADE_CONNECTIONS = ['invite', 'app-registration', 'connected'] as const;

export const upgradeTaskInputSchema = z.strictObject({
  customerId: z.string().min(1).max(64),
  licenseType: z.enum(UPGRADE_LICENSE_TYPES),
  licensedUsers: z.number().int().min(1),
  /** invite: the IT administrator was emailed a link; the others were connected before the task was queued. */
  connection: z.enum(UPGRADE_CONNECTIONS),
});
export type UpgradeTaskInput = z.output<typeof upgradeTaskInputSchema>;

/** What TenantUpgrade's steps talk to. */
export interface UpgradeTaskPorts {
  readonly customers: Pick<CustomerService, 'get' | 'upgrade'>;
  readonly credentials: Pick<CredentialService, 'get'>;
  readonly invitations: Pick<InvitationService, 'state'>;
}

type UpgradeStep = TaskStep<UpgradeTaskInput, Record<string, unknown>, UpgradeTaskPorts>;

/** How often the consent step looks whether the customer's IT administrator has authenticated. */
export const CONSENT_POLL_MS = 60_000;

const DONE = { done: true } as const;

/** A credential the upgrade can use: the customer's own (not a wizard's), verified. */
export const usableCredential = (credential: CustomerCredential | null): boolean =>
  credential !== null &&
  credential.heldByWizardSession === null &&
  credential.lastVerificationStatus === 'successful';

const start: UpgradeStep = {
  name: 'Start',
  async run(ctx) {
    ctx.log('-- UpgradeCustomer task started --');
    const customer = await nullIfNotFound(ctx.ports.customers.get(ctx.input.customerId));
    if (!customer) throw new PermanentTaskError(`There is no customer "${ctx.input.customerId}".`);
    // A run after a crash (or a re-run) finds the customer upgraded already: the steps after this one settle.
    if (customer.licenseType !== ctx.input.licenseType) {
      refuseWhileBeingRemoved(customer);
      refuseUnlessEssentials(customer);
    }
    ctx.log(
      `Upgrading ${customer.shortName} from ${LICENSE_TYPE_LABELS[customer.licenseType]} to ` +
        `${LICENSE_TYPE_LABELS[ctx.input.licenseType]} with ${ctx.input.licensedUsers} licensed users.`,
    );
    return DONE;
  },
};

/** The consent the higher tier needs: the customer's Microsoft 365 tenant connected with verified credentials. */
const connectM365: UpgradeStep = {
  name: 'ConnectM365',
  async run(ctx) {
    const { customerId } = ctx.input;
    // A Delete while the upgrade waits for the consent ends the upgrade at its next look: the removal runs then.
    const customer = await nullIfNotFound(ctx.ports.customers.get(customerId));
    if (!customer) throw new PermanentTaskError(`There is no customer "${customerId}".`);
    refuseWhileBeingRemoved(customer);
    const credential = await ctx.ports.credentials.get(customerId);
    if (credential && usableCredential(credential)) {
      ctx.log(
        `Microsoft 365 tenant ${credential.tenantId} connected (${AUTHENTICATION_METHOD_LABELS[credential.method]}).`,
      );
      return DONE;
    }
    if (ctx.input.connection === 'invite') {
      const state = await ctx.ports.invitations.state(customerId);
      if (state === 'valid' || state === 'completed') {
        return {
          wait: {
            reason:
              "Waits for the customer's IT administrator to authenticate through the invitation's link; the " +
              'customer stays on its License Type until then.',
            resumeOn: { afterMs: CONSENT_POLL_MS },
          },
        };
      }
      throw new PermanentTaskError(
        `The invitation to authenticate is ${state}: the customer's Microsoft 365 tenant was not connected, and ` +
          'the customer stays on its License Type. Start the upgrade again with a new invitation.',
      );
    }
    throw new PermanentTaskError(
      credential
        ? `The customer's Microsoft 365 credentials are not verified (${VERIFICATION_STATUS_LABELS[credential.lastVerificationStatus]}); check them under Authentication Status and re-run the task.`
        : 'The customer has no Microsoft 365 credentials; start the upgrade again with an M365 Authentication choice.',
    );
  },
};

/** The tier change: License Type and Licensed Users, the licenses taken from the pool in the same write. */
const upgradeLicense: UpgradeStep = {
  name: 'UpgradeLicense',
  async prepare(ctx) {
    const { customerId, licenseType, licensedUsers } = ctx.input;
    const change: TaskChange = {
      kind: 'store',
      description: `License Type ${LICENSE_TYPE_LABELS[licenseType]}, Licensed Users ${licensedUsers}`,
      detail: { licenseType, licensedUsers },
    };
    return {
      changes: [change],
      async apply() {
        // Refused as a whole when the pool no longer has the licenses: the customer keeps its License Type.
        await ctx.ports.customers.upgrade(customerId, { licenseType, licensedUsers });
        ctx.applied(change);
        ctx.log('Tenant definition updated');
        return DONE;
      },
    };
  },
};

const finish: UpgradeStep = {
  name: 'Finish',
  async run(ctx) {
    ctx.log('Customer configuration updated.');
    ctx.log('-- UpgradeCustomer task completed --');
    return DONE;
  },
};

/**
 * Upgrade Customer: a Hosted Essentials customer becomes Hosted Essentials + or Hosted Pro once its tenant is
 * connected; its other tasks wait meanwhile (Queue Postponed due to customer upgrade).
 */
export const upgradeCustomerTask = defineTask<UpgradeTaskInput, Record<string, unknown>, UpgradeTaskPorts>({
  type: 'TenantUpgrade',
  input: upgradeTaskInputSchema,
  steps: [start, connectM365, upgradeLicense, finish],
  postponesCustomerTasks: true,
});
