import type { TransactionAction } from '@azure/data-tables';
import { LICENSE_TYPES } from '../customers/customer.js';
import { shortNameKey } from '../customers/short-name.js';
import { lazyTable, restStatus } from '../storage/table-client.js';
import { INVITATION_TYPES, type Invitation } from './invitation.js';

export const INVITATIONS_TABLE = 'invitations';
/** Invitations and their link index share a partition so that both change in one transaction. */
const PARTITION = 'provider';
const invitationRow = (shortName: string) => `invitation:${shortNameKey(shortName)}`;
const linkRow = (linkHash: string) => `link:${linkHash}`;

type InvitationEntity = {
  partitionKey: string;
  rowKey: string;
  shortName: string;
  fullName: string;
  licenseType: string;
  licensedUsers: number;
  invitationEmail: string;
  m365AdminEmail?: string;
  emailIds: string;
  createdAt: string;
  expiresAt: string;
  deviceAuthenticated: boolean;
  invitationType: string;
  tenantInstalled: boolean;
  revokedAt?: string;
  linkHash: string;
};

export class InvitationConflictError extends Error {
  override readonly name = 'InvitationConflictError';
}

export type NewInvitation = Omit<Invitation, 'etag'>;

export interface InvitationStore {
  get(shortName: string): Promise<Invitation | null>;
  getByLinkHash(linkHash: string): Promise<Invitation | null>;
  list(): AsyncIterable<Invitation>;
  /** Creates, or replaces a revoked one; the new link replaces the old one. Conflicts when a live one exists. */
  create(invitation: NewInvitation, replacing: Invitation | null): Promise<Invitation>;
  /** Writes the changes if the invitation is unchanged since read; a new link hash retires the old link. */
  update(current: Invitation, changes: Partial<NewInvitation>): Promise<Invitation>;
}

export function createTableInvitationStore(connectionString: string): InvitationStore {
  const table = lazyTable(connectionString, INVITATIONS_TABLE);

  const toEntity = (invitation: NewInvitation): InvitationEntity => ({
    partitionKey: PARTITION,
    rowKey: invitationRow(invitation.id),
    shortName: invitation.id,
    fullName: invitation.fullName,
    licenseType: invitation.licenseType,
    licensedUsers: invitation.licensedUsers,
    invitationEmail: invitation.invitationEmail,
    ...(invitation.m365AdminEmail ? { m365AdminEmail: invitation.m365AdminEmail } : {}),
    emailIds: JSON.stringify(invitation.emailIds),
    createdAt: invitation.createdAt,
    expiresAt: invitation.expiresAt,
    deviceAuthenticated: invitation.deviceAuthenticated,
    invitationType: invitation.invitationType,
    tenantInstalled: invitation.tenantInstalled,
    ...(invitation.revokedAt ? { revokedAt: invitation.revokedAt } : {}),
    linkHash: invitation.linkHash,
  });

  const linkEntity = (invitation: NewInvitation) => ({
    partitionKey: PARTITION,
    rowKey: linkRow(invitation.linkHash),
    shortName: invitation.id,
  });

  async function submit(actions: TransactionAction[]): Promise<string> {
    const client = await table();
    try {
      const response = await client.submitTransaction(actions);
      return response.subResponses[0]?.etag ?? '';
    } catch (error) {
      const status = restStatus(error);
      if (status === 409 || status === 412 || status === 404)
        throw new InvitationConflictError('The invitation changed meanwhile.');
      throw error;
    }
  }

  async function get(shortName: string): Promise<Invitation | null> {
    const client = await table();
    try {
      return fromEntity(await client.getEntity<InvitationEntity>(PARTITION, invitationRow(shortName)));
    } catch (error) {
      if (restStatus(error) === 404) return null;
      throw error;
    }
  }

  return {
    get,
    async getByLinkHash(linkHash) {
      const client = await table();
      try {
        const link = await client.getEntity<{ shortName: string }>(PARTITION, linkRow(linkHash));
        const invitation = await get(link.shortName);
        // A link retired by a reminder still has no row; the hash check is the guard that matters.
        return invitation && invitation.linkHash === linkHash ? invitation : null;
      } catch (error) {
        if (restStatus(error) === 404) return null;
        throw error;
      }
    },
    async *list() {
      const client = await table();
      const entities = client.listEntities<InvitationEntity>({
        queryOptions: {
          filter: `PartitionKey eq '${PARTITION}' and RowKey ge 'invitation:' and RowKey lt 'invitation;'`,
        },
      });
      for await (const entity of entities) yield fromEntity(entity);
    },
    async create(invitation, replacing) {
      const entity = toEntity(invitation);
      const actions: TransactionAction[] = replacing
        ? [
            ['update', entity, 'Replace', { etag: replacing.etag }],
            ['create', linkEntity(invitation)],
            ['delete', { partitionKey: PARTITION, rowKey: linkRow(replacing.linkHash) }],
          ]
        : [
            ['create', entity],
            ['create', linkEntity(invitation)],
          ];
      const etag = await submit(actions);
      return { ...invitation, etag };
    },
    async update(current, changes) {
      const next: NewInvitation = { ...current, ...changes };
      const actions: TransactionAction[] = [['update', toEntity(next), 'Replace', { etag: current.etag }]];
      if (next.linkHash !== current.linkHash) {
        actions.push(['create', linkEntity(next)]);
        actions.push(['delete', { partitionKey: PARTITION, rowKey: linkRow(current.linkHash) }]);
      }
      const etag = await submit(actions);
      return { ...next, etag };
    },
  };
}

function fromEntity(entity: InvitationEntity & { etag: string }): Invitation {
  const licenseType = LICENSE_TYPES.find((t) => t === entity.licenseType);
  const invitationType = INVITATION_TYPES.find((t) => t === entity.invitationType);
  if (!licenseType || !invitationType) throw new Error(`Stored invitation ${entity.rowKey} is malformed.`);
  return {
    id: entity.shortName,
    fullName: entity.fullName,
    licenseType,
    licensedUsers: entity.licensedUsers,
    invitationEmail: entity.invitationEmail,
    m365AdminEmail: entity.m365AdminEmail ?? null,
    emailIds: JSON.parse(entity.emailIds) as string[],
    createdAt: entity.createdAt,
    expiresAt: entity.expiresAt,
    deviceAuthenticated: entity.deviceAuthenticated,
    invitationType,
    tenantInstalled: entity.tenantInstalled,
    revokedAt: entity.revokedAt ?? null,
    linkHash: entity.linkHash,
    etag: entity.etag,
  };
}
