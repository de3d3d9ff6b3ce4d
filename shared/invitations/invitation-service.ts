import { tokenAppMissing } from '../credentials/token-app-client.js';
import type { CustomerStore } from '../customers/customer-store.js';
import type { LicenseType } from '../customers/customer.js';
import type { EmailDelivery, EmailOutbox } from '../email/email-message.js';
import { DomainError, domainErrors } from '../errors/domain-errors.js';
import type { ProviderSettingsReader } from '../provider/provider-settings.js';
import {
  type Invitation,
  type InvitationStatus,
  type InvitationType,
  hashInvitationLink,
  invitationStatus,
  isExpired,
  LINK_ID_PATTERN,
  newInvitationLink,
} from './invitation.js';
import { renderInvitationEmail } from './invitation-email.js';
import { VersionConflictError } from '../errors/domain-errors.js';
import type { InvitationStore } from './invitation-store.js';

/** The wizard's first page, carried by the invitation until the customer is created from it. */
export interface CustomerDraft {
  readonly fullName: string;
  readonly shortName: string;
  readonly licenseType: LicenseType;
  readonly licensedUsers: number;
}

export interface InvitationView {
  readonly id: string;
  readonly fullName: string;
  readonly licenseType: LicenseType;
  readonly licensedUsers: number;
  readonly invitationEmail: string;
  readonly m365AdminEmail: string | null;
  readonly emailSent: boolean;
  readonly emailInvitationSentCount: number;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly expired: boolean;
  readonly deviceAuthenticated: boolean;
  readonly invitationType: InvitationType;
  readonly tenantInstalled: boolean;
  readonly status: InvitationStatus;
}

/** What a link opens, for the customer-facing pages: each case has its own page. */
export type LinkState =
  | { readonly kind: 'valid'; readonly invitation: Invitation }
  | { readonly kind: 'completed'; readonly invitation: Invitation }
  | { readonly kind: 'expired'; readonly invitation: Invitation }
  | { readonly kind: 'revoked'; readonly invitation: Invitation }
  | { readonly kind: 'unknown' };

export interface InvitationService {
  invite(draft: CustomerDraft, invitationEmail: string, type: InvitationType): Promise<InvitationView>;
  list(options?: { readonly pendingOnly?: boolean }): Promise<InvitationView[]>;
  get(id: string): Promise<InvitationView>;
  remind(id: string, invitationEmail?: string): Promise<InvitationView>;
  revoke(id: string): Promise<void>;
  openLink(linkId: string): Promise<LinkState>;
  markAuthenticated(id: string, m365AdminEmail: string | null): Promise<Invitation>;
  /** Whether the invitation can still take a consent. */
  state(id: string): Promise<'valid' | 'completed' | 'expired' | 'revoked' | 'unknown'>;
}

