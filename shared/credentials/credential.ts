/** How the provider reaches a customer's tenant (the manual's "Authentication method"). */
export const AUTHENTICATION_METHODS = ['token', 'app-registration'] as const;
export type AuthenticationMethod = (typeof AUTHENTICATION_METHODS)[number];

/** The manual's Authentication method names. */
export const AUTHENTICATION_METHOD_LABELS: Readonly<Record<AuthenticationMethod, string>> = {
  token: 'Token',
  'app-registration': 'App registration',
};

export const VERIFICATION_STATUSES = [
  'never-performed',
  'successful',
  'failed',
  'token-not-generated',
] as const;
export type VerificationStatus = (typeof VERIFICATION_STATUSES)[number];

/** The manual's Last Verification Status names. */
export const VERIFICATION_STATUS_LABELS: Readonly<Record<VerificationStatus, string>> = {
  'never-performed': 'Never Performed',
  successful: 'Successful',
  failed: 'Failed',
  'token-not-generated': 'Token not generated',
};

/** The two resources the provider needs in every customer tenant. */
export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
export const TEAMS_ADMIN_RESOURCE = '48ac35b8-9aa8-4d74-927d-1f4a14a0b239';
export const TEAMS_ADMIN_SCOPE = `${TEAMS_ADMIN_RESOURCE}/.default`;

export interface CustomerCredential {
  /** The Short Name of the customer (or of the onboarding it belongs to). */
  readonly customerId: string;
  readonly method: AuthenticationMethod;
  readonly tenantId: string;
  /** M365 Email: the admin who consented; null for an app registration. */
  readonly m365Email: string | null;
  /** The `oid` of the admin who consented, from the token's claims; null for an app registration. */
  readonly m365AdminObjectId: string | null;
  /** The tenant's `*.onmicrosoft.com` domain, the wizard's Override Admin Domain. */
  readonly initialDomain: string | null;
  readonly tenantDisplayName: string | null;
  /** The customer's own app registration, for the App registration method. */
  readonly clientId: string | null;
  /** When the app registration's client secret ends, if the app may read its own registration. */
  readonly clientSecretExpiresAt: string | null;
  /** A sealed refresh token (Token) or client secret (App registration). */
  readonly sealedSecret: string;
  readonly whenLastVerified: string | null;
  readonly lastVerificationStatus: VerificationStatus;
  readonly lastVerificationMessage: string | null;
  /**
   * The onboarding wizard session that captured it, until its Submit creates the customer: a credential held so
   * is not replicated, and is deleted when its session expires or is reset without Submit.
   */
  readonly heldByWizardSession: string | null;
  readonly etag: string;
}

/** The queue Verify All and the daily timer fan out on: one `{ customerId }` message per customer. */
export const CREDENTIAL_VERIFY_QUEUE = 'credential-verify';
