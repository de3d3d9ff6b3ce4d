import {
  cloneConfiguration,
  newIpGroup,
  nextIndex,
  type SbcAccount,
  type SbcConfiguration,
  type SbcDialPlan,
  type SbcDialPlanRule,
  type SbcIpGroup,
  type SbcUserInfo,
} from './sbc-state.js';
import { renderRunningConfig } from './sbc-files.js';

/**
 * The subset of the AudioCodes CLI that the product's templates use, applied as one transaction to a copy of the
 * running configuration: the first incorrect line fails the whole script and nothing changes (the strict profile;
 * `CliOptions.partial` plays a real device's line-by-line application).
 *
 * Supported (`root` is the level before `configure voip`):
 * - root: `configure voip`, `do write` / `write`, `show …`, `exit`
 * - voip: `ip-group new | <index> | where name "<n>"`, `no ip-group <index> | where name "<n>"`,
 *   `sip-definition account new | <index>`, `no sip-definition account <index> | where account-name "<n>"`,
 *   `sip-definition proxy-and-registration`, `sbc dial-plan new | <index> | where name "<n>"`, `exit`
 * - ip-group: `name`, `type`, `proxy-set-name`, `ip-profile-name`, `sip-group-name`, `classify-by-proxy-set`,
 *   `tags`, `local-host-name`, `always-use-source-addr`, `call-setup-rules-set-id`, `cac-profile`,
 *   `media-realm-name` and a few pass-through properties; `activate`, `exit`
 * - account: `account-name`, `served-ip-group-name`, `serving-ip-group-name`, `user-name`, `password`,
 *   `host-name`, `contact-user`, `register`, `application-type`; `activate`, `exit`
 * - dial plan: `name` (new plans), `dial-plan-rule new | <index>`,
 *   `no dial-plan-rule <index> | "<index>" | where name|prefix|tag "<v>"`, `activate`, `exit`
 * - dial-plan rule: `name`, `prefix`, `tag`, `activate`, `exit`
 * - proxy-and-registration: `user-info sbc-user-info new`, `no user-info sbc-user-info where local-user "<v>"`,
 *   `exit`; user info: `local-user`, `username`, `password`, `ip-group-name`, `activate`, `exit`
 * - anywhere: `do write`, `do show …`, `show running-config`, `show voip ip-group`, `show voip dial-plan`;
 *   blank lines and `#` comments are skipped.
 */
export type CliOutcome =
  | {
      readonly ok: true;
      readonly config: SbcConfiguration;
      readonly output: string;
      readonly saved: boolean;
      /** Lines the device refused and skipped (partial mode only); their errors are in `output`. */
      readonly refused: readonly number[];
    }
  | { readonly ok: false; readonly line: number; readonly message: string; readonly output: string };

export interface CliOptions {
  /**
   * As a real device replays the script into a CLI session (reality profile): each command takes effect as it is
   * read, a command the device refuses for its value (a missing reference, a duplicate name, a mandatory field) is
   * answered `Error: …` in the output and skipped, and the next line runs. Syntax errors still refuse the whole
   * script. AudioCodes "REST API for SBC 7.40: Incremental CLI Script" (`PUT /api/v1/files/cliScript/incremental`):
   * the output of the script is returned in the response, 200 OK, 400 only for an incorrect script.
   */
  readonly partial?: boolean;
  /**
   * How many dial-plan rules the device holds at most, over all its dial plans: a new rule past it is refused for
   * its value (`Error: …`), as a full table is on a real device. No limit when absent.
   */
  readonly maxDialPlanRules?: number;
}

class CliError extends Error {
  constructor(
    readonly line: number,
    message: string,
    /** A command the CLI cannot parse here, as opposed to a value it refuses. */
    readonly syntax = false,
  ) {
    super(message);
  }
}

