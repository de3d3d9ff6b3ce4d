import { describe, expect, it } from 'vitest';
import { updatePrefixesTask } from '../../shared/dialplan/dialplan-task.js';
import { SbcError } from '../../shared/sbc/sbc-client.js';
import { SbcDialPlanError } from '../../shared/sbc/sbc-dial-plans.js';
import { PermanentTaskError, TransientTaskError } from '../../shared/tasks/task-definition.js';

describe('SbcUpdatePrefixes errors', () => {
  it('stops on dial plans the SBC answers unreadably, and retries a busy SBC', () => {
    const unreadable = updatePrefixesTask.classifyError?.(
      new SbcDialPlanError("The SBC's CLI script lists a dial plan without a name."),
    );
    expect(unreadable).toBeInstanceOf(PermanentTaskError);
    expect(unreadable?.message).toBe("The SBC's CLI script lists a dial plan without a name.");
    const busy = updatePrefixesTask.classifyError?.(
      new SbcError('PUT: 409 busy', 409, 'busy', undefined, true),
    );
    expect(busy).toBeInstanceOf(TransientTaskError);
  });
});
