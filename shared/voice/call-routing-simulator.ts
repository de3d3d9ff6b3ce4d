import type { MirrorVoiceObject } from '../replication/mirror-store.js';
import {
  type DotNetRegex,
  parseDotNetPattern,
  parseTranslation,
  patternMessage,
  translate,
} from './dotnet-regex.js';

/**
 * What Teams would do with a number a user dials, computed from voice objects alone (the mirror's, or the mirror's
 * with pending changes laid over them) — the semantics of Test-CsEffectiveTenantDialPlan and Test-CsOnlineVoiceRoute
 * (learn.microsoft.com/powershell/module/microsoftteams/test-cseffectivetenantdialplan, …/test-csonlinevoiceroute):
 *
 * 1. Normalization: the effective tenant dial plan is the user's assigned TenantDialPlan, or the tenant's Global
 *    one when none is assigned ("Tenant User - Service Country" / "Tenant Global - Service Country",
 *    learn.microsoft.com/microsoftteams/what-are-dial-plans). Its rules are tried top to bottom; the first match
 *    wins and no other rule is tried. The service country dial plan Microsoft merges in is not visible through any
 *    API, so, like `Test-CsEffectiveTenantDialPlan -TenantScopeOnly`, only tenant rules are applied; an unmatched
 *    number is routed as dialed.
 * 2. Routing: the voice routing policy's PSTN usages in order; in each, the voice routes that have the usage and
 *    whose NumberPattern matches the normalized number, by Priority (lower first). "The usages are applied in order,
 *    and if a match is found in the first usage, then other usages are never evaluated"; within a usage, a route's
 *    gateways are tried before the next route's, and "the SBCs in the routes are tried in random order"
 *    (learn.microsoft.com/microsoftteams/direct-routing-voice-routing). A disabled gateway (`Enabled: false`) or one
 *    the tenant does not have is never tried.
 * 3. Emergency: with Direct Routing, a number is an emergency call only through a TeamsEmergencyCallRoutingPolicy
 *    (its EmergencyDialString or an EmergencyDialMask): such a call goes to the routes of that emergency number's
 *    OnlinePSTNUsage, not the voice routing policy's (learn.microsoft.com/microsoftteams/manage-emergency-call-
 *    routing-policies). A site's policy overrides the user's; the simulator takes the one it is given.
 */

export type RuleOutcome = 'matched' | 'no-match' | 'not-evaluated' | 'not-evaluable';
export type GatewayStatus = 'enabled' | 'disabled' | 'unknown';
export type UsageOutcome = 'selected' | 'no-match' | 'not-evaluated';
export type SimulationOutcome = 'routed' | 'no-route' | 'no-gateway' | 'no-policy';

export interface SimulationRequest {
  /** Every voice object of the tenant (TenantDialPlan, OnlineVoiceRoutingPolicy, OnlineVoiceRoute, gateways…). */
  readonly objects: readonly MirrorVoiceObject[];
  readonly dialedNumber: string;
  /** The user's TenantDialPlan (its name, with or without `Tag:`); null or `Global`: none assigned. */
  readonly dialPlan: string | null;
  /** The user's OnlineVoiceRoutingPolicy; null or `Global`: the tenant's Global policy. */
  readonly voiceRoutingPolicy: string | null;
  /** The TeamsEmergencyCallRoutingPolicy in force (the user's or their network site's); null: Global. */
  readonly emergencyCallRoutingPolicy: string | null;
}

export interface RuleStep {
  readonly name: string;
  readonly pattern: string;
  readonly translation: string;
  readonly isInternalExtension: boolean;
  readonly outcome: RuleOutcome;
  /** Why a rule could not be evaluated. */
  readonly message: string | null;
}

export interface NormalizationResult {
  /** The dial plan applied (its Identity); null when the tenant has none to apply. */
  readonly dialPlan: string | null;
  readonly rules: readonly RuleStep[];
  readonly matchedRule: string | null;
  readonly normalizedNumber: string;
  readonly isInternalExtension: boolean;
}

export interface GatewayStep {
  readonly gateway: string;
  readonly status: GatewayStatus;
}

