import { z } from 'zod';
import type { PeerRequest, Reply, Route } from './router.js';
import { ScaleDirectory } from './scale-tenant.js';
import { type SandboxState, SandboxStateError, type Tenant } from './state.js';
import { addGroup, addMember, deleteGroup, groupView, removeMember, updateGroup } from './tenant-groups.js';
import type { TenantDirectories } from './tenant-directory.js';

const newGroupSchema = z.strictObject({
  id: z.string().optional(),
  displayName: z.string().min(1).max(256),
  description: z.string().max(1024).nullable().optional(),
  mailEnabled: z.boolean().optional(),
  securityEnabled: z.boolean().optional(),
  mailNickname: z.string().min(1).max(64).optional(),
  groupTypes: z.array(z.enum(['Unified', 'DynamicMembership'])).optional(),
  /** User ids or UPNs. */
  members: z.array(z.string().min(1)).optional(),
});

const groupChangesSchema = z.strictObject({
  displayName: z.string().min(1).max(256).optional(),
  description: z.string().max(1024).nullable().optional(),
});

type ParseJson = <T extends z.ZodType>(request: PeerRequest, schema: T) => z.output<T>;

/**
 * Groups and memberships changed "behind the product's back", in any tenant: an ordinary tenant's groups
 * (`tenant-groups.ts`) or a generated one's (`ScaleDirectory`, whose groups are generated: they are neither
 * created nor deleted). Graph's `/groups/delta` reports each change at its next round.
 * - `POST /tenants/{tenant}/groups` `{ displayName, description?, mailEnabled?, securityEnabled?, mailNickname?,
 *   groupTypes?, members?, id? }` → 201 the group with its id and members;
 * - `PATCH /tenants/{tenant}/groups/{id}` `{ displayName?, description? }`, `DELETE /tenants/{tenant}/groups/{id}`;
 * - `PUT|DELETE /tenants/{tenant}/groups/{id}/members/{user id or UPN}` (PUT of a member changes nothing).
 */
export function groupControlRoutes(
  deps: { readonly state: SandboxState; readonly directories: TenantDirectories },
  parseJson: ParseJson,
): Route[] {
  const { state, directories } = deps;
  const target = (request: PeerRequest): { tenant: Tenant; scale?: ScaleDirectory } => {
    const tenant = state.requireTenant(request.params.tenant ?? '');
    const generated = directories.generatedFor(tenant.id);
    return generated instanceof ScaleDirectory ? { tenant, scale: generated } : { tenant };
  };
  const ordinary = (request: PeerRequest, action: string): Tenant => {
    const { tenant, scale } = target(request);
    if (scale) {
      throw new SandboxStateError(
        400,
        `Tenant '${tenant.id}' is a generated tenant: its groups cannot be ${action}.`,
      );
    }
    return tenant;
  };
  const groupId = (request: PeerRequest) => request.params.group ?? '';
  const userId = (request: PeerRequest) => request.params.user ?? '';
  return [
    {
      method: 'POST',
      path: '/tenants/:tenant/groups',
      handle: (request) => {
        const input = parseJson(request, newGroupSchema);
        const tenant = ordinary(request, 'created');
        return { status: 201, body: groupView(addGroup(tenant, input)) };
      },
    },
    {
      method: 'PATCH',
      path: '/tenants/:tenant/groups/:group',
      handle: (request) => {
        const changes = parseJson(request, groupChangesSchema);
        const { tenant, scale } = target(request);
        if (scale) return ok(scale.updateGroup(groupId(request), changes));
        return ok(groupView(updateGroup(tenant, groupId(request), changes)));
      },
    },
    {
      method: 'DELETE',
      path: '/tenants/:tenant/groups/:group',
      handle: (request) => {
        deleteGroup(ordinary(request, 'deleted'), groupId(request));
        return { status: 204 };
      },
    },
    {
      method: 'PUT',
      path: '/tenants/:tenant/groups/:group/members/:user',
      handle: (request) => {
        const { tenant, scale } = target(request);
        if (scale) scale.addMember(groupId(request), userId(request));
        else addMember(tenant, groupId(request), userId(request));
        return { status: 204 };
      },
    },
    {
      method: 'DELETE',
      path: '/tenants/:tenant/groups/:group/members/:user',
      handle: (request) => {
        const { tenant, scale } = target(request);
        if (scale) scale.removeMember(groupId(request), userId(request));
        else removeMember(tenant, groupId(request), userId(request));
        return { status: 204 };
      },
    },
  ];
}

function ok(body: unknown): Reply {
  return { status: 200, body };
}
