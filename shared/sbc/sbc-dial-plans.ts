import { csvParse } from '../platform/csv.js';
import { z } from 'zod';

/**
 * Where a real AudioCodes SBC (7.2+) exposes its dial-plan rules. Not in the ini file: a real 7.40A
 * `GET /api/v1/files/ini` has the `DialPlan` table but no `DialPlanRule` table (dev/contracts/specs/audiocodes/README.md).
 * The rules are
 * - in the configuration as a CLI script (`GET /api/v1/files/cliScript`), under `configure voip` as
 *   `sbc dial-plan <index>` › `dial-plan-rule <index>` with `name`, `prefix`, `tag` (the Dial Plan Rule table's
 *   CLI names, Mediant User's Manual 7.4, "Dial Plan Rule Table Parameter Descriptions"): the only place with each
 *   rule's row index, which `no dial-plan-rule <index>` (sbc-remove-prefix) deletes by;
 * - in the Dial Plan file (`GET`/`PUT /api/v1/files/dialplan`, as shanehoey/mediant's Mediant.psm1 calls it), a
 *   CSV whose header is `DialPlanName,Name,Prefix,Tag`: every rule, but no row index.
 */

/** One rule of a dial plan, as the device holds it. */
export interface SbcRule {
  readonly dialPlan: string;
  readonly name: string;
  readonly prefix: string;
  readonly tag: string;
}

export interface SbcIndexedRule extends SbcRule {
  /** Its row in the dial plan (gaps stay where rules were deleted). */
  readonly index: number;
}

export interface SbcCliDialPlans {
  /** Dial plans by name, in the order the script lists them. */
  readonly plans: readonly string[];
  readonly rules: readonly SbcIndexedRule[];
}

export class SbcDialPlanError extends Error {
  override readonly name = 'SbcDialPlanError';
}

/** The header of the Dial Plan file. */
export const DIAL_PLAN_FILE_HEADER = ['DialPlanName', 'Name', 'Prefix', 'Tag'] as const;

const fileRowSchema = z.tuple([z.string().min(1), z.string(), z.string().min(1), z.string()]);

/** The rules of the Dial Plan file (CSV), in file order. Throws `SbcDialPlanError` naming the bad line. */
export function parseDialPlanFile(csv: string): SbcRule[] {
  let records: string[][];
  try {
    records = csvParse().parse(csv, {
      bom: true,
      skip_empty_lines: true,
      trim: true,
      relax_column_count: true,
    });
  } catch (error) {
    throw new SbcDialPlanError(
      `The SBC's dial plan file is not CSV: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const [header = [], ...rows] = records;
  if (header.map((h) => h.toLowerCase()).join(',') !== DIAL_PLAN_FILE_HEADER.join(',').toLowerCase()) {
    throw new SbcDialPlanError(
      `The SBC's dial plan file starts with '${header.join(',')}', not '${DIAL_PLAN_FILE_HEADER.join(',')}'.`,
    );
  }
  return rows.map((row, i) => {
    const parsed = fileRowSchema.safeParse(row);
    if (!parsed.success) {
      throw new SbcDialPlanError(
        `Line ${i + 2} of the SBC's dial plan file is not DialPlanName,Name,Prefix,Tag with a dial plan and a prefix.`,
      );
    }
    const [dialPlan, name, prefix, tag] = parsed.data;
    return { dialPlan, name, prefix, tag };
  });
}

/** A rule as its plan is read: the plan's `name` may follow its rules, so its dial plan is set as the plan closes. */
interface OpenRule {
  dialPlan: string;
  index: number;
  name: string;
  prefix: string;
  tag: string;
}

/**
 * The dial plans and their rules in the device's configuration as a CLI script. The script's nesting is its
 * indentation (as `show running-config` prints it); `exit` lines and every other command are skipped. Linear in
 * the script's length: 50,000 rules are a quarter of a million lines.
 */
export function parseCliDialPlans(script: string): SbcCliDialPlans {
  const plans: string[] = [];
  const rules: SbcIndexedRule[] = [];
  let plan: { indent: number; name: string; rules: OpenRule[] } | undefined;
  let rule: { indent: number; index: number; name: string; prefix: string; tag: string } | undefined;
  const closeRule = () => {
    if (plan && rule)
      plan.rules.push({
        dialPlan: '',
        index: rule.index,
        name: rule.name,
        prefix: rule.prefix,
        tag: rule.tag,
      });
    rule = undefined;
  };
  const closePlan = () => {
    closeRule();
    if (plan) {
      const name = plan.name;
      plans.push(name);
      for (const r of plan.rules) {
        r.dialPlan = name;
        rules.push(r);
      }
    }
    plan = undefined;
  };
  const lines = script.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n] ?? '';
    let indent = 0;
    while (raw.charCodeAt(indent) === 32 || raw.charCodeAt(indent) === 9) indent++;
    let end = raw.length;
    while (end > indent && (raw.charCodeAt(end - 1) === 13 || raw.charCodeAt(end - 1) === 32)) end--;
    if (end === indent) continue;
    const text = raw.slice(indent, end);
    if (text === 'exit') continue;
    if (rule && indent <= rule.indent) closeRule();
    if (plan && indent <= plan.indent) closePlan();
    if (text.startsWith('sbc dial-plan ')) {
      const opened = /^sbc dial-plan (\d+)$/.exec(text);
      if (opened) {
        plan = { indent, name: '', rules: [] };
        continue;
      }
    }
    if (!plan) continue;
    if (!rule && text.startsWith('dial-plan-rule ')) {
      const opened = /^dial-plan-rule (\d+)$/.exec(text);
      if (opened) {
        rule = { indent, index: Number(opened[1]), name: '', prefix: '', tag: '' };
        continue;
      }
    }
    const space = text.indexOf(' ');
    const key = text.slice(0, space);
    if (key !== 'name' && key !== 'prefix' && key !== 'tag') continue;
    const quoted = text.slice(space + 1);
    if (quoted.length < 2 || !quoted.startsWith('"') || !quoted.endsWith('"')) continue;
    const value = unquote(quoted.slice(1, -1));
    if (rule) {
      if (key === 'name') rule.name = value;
      else if (key === 'prefix') rule.prefix = value;
      else rule.tag = value;
    } else if (key === 'name') {
      plan.name = value;
    }
  }
  closePlan();
  const unnamed = plans.findIndex((name) => name === '');
  if (unnamed >= 0) throw new SbcDialPlanError("The SBC's CLI script lists a dial plan without a name.");
  return { plans, rules };
}

/** `\"` is a quote and `\\` a backslash; any other backslash stays (a prefix's `\.`). */
function unquote(value: string): string {
  return value.includes('\\') ? value.replace(/\\(["\\])/g, '$1') : value;
}
