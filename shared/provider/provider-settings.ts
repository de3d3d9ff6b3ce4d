/**
 * The provider's own settings, as the product reads them (secrets already opened). Operators edit them through
 * the settings API; secrets are write-only there and sealed at rest.
 */

/** The multi-tenant "token" app that customers consent to (Security > Authentication Status in the manual). */
export interface TokenAppSettings {
  readonly clientId: string;
  readonly clientSecret: string;
  /** `https://<public host>/authenticate/OAuth2Callback`. */
  readonly redirectUri: string;
  /** Whether the invitation page offers the device-code flow; off unless the provider turns it on. */
  readonly deviceCode: boolean;
}

/** System > Invitation Settings. Templates use {{CustomerId}}, {{CustomerAuthenticationPortalUrl}}, {{InvitationId}}. */
export interface InvitationSettings {
  readonly subjectTemplate: string;
  readonly emailTemplate: string;
  /** The public base of the customer-facing pages, e.g. `https://portal.example.com/authenticate`. */
  readonly portalUrl: string;
  readonly validityDays: number;
}

export interface SmtpEmailSettings {
  readonly transport: 'smtp';
  readonly from: string;
  readonly host: string;
  readonly port: number;
  readonly enableSsl: boolean;
  readonly username?: string;
  readonly password?: string;
}

export interface AcsEmailSettings {
  readonly transport: 'acs';
  /** `https://<resource>.communication.azure.com`. */
  readonly endpoint: string;
  readonly senderAddress: string;
  readonly accessKey: string;
}

/** System > Email Settings: Azure Communication Services, or the manual's SMTP. */
export type EmailSettings = SmtpEmailSettings | AcsEmailSettings;

export interface WhiteLabel {
  readonly displayName: string;
  readonly logo?: { readonly contentType: 'image/png' | 'image/svg+xml'; readonly base64: string };
}

/**
 * System > Rate Limits (not in the manual; decisions §70): how many requests that reach an SBC or a customer's tenant
 * a caller, and an SBC, may make per window.
 */
export interface RateLimitSettings {
  readonly windowSeconds: number;
  /** Per caller with the provider-admin role. */
  readonly providerAdminRequests: number;
  /** Per channel or customer admin. */
  readonly adminRequests: number;
  /** Per SBC, every caller and customer together. */
  readonly sbcRequests: number;
}

export interface ProviderSettingsReader {
  tokenApp(): Promise<TokenAppSettings | null>;
  invitation(): Promise<InvitationSettings>;
  email(): Promise<EmailSettings | null>;
  whiteLabel(): Promise<WhiteLabel>;
  rateLimits(): Promise<RateLimitSettings>;
}
