import { z } from 'zod';
import type { CustomerCredential } from '../credentials/credential.js';
import { shortNameKey } from '../customers/short-name.js';
import { domainErrors } from '../errors/domain-errors.js';
import { nextLinkOf, nextLinkSchema, pageOf, pagingQuery } from '../paging/paging.js';
import type { CustomerService } from '../customers/customer-service.js';
import { type MirrorCursor, type MirrorStore, type MirrorVoiceObject } from './mirror-store.js';
import type { CycleState, ReplicationStatus } from './replication-store.js';
import { FIRST_REPLICATION_MESSAGE, type ReplicationService } from './replication-service.js';

const countsSchema = z.object({
  users: z.number().int(),
  groups: z.number().int(),
  memberships: z.number().int(),
  voiceObjects: z.number().int(),
});

const countersSchema = z.object({
  pages: z.number().int(),
  usersSeen: z.number().int(),
  usersWritten: z.number().int(),
  usersRemoved: z.number().int(),
  groupsWritten: z.number().int(),
  groupsRemoved: z.number().int(),
  membershipChanges: z.number().int(),
  voiceObjectsChanged: z.number().int(),
});

const warningsSchema = z
  .array(
    z.object({
      code: z.enum(['voice-policy-type-refused']),
      policyType: z.string().meta({ example: 'TeamsEmergencyCallingPolicy' }),
      status: z.number().int().meta({ description: "The Teams admin API's HTTP status." }),
      message: z.string().meta({ description: "The Teams admin API's message." }),
    }),
  )
  .meta({
    description:
      "What the cycle went on without. voice-policy-type-refused: the tenant's Teams admin API refused to list this " +
      'voice object type (a retired type, or one not rolled out to the tenant); the other types were replicated ' +
      'and the mirrored objects of this one were kept as they were.',
  });

export const replicationStatusSchema = z
  .object({
    customerId: z.string(),
    state: z
      .enum([
        'not-verified',
        'authentication-failed',
        'first-replication',
        'running',
        'queued',
        'failed',
        'idle',
      ])
      .meta({
        description:
          'Running: a cycle is in progress (it may be between chunks or waiting for a slot). Failed: the last ' +
          'cycle failed and none runs now (`message` says why); the next cycle that succeeds makes it idle.',
      }),
    message: z
      .string()
      .nullable()
      .meta({
        description:
          'What the portal shows: the first replication notice, why the credentials or the last cycle failed, ' +
          'why a trigger was skipped.',
      }),
    lastSyncAt: z.iso.datetime().nullable(),
    /** The manual's header text. */
    lastSyncText: z.string().meta({ example: '[Last sync at: never]' }),
    lastFullSyncAt: z.iso.datetime().nullable(),
    counts: countsSchema,
    currentCycle: z
      .object({
        id: z.string(),
        kind: z.enum(['full', 'quick']),
        reason: z.string(),
        phase: z.string(),
        startedAt: z.iso.datetime(),
        lastProgressAt: z.iso.datetime(),
        phasePage: z.number().int(),
        counters: countersSchema,
        warnings: warningsSchema,
        failures: z.number().int(),
        lastError: z.string().nullable(),
      })
      .nullable(),
    lastCycle: z
      .object({
        id: z.string(),
        kind: z.enum(['full', 'quick']),
        reason: z.string(),
        startedAt: z.iso.datetime(),
        finishedAt: z.iso.datetime(),
        durationMs: z.number().int(),
        outcome: z.enum(['succeeded', 'failed']),
        message: z.string().nullable(),
        counters: countersSchema,
        warnings: warningsSchema,
      })
      .nullable(),
    queuedAt: z.iso.datetime().nullable(),
    lastChangeAt: z.iso.datetime().nullable(),
    skipped: z.object({ at: z.iso.datetime(), message: z.string() }).nullable(),
  })
  .meta({ id: 'ReplicationStatus' });

export type ReplicationStatusView = z.output<typeof replicationStatusSchema>;