type Frame =
  | { kind: 'root' }
  | { kind: 'voip' }
  | { kind: 'ip-group'; draft: SbcIpGroup; committed: boolean; line: number }
  | { kind: 'account'; draft: SbcAccount; committed: boolean; line: number }
  | { kind: 'dial-plan'; plan: SbcDialPlan; rules: RuleTable; committed: boolean; line: number }
  | {
      kind: 'dial-plan-rule';
      plan: SbcDialPlan;
      rules: RuleTable;
      draft: SbcDialPlanRule;
      committed: boolean;
      line: number;
    }
  | { kind: 'proxy-and-registration' }
  | { kind: 'user-info'; draft: SbcUserInfo; committed: boolean; line: number };

const PROMPTS: Record<Frame['kind'], string> = {
  root: '',
  voip: '(config-voip)',
  'ip-group': '(ip-group)',
  account: '(account)',
  'dial-plan': '(dial-plan)',
  'dial-plan-rule': '(dial-plan-rule)',
  'proxy-and-registration': '(proxy-and-registration)',
  'user-info': '(sbc-user-info)',
};

/** IP-group properties kept as text without checks (seen in custom templates). */
const PASS_THROUGH = new Set([
  'description',
  'inbound-msg-manipulation-set',
  'outbound-msg-manipulation-set',
  'authentication-mode',
  'registration-mode',
  'msg-man-user-defined-string1',
  'msg-man-user-defined-string2',
  'proxy-keepalive-use-ipg',
  'contact-user',
  'username',
  'password',
  'sip-connect',
]);

export function runCli(
  current: SbcConfiguration,
  script: string,
  deviceName: string,
  options: CliOptions = {},
): CliOutcome {
  const config = cloneConfiguration(current);
  const output: string[] = [];
  const stack: Frame[] = [{ kind: 'root' }];
  const refused: number[] = [];
  let saved = false;
  const lines = script.replace(/\r\n?/g, '\n').split('\n');
  let lineNumber = 0;
  /** In partial mode a refused value is reported and skipped; a refused `exit` still leaves its level. */
  const skipRefused = (error: unknown, frame: Frame, leaving: boolean) => {
    if (!options.partial || !(error instanceof CliError) || error.syntax) throw error;
    output.push(`Error: ${error.message}`);
    refused.push(error.line);
    if (leaving && stack.at(-1) === frame && stack.length > 1) stack.pop();
  };
  try {
    for (const raw of lines) {
      lineNumber += 1;
      const text = raw.trim();
      if (text === '' || text.startsWith('#')) continue;
      const frame = stack.at(-1) ?? { kind: 'root' };
      output.push(`${deviceName}${PROMPTS[frame.kind]}# ${text}`);
      const words = tokenize(text, lineNumber);
      const [first = '', second] = words;
      if (first === 'do' && second === 'write') {
        saved = true;
        output.push('Writing configuration...done');
        continue;
      }
      if (frame.kind === 'root' && first === 'write' && words.length === 1) {
        saved = true;
        output.push('Writing configuration...done');
        continue;
      }
      try {
        if (first === 'show' || (first === 'do' && second === 'show')) {
          output.push(show(config, words.slice(first === 'do' ? 2 : 1), lineNumber));
          continue;
        }
        const message = step(config, stack, frame, words, lineNumber, options);
        if (message) output.push(message);
      } catch (error) {
        skipRefused(error, frame, first === 'exit');
      }
    }
    // Levels left open at the end are applied as an `exit` would.
    while (stack.length > 1) {
      const frame = stack.pop();
      try {
        if (frame) commit(config, frame, lineNumber, options);
      } catch (error) {
        skipRefused(error, frame ?? { kind: 'root' }, false);
      }
    }
    return { ok: true, config, output: output.join('\n'), saved, refused };
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    output.push(`Error: ${error.message}`);
    return { ok: false, line: error.line, message: error.message, output: output.join('\n') };
  }
}

/**
 * Words separated by blanks; double quotes group (`\"` is a quote and `\\` a backslash inside, other backslashes
 * stay: the manual's prefix `"…\.…"`), the quoting sbcEscape writes.
 */
