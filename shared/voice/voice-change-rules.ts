import { type DomainError, domainErrors, type FieldError } from '../errors/domain-errors.js';
import { groupAssignmentKey } from '../teams/teams-admin-client.js';
import { parseDotNetPattern, parseTranslation, patternMessage } from './dotnet-regex.js';
import { groupAssignmentsOf } from './group-policy-assignments.js';
import {
  emergencyUsageReferences,
  isLocationKind,
  locationErrorsOf,
  locationReferencesTo,
} from './location-rules.js';
import {
  actionOf,
  isRuleList,
  VOICE_KIND_SPECS,
  type VoiceAction,
  type VoiceConfig,
  type VoiceObjectChange,
  type VoiceState,
} from './voice-change.js';

/**
 * What Teams would refuse, checked before anything is queued (issue 13 item 2), so an operator hears it at once
 * with the field named instead of from a failed task minutes later.
 */

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const listOf = (state: VoiceState | null, property: string): string[] => {
  const value = state?.[property];
  return Array.isArray(value) ? [...(value as readonly string[])] : [];
};

/**
 * Why a number pattern is not a .NET regular expression (Teams compiles it with System.Text.RegularExpressions), or
 * null when it is. A pattern .NET accepts but the simulator cannot run (`pattern_unsupported`) is accepted here: Teams
 * takes it, and the simulator says it cannot evaluate it.
 */
export function patternError(pattern: string): string | null {
  const parsed = parseDotNetPattern(pattern);
  if (parsed.ok || parsed.problem.code !== 'pattern_invalid') return null;
  return patternMessage(parsed.problem);
}

/** The per-field problems of the changes against the configuration they apply to; empty when Teams would accept. */
export function fieldErrorsOf(config: VoiceConfig, changes: readonly VoiceObjectChange[]): FieldError[] {
  const errors: FieldError[] = [];
  const after = config.with(changes);
  const error = (field: string, code: string, message: string) =>
    errors.push({ field, in: 'body', code, message });
  const usages = after.usages();
  for (const change of changes) {
    const spec = VOICE_KIND_SPECS[change.kind];
    const action = actionOf(change);
    if (change.kind === 'group-policy-assignments') {
      errors.push(...assignmentErrors(config, after, change));
      continue;
    }
    if (action === 'create' && config.state(change.kind, change.identity) !== null) {
      error(
        change.kind === 'pstn-usages' ? 'name' : 'identity',
        'name_taken',
        `The tenant already has a ${spec.label} named "${change.identity}" (names are unique per type, case-insensitive).`,
      );
    }
    if (change.after === null || change.kind === 'pstn-usages') continue;
    if (isLocationKind(change.kind)) {
      errors.push(...locationErrorsOf(config, after, { ...change, after: change.after }));
      continue;
    }
    if (change.kind === 'pstn-gateways') {
      errors.push(...gatewayErrors(after, change.identity, change.after, action));
      continue;
    }
    if (change.kind !== 'voice-routes' && same(change.identity, 'Global') && action === 'create') {
      error('identity', 'name_taken', `Global is the tenant-wide default ${spec.label}; it always exists.`);
    }
    if (change.kind === 'dial-plans') {
      errors.push(...ruleErrors(change.after.normalizationRules));
      continue;
    }
    listOf(change.after, 'usages').forEach((usage, i) => {
      if (!usages.some((u) => same(u, usage))) {
        error(
          `usages.${i}`,
          'usage_unknown',
          `"${usage}" is not in the tenant's PSTN usage list; create the usage first.`,
        );
      }
      if (listOf(change.after, 'usages').findIndex((u) => same(u, usage)) !== i) {
        error(`usages.${i}`, 'duplicate', `"${usage}" is listed twice.`);
      }
    });
    if (change.kind !== 'voice-routes') continue;
    const pattern = change.after.numberPattern;
    if (typeof pattern === 'string') {
      const problem = patternError(pattern);
      if (problem !== null) {
        error(
          'numberPattern',
          'pattern_invalid',
          `${pattern} is not a valid regular expression: ${problem}.`,
        );
      }
    }
    listOf(change.after, 'gateways').forEach((gateway, i) => {
      const found = after.of('OnlinePSTNGateway').find((g) => same(g.identity, gateway));
      if (!found) {
        error(
          `gateways.${i}`,
          'gateway_unknown',
          `The tenant has no PSTN gateway "${gateway}" (as of the last replication).`,
        );
      } else if (found.data.Enabled === false) {
        error(
          `gateways.${i}`,
          'gateway_disabled',
          `The PSTN gateway "${gateway}" is disabled: calls would not be routed through it.`,
        );
      }
    });
    const priority = change.after.priority;
    const mine = listOf(change.after, 'usages');
    // Teams tries a usage's routes by Priority; two routes of a usage with the same priority leave the order
    // undefined (New-CsOnlineVoiceRoute: "The priority determines the order in which the routes will be applied
    // if more than one route is possible"), which the Teams admin center's ordered route list does not allow.
    const clash = after
      .of('OnlineVoiceRoute')
      .filter((route) => !same(route.identity, change.identity))
      .find(
        (route) =>
          route.data.Priority === priority &&
          ((route.data.OnlinePstnUsages as readonly string[] | undefined) ?? []).some((u) =>
            mine.some((m) => same(m, u)),
          ),
      );
    if (clash) {
      error(
        'priority',
        'priority_taken',
        `Voice route "${clash.identity}" has priority ${String(priority)} in a PSTN usage this route shares; priorities are unique within a usage.`,
      );
    }
  }
  return errors;
}

