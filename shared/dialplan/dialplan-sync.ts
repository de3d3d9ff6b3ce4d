import type { SbcClient, SbcScriptResult } from '../sbc/sbc-client.js';
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
  readonly dialPlan: string;
  /** The rules it adds, in the script's order, or removes (by their row index at the read before it). */
  readonly toAdd: readonly DialPlanRule[];
  readonly toRemove: readonly DeviceRule[];
}

/** A rule change the SBC refused while it applied the rest of its script, with the device's error line. */
export interface DialPlanRefusal {
  readonly action: 'add' | 'remove';
  readonly dialPlan: string;
  /** The rule the refused command belonged to; null when the error followed no rule's command. */
  readonly rule: DialPlanRule | DeviceRule | null;
  readonly command: string;
  readonly error: string;
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

/** A script's one-line description, or that of the part of it the device applied. */
function describeAdd(dialPlan: string, rules: readonly DialPlanRule[]): string {
  return `Add ${rules.length} rule(s) to ${dialPlan}: ${rules
    .map((r) => `${r.prefix} of ${r.name} → ${r.tag}`)
    .join(', ')}`;
}

function describeRemove(dialPlan: string, rules: readonly DeviceRule[]): string {
  return `Remove ${rules.length} rule(s) from ${dialPlan}: ${rules
    .map((r) => `${r.prefix} of ${r.name} (#${r.index})`)
    .join(', ')}`;
}

/**
 * Reads the device's dial plans (indexes are only good until the next change, so this comes first, every time),
 * compares them with what the owners want, and renders the scripts: `sbc-remove-prefix` by row index, then
 * `sbc-add-prefix`, per dial plan, in chunks.
 */
export async function planDialPlanSync(
  client: Pick<SbcClient, 'getCliScript'>,
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
        description: describeRemove(change.dialPlan, part),
        templateId: REMOVE_PREFIX_TEMPLATE,
        dialPlan: change.dialPlan,
        toAdd: [],
        toRemove: part,
        script: await render(REMOVE_PREFIX_TEMPLATE, {
          ...base,
          DialPlanName: change.dialPlan,
          ToRemove: part.map((r) => ({ Index: r.index })),
        }),
      });
    }
    for (const part of chunks(change.toAdd, size)) {
      scripts.push({
        description: describeAdd(change.dialPlan, part),
        templateId: ADD_PREFIX_TEMPLATE,
        dialPlan: change.dialPlan,
        toAdd: part,
        toRemove: [],
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

/** A command the device echoed in its output (`{device}(level)# command`), as `refusedCommands` reads them. */
const ECHOED = /^[^\s#]*(?:\([^)]*\))?# (.*)$/;
const ERROR = /^\s*Error\b:?\s*(.*)$/i;
const RULE_FIELD = /^(name|prefix|tag|activate)\b/;

/**
 * The rules of one script the device refused, read from its output: a real device answers a partly applied script
 * 200 and only its `Error…` lines tell (AudioCodes REST API, Incremental CLI Script). An error belongs to the rule
 * whose commands it follows: the n-th `dial-plan-rule new` is the script's n-th rule to add, a
 * `no dial-plan-rule "i"` the rule of row i.
 */
export function refusedRules(script: DialPlanScript, result: SbcScriptResult): DialPlanRefusal[] {
  if (result.refused.length === 0) return [];
  const refusals: DialPlanRefusal[] = [];
  let added = 0;
  let rule: DialPlanRule | DeviceRule | null = null;
  let inRule = false;
  let command = '';
  for (const line of result.output.split(/\r?\n/)) {
    const echoed = ECHOED.exec(line);
    if (echoed) {
      command = echoed[1]?.trim() ?? '';
      const removal = /^no dial-plan-rule "?(\d+)"?$/.exec(command);
      if (command === 'dial-plan-rule new') {
        rule = script.toAdd[added++] ?? null;
        inRule = true;
      } else if (removal) {
        rule = script.toRemove.find((r) => r.index === Number(removal[1])) ?? null;
        inRule = false;
      } else if (inRule && command === 'exit') {
        // The rule is committed as its level is left: an error right after `exit` is still the rule's.
        inRule = false;
      } else if (!(inRule && RULE_FIELD.test(command))) {
        rule = null;
      }
      continue;
    }
    const error = ERROR.exec(line);
    if (!error || (rule && refusals.some((r) => r.rule === rule))) continue;
    refusals.push({
      action: script.templateId === REMOVE_PREFIX_TEMPLATE ? 'remove' : 'add',
      dialPlan: script.dialPlan,
      rule,
      command,
      error: error[1]?.trim() || line.trim(),
    });
  }
  return refusals;
}

/**
 * What of a script the device applied, described as a script is: its rules less the ones it refused (an error
 * that follows no rule's command leaves the rules applied). Null when it refused every rule of the script.
 */
export function describeApplied(script: DialPlanScript, refused: readonly DialPlanRefusal[]): string | null {
  if (refused.length === 0) return script.description;
  const refusedOnes = new Set(refused.map((r) => r.rule));
  const toAdd = script.toAdd.filter((r) => !refusedOnes.has(r));
  const toRemove = script.toRemove.filter((r) => !refusedOnes.has(r));
  if (toAdd.length + toRemove.length === 0) return null;
  return script.templateId === REMOVE_PREFIX_TEMPLATE
    ? describeRemove(script.dialPlan, toRemove)
    : describeAdd(script.dialPlan, toAdd);
}

/** One refusal in a line: what was refused (which rule, which dial plan) and the device's error. */
export function describeRefusal(refusal: DialPlanRefusal): string {
  const what = refusal.rule
    ? `${refusal.action} ${refusal.rule.prefix} of ${refusal.rule.name}${
        refusal.action === 'add' ? ` → ${refusal.rule.tag}` : ''
      } ${refusal.action === 'add' ? 'to' : 'from'} ${refusal.dialPlan}`
    : `${refusal.command || '(no command)'} in ${refusal.dialPlan}`;
  return `${what}: ${refusal.error}`;
}

/**
 * Applies a plan's scripts in order, one upload each, and returns what the device refused of them. A failure (an
 * SBC 409 during HA synchronisation, say) stops here: the scripts before it are applied, and the next sync reads the
 * device again, so nothing is added twice or removed wrongly. A refused rule is not retried here: the next sync's
 * fresh read still misses it (or still holds it) and sends it again, with row indexes of that read.
 */
export async function applyDialPlanScripts(
  client: Pick<SbcClient, 'runCliScript'>,
  scripts: readonly DialPlanScript[],
  onApplied: (script: DialPlanScript, refused: readonly DialPlanRefusal[]) => void | Promise<void> = () =>
    undefined,
): Promise<DialPlanRefusal[]> {
  const refused: DialPlanRefusal[] = [];
  for (const script of scripts) {
    const mine = refusedRules(script, await client.runCliScript(script.script));
    refused.push(...mine);
    await onApplied(script, mine);
  }
  return refused;
}