function tokenize(text: string, line: number): string[] {
  const words: string[] = [];
  let index = 0;
  while (index < text.length) {
    const char = text[index];
    if (char === ' ' || char === '\t') {
      index += 1;
      continue;
    }
    if (char === '"') {
      let value = '';
      index += 1;
      let closed = false;
      while (index < text.length) {
        const c = text[index];
        const escaped = text[index + 1];
        if (c === '\\' && (escaped === '"' || escaped === '\\')) {
          value += escaped;
          index += 2;
          continue;
        }
        if (c === '"') {
          closed = true;
          index += 1;
          break;
        }
        value += c;
        index += 1;
      }
      if (!closed) throw new CliError(line, 'Unterminated quoted string.');
      words.push(value);
      continue;
    }
    let value = '';
    while (index < text.length && text[index] !== ' ' && text[index] !== '\t') {
      value += text[index];
      index += 1;
    }
    words.push(value);
  }
  return words;
}

function step(
  config: SbcConfiguration,
  stack: Frame[],
  frame: Frame,
  words: string[],
  line: number,
  options: CliOptions,
): string {
  const command = words.join(' ');
  const invalid = () => new CliError(line, `Invalid command '${command}' here${where(frame)}.`, true);
  const [first = '', second, third] = words;
  switch (frame.kind) {
    case 'root':
      if (first === 'configure' && second === 'voip' && words.length === 2) {
        stack.push({ kind: 'voip' });
        return '';
      }
      if (first === 'exit' && words.length === 1) return '';
      throw invalid();
    case 'voip': {
      if (first === 'exit' && words.length === 1) {
        stack.pop();
        return '';
      }
      if (first === 'ip-group') {
        const group =
          second === 'new' && words.length === 2 ? undefined : selectIpGroup(config, words.slice(1), line);
        const draft = group ? structuredClone(group) : newIpGroup(nextIndex(config.ipGroups));
        stack.push({ kind: 'ip-group', draft, committed: group !== undefined, line });
        return '';
      }
      if (first === 'no' && second === 'ip-group') {
        const matches = selectRows(
          config.ipGroups,
          words.slice(2),
          { name: (g) => g.name },
          line,
          'ip-group',
        );
        config.ipGroups = config.ipGroups.filter((g) => !matches.includes(g));
        return matches.length === 0
          ? 'No matching ip-group entries.'
          : `Removed ip-group ${indices(matches)}.`;
      }
      if (first === 'sip-definition' && second === 'account') {
        if (third === 'new' && words.length === 3) {
          const draft: SbcAccount = {
            index: nextIndex(config.accounts),
            accountName: '',
            servedIpGroupName: '',
            servingIpGroupName: '',
            userName: '',
            password: '',
            hostName: '',
            contactUser: '',
            register: 'no-reg',
            applicationType: 'gw',
          };
          stack.push({ kind: 'account', draft, committed: false, line });
          return '';
        }
        const [existing] = selectRows(
          config.accounts,
          words.slice(2),
          { 'account-name': (a) => a.accountName },
          line,
          'account',
        );
        if (!existing || words.length !== 3) throw invalid();
        stack.push({ kind: 'account', draft: structuredClone(existing), committed: true, line });
        return '';
      }
      if (first === 'no' && second === 'sip-definition' && third === 'account') {
        const matches = selectRows(
          config.accounts,
          words.slice(3),
          { 'account-name': (a) => a.accountName },
          line,
          'account',
        );
        config.accounts = config.accounts.filter((a) => !matches.includes(a));
        return matches.length === 0 ? 'No matching account entries.' : `Removed account ${indices(matches)}.`;
      }
      if (first === 'sip-definition' && second === 'proxy-and-registration' && words.length === 2) {
        stack.push({ kind: 'proxy-and-registration' });
        return '';
      }
      if (first === 'sbc' && second === 'dial-plan') {
        if (third === 'new' && words.length === 3) {
          const plan: SbcDialPlan = { index: nextIndex(config.dialPlans), name: '', rules: [] };
          stack.push({ kind: 'dial-plan', plan, rules: new RuleTable(plan), committed: false, line });
          return '';
        }
        const [plan] = selectRows(
          config.dialPlans,
          words.slice(2),
          { name: (p) => p.name },
          line,
          'dial-plan',
        );
        if (!plan) throw new CliError(line, `Dial plan ${describeSelector(words.slice(2))} does not exist.`);
        stack.push({ kind: 'dial-plan', plan, rules: new RuleTable(plan), committed: true, line });
        return '';
      }
      throw invalid();
    }
    case 'ip-group':
      return editIpGroup(config, stack, frame, words, line) ?? throwError(invalid());
    case 'account':
      return editAccount(config, stack, frame, words, line) ?? throwError(invalid());
    case 'dial-plan': {
      if (first === 'exit' && words.length === 1) {
        commit(config, frame, line);
        stack.pop();
        return '';
      }
      if (first === 'activate' && words.length === 1) {
        commit(config, frame, line);
        return '';
      }
      if (first === 'name' && words.length === 2 && !frame.committed) {
        const name = second ?? '';
        if (config.dialPlans.some((p) => p.name.toLowerCase() === name.toLowerCase())) {
          throw new CliError(line, `Dial plan '${name}' already exists.`);
        }
        frame.plan.name = name;
        return '';
      }
      if (first === 'dial-plan-rule') {
        const { plan, rules } = frame;
        if (second === 'new' && words.length === 2) {
          const draft = { index: rules.nextIndex(), name: '', prefix: '', tag: '' };
          stack.push({ kind: 'dial-plan-rule', plan, rules, draft, committed: false, line });
          return '';
        }
        const [rule] = rules.select(words.slice(1), line);
        if (!rule || words.length !== 2) throw invalid();
        stack.push({ kind: 'dial-plan-rule', plan, rules, draft: { ...rule }, committed: true, line });
        return '';
      }
      if (first === 'no' && second === 'dial-plan-rule') {
        const matches = frame.rules.select(words.slice(2), line);
        frame.rules.remove(matches);
        return matches.length === 0
          ? 'No matching dial-plan-rule entries.'
          : `Removed dial-plan-rule ${indices(matches)} of ${frame.plan.name}.`;
      }
      throw invalid();
    }
    case 'dial-plan-rule': {
      if ((first === 'exit' || first === 'activate') && words.length === 1) {
        commit(config, frame, line, options);
        if (first === 'exit') stack.pop();
        return '';
      }
      if (words.length !== 2 || second === undefined) throw invalid();
      if (first === 'name') frame.draft.name = second;
      else if (first === 'prefix') frame.draft.prefix = second;
      else if (first === 'tag') frame.draft.tag = second;
      else throw invalid();
      return '';
    }
    case 'proxy-and-registration': {
      if (first === 'exit' && words.length === 1) {
        stack.pop();
        return '';
      }
      if (first === 'user-info' && second === 'sbc-user-info' && third === 'new' && words.length === 3) {
        const draft = {
          index: nextIndex(config.userInfos),
          localUser: '',
          username: '',
          password: '',
          ipGroupName: '',
        };
        stack.push({ kind: 'user-info', draft, committed: false, line });
        return '';
      }
      if (first === 'no' && second === 'user-info' && third === 'sbc-user-info') {
        const matches = selectRows(
          config.userInfos,
          words.slice(3),
          { 'local-user': (u) => u.localUser },
          line,
          'sbc-user-info',
        );
        config.userInfos = config.userInfos.filter((u) => !matches.includes(u));
        return matches.length === 0
          ? 'No matching sbc-user-info entries.'
          : `Removed sbc-user-info ${indices(matches)}.`;
      }
      throw invalid();
    }
    case 'user-info': {
      if ((first === 'exit' || first === 'activate') && words.length === 1) {
        commit(config, frame, line);
        if (first === 'exit') stack.pop();
        return '';
      }
      if (words.length !== 2 || second === undefined) throw invalid();
      if (first === 'local-user') frame.draft.localUser = second;
      else if (first === 'username') frame.draft.username = second;
      else if (first === 'password') frame.draft.password = second;
      else if (first === 'ip-group-name') {
        requireIpGroup(config, second, line);
        frame.draft.ipGroupName = second;
      } else throw invalid();
      return '';
    }
  }
}