export interface RouteStep {
  readonly route: string;
  readonly numberPattern: string;
  readonly priority: number;
  readonly matches: boolean;
  readonly gateways: readonly GatewayStep[];
}

export interface UsageStep {
  readonly usage: string;
  readonly outcome: UsageOutcome;
  /** The routes that have the usage, by priority, each saying whether its pattern matches. */
  readonly routes: readonly RouteStep[];
}

export interface Attempt {
  readonly route: string;
  /** The route's enabled gateways; Teams tries them in random order. */
  readonly gateways: readonly string[];
}

export interface EmergencyMatch {
  readonly policy: string;
  readonly dialString: string;
  /** The dial mask the user dialed, when it was a mask. */
  readonly dialMask: string | null;
  readonly usage: string;
}

export interface RoutingResult {
  /** The voice routing policy applied (its Identity), null for an emergency call or when it does not exist. */
  readonly voiceRoutingPolicy: string | null;
  /** The number matched against the routes' patterns. */
  readonly number: string;
  readonly usages: readonly UsageStep[];
  readonly selectedUsage: string | null;
  /** Route after route, in the order Teams tries them. */
  readonly attempts: readonly Attempt[];
}

export interface SimulationResult {
  readonly dialedNumber: string;
  readonly outcome: SimulationOutcome;
  readonly emergency: EmergencyMatch | null;
  readonly normalization: NormalizationResult;
  readonly routing: RoutingResult;
  /** What the simulation could not know or evaluate (an unsupported pattern, a missing policy), each once. */
  readonly warnings: readonly string[];
}

/** A change to lay over the objects: `data` replaces the object (or adds it), null removes it. */
export interface PendingVoiceObject {
  readonly policyName: string;
  readonly identity: string;
  readonly data: Readonly<Record<string, unknown>> | null;
}

const GLOBAL = 'global';

/** `Tag:Name` and `Name` are one policy; names are case-insensitive in Teams. */
function identityKey(identity: string): string {
  return identity.replace(/^tag:/i, '').toLowerCase();
}

const objectKey = (o: Pick<MirrorVoiceObject, 'policyName' | 'identity'>) =>
  `${o.policyName.toLowerCase()}\n${identityKey(o.identity)}`;

