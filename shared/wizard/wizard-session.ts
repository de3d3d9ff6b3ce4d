import { randomBytes } from 'node:crypto';
import type { CustomerDraft } from '../invitations/invitation-service.js';
import type { WizardPages } from '../onboarding/wizard-pages.js';

/** The manual's wizard shows "Session expires in: 09:49": about ten minutes, renewed by every step. */
export const WIZARD_SESSION_TTL_MS = 10 * 60 * 1000;

export type ConnectionMethod = 'invite' | 'sign-in' | 'app-registration';
export type ConnectionStatus = 'pending-authentication' | 'authentication-complete';

export interface WizardConnection {
  readonly method: ConnectionMethod;
  readonly status: ConnectionStatus;
  /** The invitation carrying this onboarding, for the invite method. */
  readonly invitationId?: string;
  /** The customer's Entra tenant, once known. */
  readonly tenantId?: string;
}

/** The Microsoft 365 Settings page: Override Admin Domain, Tenant ID, Grant Admin Access to, Teams Notification app. */
export interface M365Settings {
  readonly overrideAdminDomain: string;
  readonly tenantId: string;
  readonly grantAdminAccessTo: string | null;
  readonly teamsNotificationAppId: string | null;
  /** Sealed; the API reports only whether it is saved. */
  readonly teamsNotificationSecretSealed: string | null;
}

export interface WizardSession {
  readonly id: string;
  /** The operator who opened it; nobody else can see or continue it. */
  readonly owner: string;
  readonly draft: CustomerDraft | null;
  readonly connection: WizardConnection | null;
  readonly m365Settings: M365Settings | null;
  /** The pages after Microsoft 365 Settings: DNS, M365 default routing, SBC, prefixes, SBC scripts. */
  readonly pages: WizardPages;
  /** Set by Submit: the CreateCustomer task it queued. The session is closed from then on; the site is edited instead. */
  readonly submittedTaskId: string | null;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly etag: string;
}

export function newWizardSessionId(): string {
  return randomBytes(16).toString('base64url');
}

export const WIZARD_SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