function editIpGroup(
  config: SbcConfiguration,
  stack: Frame[],
  frame: Extract<Frame, { kind: 'ip-group' }>,
  words: string[],
  line: number,
): string | undefined {
  const [first = '', value] = words;
  if ((first === 'exit' || first === 'activate') && words.length === 1) {
    commit(config, frame, line);
    if (first === 'exit') stack.pop();
    return first === 'activate' ? `ip-group ${frame.draft.index} "${frame.draft.name}" activated.` : '';
  }
  if (words.length !== 2 || value === undefined) return undefined;
  const draft = frame.draft;
  switch (first) {
    case 'name':
      if (value === '') throw new CliError(line, 'The ip-group name cannot be empty.');
      if (
        config.ipGroups.some((g) => g.index !== draft.index && g.name.toLowerCase() === value.toLowerCase())
      ) {
        throw new CliError(line, `An ip-group named '${value}' already exists.`);
      }
      draft.name = value;
      return '';
    case 'type':
      if (value !== 'server' && value !== 'user' && value !== 'gateway') {
        throw new CliError(line, `Invalid ip-group type '${value}' (server, user or gateway).`);
      }
      draft.type = value;
      return '';
    case 'proxy-set-name':
      if (!config.proxySets.some((p) => p.name === value)) {
        throw new CliError(line, `Proxy Set '${value}' does not exist.`);
      }
      draft.proxySetName = value;
      return '';
    case 'ip-profile-name':
      if (!config.ipProfiles.some((p) => p.name === value)) {
        throw new CliError(line, `IP Profile '${value}' does not exist.`);
      }
      draft.ipProfileName = value;
      return '';
    case 'cac-profile':
      if (!config.cacProfiles.some((p) => p.name === value)) {
        throw new CliError(line, `CAC Profile '${value}' does not exist.`);
      }
      draft.cacProfile = value;
      return '';
    case 'sip-group-name':
      draft.sipGroupName = value;
      return '';
    case 'tags':
      draft.tags = value;
      return '';
    case 'local-host-name':
      draft.localHostName = value;
      return '';
    case 'media-realm-name':
      draft.mediaRealmName = value;
      return '';
    case 'classify-by-proxy-set':
      draft.classifyByProxySet = enableDisable(value, line);
      return '';
    case 'always-use-source-addr':
      draft.alwaysUseSourceAddr = enableDisable(value, line);
      return '';
    case 'call-setup-rules-set-id':
      if (!/^-?\d+$/.test(value) || Number(value) < -1 || Number(value) > 31) {
        throw new CliError(line, `Invalid call-setup-rules-set-id '${value}' (-1 to 31).`);
      }
      draft.callSetupRulesSetId = Number(value);
      return '';
    default:
      if (!PASS_THROUGH.has(first)) return undefined;
      draft.extra[first] = value;
      return '';
  }
}

