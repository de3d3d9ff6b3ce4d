import { describe, expect, it } from 'vitest';
import type { MirrorVoiceObject } from '../../shared/replication/mirror-store.js';
import { VoiceConfig } from '../../shared/voice/voice-change.js';
import type { DesiredVoiceObject } from '../../shared/voice/voice-change-store.js';
import { adoptedObjects, desiredDrift, restoreChanges } from '../../shared/voice/voice-desired.js';

/** What the product set against what Teams has: the drift an operator sees, and what restoring it would send. */

const usages = (...names: string[]): MirrorVoiceObject => ({
  policyName: 'OnlinePstnUsages',
  identity: 'Global',
  data: { Identity: 'Global', Usage: names },
});
const route = (identity: string, data: Record<string, unknown>): MirrorVoiceObject => ({
  policyName: 'OnlineVoiceRoute',
  identity,
  data: {
    Identity: identity,
    Description: '',
    NumberPattern: '^\\+44(\\d{10})$',
    Priority: 1,
    OnlinePstnGatewayList: ['sbc1.contoso.com'],
    OnlinePstnUsages: ['UK'],
    ...data,
  },
});
const routeState = {
  description: '',
  numberPattern: '^\\+44(\\d{10})$',
  priority: 1,
  gateways: ['sbc1.contoso.com'],
  usages: ['UK'],
};
const desired = (
  kind: DesiredVoiceObject['kind'],
  identity: string,
  state: DesiredVoiceObject['state'],
): DesiredVoiceObject => ({
  kind,
  identity,
  state,
  setBy: 'operator@provider.example',
  setAt: '2026-12-01T10:00:00.000Z',
  entryId: '01JDESIRED0000000000000000',
});

describe('desired state drift', () => {
  it('is empty when Teams has what the product set, whatever the spelling of names and lists', () => {
    const config = new VoiceConfig([
      usages('UK'),
      route('UK-Route', { OnlinePstnGatewayList: ['SBC1.contoso.com'], Description: null }),
    ]);
    expect(
      desiredDrift(config, [
        desired('pstn-usages', 'uk', {}),
        desired('voice-routes', 'uk-route', routeState),
      ]),
    ).toEqual([]);
  });

  it('names what changed, what was removed and what came back, with desired and actual values', () => {
    const config = new VoiceConfig([
      usages('UK', 'Old'),
      route('UK-Route', { NumberPattern: '^\\+44(\\d+)$', Priority: 3 }),
    ]);
    const drift = desiredDrift(config, [
      desired('voice-routes', 'UK-Route', routeState),
      desired('voice-routes', 'US-Route', { ...routeState, usages: ['US'] }),
      desired('pstn-usages', 'Old', null),
    ]);
    expect(drift.map((d) => [d.kind, d.identity, d.status])).toEqual([
      ['pstn-usages', 'Old', 'unexpected'],
      ['voice-routes', 'UK-Route', 'changed'],
      ['voice-routes', 'US-Route', 'missing'],
    ]);
    expect(drift[1]?.fields).toEqual([
      { property: 'numberPattern', desired: '^\\+44(\\d{10})$', actual: '^\\+44(\\d+)$' },
      { property: 'priority', desired: 1, actual: 3 },
    ]);
    expect(drift[1]).toMatchObject({
      setBy: 'operator@provider.example',
      entryId: '01JDESIRED0000000000000000',
    });
  });

  it('restores in an order Teams accepts: what others name first, removals last and in reverse', () => {
    const config = new VoiceConfig([usages('Old'), route('Old-Route', { OnlinePstnUsages: ['Old'] })]);
    const wanted = [
      desired('voice-routes', 'Old-Route', null),
      desired('pstn-usages', 'Old', null),
      desired('voice-routes', 'UK-Route', routeState),
      desired('pstn-usages', 'UK', {}),
    ];
    const changes = restoreChanges(config, desiredDrift(config, wanted), wanted);
    expect(
      changes.map(
        (c) => `${c.after === null ? 'remove' : c.before === null ? 'create' : 'edit'} ${c.identity}`,
      ),
    ).toEqual(['create UK', 'create UK-Route', 'remove Old-Route', 'remove Old']);
  });

  it('names an object as Teams spells it when restoring it', () => {
    const config = new VoiceConfig([usages('UK'), route('UK-Route', { Priority: 2 })]);
    const wanted = [desired('voice-routes', 'uk-route', routeState)];
    expect(restoreChanges(config, desiredDrift(config, wanted), wanted)).toEqual([
      {
        kind: 'voice-routes',
        identity: 'UK-Route',
        before: { ...routeState, priority: 2 },
        after: routeState,
      },
    ]);
  });

  it('adopts what Teams has, a removal as a removal', () => {
    const config = new VoiceConfig([usages('UK'), route('UK-Route', { Priority: 2 })]);
    const wanted = [
      desired('voice-routes', 'UK-Route', routeState),
      desired('voice-routes', 'Gone', routeState),
    ];
    const adopted = adoptedObjects(config, desiredDrift(config, wanted), {
      setBy: 'admin@contoso.example',
      setAt: '2026-12-03T09:00:00.000Z',
    });
    expect(adopted).toEqual([
      {
        kind: 'voice-routes',
        identity: 'Gone',
        state: null,
        setBy: 'admin@contoso.example',
        setAt: '2026-12-03T09:00:00.000Z',
        entryId: null,
      },
      {
        kind: 'voice-routes',
        identity: 'UK-Route',
        state: { ...routeState, priority: 2 },
        setBy: 'admin@contoso.example',
        setAt: '2026-12-03T09:00:00.000Z',
        entryId: null,
      },
    ]);
    expect(desiredDrift(config, adopted)).toEqual([]);
  });
});
