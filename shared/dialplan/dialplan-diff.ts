import { parseCliDialPlans } from '../sbc/sbc-dial-plans.js';

/** A dial-plan rule as the product wants it: named after its customer (the Short Name), tagged with its gateway. */
export interface DialPlanRule {
  readonly dialPlan: string;
  readonly name: string;
  readonly prefix: string;
  readonly tag: string;
}

/** A rule as the SBC holds it; `index` is its row in the dial plan, which `sbc-remove-prefix` deletes by. */
export interface DeviceRule extends DialPlanRule {
  readonly index: number;
}

/** What the device has: its dial plans (by name) and every rule of them. */
export interface DeviceDialPlans {
  readonly plans: readonly string[];
  readonly rules: readonly DeviceRule[];
}

/** The changes of one dial plan, named as the device spells it. */
export interface DialPlanChanges {
  readonly dialPlan: string;
  readonly toAdd: readonly DialPlanRule[];
  readonly toRemove: readonly DeviceRule[];
}

export interface DialPlanDiff {
  readonly changes: readonly DialPlanChanges[];
  /** Rules whose dial plan the SBC does not have: the scripts address plans by name, so these cannot be added. */
  readonly missingPlans: readonly string[];
  readonly added: number;
  readonly removed: number;
  /** Rules of the owners already on the device as wanted. */
  readonly unchanged: number;
}

/**
 * The SBC's dial plans and rules from its configuration as a CLI script (`GET /api/v1/files/cliScript`): a real
 * device's ini has no rule table, and only the CLI has the row indexes removal needs (shared/sbc/sbc-dial-plans.ts).
 */
export function deviceDialPlans(cliScript: string): DeviceDialPlans {
  return parseCliDialPlans(cliScript);
}

// The SBC matches names and tags without regard to case; prefixes are digits.
const fold = (value: string) => value.toLowerCase();
const ruleKey = (rule: DialPlanRule) =>
  `${fold(rule.dialPlan)}\u0000${fold(rule.name)}\u0000${rule.prefix}\u0000${fold(rule.tag)}`;

/**
 * The difference between the wanted rules and the device's, for the rules of `owners` only (rule names; rules of
 * anyone else are never touched). Each wanted rule once: duplicates on the device are removed.
 */
export function diffDialPlans(
  wanted: readonly DialPlanRule[],
  device: DeviceDialPlans,
  owners: Iterable<string>,
): DialPlanDiff {
  const ownerNames = new Set([...owners].map(fold));
  const planNames = new Map(device.plans.map((name) => [fold(name), name]));
  const wantedByKey = new Map<string, DialPlanRule>();
  const missing = new Set<string>();
  for (const rule of wanted) {
    if (!ownerNames.has(fold(rule.name))) {
      throw new Error(
        `Rule ${rule.prefix} is named '${rule.name}', which is not one of the owners synchronised.`,
      );
    }
    if (!planNames.has(fold(rule.dialPlan))) missing.add(rule.dialPlan);
    else wantedByKey.set(ruleKey(rule), rule);
  }
  const toRemove = new Map<string, DeviceRule[]>();
  const matched = new Set<string>();
  for (const rule of device.rules) {
    if (!ownerNames.has(fold(rule.name))) continue;
    const key = ruleKey(rule);
    if (wantedByKey.has(key) && !matched.has(key)) {
      matched.add(key);
      continue;
    }
    const plan = fold(rule.dialPlan);
    const list = toRemove.get(plan) ?? [];
    list.push(rule);
    toRemove.set(plan, list);
  }
  const toAdd = new Map<string, DialPlanRule[]>();
  for (const [key, rule] of wantedByKey) {
    if (matched.has(key)) continue;
    const plan = fold(rule.dialPlan);
    const list = toAdd.get(plan) ?? [];
    list.push(rule);
    toAdd.set(plan, list);
  }
  const changes = [...new Set([...toRemove.keys(), ...toAdd.keys()])].sort().map((plan): DialPlanChanges => ({
    dialPlan: planNames.get(plan) ?? plan,
    toAdd: toAdd.get(plan) ?? [],
    toRemove: (toRemove.get(plan) ?? []).sort((a, b) => a.index - b.index),
  }));
  return {
    changes,
    missingPlans: [...missing].sort(),
    added: changes.reduce((n, c) => n + c.toAdd.length, 0),
    removed: changes.reduce((n, c) => n + c.toRemove.length, 0),
    unchanged: matched.size,
  };
}
