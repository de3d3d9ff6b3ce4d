import type { TaskFinishedEvent } from '../tasks/task-engine.js';
import type { AlarmService } from './alarm-service.js';
import { TASK_FAILED_ALARM, taskAlarmSource } from './alarm-kinds.js';

/**
 * The task engine's `onFinished`: a task that ends FinishFailure raises "Task failed"; the same task succeeding
 * (a re-run), being cancelled by an operator or deleted clears it. A dry run changes nothing and is watched by the
 * operator who started it: its failure is in its result, never an alarm.
 */
export function taskAlarms(alarms: AlarmService): (event: TaskFinishedEvent) => Promise<void> {
  return async ({ task, outcome }) => {
    const source = taskAlarmSource(task.id);
    if (outcome !== 'failed') {
      await alarms.clear(TASK_FAILED_ALARM, source);
      return;
    }
    if (task.dryRun) return;
    await alarms.raise({ name: TASK_FAILED_ALARM, severity: 'major', source, text: taskFailedText(task) });
  };
}

/**
 * What failed and where, in one sentence. The task's result is left out: for an SBC step it carries the CLI
 * transcript, which the task log keeps.
 */
export function taskFailedText(task: TaskFinishedEvent['task']): string {
  const failedStep = task.steps.find((step) => step.state === 'failed')?.name;
  return (
    `Task ${task.type} for customer ${task.customerId} failed` +
    `${failedStep ? ` at step ${failedStep}` : ''}; its log has the details.`
  );
}
