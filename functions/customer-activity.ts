import type { CustomerActivityRecorder } from '../shared/customers/customer-activity.js';
import { defineTimer } from '../shared/platform/background.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import { productLog } from '../shared/platform/product-log.js';

export interface CustomerActivityFunctionsDeps {
  readonly customerActivity: Pick<CustomerActivityRecorder, 'reconcile'>;
}

/**
 * Every ten minutes, recomputes each customer's summary (the Tenants list's activity columns, last replication and
 * channel) from the tasks, the replication checkpoint and the channel grant, and repairs what a lost note left
 * wrong: the summary's writers are best effort, this is its safety net.
 */
export function createCustomerActivityFunctions(
  services: CustomerActivityFunctionsDeps,
): FunctionDefinition[] {
  return [
    defineTimer({
      name: 'customers-summary-reconcile',
      schedule: '0 */10 * * * *',
      run: async (context) => {
        const repaired = await services.customerActivity.reconcile();
        if (repaired > 0) productLog(context, 'warn', `Repaired the summary of ${repaired} customer(s).`);
      },
    }),
  ];
}