export function statusView(input: {
  readonly status: ReplicationStatus;
  readonly cycle: CycleState | null;
  readonly credential: CustomerCredential | null;
  readonly lastChange: string | null;
}): ReplicationStatusView {
  const { status, cycle, credential } = input;
  const verification = credential?.lastVerificationStatus;
  const last = status.lastCycle;
  const state: ReplicationStatusView['state'] =
    verification === 'failed'
      ? 'authentication-failed'
      : verification !== 'successful'
        ? 'not-verified'
        : cycle
          ? status.lastSyncAt
            ? 'running'
            : 'first-replication'
          : // A failure is the news until a cycle succeeds, even with the next one already queued.
            last?.outcome === 'failed'
            ? 'failed'
            : !status.lastSyncAt
              ? 'first-replication'
              : status.queuedAt
                ? 'queued'
                : 'idle';
  const message =
    state === 'first-replication'
      ? FIRST_REPLICATION_MESSAGE
      : state === 'authentication-failed'
        ? (credential?.lastVerificationMessage ?? 'The credentials failed.')
        : state === 'failed'
          ? `The last ${last?.kind ?? ''} replication cycle failed: ${last?.message ?? 'no reason recorded'}`
          : (status.skipped?.message ?? null);
  return {
    customerId: status.customerId,
    state,
    message,
    lastSyncAt: status.lastSyncAt,
    lastSyncText: `[Last sync at: ${status.lastSyncAt ? manualDate(status.lastSyncAt) : 'never'}]`,
    lastFullSyncAt: status.lastFullSyncAt,
    counts: status.counts,
    currentCycle: cycle
      ? {
          id: cycle.id,
          kind: cycle.kind,
          reason: cycle.reason,
          phase: cycle.phase,
          startedAt: cycle.startedAt,
          lastProgressAt: cycle.lastProgressAt,
          phasePage: cycle.phasePage,
          counters: cycle.counters,
          warnings: cycle.warnings ?? [],
          failures: cycle.failures,
          lastError: cycle.lastError,
        }
      : null,
    lastCycle: last
      ? {
          ...last,
          warnings: [...(last.warnings ?? [])],
          durationMs: Math.max(0, Date.parse(last.finishedAt) - Date.parse(last.startedAt)),
        }
      : null,
    queuedAt: status.queuedAt,
    lastChangeAt: input.lastChange,
    skipped: status.skipped,
  };
}

