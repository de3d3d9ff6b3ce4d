import type { TaskFinishedEvent } from '../tasks/task-engine.js';
import type { AlarmService } from './alarm-service.js';
import { TASK_FAILED_ALARM, taskAlarmSource } from './alarm-kinds.js';

/**
 * The task engine's `onFinished`: a task that ends FinishFailure raises "Task failed"; the same task succeeding
 * (a re-run), being cancelled by an operator or deleted clears it.
 */
export function taskAlarms(alarms: AlarmService): (event: TaskFinishedEvent) => Promise<void> {
  return async ({ task, outcome }) => {
    const source = taskAlarmSource(task.id);
    if (outcome !== 'failed') {
      await alarms.clear(TASK_FAILED_ALARM, source);
      return;
    }
    const failedStep = task.steps.find((step) => step.state === 'failed')?.name;
    await alarms.raise({
      name: TASK_FAILED_ALARM,
      severity: 'major',
      source,
      text:
        `${task.dryRun ? 'Dry run of task' : 'Task'} ${task.type} for customer ${task.customerId} failed` +
        `${failedStep ? ` at step ${failedStep}` : ''}: ${task.result ?? 'no result recorded'}`,
    });
  };
}
