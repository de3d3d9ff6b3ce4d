import { type DomainError, domainErrors, type FieldError } from '../errors/domain-errors.js';
import { parseDotNetPattern, parseTranslation, patternMessage } from './dotnet-regex.js';
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

/** Throws 400 validation_failed with the per-field errors, if any. */
export function assertValid(config: VoiceConfig, changes: readonly VoiceObjectChange[]): void {
  const errors = fieldErrorsOf(config, changes);
  if (errors.length > 0) throw domainErrors.validation(errors);
}

/** Who still names the object (the references that keep Teams from removing it), in the manual's words. */
export function referencesTo(config: VoiceConfig, change: VoiceObjectChange): string[] {
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