/** The objects as they would be after the pending changes (a pending configuration). */
export function withPending(
  objects: readonly MirrorVoiceObject[],
  pending: readonly PendingVoiceObject[],
): MirrorVoiceObject[] {
  const byKey = new Map(objects.map((o) => [objectKey(o), o]));
  for (const change of pending) {
    if (change.data === null) byKey.delete(objectKey(change));
    else
      byKey.set(objectKey(change), {
        policyName: change.policyName,
        identity: change.identity,
        data: change.data,
      });
  }
  return [...byKey.values()];
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
const text = (value: unknown): string => (typeof value === 'string' ? value : '');

export function simulateCall(request: SimulationRequest): SimulationResult {
  const warnings = new Set<string>();
  const find = (policyName: string, identity: string | null) => {
    const key = identityKey(identity ?? GLOBAL);
    return request.objects.find(
      (o) => o.policyName.toLowerCase() === policyName.toLowerCase() && identityKey(o.identity) === key,
    );
  };
  const patterns = new PatternCache();

  const emergency = emergencyMatch(find, request, warnings);
  if (emergency) {
    const routing = route(request.objects, [emergency.usage], emergency.dialString, patterns, warnings);
    return {
      dialedNumber: request.dialedNumber,
      outcome: outcomeOf(routing),
      emergency,
      normalization: {
        dialPlan: null,
        rules: [],
        matchedRule: null,
        normalizedNumber: emergency.dialString,
        isInternalExtension: false,
      },
      routing: { ...routing, voiceRoutingPolicy: null },
      warnings: [...warnings],
    };
  }

  const normalization = normalize(find, request, patterns, warnings);
  const policy = find('OnlineVoiceRoutingPolicy', request.voiceRoutingPolicy);
  if (!policy) {
    warnings.add(
      `The voice routing policy "${request.voiceRoutingPolicy ?? 'Global'}" does not exist: the call cannot be routed.`,
    );
    return {
      dialedNumber: request.dialedNumber,
      outcome: 'no-policy',
      emergency: null,
      normalization,
      routing: {
        voiceRoutingPolicy: null,
        number: normalization.normalizedNumber,
        usages: [],
        selectedUsage: null,
        attempts: [],
      },
      warnings: [...warnings],
    };
  }
  const routing = route(
    request.objects,
    strings(policy.data.OnlinePstnUsages),
    normalization.normalizedNumber,
    patterns,
    warnings,
  );
  return {
    dialedNumber: request.dialedNumber,
    outcome: outcomeOf(routing),
    emergency: null,
    normalization,
    routing: { ...routing, voiceRoutingPolicy: policy.identity },
    warnings: [...warnings],
  };
}

type Find = (policyName: string, identity: string | null) => MirrorVoiceObject | undefined;

function outcomeOf(routing: Pick<RoutingResult, 'selectedUsage' | 'attempts'>): SimulationOutcome {
  if (routing.selectedUsage === null) return 'no-route';
  return routing.attempts.some((a) => a.gateways.length > 0) ? 'routed' : 'no-gateway';
}

/** Patterns parse once per simulation; one that cannot be evaluated is reported once. */
class PatternCache {
  private readonly parsed = new Map<string, ReturnType<typeof parseDotNetPattern>>();

  get(pattern: string) {
    let result = this.parsed.get(pattern);
    if (!result) {
      result = parseDotNetPattern(pattern);
      this.parsed.set(pattern, result);
    }
    return result;
  }
}

function emergencyMatch(
  find: Find,
  request: SimulationRequest,
  warnings: Set<string>,
): EmergencyMatch | null {
  const policy = find('TeamsEmergencyCallRoutingPolicy', request.emergencyCallRoutingPolicy);
  if (!policy) {
    if (
      request.emergencyCallRoutingPolicy !== null &&
      identityKey(request.emergencyCallRoutingPolicy) !== GLOBAL
    ) {
      warnings.add(
        `The emergency call routing policy "${request.emergencyCallRoutingPolicy}" is not among the voice objects: emergency numbers were not checked.`,
      );
    }
    return null;
  }
  const dialed = request.dialedNumber;
  for (const entry of Array.isArray(policy.data.EmergencyNumbers) ? policy.data.EmergencyNumbers : []) {
    if (entry === null || typeof entry !== 'object') continue;
    const number = entry as Record<string, unknown>;
    const dialString = text(number.EmergencyDialString);
    const masks = text(number.EmergencyDialMask)
      .split(';')
      .map((m) => m.trim())
      .filter((m) => m !== '');
    const mask = masks.find((m) => m === dialed) ?? null;
    if (dialString !== '' && (dialString === dialed || mask !== null)) {
      return { policy: policy.identity, dialString, dialMask: mask, usage: text(number.OnlinePSTNUsage) };
    }
  }
  return null;
}

function normalize(
  find: Find,
  request: SimulationRequest,
  patterns: PatternCache,
  warnings: Set<string>,
): NormalizationResult {
  const dialed = request.dialedNumber;
  const assigned = request.dialPlan !== null && identityKey(request.dialPlan) !== GLOBAL;
  const plan = find('TenantDialPlan', assigned ? request.dialPlan : null);
  if (!plan) {
    if (assigned) {
      warnings.add(`The dial plan "${request.dialPlan}" does not exist: the number was not normalized.`);
    }
    return {
      dialPlan: null,
      rules: [],
      matchedRule: null,
      normalizedNumber: dialed,
      isInternalExtension: false,
    };
  }
  const rules: RuleStep[] = [];
  let matched: { rule: RuleStep; number: string } | null = null;
  for (const raw of Array.isArray(plan.data.NormalizationRules) ? plan.data.NormalizationRules : []) {
    if (raw === null || typeof raw !== 'object') continue;
    const data = raw as Record<string, unknown>;
    const base = {
      name: text(data.Name),
      pattern: text(data.Pattern),
      translation: text(data.Translation),
      isInternalExtension: data.IsInternalExtension === true,
    };
    if (matched) {
      rules.push({ ...base, outcome: 'not-evaluated', message: null });
      continue;
    }
    const evaluated = evaluateRule(base.pattern, base.translation, dialed, patterns);
    if ('problem' in evaluated) {
      warnings.add(
        `Rule "${base.name}" of ${plan.identity} could not be evaluated (${evaluated.problem}); Teams may have matched it.`,
      );
      rules.push({ ...base, outcome: 'not-evaluable', message: evaluated.problem });
      continue;
    }
    const rule: RuleStep = {
      ...base,
      outcome: evaluated.number === null ? 'no-match' : 'matched',
      message: null,
    };
    rules.push(rule);
    if (evaluated.number !== null) matched = { rule, number: evaluated.number };
  }
  return {
    dialPlan: plan.identity,
    rules,
    matchedRule: matched?.rule.name ?? null,
    normalizedNumber: matched?.number ?? dialed,
    isInternalExtension: matched?.rule.isInternalExtension ?? false,
  };
}

function evaluateRule(
  pattern: string,
  translation: string,
  dialed: string,
  patterns: PatternCache,
): { number: string | null } | { problem: string } {
  const parsed = patterns.get(pattern);
  if (!parsed.ok) return { problem: patternMessage(parsed.problem) };
  const parts = parseTranslation(translation, parsed.value);
  if (!parts.ok) return { problem: parts.message };
  const match = parsed.value.regex.exec(dialed);
  return { number: match ? translate(match, parts.parts, parsed.value) : null };
}

function route(
  objects: readonly MirrorVoiceObject[],
  usages: readonly string[],
  number: string,
  patterns: PatternCache,
  warnings: Set<string>,
): Omit<RoutingResult, 'voiceRoutingPolicy'> {
  const routes = objects
    .filter((o) => o.policyName.toLowerCase() === 'onlinevoiceroute')
    .sort((a, b) => Number(a.data.Priority ?? 0) - Number(b.data.Priority ?? 0));
  const gateways = new Map(
    objects
      .filter((o) => o.policyName.toLowerCase() === 'onlinepstngateway')
      .map((o) => [o.identity.toLowerCase(), o]),
  );
  const matches = (regex: DotNetRegex | null) => regex !== null && regex.regex.test(number);
  const steps: UsageStep[] = [];
  let selected: { usage: string; attempts: Attempt[] } | null = null;
  for (const usage of usages) {
    const routeSteps: RouteStep[] = routes
      .filter((r) => strings(r.data.OnlinePstnUsages).some((u) => u.toLowerCase() === usage.toLowerCase()))
      .map((r) => {
        const pattern = text(r.data.NumberPattern);
        const parsed = patterns.get(pattern);
        if (!parsed.ok) {
          warnings.add(
            `Voice route "${r.identity}" has a NumberPattern that cannot be evaluated (${patternMessage(parsed.problem)}).`,
          );
        }
        return {
          route: r.identity,
          numberPattern: pattern,
          priority: Number(r.data.Priority ?? 0),
          matches: matches(parsed.ok ? parsed.value : null),
          gateways: strings(r.data.OnlinePstnGatewayList).map((gateway) => {
            const found = gateways.get(gateway.toLowerCase());
            const status: GatewayStatus = !found
              ? 'unknown'
              : found.data.Enabled === false
                ? 'disabled'
                : 'enabled';
            return { gateway, status };
          }),
        };
      });
    if (selected) {
      steps.push({ usage, outcome: 'not-evaluated', routes: routeSteps });
      continue;
    }
    const matching = routeSteps.filter((r) => r.matches);
    steps.push({ usage, outcome: matching.length > 0 ? 'selected' : 'no-match', routes: routeSteps });
    if (matching.length > 0) {
      selected = {
        usage,
        attempts: matching.map((r) => ({
          route: r.route,
          gateways: r.gateways.filter((g) => g.status === 'enabled').map((g) => g.gateway),
        })),
      };
    }
  }
  return {
    number,
    usages: steps,
    selectedUsage: selected?.usage ?? null,
    attempts: selected?.attempts ?? [],
  };
}