/**
 * A group policy assignment: a policy of the type that exists, one assignment per group and type (Teams answers a
 * second New-CsGroupPolicyAssignment with a conflict), and the type's ranks each held once (Teams renumbers them
 * 1…n; group-policy-assignments.ts derives the changes that keep them so).
 */
function assignmentErrors(config: VoiceConfig, after: VoiceConfig, change: VoiceObjectChange): FieldError[] {
  const errors: FieldError[] = [];
  const key = groupAssignmentKey(change.identity);
  if (!key) return errors;
  const error = (field: string, code: string, message: string) =>
    errors.push({ field, in: 'body', code, message });
  if (actionOf(change) === 'create') {
    const held = groupAssignmentsOf(config, key.policyType).find((a) => same(a.groupId, key.groupId));
    if (held) {
      error(
        'groupId',
        'group_assigned',
        `The group already has the ${key.policyType} "${held.policyName}"; a group has one policy of each type — remove that assignment first.`,
      );
    }
  }
  if (change.after === null) return errors;
  const policyName = change.after.policyName;
  if (
    typeof policyName !== 'string' ||
    !after.of(key.policyType).some((o) => same(o.identity.replace(/^tag:/i, ''), policyName))
  ) {
    error('policyName', 'policy_unknown', `The tenant has no ${key.policyType} "${String(policyName)}".`);
  }
  const rank = change.after.rank;
  if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 1) {
    error('rank', 'rank_invalid', 'The rank is a whole number from 1 (the first).');
  } else {
    const clash = groupAssignmentsOf(after, key.policyType).find(
      (a) => a.rank === rank && !same(a.groupId, key.groupId),
    );
    if (clash) {
      error(
        'rank',
        'rank_taken',
        `The ${key.policyType} assignment of group ${clash.groupId} has rank ${rank}; ranks are unique per policy type.`,
      );
    }
  }
  return errors;
}

/**
 * A dial plan's normalization rules: each Pattern a .NET regular expression, each Translation a substitution naming
 * only groups the pattern has (New-CsVoiceNormalizationRule; see dotnet-regex.ts), names unique within the plan.
 */
