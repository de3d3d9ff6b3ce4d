import { z } from 'zod';
import { DomainError } from '../shared/errors/domain-errors.js';
import { productLog } from '../shared/platform/product-log.js';
import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import { customerParams } from '../shared/http/route-kit.js';
import { pageSchema } from '../shared/paging/paging.js';
import { defineQueueHandler, defineTimer } from '../shared/platform/background.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import { driftReportSchema, withDesired } from '../shared/replication/drift.js';
import { REPLICATION_QUEUE } from '../shared/replication/replication-store.js';
import {
  customerMirror,
  groupViewSchema,
  listQuery,
  voiceObjectQuery,
  mirrorListSchema,
  replicationStatusSchema,
  statusView,
  voiceObjectViewSchema,
} from '../shared/replication/replication-views.js';
import type { AppServices } from './app-services.js';
import { VERIFICATION_STATUS_LABELS } from '../shared/credentials/credential.js';

const TAGS = ['Replication'];
const ROLES = ['provider-admin'] as const;
const BASE = 'api/v1/customers/{customerId}';

const groupParams = customerParams.extend({
  groupId: z
    .string()
    .regex(/^[0-9a-fA-F-]{36}$/)
    .meta({ description: 'The group object id.' }),
});

export type ReplicationFunctionsDeps = ApiEdge &
  Pick<AppServices, 'credentials' | 'customers' | 'mirror' | 'replication' | 'voiceChanges'>;

export function createReplicationFunctions(services: ReplicationFunctionsDeps): FunctionDefinition[] {
  return [
    defineApiRoute(services, {
      name: 'replication-get',
      method: 'GET',
      route: `${BASE}/replication`,
      summary: "A customer's replication: state, Last sync at, counts, the current cycle's progress",
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      responses: { 200: { description: 'The replication status.', schema: replicationStatusSchema } },
      handler: async ({ params }) => {
        await services.customers.get(params.customerId);
        return { status: 200, body: statusView(await services.replication.status(params.customerId)) };
      },
    }),
    defineApiRoute(services, {
      name: 'replication-queue',
      method: 'POST',
      route: `${BASE}/replication`,
      summary: 'Queue Replication: synchronise the mirror with Microsoft 365 now',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: z.object({
        kind: z
          .enum(['full', 'quick'], { error: 'kind must be full or quick.' })
          .default('full')
          .meta({ description: 'full (everything, the default) or quick (changes since the last cycle).' }),
      }),
      responses: {
        202: {
          description: 'Queued; the status (Location) shows its progress.',
          schema: replicationStatusSchema,
          headers: ['location'],
        },
      },
      errors: { conflict: "The customer's credentials are not verified." },
      handler: async ({ params, query }) => {
        await services.customers.get(params.customerId);
        const credential = await services.credentials.get(params.customerId);
        if (credential?.lastVerificationStatus !== 'successful') {
          throw new DomainError('conflict', {
            code: 'credentials_not_verified',
            title: 'Credentials not verified',
            detail: credential
              ? `Authentication Status of "${params.customerId}" is ${VERIFICATION_STATUS_LABELS[credential.lastVerificationStatus]}; verify the credentials first.`
              : `"${params.customerId}" has no Microsoft 365 credentials yet.`,
          });
        }
        const replication = services.replication;
        await replication.trigger(params.customerId, query.kind, 'manual');
        return {
          status: 202,
          headers: { location: `/api/v1/customers/${encodeURIComponent(params.customerId)}/replication` },
          body: statusView(await replication.status(params.customerId)),
        };
      },
    }),
    defineApiRoute(services, {
      name: 'replication-groups',
      method: 'GET',
      route: `${BASE}/groups`,
      summary: "The customer's replicated groups, paged",
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: listQuery,
      responses: { 200: { description: 'One page of groups.', schema: mirrorListSchema(groupViewSchema) } },
      handler: async ({ params, query, request }) => ({
        status: 200,
        body: await customerMirror(services, params.customerId).groups(query, request.url),
      }),
    }),
    defineApiRoute(services, {
      name: 'replication-group-members',
      method: 'GET',
      route: `${BASE}/groups/{groupId}/members`,
      summary: "A replicated group's members (user ids), paged",
      tags: TAGS,
      roles: ROLES,
      params: groupParams,
      query: listQuery,
      responses: {
        200: {
          description: 'One page of member ids.',
          schema: mirrorListSchema(z.object({ id: z.string() })),
        },
      },
      handler: async ({ params, query, request }) => ({
        status: 200,
        body: await customerMirror(services, params.customerId).members(params.groupId, query, request.url),
      }),
    }),
    defineApiRoute(services, {
      name: 'replication-voice-objects',
      method: 'GET',
      route: `${BASE}/voice-objects`,
      summary:
        "The customer's replicated Teams voice objects (gateways, usages, routes, policies, dial plans, LBR)",
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: voiceObjectQuery,
      responses: {
        200: {
          description: 'One page of mirrored voice objects, by PolicyName and Identity.',
          schema: pageSchema(voiceObjectViewSchema, 'VoiceObjectPage'),
        },
      },
      handler: async ({ params, query, request }) => ({
        status: 200,
        body: await customerMirror(services, params.customerId).voiceObjects(query, request.url),
      }),
    }),
    defineApiRoute(services, {
      name: 'replication-drift',
      method: 'GET',
      route: `${BASE}/drift`,
      summary:
        "Drift: where the customer's Teams routing no longer matches its onboarding template or the product's day-two changes",
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      responses: {
        200: {
          description:
            "The onboarding's comparison of the last replication cycle; the day-two objects' (`objects`) as of now.",
          schema: driftReportSchema,
        },
      },
      errors: { not_found: 'No cycle has checked the customer yet.' },
      handler: async ({ params }) => {
        await services.customers.get(params.customerId);
        const report = await services.replication.drift(params.customerId);
        if (!report) {
          throw new DomainError('not_found', {
            code: 'not_found',
            title: 'Not found',
            detail: `No replication cycle of "${params.customerId}" has compared its routing yet.`,
          });
        }
        return {
          status: 200,
          body: withDesired(report, await services.voiceChanges.desiredDrift(params.customerId)),
        };
      },
    }),
    defineQueueHandler({
      name: 'replication',
      queueName: REPLICATION_QUEUE,
      // The service reads its own messages (their shape is its protocol); the line names the customer when it can.
      logFields: (message) => ({
        customerId: (message as { customerId?: string } | null)?.customerId ?? null,
      }),
      async run(message, context) {
        const outcome = await services.replication.handle(message);
        productLog(context, 'info', `Replication message: ${outcome}.`, { replicationMessage: message });
      },
    }),
    defineTimer({
      name: 'replication-timer',
      // Every minute: the quick (5 min) and full (hourly) cadences are settings, checked per customer.
      schedule: '0 * * * * *',
      async run(context) {
        const { queued, resumed } = await services.replication.tick();
        if (queued + resumed > 0)
          productLog(context, 'info', `Replication: ${queued} cycles queued, ${resumed} resumed.`);
      },
    }),
  ];
}
