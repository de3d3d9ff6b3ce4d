import type { ReplicationService } from '../replication/replication-service.js';
import type { TaskEngine } from '../tasks/task-engine.js';
import type { TaskState } from '../tasks/task-record.js';

/** The Tenants page's activity columns: "Queued commands", "Executing commands", "Replication in progress". */
export interface CustomerActivity {
  readonly queuedCommands: number;
  readonly executingCommands: number;
  readonly replicationInProgress: boolean;
}

/** More than this many shows as this many: the column says "busy", the Queued Tasks page has the rest. */
const COUNT_CAP = 100;

export interface CustomerActivityDeps {
  readonly taskEngine: Pick<TaskEngine, 'list'>;
  readonly replication: Pick<ReplicationService, 'status'>;
}

async function count(services: CustomerActivityDeps, customerId: string, state: TaskState): Promise<number> {
  const page = await services.taskEngine.list({ customerId, state, top: COUNT_CAP });
  return page.tasks.length;
}

export async function customerActivity(
  services: CustomerActivityDeps,
  customerId: string,
): Promise<CustomerActivity> {
  const [queued, reserved, executing, replication] = await Promise.all([
    count(services, customerId, 'queued'),
    count(services, customerId, 'reserved'),
    count(services, customerId, 'executing'),
    services.replication.status(customerId),
  ]);
  return {
    queuedCommands: queued,
    executingCommands: reserved + executing,
    replicationInProgress: replication.cycle !== null,
  };
}
