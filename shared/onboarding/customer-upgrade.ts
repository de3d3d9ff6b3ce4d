import { z } from 'zod';
import type { CredentialService } from '../credentials/credential-service.js';
import type { CustomerService } from '../customers/customer-service.js';
import { type CustomerUpgrade, customerUpgradeSchema } from '../customers/customer.js';
import { DomainError } from '../errors/domain-errors.js';
import type { InvitationService } from '../invitations/invitation-service.js';
import type { TaskEngine } from '../tasks/task-engine.js';
import type { TaskRecord } from '../tasks/task-record.js';
import { appRegistrationMethodSchema, inviteMethodSchema } from './m365-authentication.js';
import { type UpgradeTaskInput, usableCredential } from './tasks/upgrade-task.js';

/** The wizard's M365 Authentication choice, for an existing customer: an invitation or a known app registration. */
export const upgradeAuthenticationSchema = z.discriminatedUnion(
  'method',
  [inviteMethodSchema, appRegistrationMethodSchema],
  { error: 'method must be "invite" or "app-registration".' },
);

export const upgradeRequestSchema = customerUpgradeSchema
  .extend({
    m365Authentication: upgradeAuthenticationSchema.optional().meta({
      description:
        "How the customer's Microsoft 365 tenant is connected; left out, the customer's verified credentials are used.",
    }),
  })
  .meta({ id: 'CustomerUpgrade' });
export type UpgradeRequest = z.output<typeof upgradeRequestSchema>;

export interface CustomerUpgradeService {
  /**
   * Upgrade Customer: checks the customer and the license pool, connects the tenant (or emails the invitation),
   * and queues TenantUpgrade, which changes the tier once the tenant is connected.
   */
  start(customerId: string, request: UpgradeRequest): Promise<TaskRecord>;
}

export interface CustomerUpgradeDeps {
  readonly customers: Pick<CustomerService, 'checkUpgrade'>;
  readonly credentials: Pick<CredentialService, 'get' | 'connectAppRegistration'>;
  readonly invitations: Pick<InvitationService, 'invite'>;
  readonly taskEngine: Pick<TaskEngine, 'start' | 'unfinished'>;
}

export function createCustomerUpgradeService(deps: CustomerUpgradeDeps): CustomerUpgradeService {
  return {
    async start(customerId, { m365Authentication, ...tier }) {
      const upgrade: CustomerUpgrade = tier;
      // Everything that refuses the upgrade is checked before anything is connected, emailed or queued.
      const customer = await deps.customers.checkUpgrade(customerId, upgrade);
      const [running] = await deps.taskEngine.unfinished(customer.shortName, 'TenantUpgrade');
      if (running) {
        throw new DomainError('conflict', {
          code: 'customer_upgrade_running',
          title: 'The customer is being upgraded',
          detail: `Customer "${customer.shortName}" is being upgraded by task ${running.id}; wait for it to finish or cancel it.`,
          taskId: running.id,
        });
      }
      let connection: UpgradeTaskInput['connection'];
      if (m365Authentication?.method === 'app-registration') {
        // Validated before it is stored: a registration that yields no tokens stores nothing and queues nothing.
        const { tenantId, clientId, clientSecret } = m365Authentication;
        await deps.credentials.connectAppRegistration(customer.shortName, {
          tenantId,
          clientId,
          clientSecret,
        });
        connection = 'app-registration';
      } else if (m365Authentication?.method === 'invite') {
        await deps.invitations.invite(
          { shortName: customer.shortName, fullName: customer.fullName, ...upgrade },
          m365Authentication.invitationEmail,
          'request',
        );
        connection = 'invite';
      } else {
        if (!usableCredential(await deps.credentials.get(customer.shortName))) {
          throw new DomainError('conflict', {
            code: 'm365_not_connected',
            title: 'Microsoft 365 not connected',
            detail: `Customer "${customer.shortName}" has no verified Microsoft 365 credentials: choose the M365 Authentication (m365Authentication) for the upgrade.`,
          });
        }
        connection = 'connected';
      }
      const input: UpgradeTaskInput = { customerId: customer.shortName, ...upgrade, connection };
      return deps.taskEngine.start({ type: 'TenantUpgrade', customerId: customer.shortName, input });
    },
  };
}