function ruleErrors(value: VoiceState[string] | undefined): FieldError[] {
  const errors: FieldError[] = [];
  const rules = isRuleList(value) ? value : [];
  rules.forEach((rule, i) => {
    const field = `normalizationRules.${i}`;
    if (rules.findIndex((r) => same(r.name, rule.name)) !== i) {
      errors.push({
        field: `${field}.name`,
        in: 'body',
        code: 'duplicate',
        message: `A rule is already named "${rule.name}".`,
      });
    }
    const parsed = parseDotNetPattern(rule.pattern);
    if (!parsed.ok) {
      if (parsed.problem.code === 'pattern_invalid') {
        errors.push({
          field: `${field}.pattern`,
          in: 'body',
          code: 'pattern_invalid',
          message: `${rule.pattern} is not a valid .NET regular expression: ${patternMessage(parsed.problem)}`,
        });
      }
      return;
    }
    const translation = parseTranslation(rule.translation, parsed.value);
    if (!translation.ok) {
      errors.push({
        field: `${field}.translation`,
        in: 'body',
        code: 'translation_invalid',
        message: translation.message,
      });
    }
  });
  return errors;
}

/**
 * An SBC's FQDN as Teams takes it: labels of letters, digits and hyphens (not first or last), at least two, the
 * last alphabetic; at most 63 characters in all (New-CsOnlinePSTNGateway -Fqdn: "Limited to 63 characters").
 */
export const GATEWAY_FQDN_MAX = 63;
const FQDN = /^(?=.{1,63}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/** The reason Teams refuses the FQDN of an SBC, or null when it takes it. */
export function gatewayFqdnError(fqdn: string): { code: string; message: string } | null {
  if (!FQDN.test(fqdn)) {
    return {
      code: 'fqdn_invalid',
      message: `"${fqdn}" is not an FQDN Teams takes for an SBC: labels of letters, digits and hyphens, at least two, at most ${GATEWAY_FQDN_MAX} characters in all.`,
    };
  }
  // "Keep in mind that the *.onmicrosoft.com domain name isn't supported for the SBC FQDN domain name"
  // (learn.microsoft.com/microsoftteams/direct-routing-connect-the-sbc).
  if (/(^|\.)onmicrosoft\.com$/i.test(fqdn)) {
    return {
      code: 'fqdn_not_allowed',
      message: `"${fqdn}" is in *.onmicrosoft.com, which Teams does not support for an SBC; use a domain registered in the tenant.`,
    };
  }
  return null;
}

/** SIP response codes: three digits each, 400–699 (Direct Routing fails over on 4xx, 5xx and 6xx answers). */
const RESPONSE_CODES = /^\s*[4-6]\d\d\s*(,\s*[4-6]\d\d\s*)*$/;
const INT32_MAX = 2_147_483_647;

/**
 * A PSTN gateway's fields as Teams checks them (New/Set-CsOnlinePSTNGateway): the FQDN (create only: it is the
 * Identity), SipSignalingPort "between 1 and 65535", positive session and failover limits, SIP failover codes, a
 * GatewaySiteId that is a network site of the tenant (as of the last replication) and one when the gateway reports
 * its site for Location-Based Routing, and a ProxySbc that is an FQDN.
 */
export function gatewayErrors(
  config: VoiceConfig,
  identity: string,
  state: VoiceState,
  action: VoiceAction,
): FieldError[] {
  const errors: FieldError[] = [];
  const error = (field: string, code: string, message: string) =>
    errors.push({ field, in: 'body', code, message });
  if (action === 'create') {
    const problem = gatewayFqdnError(identity);
    if (problem) error('identity', problem.code, problem.message);
  }
  const integer = (
    field: string,
    min: number,
    max: number,
    code: string,
    what: string,
    optional: boolean,
  ) => {
    const value = state[field];
    if (value === null && optional) return;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      error(field, code, `${what} is a whole number from ${min} to ${max}.`);
    }
  };
  integer('sipSignalingPort', 1, 65_535, 'port_invalid', 'SipSignalingPort', false);
  integer('maxConcurrentSessions', 1, INT32_MAX, 'sessions_invalid', 'MaxConcurrentSessions', true);
  integer('failoverTimeSeconds', 1, INT32_MAX, 'timeout_invalid', 'FailoverTimeSeconds', true);
  const codes = state.failoverResponseCodes;
  if (typeof codes === 'string' && codes !== '' && !RESPONSE_CODES.test(codes)) {
    error(
      'failoverResponseCodes',
      'sip_codes_invalid',
      `"${codes}" is not a comma-separated list of SIP response codes (400–699), e.g. "408, 503, 504".`,
    );
  }
  const site = state.gatewaySiteId;
  if (typeof site === 'string' && site !== '') {
    if (!config.of('TenantNetworkSite').some((s) => same(s.identity, site))) {
      error(
        'gatewaySiteId',
        'site_unknown',
        `The tenant has no network site "${site}" (as of the last replication); create the site first.`,
      );
    }
  } else if (state.gatewaySiteLbrEnabled === true) {
    error(
      'gatewaySiteId',
      'site_required',
      'A gateway that reports its site for Location-Based Routing (gatewaySiteLbrEnabled) needs a gatewaySiteId.',
    );
  }
  const proxy = state.proxySbc;
  if (typeof proxy === 'string' && proxy !== '' && !FQDN.test(proxy)) {
    error('proxySbc', 'fqdn_invalid', `"${proxy}" is not an FQDN: ProxySbc names the proxy SBC by its FQDN.`);
  }
  return errors;
}

