import { z } from 'zod';
import type { Principal } from '../shared/auth/authenticator.js';
import { domainErrors } from '../shared/errors/domain-errors.js';
import { type ApiEdge, type ApiResult, defineApiRoute } from '../shared/http/api-route.js';
import { customerParams, describedDryRunQuery, ifMatchOf } from '../shared/http/route-kit.js';
import { nextLinkOf, pageOf, pageSchema, pagingQuery } from '../shared/paging/paging.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import type { MirrorStore } from '../shared/replication/mirror-store.js';
import {
  assignmentChanges,
  type GroupAssignment,
  groupAssignmentsOf,
  groupErrors,
  VOICE_ROUTING_POLICY_TYPE,
} from '../shared/voice/group-policy-assignments.js';
import { type VoiceConfig, voiceEtag } from '../shared/voice/voice-change.js';
import type { VoiceChangeService } from '../shared/voice/voice-change-service.js';
import { GROUP_POLICY_ASSIGNMENT } from '../shared/teams/teams-admin-client.js';
import { initiator, objectName, READ_ERRORS, taskAnswer, WRITE_RESPONSES } from './voice-objects.js';

/**
 * Granting a voice routing policy to a security group (issue 13 item 1; the manual's "Apply Routing Policy to
 * Security Group"): Teams' group policy assignments, read from the mirror and changed as queued voice changes (dry
 * run, the voice audit, rollback). The routes hang under the policy, as the manual's right-click menu does; the
 * rank is the assignment's place among every voice routing policy's group assignments (Teams ranks per policy
 * type), which `GET …/voice/group-policy-assignments` lists whole.
 */

const TAGS = ['Voice routing'];
const ROLES = ['provider-admin', 'customer-admin'] as const;
const BASE = 'api/v1/customers/{customerId}/voice';
const GROUPS = `${BASE}/voice-routing-policies/{policyId}/groups`;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const groupId = z
  .string()
  .regex(GUID, 'groupId is the group’s object id (a GUID).')
  .transform((id) => id.toLowerCase())
  .meta({ description: "The security group's Entra ID object id." });
const rank = z.number().int().min(1).max(100_000).meta({
  description:
    'The place among the voice routing policy group assignments, 1 first: a user in several groups gets the best-ranked group’s policy. A taken rank moves the assignment there and the later ones down; past the end is the end.',
});

const policyParams = customerParams.extend({
  policyId: objectName.meta({ description: "The voice routing policy's Identity, without `Tag:`." }),
});
const groupParams = policyParams.extend({ groupId });

const assignmentView = z
  .object({
    groupId: z.string(),
    groupDisplayName: z
      .string()
      .nullable()
      .meta({ description: 'From the mirror; null when unknown to it.' }),
    policyType: z.string().meta({ description: 'The Teams policy type, e.g. OnlineVoiceRoutingPolicy.' }),
    policyName: z.string(),
    rank: z.number().int(),
    etag: z.string(),
  })
  .meta({ id: 'GroupPolicyAssignment' });

const assignmentPage = pageSchema(assignmentView, 'GroupPolicyAssignmentPage');

const createBody = z.strictObject({
  groupId,
  rank: rank.optional().meta({ description: 'Omitted: after the last (Teams’ default).' }),
});
const updateBody = z.strictObject({ rank });

const dryRun = describedDryRunQuery('Only answer the commands and the changes per property; queue nothing.');

const WRITE_ERRORS = {
  validation:
    'Per field: `group_unknown` (not in the mirror), `group_not_security`, `group_assigned` (the group already has a voice routing policy), `policy_unknown`, `rank_invalid`, `rank_taken`.',
  conflict: 'The customer is Hosted Essentials (`no_m365_for_essentials`).',
  not_found: 'No such customer, policy or assignment (as of the last replication).',
};

export interface VoiceGroupAssignmentFunctionsDeps extends ApiEdge {
  readonly voiceChanges: VoiceChangeService;
  readonly mirror: Pick<MirrorStore, 'getGroup'>;
}

