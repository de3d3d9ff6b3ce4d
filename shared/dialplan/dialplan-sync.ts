import type { SbcClient } from '../sbc/sbc-client.js';
import type { TemplateContext } from '../templates/template-context.js';
import {
  type DeviceDialPlans,
  type DeviceRule,
  type DialPlanDiff,
  type DialPlanRule,
  deviceDialPlans,
  diffDialPlans,
} from './dialplan-diff.js';

export const ADD_PREFIX_TEMPLATE = 'sbc-add-prefix';
export const REMOVE_PREFIX_TEMPLATE = 'sbc-remove-prefix';

/** One customer's wanted rules on one SBC, with the script context its background scripts render in. */
export interface OwnerRules {
  /** The rule name on the SBC: the customer's Short Name. */
  readonly owner: string;
  readonly rules: readonly DialPlanRule[];
  readonly context: TemplateContext;
}

export type RenderScript = (templateId: string, context: TemplateContext) => Promise<string>;

/** One script of a sync: what it does, and its text. */
export interface DialPlanScript {
  readonly description: string;
  readonly templateId: string;
  readonly script: string;
}

export interface DialPlanSyncPlan {
  readonly device: DeviceDialPlans;
  readonly diff: DialPlanDiff;
  readonly scripts: readonly DialPlanScript[];
}

/** Rules per script: keeps one CLI upload well under the SBC's script size limits, and a retry small. */
export const DEFAULT_RULES_PER_SCRIPT = 1000;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

const fold = (value: string) => value.toLowerCase();

/**
 * Reads the device's dial plans (indexes are only good until the next change, so this comes first, every time),
 * compares them with what the owners want, and renders the scripts: `sbc-remove-prefix` by row index, then
 * `sbc-add-prefix`, per dial plan, in chunks.
 */
export async function planDialPlanSync(
  client: SbcClient,
  owners: readonly OwnerRules[],
  render: RenderScript,
  options: { readonly rulesPerScript?: number } = {},
): Promise<DialPlanSyncPlan> {
  const size = options.rulesPerScript ?? DEFAULT_RULES_PER_SCRIPT;
  const device = deviceDialPlans(await client.getCliScript());
  const diff = diffDialPlans(
    owners.flatMap((o) => o.rules),
    device,
    owners.map((o) => o.owner),
  );
  // The background scripts name each rule's customer in the rule itself: one script serves every customer.
  const base = owners[0]?.context;
  const scripts: DialPlanScript[] = [];
  for (const change of diff.changes) {
    if (!base) break;
    for (const part of chunks(change.toRemove, size)) {
      scripts.push({
        description: `Remove ${part.length} rule(s) from ${change.dialPlan}: ${part
          .map((r) => `${r.prefix} of ${r.name} (#${r.index})`)
          .join(', ')}`,
        templateId: REMOVE_PREFIX_TEMPLATE,
        script: await render(REMOVE_PREFIX_TEMPLATE, {
          ...base,
          DialPlanName: change.dialPlan,
          ToRemove: part.map((r) => ({ Index: r.index })),
        }),
      });
    }
    for (const part of chunks(change.toAdd, size)) {
      scripts.push({
        description: `Add ${part.length} rule(s) to ${change.dialPlan}: ${part
          .map((r) => `${r.prefix} of ${r.name} → ${r.tag}`)
          .join(', ')}`,
        templateId: ADD_PREFIX_TEMPLATE,
        script: await render(ADD_PREFIX_TEMPLATE, {
          ...base,
          DialPlanName: change.dialPlan,
          CmdData: {
            DialPlanRules: { ToAdd: part.map((r) => ({ Name: r.name, Prefix: r.prefix, Tag: r.tag })) },
          },
        }),
      });
    }
  }
  return { device, diff, scripts };
}

/** The rules of one owner as the device now holds them: what the prefix cache keeps. */
export function ownerRulesOnDevice(device: DeviceDialPlans, owner: string): DeviceRule[] {
  const name = fold(owner);
  return device.rules.filter((r) => fold(r.name) === name);
}

/**
 * Applies a plan's scripts in order, one upload each. A failure (an SBC 409 during HA synchronisation, say) stops
 * here: the scripts before it are applied, and the next sync reads the device again, so nothing is added twice or
 * removed wrongly.
 */
export async function applyDialPlanScripts(
  client: SbcClient,
  scripts: readonly DialPlanScript[],
  onApplied: (script: DialPlanScript) => void | Promise<void> = () => undefined,
): Promise<void> {
  for (const script of scripts) {
    await client.runCliScript(script.script);
    await onApplied(script);
  }
}
