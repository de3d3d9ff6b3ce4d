import { z } from 'zod';
import {
  fieldChanges,
  sameState,
  VOICE_KINDS,
  type VoiceConfig,
  type VoiceKind,
  type VoiceObjectChange,
  type VoiceValue,
} from './voice-change.js';
import { type DesiredVoiceObject, voiceValueSchema } from './voice-change-store.js';

/**
 * Desired state (issue 13 item 4): the objects the product created, edited or removed are held at the state its
 * last applied change left them in. Teams changed by someone else since — in the admin center, by PowerShell — shows
 * here as drift and is never reverted on its own: an operator restores it (reconcile) or takes Teams' state as the
 * new desired one (adopt).
 */

export const VOICE_DRIFT_STATUSES = ['changed', 'missing', 'unexpected'] as const;
export type VoiceDriftStatus = (typeof VOICE_DRIFT_STATUSES)[number];

export const voiceObjectDriftSchema = z
  .object({
    kind: z.enum(VOICE_KINDS),
    identity: z.string(),
    status: z.enum(VOICE_DRIFT_STATUSES).meta({
      description:
        '`changed`: Teams has other values; `missing`: removed from Teams; `unexpected`: the product removed it and Teams has it again.',
    }),
    fields: z
      .array(z.object({ property: z.string(), desired: voiceValueSchema, actual: voiceValueSchema }))
      .meta({ description: 'The properties that differ: what the product set, what Teams has.' }),
    setBy: z.string().meta({ description: 'Who made the change that set the desired state.' }),
    setAt: z.iso.datetime(),
    entryId: z
      .string()
      .nullable()
      .meta({ description: 'The voice audit entry that set it (null: adopted).' }),
  })
  .meta({ id: 'VoiceObjectDrift' });

export interface VoiceObjectDrift {
  readonly kind: VoiceKind;
  readonly identity: string;
  readonly status: VoiceDriftStatus;
  readonly fields: ReadonlyArray<{
    readonly property: string;
    readonly desired: VoiceValue;
    readonly actual: VoiceValue;
  }>;
  readonly setBy: string;
  readonly setAt: string;
  readonly entryId: string | null;
}

/**
 * The order changes are applied in when several objects are restored: what others name first (a usage before the
 * routes listing it), removals in the reverse order (a route before the usage it lists).
 */
const DEPENDENCY_ORDER: readonly VoiceKind[] = [
  'pstn-usages',
  // An emergency number names its usage; a site names its region and emergency policies; a subnet its site.
  'emergency-calling-policies',
  'emergency-call-routing-policies',
  'network-regions',
  'network-sites',
  'network-subnets',
  'trusted-ips',
  // A gateway names its network site; routes list gateways.
  'pstn-gateways',
  'voice-routes',
  'voice-routing-policies',
  'dial-plans',
];

const rankOf = (kind: VoiceKind) => {
  const rank = DEPENDENCY_ORDER.indexOf(kind);
  return rank < 0 ? DEPENDENCY_ORDER.length : rank;
};

/** Each desired object Teams no longer matches (as the mirror has Teams: the last cycle and the changes since). */
export function desiredDrift(
  config: VoiceConfig,
  desired: readonly DesiredVoiceObject[],
): VoiceObjectDrift[] {
  const drift: VoiceObjectDrift[] = [];
  for (const object of desired) {
    const actual = config.state(object.kind, object.identity);
    if (sameState(object.kind, actual, object.state)) continue;
    const status: VoiceDriftStatus =
      object.state === null ? 'unexpected' : actual === null ? 'missing' : 'changed';
    const change = { kind: object.kind, identity: object.identity, before: actual, after: object.state };
    drift.push({
      kind: object.kind,
      identity: object.identity,
      status,
      fields: fieldChanges(change).map((f) => ({
        property: f.property,
        desired: f.newValue,
        actual: f.oldValue,
      })),
      setBy: object.setBy,
      setAt: object.setAt,
      entryId: object.entryId,
    });
  }
  return drift.sort(
    (a, b) =>
      rankOf(a.kind) - rankOf(b.kind) || a.identity.toLowerCase().localeCompare(b.identity.toLowerCase()),
  );
}

/** The changes that bring Teams back to the desired state, in an order Teams accepts. */
export function restoreChanges(
  config: VoiceConfig,
  drift: readonly VoiceObjectDrift[],
  desired: readonly DesiredVoiceObject[],
): VoiceObjectChange[] {
  const changes = drift.flatMap((item): VoiceObjectChange[] => {
    const target = desired.find(
      (d) => d.kind === item.kind && d.identity.toLowerCase() === item.identity.toLowerCase(),
    );
    if (!target) return [];
    const found = config.find(item.kind, item.identity);
    // Commands name the object as Teams spells it.
    const identity = found ? found.identity.replace(/^tag:/i, '') : target.identity;
    return [
      { kind: item.kind, identity, before: config.state(item.kind, item.identity), after: target.state },
    ];
  });
  const removal = (c: VoiceObjectChange) => c.after === null;
  return [
    ...changes.filter((c) => !removal(c)).sort((a, b) => rankOf(a.kind) - rankOf(b.kind)),
    ...changes.filter(removal).sort((a, b) => rankOf(b.kind) - rankOf(a.kind)),
  ];
}

/** What adopting Teams' state sets: each drifted object's desired state becomes what Teams has. */
export function adoptedObjects(
  config: VoiceConfig,
  drift: readonly VoiceObjectDrift[],
  by: { readonly setBy: string; readonly setAt: string },
): DesiredVoiceObject[] {
  return drift.map((item) => ({
    kind: item.kind,
    identity: item.identity,
    state: config.state(item.kind, item.identity),
    setBy: by.setBy,
    setAt: by.setAt,
    entryId: null,
  }));
}