/** "June 1, 2023, 14:43:42" (UTC), the manual's Last sync format. */
function manualDate(iso: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: 'UTC',
      year: 'numeric',
      month: 'long',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(new Date(iso))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.month} ${parts.day}, ${parts.year}, ${parts.hour}:${parts.minute}:${parts.second}`;
}

export const listQuery = pagingQuery(isMirrorCursor);

/** A mirror cursor is the storage position of the page's last row. */
function isMirrorCursor(key: string): boolean {
  try {
    const parsed = JSON.parse(key) as Partial<MirrorCursor> | null;
    return typeof parsed?.pk === 'string' && typeof parsed.rk === 'string';
  } catch {
    return false;
  }
}

export const voiceObjectQuery = pagingQuery().extend({
  type: z
    .string()
    .regex(/^[A-Za-z]{3,40}$/, 'type is a PolicyName such as OnlineVoiceRoute.')
    .optional()
    .meta({ description: 'Only this PolicyName, e.g. OnlineVoiceRoute.' }),
});

export const groupViewSchema = z
  .object({
    id: z.string(),
    displayName: z.string().nullable(),
    description: z.string().nullable(),
    mailEnabled: z.boolean().nullable(),
    securityEnabled: z.boolean().nullable(),
  })
  .meta({ id: 'MirroredGroup' });

export const voiceObjectViewSchema = z
  .object({
    policyName: z.string(),
    identity: z.string(),
    data: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'VoiceObject' });

export function mirrorListSchema<T extends z.ZodType>(item: T) {
  return z.object({
    customerId: z.string(),
    lastSyncAt: z.iso.datetime().nullable(),
    lastSyncText: z.string(),
    message: z.string().nullable(),
    value: z.array(item),
    nextLink: nextLinkSchema,
  });
}

type ListQuery = z.output<typeof listQuery>;

/** What every mirror list says above its rows: Last sync at, and the first replication's notice. */
export async function mirrorHeader(
  services: Pick<CustomerMirrorDeps, 'replication'>,
  customerId: string,
): Promise<{ customerId: string; lastSyncAt: string | null; lastSyncText: string; message: string | null }> {
  const { status, credential } = await services.replication.status(customerId);
  const firstPending = !status.lastSyncAt && credential?.lastVerificationStatus === 'successful';
  return {
    customerId,
    lastSyncAt: status.lastSyncAt,
    lastSyncText: `[Last sync at: ${status.lastSyncAt ? manualDate(status.lastSyncAt) : 'never'}]`,
    message: firstPending ? FIRST_REPLICATION_MESSAGE : null,
  };
}

export interface CustomerMirrorDeps {
  readonly customers: Pick<CustomerService, 'get'>;
  readonly replication: Pick<ReplicationService, 'status'>;
  readonly mirror: MirrorStore;
}

/** The mirrored data of one customer as the API lists it, after checking the customer exists. */
export function customerMirror(services: CustomerMirrorDeps, customerId: string) {
  const { mirror } = services;
  const prefix = `${shortNameKey(customerId)}~`;

  // A cursor of another customer's mirror is refused, not followed: each customer's rows start with its own prefix.
  const cursorOf = (cursor: string | undefined): MirrorCursor | undefined => {
    if (cursor === undefined) return undefined;
    const parsed = JSON.parse(cursor) as MirrorCursor;
    if (parsed.pk.startsWith(prefix)) return { pk: parsed.pk, rk: parsed.rk };
    throw domainErrors.validation([
      {
        field: 'cursor',
        in: 'query',
        code: 'invalid_cursor',
        message: 'cursor is not one this API returned.',
      },
    ]);
  };
  const linkOf = (url: string, top: number, next: MirrorCursor | null) =>
    nextLinkOf(new URL(url).pathname, { top }, next ? JSON.stringify(next) : null);
  const header = async () => {
    await services.customers.get(customerId);
    return mirrorHeader(services, customerId);
  };

  return {
    async groups(query: ListQuery, url: string) {
      const head = await header();
      const page = await mirror.listGroups(customerId, query.top, cursorOf(query.cursor));
      return { ...head, value: page.items, nextLink: linkOf(url, query.top, page.next) };
    },

    async members(groupId: string, query: ListQuery, url: string) {
      const head = await header();
      const id = groupId.toLowerCase();
      if (!(await mirror.getGroup(customerId, id))) {
        throw domainErrors.notFound(`"${customerId}" has no replicated group ${groupId}.`);
      }
      const members = (await mirror.memberChunks(customerId, id)).flatMap((c) => c.members);
      const after = cursorOf(query.cursor)?.rk;
      const page = pageOf([...new Set(members)], (member) => member, {
        top: query.top,
        ...(after === undefined ? {} : { cursor: after }),
      });
      return {
        ...head,
        value: page.items.map((member) => ({ id: member })),
        nextLink: linkOf(
          url,
          query.top,
          page.nextKey === null ? null : { pk: `${prefix}g`, rk: page.nextKey },
        ),
      };
    },

    async voiceObjects(query: z.output<typeof voiceObjectQuery>, url: string) {
      await services.customers.get(customerId);
      const objects = await mirror.voiceObjects(customerId);
      const type = query.type?.toLowerCase();
      const page = pageOf(
        objects.filter((o) => type === undefined || o.policyName.toLowerCase() === type),
        (o) => `${o.policyName}\n${o.identity}`,
        query,
      );
      return {
        value: page.items,
        nextLink: nextLinkOf(new URL(url).pathname, { type: query.type, top: query.top }, page.nextKey),
      };
    },
  };
}

/**
 * The manual's derived "Online PSTN Gateway" of a voice routing policy: its PSTN usages, the voice routes that
 * carry one of them (top-down by Priority), the first gateway of the first such route.
 */
export function routingOf(voice: readonly MirrorVoiceObject[]): (policy: string) => string | null {
  const strings = (value: unknown) =>
    Array.isArray(value) ? value.filter((v) => typeof v === 'string') : [];
  const policies = new Map(
    voice
      .filter((o) => o.policyName === 'OnlineVoiceRoutingPolicy')
      .map((o) => [o.identity.replace(/^tag:/i, '').toLowerCase(), strings(o.data.OnlinePstnUsages)]),
  );
  const routes = voice
    .filter((o) => o.policyName === 'OnlineVoiceRoute')
    .sort((a, b) => Number(a.data.Priority ?? 0) - Number(b.data.Priority ?? 0));
  const cache = new Map<string, string | null>();
  return (policy) => {
    const key = policy.replace(/^tag:/i, '').toLowerCase();
    if (!cache.has(key)) {
      const usages = new Set((policies.get(key) ?? []).map((u) => u.toLowerCase()));
      const route = routes.find((r) =>
        strings(r.data.OnlinePstnUsages).some((u) => usages.has(u.toLowerCase())),
      );
      cache.set(key, route ? (strings(route.data.OnlinePstnGatewayList)[0] ?? null) : null);
    }
    return cache.get(key) ?? null;
  };
}