/**
 * What an operator should know before a gateway change that Teams accepts: a gateway disabled while voice routes
 * still list it takes no new calls through them (Set-CsOnlinePSTNGateway -Enabled: "the SBC will continue existing
 * calls, but all new calls will be routed to another SBC in a route").
 */
export function gatewayWarnings(config: VoiceConfig, change: VoiceObjectChange): string[] {
  if (change.kind !== 'pstn-gateways' || change.after?.enabled !== false || change.before?.enabled === false)
    return [];
  const routes = routesListing(config, change.identity);
  if (routes.length === 0) return [];
  return [
    `The PSTN gateway "${change.identity}" takes no new calls once disabled; ${routes.join(', ')} ${routes.length === 1 ? 'lists' : 'list'} it, so their calls go to their other gateways, or fail if there is none.`,
  ];
}

/** The voice routes whose gateway list names the gateway, in the manual's words. */
function routesListing(config: VoiceConfig, gateway: string): string[] {
  return config
    .of('OnlineVoiceRoute')
    .filter((route) =>
      ((route.data.OnlinePstnGatewayList as readonly string[] | undefined) ?? []).some((g) =>
        same(g, gateway),
      ),
    )
    .map((route) => `voice route "${route.identity}"`);
}

/** Throws 400 validation_failed with the per-field errors, if any. */
export function assertValid(config: VoiceConfig, changes: readonly VoiceObjectChange[]): void {
  const errors = fieldErrorsOf(config, changes);
  if (errors.length > 0) throw domainErrors.validation(errors);
}

/** Who still names the object (the references that keep Teams from removing it), in the manual's words. */
export function referencesTo(config: VoiceConfig, change: VoiceObjectChange): string[] {
  if (change.kind === 'pstn-gateways') return routesListing(config, change.identity);
  if (change.kind !== 'pstn-usages') return locationReferencesTo(config, change);
  const refs: string[] = [];
  for (const [policyName, label] of [
    ['OnlineVoiceRoutingPolicy', 'voice routing policy'],
    ['OnlineVoiceRoute', 'voice route'],
  ] as const) {
    for (const object of config.of(policyName)) {
      const usages = (object.data.OnlinePstnUsages as readonly string[] | undefined) ?? [];
      if (usages.some((u) => same(u, change.identity))) {
        refs.push(`${label} "${object.identity.replace(/^tag:/i, '')}"`);
      }
    }
  }
  refs.push(...emergencyUsageReferences(config, change.identity));
  return refs;
}

/** 409 `voice_object_in_use` naming what still references the object. */
export function inUse(change: VoiceObjectChange, references: readonly string[]): DomainError {
  return domainErrors.conflict(
    'voice_object_in_use',
    'Still in use',
    `The ${VOICE_KIND_SPECS[change.kind].label} "${change.identity}" cannot be removed: it is used by ${references.join(', ')}.`,
  );
}