export function createVoiceGroupAssignmentFunctions(
  services: VoiceGroupAssignmentFunctionsDeps,
): FunctionDefinition[] {
  const { voiceChanges, mirror } = services;

  /** The policy as Teams names it (its own spelling), or 404. */
  const policyOf = (cfg: VoiceConfig, customerId: string, policyId: string): string => {
    const found = cfg.find('voice-routing-policies', policyId);
    if (!found) {
      throw domainErrors.notFound(
        `${customerId} has no voice routing policy "${policyId}" (as of the last replication).`,
      );
    }
    return found.identity.replace(/^tag:/i, '');
  };

  const viewsOf = async (customerId: string, cfg: VoiceConfig, assignments: readonly GroupAssignment[]) =>
    Promise.all(
      assignments.map(async (a) => ({
        groupId: a.groupId,
        groupDisplayName: (await mirror.getGroup(customerId, a.groupId))?.displayName ?? null,
        policyType: a.policyType,
        policyName: a.policyName,
        rank: a.rank,
        etag: voiceEtag(cfg.of(GROUP_POLICY_ASSIGNMENT).find((o) => o.identity === a.identity)?.data ?? {}),
      })),
    );

  const page = (
    request: { readonly url: string },
    query: { readonly top: number; readonly cursor?: string | undefined },
    views: ReadonlyArray<z.output<typeof assignmentView>>,
  ): ApiResult => {
    const found = pageOf(
      views,
      (v) => `${v.policyType}|${String(v.rank).padStart(10, '0')}|${v.groupId}`,
      query,
    );
    return {
      status: 200,
      body: {
        value: found.items,
        nextLink: nextLinkOf(new URL(request.url).pathname, { top: query.top }, found.nextKey),
      },
    };
  };

  const submit = async (
    customerId: string,
    changes: Parameters<VoiceChangeService['submit']>[1],
    dry: boolean,
    principal: Principal | null,
  ): Promise<ApiResult> => {
    const { plan, task } = await voiceChanges.submit(customerId, changes, {
      dryRun: dry,
      initiatedBy: initiator(principal),
    });
    return taskAnswer(task, { plan });
  };

  /** The group's assignment of this policy, or 404; a stale If-Match is 412. */
  const assignmentOf = (
    cfg: VoiceConfig,
    params: { customerId: string; policyId: string; groupId: string },
    ifMatch: string | undefined,
  ): { policy: string; assignment: GroupAssignment } => {
    const policy = policyOf(cfg, params.customerId, params.policyId);
    const assignment = groupAssignmentsOf(cfg, VOICE_ROUTING_POLICY_TYPE).find(
      (a) => a.groupId === params.groupId && a.policyName.toLowerCase() === policy.toLowerCase(),
    );
    if (!assignment) {
      throw domainErrors.notFound(
        `The voice routing policy "${policy}" is not granted to group ${params.groupId} (as of the last replication).`,
      );
    }
    const data = cfg.of(GROUP_POLICY_ASSIGNMENT).find((o) => o.identity === assignment.identity)?.data ?? {};
    if (ifMatch !== undefined && ifMatch !== '*' && ifMatch.replace(/^W\//, '') !== voiceEtag(data)) {
      throw domainErrors.versionMismatch(
        `The assignment of group ${params.groupId} changed since you read it; reload it and try again.`,
      );
    }
    return { policy, assignment };
  };

  return [
    defineApiRoute(services, {
      name: 'voice-group-policy-assignments-list',
      method: 'GET',
      route: `${BASE}/group-policy-assignments`,
      summary: 'Every group policy assignment of the tenant, by policy type and rank',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: pagingQuery(),
      responses: {
        200: {
          description: 'A page of assignments, by policy type, then rank.',
          schema: assignmentPage,
        },
      },
      errors: READ_ERRORS,
      handler: async ({ params, query, request }) => {
        const cfg = await voiceChanges.config(params.customerId);
        const types = [
          ...new Set(
            cfg
              .of(GROUP_POLICY_ASSIGNMENT)
              .map((o) => o.identity.slice(0, Math.max(0, o.identity.indexOf(':')))),
          ),
        ];
        const all = types.flatMap((type) => groupAssignmentsOf(cfg, type));
        return page(request, query, await viewsOf(params.customerId, cfg, all));
      },
    }),
    defineApiRoute(services, {
      name: 'voice-routing-policy-groups-list',
      method: 'GET',
      route: GROUPS,
      summary: 'The security groups a voice routing policy is granted to, by rank',
      tags: TAGS,
      roles: ROLES,
      params: policyParams,
      query: pagingQuery(),
      responses: {
        200: {
          description: 'A page of the policy’s group assignments, by rank.',
          schema: assignmentPage,
        },
      },
      errors: { ...READ_ERRORS, not_found: 'No such voice routing policy (as of the last replication).' },
      handler: async ({ params, query, request }) => {
        const cfg = await voiceChanges.config(params.customerId);
        const policy = policyOf(cfg, params.customerId, params.policyId);
        const mine = groupAssignmentsOf(cfg, VOICE_ROUTING_POLICY_TYPE).filter(
          (a) => a.policyName.toLowerCase() === policy.toLowerCase(),
        );
        return page(request, query, await viewsOf(params.customerId, cfg, mine));
      },
    }),
    defineApiRoute(services, {
      name: 'voice-routing-policy-groups-create',
      method: 'POST',
      route: GROUPS,
      summary:
        'Apply Policy To Group: grant the voice routing policy to a security group (queued: New-CsGroupPolicyAssignment)',
      tags: TAGS,
      roles: ROLES,
      params: policyParams,
      query: dryRun,
      body: createBody,
      responses: WRITE_RESPONSES,
      errors: WRITE_ERRORS,
      handler: async ({ params, query, body, principal }) => {
        const cfg = await voiceChanges.config(params.customerId);
        const policy = policyOf(cfg, params.customerId, params.policyId);
        const problems = groupErrors(body.groupId, await mirror.getGroup(params.customerId, body.groupId));
        if (problems.length > 0) throw domainErrors.validation(problems);
        const held = groupAssignmentsOf(cfg, VOICE_ROUTING_POLICY_TYPE).find(
          (a) => a.groupId === body.groupId,
        );
        // A group already granted a voice routing policy: the rules refuse it (`group_assigned`), on the one change.
        const changes = held
          ? [
              {
                kind: 'group-policy-assignments' as const,
                identity: held.identity,
                before: null,
                after: { policyName: policy, rank: body.rank ?? held.rank },
              },
            ]
          : assignmentChanges(cfg, VOICE_ROUTING_POLICY_TYPE, body.groupId, {
              policyName: policy,
              rank: body.rank,
            });
        return submit(params.customerId, changes, query.dryRun, principal);
      },
    }),
    defineApiRoute(services, {
      name: 'voice-routing-policy-groups-update',
      method: 'PUT',
      route: `${GROUPS}/{groupId}`,
      summary:
        "Change the rank of a group's voice routing policy (queued: Set-CsGroupPolicyAssignment -Rank)",
      tags: TAGS,
      roles: ROLES,
      params: groupParams,
      query: dryRun,
      body: updateBody,
      ifMatch: true,
      responses: WRITE_RESPONSES,
      errors: WRITE_ERRORS,
      handler: async ({ params, query, body, request, principal }) => {
        const cfg = await voiceChanges.config(params.customerId);
        const { policy } = assignmentOf(cfg, params, ifMatchOf(request));
        const changes = assignmentChanges(cfg, VOICE_ROUTING_POLICY_TYPE, params.groupId, {
          policyName: policy,
          rank: body.rank,
        });
        return submit(params.customerId, changes, query.dryRun, principal);
      },
    }),
    defineApiRoute(services, {
      name: 'voice-routing-policy-groups-delete',
      method: 'DELETE',
      route: `${GROUPS}/{groupId}`,
      summary: 'Take the voice routing policy from the group (queued: Remove-CsGroupPolicyAssignment)',
      tags: TAGS,
      roles: ROLES,
      params: groupParams,
      query: dryRun,
      ifMatch: true,
      responses: WRITE_RESPONSES,
      errors: WRITE_ERRORS,
      handler: async ({ params, query, request, principal }) => {
        const cfg = await voiceChanges.config(params.customerId);
        assignmentOf(cfg, params, ifMatchOf(request));
        const changes = assignmentChanges(cfg, VOICE_ROUTING_POLICY_TYPE, params.groupId, null);
        return submit(params.customerId, changes, query.dryRun, principal);
      },
    }),
  ];
}
