/**
 * The alarms the product raises itself, by stable name (what the list shows and runbooks refer to). Each is raised
 * by its cause and cleared when the cause is gone; docs/operations.md says what each means and what to do.
 * Credential and replication failures are raised where they happen: CREDENTIAL_ALARM, REPLICATION_ALARM.
 */
export const TASK_FAILED_ALARM = 'Task failed';
export const SBC_UNREACHABLE_ALARM = 'SBC unreachable';
export const QUEUE_POISONED_ALARM = 'Queue messages poisoned';
export const USER_LICENSE_THRESHOLD_ALARM = 'User License Threshold';
/** A customer's Licensed Users (and grace licenses) ran out: provisioning refused users (shared/licenses/license-gate.ts). */
export const CUSTOMER_LICENSE_EXHAUSTED_ALARM = 'Customer License Exhausted';
/** A customer is over its Licensed Users, on the Grace Interval's licenses or past their period. */
export const CUSTOMER_LICENSE_GRACE_ALARM = 'Customer License Grace';

export const taskAlarmSource = (taskId: string) => `task:${taskId}`;
export const sbcAlarmSource = (sbcId: string) => `sbc:${sbcId}`;
export const queueAlarmSource = (queue: string) => `queue:${queue}`;
export const LICENSE_ALARM_SOURCE = 'license:users';
export const customerLicenseAlarmSource = (customerId: string) => `customer:${customerId}`;
