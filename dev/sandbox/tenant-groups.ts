import { randomUUID } from 'node:crypto';
import {
  findUser,
  type GroupRecord,
  SandboxStateError,
  type Tenant,
  type TenantGroup,
} from './directory-model.js';

/**
 * Groups of ordinary tenants and their direct members, as Entra ID keeps them. Change tracking
 * (`StateTenantDirectory`) sees every edit made here at its next look; nothing here logs.
 */

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Graph refuses these in `mailNickname` (and anything outside ASCII). */
const NICKNAME_FORBIDDEN = /[@()\\[\]";:<>,\s]|[^\x20-\x7e]/;

export interface NewGroup {
  readonly id?: string;
  readonly displayName: string;
  readonly description?: string | null;
  /** False unless told: the security groups Direct Routing customers keep for voice users. */
  readonly mailEnabled?: boolean;
  readonly securityEnabled?: boolean;
  /** Derived from the display name when omitted. */
  readonly mailNickname?: string;
  readonly groupTypes?: readonly string[];
  /** User ids or UPNs of the tenant. */
  readonly members?: readonly string[];
}

export function addGroup(tenant: Tenant, input: NewGroup): TenantGroup {
  const id = (input.id ?? randomUUID()).toLowerCase();
  if (!GUID.test(id)) throw new SandboxStateError(400, `Group id '${id}' is not a GUID.`);
  if (tenant.groups.has(id)) throw new SandboxStateError(409, `Group id '${id}' already exists.`);
  const mailNickname = input.mailNickname ?? nicknameOf(input.displayName, id);
  if (mailNickname.length > 64 || NICKNAME_FORBIDDEN.test(mailNickname)) {
    throw new SandboxStateError(
      400,
      `mailNickname '${mailNickname}' is invalid: at most 64 ASCII characters, none of @ ( ) \\ [ ] " ; : < > , or space.`,
    );
  }
  const members = (input.members ?? []).map((member) => requireUser(tenant, member));
  const record: GroupRecord = {
    id,
    displayName: input.displayName,
    description: input.description ?? null,
    mailEnabled: input.mailEnabled ?? false,
    securityEnabled: input.securityEnabled ?? true,
    mailNickname,
    groupTypes: [...(input.groupTypes ?? [])],
  };
  const group = { record, members: new Set(members) };
  tenant.groups.set(id, group);
  return group;
}

export function updateGroup(
  tenant: Tenant,
  groupId: string,
  changes: Partial<Pick<GroupRecord, 'displayName' | 'description'>>,
): TenantGroup {
  const group = requireGroup(tenant, groupId);
  const updated = { record: { ...group.record, ...changes }, members: group.members };
  tenant.groups.set(updated.record.id, updated);
  return updated;
}

export function deleteGroup(tenant: Tenant, groupId: string): void {
  tenant.groups.delete(requireGroup(tenant, groupId).record.id);
}

/** Adding a member twice changes nothing, as the control API's PUT promises. */
export function addMember(tenant: Tenant, groupId: string, user: string): void {
  const group = requireGroup(tenant, groupId);
  group.members.add(requireUser(tenant, user));
}

export function removeMember(tenant: Tenant, groupId: string, user: string): void {
  const group = requireGroup(tenant, groupId);
  const userId = requireUser(tenant, user);
  if (!group.members.delete(userId)) {
    throw new SandboxStateError(404, `User '${userId}' is not a member of group '${group.record.id}'.`);
  }
}

/** A user deleted from the directory leaves every group, as in Entra ID. */
export function removeFromGroups(tenant: Tenant, userId: string): void {
  for (const group of tenant.groups.values()) group.members.delete(userId.toLowerCase());
}

/** A group as the control API shows it: Graph's properties and the member ids. */
export function groupView(group: TenantGroup) {
  return { ...group.record, members: [...group.members].sort() };
}

function requireGroup(tenant: Tenant, groupId: string): TenantGroup {
  const group = tenant.groups.get(groupId.toLowerCase());
  if (!group) throw new SandboxStateError(404, `Group '${groupId}' does not exist in tenant '${tenant.id}'.`);
  return group;
}

function requireUser(tenant: Tenant, idOrUpn: string): string {
  const user = findUser(tenant, idOrUpn);
  if (!user) throw new SandboxStateError(404, `User '${idOrUpn}' does not exist in tenant '${tenant.id}'.`);
  return user.id;
}

/** The display name's letters, digits, dots, dashes and underscores; a name of none of them gets the id's start. */
function nicknameOf(displayName: string, id: string): string {
  const letters = displayName.replace(/[^A-Za-z0-9._-]/g, '').slice(0, 64);
  return letters || `group-${id.slice(0, 8)}`;
}
