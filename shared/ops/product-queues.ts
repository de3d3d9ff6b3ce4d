import { CREDENTIAL_VERIFY_QUEUE } from '../credentials/credential.js';
import { EMAIL_OUTBOX_QUEUE } from '../email/outbox-queue.js';
import { REPLICATION_QUEUE } from '../replication/replication-store.js';
import { TASKS_QUEUE } from '../tasks/task-engine.js';

/** Every queue the product uses (infra/main.bicep `queueNames`; test/ops/health.test.ts keeps both in step). */
export const PRODUCT_QUEUES: readonly string[] = [
  EMAIL_OUTBOX_QUEUE,
  CREDENTIAL_VERIFY_QUEUE,
  TASKS_QUEUE,
  REPLICATION_QUEUE,
];

/** Where the Functions host moves a message after its last failed delivery (maxDequeueCount, 5). */
export function poisonQueueOf(queue: string): string {
  return `${queue}-poison`;
}
