import type { Services } from '../platform/services.js';
import { replicationFor } from '../replication/replication-accessor.js';
import type { TaskState } from '../tasks/task-record.js';

/** The Tenants page's activity columns: "Queued commands", "Executing commands", "Replication in progress". */
export interface CustomerActivity {
  readonly queuedCommands: number;
  readonly executingCommands: number;
  readonly replicationInProgress: boolean;
}

/** More than this many shows as this many: the column says "busy", the Queued Tasks page has the rest. */
const COUNT_CAP = 100;

async function count(services: Services, customerId: string, state: TaskState): Promise<number> {
  const page = await services.taskEngine.list({ customerId, state, top: COUNT_CAP });
  return page.tasks.length;
}

export async function customerActivity(services: Services, customerId: string): Promise<CustomerActivity> {
  const [queued, reserved, executing, replication] = await Promise.all([
    count(services, customerId, 'Queued'),
    count(services, customerId, 'Reserved'),
    count(services, customerId, 'Executing'),
    replicationFor(services).status(customerId),
  ]);
  return {
    queuedCommands: queued,
    executingCommands: reserved + executing,
    replicationInProgress: replication.cycle !== null,
  };
}