export interface InvitationServiceOptions {
  readonly store: InvitationStore;
  readonly customers: CustomerStore;
  readonly settings: ProviderSettingsReader;
  readonly outbox: EmailOutbox;
  readonly now?: () => Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export function createInvitationService(options: InvitationServiceOptions): InvitationService {
  const { store, settings, outbox } = options;
  const now = options.now ?? (() => new Date());

  /** The manual's prerequisites: no consent flow starts without the token app, no invitation without email. */
  async function requirePrerequisites(): Promise<void> {
    if (!(await settings.tokenApp())) throw tokenAppMissing();
    if (!(await settings.email())) {
      throw new DomainError('conflict', {
        code: 'prerequisite_missing',
        title: 'Email not configured',
        detail: 'No Email Settings were specified.',
      });
    }
  }

  async function sendLink(id: string, to: string, linkId: string): Promise<string> {
    const message = renderInvitationEmail(to, await settings.invitation(), await settings.whiteLabel(), {
      customerId: id,
      linkId,
    });
    return outbox.enqueue(message);
  }

  async function view(invitation: Invitation): Promise<InvitationView> {
    return viewWith(invitation, await outbox.deliveries(invitation.emailIds));
  }

  function viewWith(invitation: Invitation, known: ReadonlyMap<string, EmailDelivery>): InvitationView {
    const deliveries = invitation.emailIds
      .map((id) => known.get(id))
      .filter((d): d is EmailDelivery => d !== undefined);
    return {
      id: invitation.id,
      fullName: invitation.fullName,
      licenseType: invitation.licenseType,
      licensedUsers: invitation.licensedUsers,
      invitationEmail: invitation.invitationEmail,
      m365AdminEmail: invitation.m365AdminEmail,
      emailSent: deliveries.at(-1)?.sent ?? false,
      emailInvitationSentCount: deliveries.reduce((sum, d) => sum + d.attempts, 0),
      createdAt: invitation.createdAt,
      expiresAt: invitation.expiresAt,
      expired: isExpired(invitation, now()),
      deviceAuthenticated: invitation.deviceAuthenticated,
      invitationType: invitation.invitationType,
      tenantInstalled: invitation.tenantInstalled,
      status: invitationStatus(invitation),
    };
  }

  async function live(id: string): Promise<Invitation> {
    const invitation = await store.get(id);
    if (!invitation || invitation.revokedAt)
      throw domainErrors.notFound(`There is no invitation for "${id}".`);
    return invitation;
  }

  return {
    async invite(draft, invitationEmail, type) {
      await requirePrerequisites();
      if (type === 'invite' && (await options.customers.get(draft.shortName))) {
        throw domainErrors.conflict(
          'short_name_taken',
          'Short Name already in use',
          `A customer with the Short Name "${draft.shortName}" already exists.`,
        );
      }
      const existing = await store.get(draft.shortName);
      // A completed invitation gives way to a "Request" ("Switch to token": the admin authenticates again); a new
      // customer's invitation never replaces a live one, which may be waiting to be added from Pending Invitations.
      const replaceable = type === 'request' && existing?.deviceAuthenticated === true;
      if (existing && !existing.revokedAt && !replaceable) {
        throw domainErrors.conflict(
          'invitation_exists',
          'Invitation already sent',
          `"${existing.id}" already has an invitation; send a reminder or revoke it first.`,
        );
      }
      const at = now();
      const { linkId, linkHash } = newInvitationLink();
      const validityDays = (await settings.invitation()).validityDays;
      let invitation: Invitation;
      try {
        invitation = await store.create(
          {
            id: draft.shortName,
            fullName: draft.fullName,
            licenseType: draft.licenseType,
            licensedUsers: draft.licensedUsers,
            invitationEmail,
            m365AdminEmail: null,
            emailIds: [],
            createdAt: at.toISOString(),
            expiresAt: new Date(at.getTime() + validityDays * DAY_MS).toISOString(),
            deviceAuthenticated: false,
            invitationType: type,
            tenantInstalled: false,
            revokedAt: null,
            linkHash,
          },
          existing,
        );
      } catch (error) {
        if (error instanceof VersionConflictError) {
          throw domainErrors.conflict(
            'invitation_exists',
            'Invitation already sent',
            `"${draft.shortName}" was just invited.`,
          );
        }
        throw error;
      }
      // The record exists before the email does, so a crash here leaves an invitation a reminder can resend.
      const emailId = await sendLink(invitation.id, invitationEmail, linkId);
      return view(await store.update(invitation, { emailIds: [emailId] }));
    },

    async list({ pendingOnly = false } = {}) {
      const listed: Invitation[] = [];
      for await (const invitation of store.list()) {
        if (invitation.revokedAt || (pendingOnly && invitation.tenantInstalled)) continue;
        listed.push(invitation);
      }
      // Every invitation's emails in one query: no read per row.
      const deliveries = await outbox.deliveries(listed.flatMap((i) => i.emailIds));
      return listed.map((invitation) => viewWith(invitation, deliveries));
    },

    async get(id) {
      return view(await live(id));
    },

    async remind(id, invitationEmail) {
      await requirePrerequisites();
      const invitation = await live(id);
      if (invitation.tenantInstalled) {
        throw domainErrors.conflict(
          'invitation_used',
          'Invitation already used',
          `"${id}" was already added as a customer.`,
        );
      }
      // Only the link's hash is kept, so a reminder carries a new link; the old one stops working.
      const { linkId, linkHash } = newInvitationLink();
      const to = invitationEmail ?? invitation.invitationEmail;
      const validityDays = (await settings.invitation()).validityDays;
      let updated: Invitation;
      try {
        updated = await store.update(invitation, {
          invitationEmail: to,
          linkHash,
          expiresAt: new Date(now().getTime() + validityDays * DAY_MS).toISOString(),
        });
      } catch (error) {
        if (error instanceof VersionConflictError)
          throw domainErrors.versionMismatch(`"${id}" changed meanwhile; try again.`);
        throw error;
      }
      const emailId = await sendLink(id, to, linkId);
      return view(await store.update(updated, { emailIds: [...updated.emailIds, emailId].slice(-20) }));
    },

    async revoke(id) {
      const invitation = await live(id);
      await store.update(invitation, { revokedAt: now().toISOString() });
    },

    async openLink(linkId) {
      if (!LINK_ID_PATTERN.test(linkId)) return { kind: 'unknown' };
      const invitation = await store.getByLinkHash(hashInvitationLink(linkId));
      if (!invitation) return { kind: 'unknown' };
      if (invitation.revokedAt) return { kind: 'revoked', invitation };
      if (invitation.deviceAuthenticated) return { kind: 'completed', invitation };
      if (isExpired(invitation, now())) return { kind: 'expired', invitation };
      return { kind: 'valid', invitation };
    },

    async state(id) {
      const invitation = await store.get(id);
      if (!invitation) return 'unknown';
      if (invitation.revokedAt) return 'revoked';
      if (invitation.deviceAuthenticated) return 'completed';
      return isExpired(invitation, now()) ? 'expired' : 'valid';
    },

    async markAuthenticated(id, m365AdminEmail) {
      const invitation = await live(id);
      return store.update(invitation, { deviceAuthenticated: true, m365AdminEmail });
    },
  };
}
