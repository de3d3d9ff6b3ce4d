import { LICENSE_TYPES } from '../customers/customer.js';
import { shortNameKey } from '../customers/short-name.js';
import type { Stored, Tables, TransactionAction } from '../storage/versioned-table.js';
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

type LinkEntity = { partitionKey: string; rowKey: string; shortName: string };

export type NewInvitation = Omit<Invitation, 'etag'>;

export interface InvitationStore {
  get(shortName: string): Promise<Invitation | null>;
  getByLinkHash(linkHash: string): Promise<Invitation | null>;
  list(): AsyncIterable<Invitation>;
  /**
   * Creates, or replaces a revoked one; the new link replaces the old one. VersionConflictError when a live one
   * exists.
   */
  create(invitation: NewInvitation, replacing: Invitation | null): Promise<Invitation>;
  /** Writes the changes if the invitation is unchanged since read; a new link hash retires the old link. */
  update(current: Invitation, changes: Partial<NewInvitation>): Promise<Invitation>;
  /** The Short Name's invitation and every link to it, for its customer's removal; returns the rows deleted. */
  forget(shortName: string): Promise<number>;
}

export function createInvitationStore(tables: Tables): InvitationStore {
  const invitations = tables.table<InvitationEntity>(INVITATIONS_TABLE);
  const links = tables.table<LinkEntity>(INVITATIONS_TABLE);
  const both = tables.table<InvitationEntity | LinkEntity>(INVITATIONS_TABLE);

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

  const linkEntity = (invitation: NewInvitation): LinkEntity => ({
    partitionKey: PARTITION,
    rowKey: linkRow(invitation.linkHash),
    shortName: invitation.id,
  });

  /** The invitation row is always the first action: its ETag is the one returned. */
  async function submit(actions: TransactionAction<InvitationEntity | LinkEntity>[]): Promise<string> {
    const [etag = ''] = await both.transaction(actions);
    return etag;
  }

  async function get(shortName: string): Promise<Invitation | null> {
    const found = await invitations.get(PARTITION, invitationRow(shortName));
    return found ? fromEntity(found) : null;
  }

  return {
    async forget(shortName) {
      let deleted = 0;
      // The links first: a link whose invitation is gone leads nowhere, an invitation without its link is not found.
      for await (const { value } of links.list({ partitionKey: PARTITION, rowKey: { prefix: 'link:' } })) {
        if (
          shortNameKey(value.shortName) === shortNameKey(shortName) &&
          (await links.delete(PARTITION, value.rowKey))
        )
          deleted++;
      }
      if (await invitations.delete(PARTITION, invitationRow(shortName))) deleted++;
      return deleted;
    },
    get,
    async getByLinkHash(linkHash) {
      const link = await links.get(PARTITION, linkRow(linkHash));
      if (!link) return null;
      const invitation = await get(link.value.shortName);
      // A link retired by a reminder still has no row; the hash check is the guard that matters.
      return invitation && invitation.linkHash === linkHash ? invitation : null;
    },
    async *list() {
      const rows = invitations.list({
        partitionKey: PARTITION,
        rowKey: { ge: 'invitation:', lt: 'invitation;' },
      });
      for await (const row of rows) yield fromEntity(row);
    },
    async create(invitation, replacing) {
      const entity = toEntity(invitation);
      const actions: TransactionAction<InvitationEntity | LinkEntity>[] = replacing
        ? [
            { kind: 'replace', row: entity, etag: replacing.etag },
            { kind: 'insert', row: linkEntity(invitation) },
            { kind: 'delete', partitionKey: PARTITION, rowKey: linkRow(replacing.linkHash) },
          ]
        : [
            { kind: 'insert', row: entity },
            { kind: 'insert', row: linkEntity(invitation) },
          ];
      const etag = await submit(actions);
      return { ...invitation, etag };
    },
    async update(current, changes) {
      const next: NewInvitation = { ...current, ...changes };
      const actions: TransactionAction<InvitationEntity | LinkEntity>[] = [
        { kind: 'replace', row: toEntity(next), etag: current.etag },
      ];
      if (next.linkHash !== current.linkHash) {
        actions.push({ kind: 'insert', row: linkEntity(next) });
        actions.push({ kind: 'delete', partitionKey: PARTITION, rowKey: linkRow(current.linkHash) });
      }
      const etag = await submit(actions);
      return { ...next, etag };
    },
  };
}

function fromEntity({ value: entity, etag }: Stored<InvitationEntity>): Invitation {
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
    etag,
  };
}
