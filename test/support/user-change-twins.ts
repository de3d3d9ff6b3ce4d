import { domainErrors } from '../../shared/errors/domain-errors.js';
import type { NumberGuard } from '../../shared/users/ports.js';
import {
  USER_POLICY_TYPES,
  type UserChange,
  type UserChangeApplier,
  type UserChangeTarget,
} from '../../shared/users/user-change.js';

export interface AppliedCall {
  readonly target: UserChangeTarget;
  readonly change: UserChange;
}

/**
 * The user-change applier's memory twin: records every change it is asked to apply, and fails the next ones on
 * demand (`failNext`), as Teams' throttling or a refused number would.
 */
export function recordingApplier(): UserChangeApplier & {
  readonly calls: AppliedCall[];
  failNext(error: Error, when?: (change: UserChange) => boolean): void;
} {
  const calls: AppliedCall[] = [];
  const failures: Array<{ error: Error; when: (change: UserChange) => boolean }> = [];
  return {
    calls,
    failNext(error, when = () => true) {
      failures.push({ error, when });
    },
    render(target, change) {
      const id = `-Identity "${target.userPrincipalName}"`;
      switch (change.field) {
        case 'line-uri':
          return `Set-CsPhoneNumberAssignment ${id} -PhoneNumber ${change.value ?? '$null'}`;
        case 'enterprise-voice':
          return `Set-CsPhoneNumberAssignment ${id} -EnterpriseVoiceEnabled $${change.value}`;
        case 'usage-location':
          return `Update-MgUser -UserId ${target.userId} -UsageLocation ${change.value ?? '$null'}`;
        case 'policy':
          return `${USER_POLICY_TYPES[change.policyType].cmdlet} ${id} -PolicyName ${change.value ?? '$null'}`;
      }
    },
    async apply(target, change) {
      const index = failures.findIndex((f) => f.when(change));
      if (index >= 0) {
        const [failure] = failures.splice(index, 1);
        if (failure) throw failure.error;
      }
      calls.push({ target, change });
    },
  };
}

/** A number guard over fixed facts: numbers held by users, reserved numbers, and one range. */
export function simpleNumberGuard(facts: {
  readonly held?: Readonly<Record<string, string>>;
  readonly reserved?: readonly string[];
  readonly range: { readonly id: string; readonly from: number; readonly to: number };
}): NumberGuard {
  const digits = (lineUri: string) => Number(lineUri.replace(/^tel:\+/, '').replace(/;ext=.*$/, ''));
  return {
    async assertAssignable(_customerId, userId, lineUri) {
      const holder = facts.held?.[lineUri];
      if (holder && holder !== userId) {
        throw domainErrors.conflict('number_in_use', 'Number in use', `${lineUri} is assigned to ${holder}.`);
      }
      if (facts.reserved?.includes(lineUri)) {
        throw domainErrors.conflict('number_reserved', 'Number reserved', `${lineUri} is reserved.`);
      }
      const n = digits(lineUri);
      if (n < facts.range.from || n > facts.range.to) {
        throw domainErrors.conflict(
          'number_outside_ranges',
          'Number outside ranges',
          `${lineUri} is in no range.`,
        );
      }
    },
    async nextFree(_customerId, rangeId) {
      if (rangeId !== facts.range.id) throw domainErrors.notFound(`There is no number range ${rangeId}.`);
      for (let n = facts.range.from; n <= facts.range.to; n++) {
        const uri = `tel:+${n}`;
        if (!facts.held?.[uri] && !facts.reserved?.includes(uri)) return uri;
      }
      throw domainErrors.conflict(
        'number_outside_ranges',
        'Range full',
        `Range ${rangeId} has no free number.`,
      );
    },
  };
}
