import { updatePrefixesTask } from '../dialplan/dialplan-task.js';
import { ONBOARDING_TASKS } from '../onboarding/tasks/onboarding-tasks.js';
import type { Services } from '../platform/services.js';
import type { AnyTaskDefinition } from './task-definition.js';

/** Every task the engine runs. */
export const TASK_DEFINITIONS: readonly AnyTaskDefinition<Services>[] = [
  ...(ONBOARDING_TASKS as readonly unknown[] as readonly AnyTaskDefinition<Services>[]),
  updatePrefixesTask as unknown as AnyTaskDefinition<Services>,
];
