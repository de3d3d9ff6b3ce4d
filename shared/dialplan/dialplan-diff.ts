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

/** A wanted rule, folded once; `matched` once a device rule stands for it. */
interface WantedEntry {
  rule: DialPlanRule;
  readonly plan: string;
  readonly name: string;
  readonly tag: string;
  matched: boolean;
}

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
  // By prefix, which is nearly unique: 50,000 rules are compared without building a composite key for each.
  const byPrefix = new Map<string, WantedEntry[]>();
  const order: WantedEntry[] = [];
  const missing = new Set<string>();
  const find = (entries: readonly WantedEntry[] | undefined, plan: string, name: string, tag: string) =>
    entries?.find((e) => e.plan === plan && e.name === name && e.tag === tag);
  for (const rule of wanted) {
    const name = fold(rule.name);
    if (!ownerNames.has(name)) {
      throw new Error(
        `Rule ${rule.prefix} is named '${rule.name}', which is not one of the owners synchronised.`,
      );
    }
    const plan = fold(rule.dialPlan);
    if (!planNames.has(plan)) {
      missing.add(rule.dialPlan);
      continue;
    }
    const tag = fold(rule.tag);
    const entries = byPrefix.get(rule.prefix);
    const same = find(entries, plan, name, tag);
    if (same) {
      same.rule = rule;
      continue;
    }
    const entry: WantedEntry = { rule, plan, name, tag, matched: false };
    if (entries) entries.push(entry);
    else byPrefix.set(rule.prefix, [entry]);
    order.push(entry);
  }
  const toRemove = new Map<string, DeviceRule[]>();
  let unchanged = 0;
  for (const rule of device.rules) {
    const name = fold(rule.name);
    if (!ownerNames.has(name)) continue;
    const plan = fold(rule.dialPlan);
    const entry = find(byPrefix.get(rule.prefix), plan, name, fold(rule.tag));
    if (entry && !entry.matched) {
      entry.matched = true;
      unchanged += 1;
      continue;
    }
    const list = toRemove.get(plan) ?? [];
    list.push(rule);
    toRemove.set(plan, list);
  }
  const toAdd = new Map<string, DialPlanRule[]>();
  for (const entry of order) {
    if (entry.matched) continue;
    const list = toAdd.get(entry.plan) ?? [];
    list.push(entry.rule);
    toAdd.set(entry.plan, list);
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
    unchanged,
  };
}
