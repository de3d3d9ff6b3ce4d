import type { MirrorUser } from '../replication/mirror-user.js';
import { USER_POLICY_TYPES, type UserChange } from './user-change.js';
import type { FieldValue } from './user-change-store.js';

/**
 * What a change is made to, as one key: `line-uri`, `enterprise-voice`, `usage-location` or `policy:<type>`.
 * Debounced changes of the same key replace each other; the audit lists one row per key.
 */
export function fieldKeyOf(change: UserChange): string {
  return change.field === 'policy' ? `policy:${change.policyType}` : change.field;
}

/** The manual's Field Name in an audit entry (OnPremLineUri, EnterpriseVoiceEnabled: manual L15342–15346). */
export function fieldNameOf(change: UserChange): string {
  switch (change.field) {
    case 'line-uri':
      return 'OnPremLineUri';
    case 'enterprise-voice':
      return 'EnterpriseVoiceEnabled';
    case 'usage-location':
      return 'UsageLocation';
    case 'policy':
      return USER_POLICY_TYPES[change.policyType].teamsType;
  }
}

/** The value the mirror holds for the change's field; a policy's Global (the org-wide default) is null. */
export function mirrorValueOf(user: MirrorUser, change: UserChange): FieldValue {
  switch (change.field) {
    case 'line-uri':
      return user.lineUri;
    case 'enterprise-voice':
      return user.enterpriseVoiceEnabled;
    case 'usage-location':
      return user.usageLocation;
    case 'policy': {
      const name = user.policies[USER_POLICY_TYPES[change.policyType].teamsType] ?? null;
      return name === null || name.toLowerCase() === 'global' ? null : name;
    }
  }
}

/** Whether two values of a field are the same (Line URIs, country codes and policy names ignore case). */
export function sameValue(a: FieldValue, b: FieldValue): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase();
  return a === b;
}

/** The user as the mirror shows it once the change is made. */
export function withChange(user: MirrorUser, change: UserChange): MirrorUser {
  switch (change.field) {
    case 'line-uri':
      return {
        ...user,
        lineUri: change.value,
        telephoneNumbers: change.value ? [change.value.replace(/^tel:/i, '')] : [],
      };
    case 'enterprise-voice':
      return { ...user, enterpriseVoiceEnabled: change.value };
    case 'usage-location':
      return { ...user, usageLocation: change.value };
    case 'policy':
      return {
        ...user,
        policies: {
          ...user.policies,
          [USER_POLICY_TYPES[change.policyType].teamsType]: change.value ?? 'Global',
        },
      };
  }
}

/** The change that puts `value` back on the field of `change`. */
export function changeTo(change: UserChange, value: FieldValue): UserChange {
  switch (change.field) {
    case 'enterprise-voice':
      return { field: 'enterprise-voice', value: value === true };
    case 'policy':
      return {
        field: 'policy',
        policyType: change.policyType,
        value: typeof value === 'string' ? value : null,
      };
    default:
      return { field: change.field, value: typeof value === 'string' ? value : null };
  }
}

/**
 * The order a user's changes are applied in (manual-part-D §3.4 recommends: grant the policy, then
 * `-EnterpriseVoiceEnabled $true`, then the number): the usage location first (a number needs it), policies, Enterprise
 * Voice on, the number, and Enterprise Voice off last (a user loses the number before the voice).
 */
function rank(change: UserChange): number {
  switch (change.field) {
    case 'usage-location':
      return 0;
    case 'policy':
      return 1;
    case 'enterprise-voice':
      return change.value ? 2 : 4;
    case 'line-uri':
      return 3;
  }
}

/** Earlier changes joined by later ones: one change per field, the later value winning, in applying order. */
export function mergeChanges(earlier: readonly UserChange[], later: readonly UserChange[]): UserChange[] {
  const byField = new Map<string, UserChange>();
  for (const change of [...earlier, ...later]) {
    byField.delete(fieldKeyOf(change));
    byField.set(fieldKeyOf(change), change);
  }
  return [...byField.values()].sort((a, b) => rank(a) - rank(b));
}