function editAccount(
  config: SbcConfiguration,
  stack: Frame[],
  frame: Extract<Frame, { kind: 'account' }>,
  words: string[],
  line: number,
): string | undefined {
  const [first = '', value] = words;
  if ((first === 'exit' || first === 'activate') && words.length === 1) {
    commit(config, frame, line);
    if (first === 'exit') stack.pop();
    return '';
  }
  if (words.length !== 2 || value === undefined) return undefined;
  const draft = frame.draft;
  switch (first) {
    case 'account-name':
      if (
        config.accounts.some(
          (a) => a.index !== draft.index && a.accountName.toLowerCase() === value.toLowerCase(),
        )
      ) {
        throw new CliError(line, `An account named '${value}' already exists.`);
      }
      draft.accountName = value;
      return '';
    case 'served-ip-group-name':
      requireIpGroup(config, value, line);
      draft.servedIpGroupName = value;
      return '';
    case 'serving-ip-group-name':
      requireIpGroup(config, value, line);
      draft.servingIpGroupName = value;
      return '';
    case 'user-name':
      draft.userName = value;
      return '';
    case 'password':
      draft.password = value;
      return '';
    case 'host-name':
      draft.hostName = value;
      return '';
    case 'contact-user':
      draft.contactUser = value;
      return '';
    case 'register':
      if (value !== 'reg' && value !== 'no-reg' && value !== 'gin') {
        throw new CliError(line, `Invalid register value '${value}' (reg, no-reg or gin).`);
      }
      draft.register = value;
      return '';
    case 'application-type':
      if (value !== 'sbc' && value !== 'gw') throw new CliError(line, `Invalid application-type '${value}'.`);
      draft.applicationType = value;
      return '';
    default:
      return undefined;
  }
}

