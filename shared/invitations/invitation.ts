import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { LicenseType } from '../customers/customer.js';

export const INVITATION_TYPES = ['invite', 'request'] as const;
export type InvitationType = (typeof INVITATION_TYPES)[number];

/** The manual's Invitation Type names. */
export const INVITATION_TYPE_LABELS: Readonly<Record<InvitationType, string>> = {
  invite: 'Invite',
  request: 'Request',
};

export const INVITATION_STATUSES = ['pending-authentication', 'authentication-complete'] as const;
export type InvitationStatus = (typeof INVITATION_STATUSES)[number];

/** The manual's Pending Invitations status names. */
export const INVITATION_STATUS_LABELS: Readonly<Record<InvitationStatus, string>> = {
  'pending-authentication': 'Pending Authentication',
  'authentication-complete': 'Authentication Complete',
};

/** The manual's Customer Invitations record, plus the onboarding draft it carries into the wizard. */
export interface Invitation {
  /** The ID column: the customer's Short Name. */
  readonly id: string;
  readonly fullName: string;
  readonly licenseType: LicenseType;
  readonly licensedUsers: number;
  readonly invitationEmail: string;
  readonly m365AdminEmail: string | null;
  readonly emailIds: readonly string[];
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly deviceAuthenticated: boolean;
  readonly invitationType: InvitationType;
  readonly tenantInstalled: boolean;
  readonly revokedAt: string | null;
  readonly linkHash: string;
  readonly etag: string;
}

/** At least 128 random bits, as the issue asks; 256 cost nothing more. */
export function newInvitationLink(): { linkId: string; linkHash: string } {
  const linkId = randomBytes(32).toString('base64url');
  return { linkId, linkHash: hashInvitationLink(linkId) };
}

/** Links are stored only as this hash: a leaked table does not let anyone open an invitation. */
export function hashInvitationLink(linkId: string): string {
  return createHash('sha256').update(linkId, 'utf8').digest('hex');
}

export const LINK_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function invitationStatus(invitation: Invitation): InvitationStatus {
  return invitation.deviceAuthenticated ? 'authentication-complete' : 'pending-authentication';
}

export function isExpired(invitation: Invitation, now: Date): boolean {
  return now.getTime() >= Date.parse(invitation.expiresAt);
}

export const invitationEmailSchema = z
  .email({ error: 'Invitation Email must be an email address.' })
  .max(254, 'Invitation Email can be at most 254 characters long.');
