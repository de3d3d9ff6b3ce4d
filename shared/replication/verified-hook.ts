import { createJsonQueue } from '../storage/json-queue.js';
import { createReplicationStore, REPLICATION_QUEUE } from './replication-store.js';
import { queueFirstReplication, type ReplicationMessage } from './replication-service.js';

/**
 * What the credential service calls when a customer's credentials are verified: queue the customer's first
 * replication. Built from the storage connection alone, since the services are still being assembled then.
 */
export function replicationOnVerified(connectionString: string): (customerId: string) => Promise<void> {
  const deps = {
    store: createReplicationStore(connectionString),
    queue: createJsonQueue<ReplicationMessage>(connectionString, REPLICATION_QUEUE),
    now: () => new Date(),
  };
  return (customerId) => queueFirstReplication(deps, customerId);
}