/** Applies a level's draft to the configuration, as `activate` or `exit` do. */
function commit(config: SbcConfiguration, frame: Frame, line: number, options: CliOptions = {}): void {
  switch (frame.kind) {
    case 'ip-group': {
      if (!frame.draft.name) throw new CliError(line, 'The ip-group name is mandatory.');
      upsert(config.ipGroups, structuredClone(frame.draft));
      frame.committed = true;
      return;
    }
    case 'account': {
      if (!frame.draft.servedIpGroupName) throw new CliError(line, 'served-ip-group-name is mandatory.');
      upsert(config.accounts, { ...frame.draft });
      frame.committed = true;
      return;
    }
    case 'dial-plan': {
      if (!frame.plan.name) throw new CliError(line, 'The dial plan name is mandatory.');
      if (!frame.committed) config.dialPlans.push(frame.plan);
      frame.committed = true;
      return;
    }
    case 'dial-plan-rule': {
      if (!frame.draft.prefix) throw new CliError(line, 'The dial-plan-rule prefix is mandatory.');
      const limit = options.maxDialPlanRules;
      if (!frame.committed && limit !== undefined) {
        const held = config.dialPlans.reduce((n, plan) => n + plan.rules.length, 0);
        if (held >= limit) throw new CliError(line, `The Dial Plan Rule table is full (${limit} rules).`);
      }
      frame.rules.upsert({ ...frame.draft });
      frame.committed = true;
      return;
    }
    case 'user-info': {
      if (!frame.draft.localUser) throw new CliError(line, 'local-user is mandatory.');
      upsert(config.userInfos, { ...frame.draft });
      frame.committed = true;
      return;
    }
    default:
      return;
  }
}

function upsert<T extends { index: number }>(rows: T[], row: T): void {
  const at = rows.findIndex((r) => r.index === row.index);
  if (at >= 0) rows[at] = row;
  else {
    rows.push(row);
    rows.sort((a, b) => a.index - b.index);
  }
}

const ruleFields: Record<string, (rule: SbcDialPlanRule) => string> = {
  name: (r) => r.name,
  prefix: (r) => r.prefix,
  tag: (r) => r.tag,
};

/**
 * One dial plan's rules while a script is in its level: kept in index order with the indexes in use, so that a
 * rule added, found by index or removed costs a binary search, not a scan (and a sort) of a 50,000-row table.
 * Every change to the plan's rules inside its level goes through here.
 */
class RuleTable {
  private readonly used: Set<number>;
  /** Every index below it is in use. */
  private lowest = 0;

  constructor(private readonly plan: SbcDialPlan) {
    // Rules put in place behind the CLI's back may be out of order; sorting rows already in order is one pass.
    plan.rules.sort((a, b) => a.index - b.index);
    this.used = new Set(plan.rules.map((r) => r.index));
  }

  /** The lowest index not in use, as `dial-plan-rule new` picks it. */
  nextIndex(): number {
    while (this.used.has(this.lowest)) this.lowest += 1;
    return this.lowest;
  }

  /** Rows by `<index>` or `where <field> "<value>"`, as `selectRows`. */
  select(selector: readonly string[], line: number): SbcDialPlanRule[] {
    const [first] = selector;
    if (selector.length === 1 && first !== undefined && /^\d+$/.test(first)) {
      const rule = this.plan.rules[this.position(Number(first))];
      return rule?.index === Number(first) ? [rule] : [];
    }
    return selectRows(this.plan.rules, selector, ruleFields, line, 'dial-plan-rule');
  }

  upsert(rule: SbcDialPlanRule): void {
    const rules = this.plan.rules;
    const at = this.position(rule.index);
    if (rules[at]?.index === rule.index) rules[at] = rule;
    else rules.splice(at, 0, rule);
    this.used.add(rule.index);
  }

  remove(matches: readonly SbcDialPlanRule[]): void {
    const rules = this.plan.rules;
    for (const rule of matches) {
      const guess = this.position(rule.index);
      // Two rows of one index can only have been put in place behind the CLI's back.
      const at = rules[guess] === rule ? guess : rules.indexOf(rule);
      if (at < 0) continue;
      rules.splice(at, 1);
      if (rules[this.position(rule.index)]?.index === rule.index) continue;
      this.used.delete(rule.index);
      this.lowest = Math.min(this.lowest, rule.index);
    }
  }

  /** Where the row of this index is, or would go. */
  private position(index: number): number {
    const rules = this.plan.rules;
    let low = 0;
    let high = rules.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((rules[middle]?.index ?? Infinity) < index) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

/** Rows by `<index>` (quoted or not) or `where <field> "<value>"`. */
function selectRows<T extends { index: number }>(
  rows: readonly T[],
  selector: readonly string[],
  fields: Readonly<Record<string, (row: T) => string>>,
  line: number,
  table: string,
): T[] {
  const [first, field, value] = selector;
  if (selector.length === 1 && first !== undefined && /^\d+$/.test(first)) {
    return rows.filter((r) => r.index === Number(first));
  }
  if (first === 'where' && selector.length === 3 && field !== undefined && value !== undefined) {
    const read = fields[field];
    if (!read) throw new CliError(line, `${table} has no field '${field}' to select by.`);
    return rows.filter((r) => read(r) === value);
  }
  throw new CliError(line, `Expected '${table} <index>' or '${table} where <field> "<value>"'.`, true);
}

function selectIpGroup(config: SbcConfiguration, selector: readonly string[], line: number): SbcIpGroup {
  const [group] = selectRows(config.ipGroups, selector, { name: (g) => g.name }, line, 'ip-group');
  if (!group) throw new CliError(line, `ip-group ${describeSelector(selector)} does not exist.`);
  return group;
}

function requireIpGroup(config: SbcConfiguration, name: string, line: number): void {
  if (!config.ipGroups.some((g) => g.name === name))
    throw new CliError(line, `IP Group '${name}' does not exist.`);
}

function enableDisable(value: string, line: number): boolean {
  if (value === 'enable') return true;
  if (value === 'disable') return false;
  throw new CliError(line, `Expected enable or disable, not '${value}'.`);
}

function show(config: SbcConfiguration, words: readonly string[], line: number): string {
  const what = words.join(' ');
  if (what === 'running-config' || what === 'running-config voip') return renderRunningConfig(config);
  if (what === 'voip ip-group') {
    return config.ipGroups
      .map(
        (g) =>
          `${g.index}  ${g.name}  type=${g.type} proxy-set=${g.proxySetName} ip-profile=${g.ipProfileName}`,
      )
      .join('\n');
  }
  if (what === 'voip dial-plan') {
    return config.dialPlans
      .flatMap((p) => p.rules.map((r) => `${p.name}  ${r.index}  ${r.name}  ${r.prefix}  ${r.tag}`))
      .join('\n');
  }
  throw new CliError(line, `Unsupported show command 'show ${what}'.`, true);
}

function where(frame: Frame): string {
  return frame.kind === 'root' ? '' : ` (in ${frame.kind})`;
}

function indices(rows: ReadonlyArray<{ index: number }>): string {
  return rows.map((r) => r.index).join(', ');
}

function describeSelector(selector: readonly string[]): string {
  return selector.length === 3 ? `where ${selector[1]} "${selector[2]}"` : selector.join(' ');
}

function throwError(error: Error): never {
  throw error;
}
