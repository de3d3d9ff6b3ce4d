import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { GRAPH_SCOPE, TEAMS_ADMIN_SCOPE } from '../credentials/credential.js';

/** Whose consent a flow collects: the customer's admin through an invitation, or an operator in the wizard. */
export type ConsentSubject =
  | { readonly type: 'invitation'; readonly invitationId: string }
  | {
      readonly type: 'wizard';
      readonly sessionId: string;
      readonly owner: string;
      readonly customerId: string;
    };

/**
 * Microsoft asks for consent per resource: first Microsoft Graph, then the Skype and Teams Tenant Admin API —
 * the two consent screens of the manual's device-code flow.
 */
export type ConsentStep = 'graph' | 'teams';

export type ConsentFlowStatus = 'pending' | 'complete' | 'failed';

export interface DeviceCodeState {
  readonly sealedDeviceCode: string;
  readonly userCode: string;
  readonly verificationUri: string;
  readonly intervalSeconds: number;
  readonly expiresAt: string;
  readonly lastPolledAt: string | null;
}

/** Why the product (not Microsoft) refused a flow. */
export type ConsentRefusalCode = 'consent_browser_mismatch' | 'consent_tenant_mismatch';

/** The account that signed in, from the token's claims, and the tenant as Graph names it. */
export interface SignedInAccount {
  /** `oid`. */
  readonly objectId: string | null;
  /** `preferred_username` (or `upn`). */
  readonly username: string | null;
  readonly tenantId: string;
  readonly tenantDisplayName: string | null;
  readonly initialDomain: string | null;
}

/** One run of a consent flow, from its start until Microsoft's answer; also the OAuth `state` of a sign-in. */
export interface ConsentFlow {
  readonly id: string;
  readonly kind: 'device-code' | 'sign-in';
  readonly subject: ConsentSubject;
  readonly step: ConsentStep;
  readonly status: ConsentFlowStatus;
  /** Why it failed, in words for the person looking at the page. */
  readonly message: string | null;
  /** A refusal's stable code, shown with the message (absent on flows stored before codes existed). */
  readonly failureCode?: ConsentRefusalCode | null;
  readonly m365AdminEmail: string | null;
  /** `organizations` until the customer's tenant is known, then its id. */
  readonly tenant: string;
  readonly device: DeviceCodeState | null;
  /** The PKCE verifier of a sign-in, sealed. */
  readonly sealedVerifier: string | null;
  /** The refresh token from the Graph step, sealed, carried into the Teams step. */
  readonly sealedRefreshToken: string | null;
  /**
   * SHA-256 of the browser key (the `__Host-` cookie) of the browser that started the flow: its callback and
   * its polls are accepted only from that browser. Null only on flows stored before binding existed (refused).
   */
  readonly browserKeyHash: string | null;
  /** Who signed in and which tenant, once Microsoft said so (shown on the last page, recorded with the grant). */
  readonly signedIn: SignedInAccount | null;
  /** A sign-in's answer is accepted once: set when the callback claims it. */
  readonly usedAt: string | null;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly etag: string;
}

export const FLOW_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** 256 random bits: the flow id doubles as the OAuth `state`, which must be unguessable. */
export function newConsentFlowId(): string {
  return randomBytes(32).toString('base64url');
}

/** A sign-in must come back within this; Microsoft's own authorization codes live about as long. */
export const SIGN_IN_TTL_MS = 10 * 60 * 1000;

const INTERACTIVE_SCOPES = 'offline_access openid profile';
export const scopeFor = (step: ConsentStep) =>
  `${step === 'graph' ? GRAPH_SCOPE : TEAMS_ADMIN_SCOPE} ${INTERACTIVE_SCOPES}`;
export const resourceScope = (step: ConsentStep) => (step === 'graph' ? GRAPH_SCOPE : TEAMS_ADMIN_SCOPE);

/** The tenant to sign in to: the admin's domain when given (Entra resolves it), else any work account. */
export function tenantHint(m365AdminEmail: string | null): string {
  const domain = m365AdminEmail?.split('@')[1]?.toLowerCase();
  return domain && /^[a-z0-9.-]+\.[a-z]{2,}$/.test(domain) ? domain : 'organizations';
}

/** A browser key: 256 random bits, the value of the binding cookie. */
export function newBrowserKey(): string {
  return randomBytes(32).toString('base64url');
}

export const BROWSER_KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Only this is stored: a leaked flow table does not give anyone a cookie that completes the flow. */
export function hashBrowserKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('base64url');
}

/**
 * Whether the request's browser key is the one the flow was started with. Every flow is bound: one stored without
 * a hash (from before binding existed) is refused, not trusted.
 */
export function sameBrowser(flow: Pick<ConsentFlow, 'browserKeyHash'>, key: string | null): boolean {
  const expected = flow.browserKeyHash ?? null;
  if (expected === null) return false;
  if (!key || !BROWSER_KEY_PATTERN.test(key)) return false;
  const actual = Buffer.from(hashBrowserKey(key));
  const wanted = Buffer.from(expected);
  return actual.length === wanted.length && timingSafeEqual(actual, wanted);
}

/**
 * The wizard's Sign in now, started through the API: a one-time link on this host that, opened in the operator's
 * browser, binds the sign-in to that browser (sets the cookie) and only then sends it to Microsoft. The API's
 * caller holds a bearer token, not a cookie of this host, so the binding can only happen in the browser.
 */
export interface SignInLaunch {
  /** SHA-256 of the link's token: a leaked table gives nobody a link that works. */
  readonly tokenHash: string;
  readonly subject: Extract<ConsentSubject, { type: 'wizard' }>;
  readonly loginHint: string | null;
  /** Set when a browser opened the link: it starts one sign-in, once. */
  readonly usedAt: string | null;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly etag: string;
}

/** The operator opens the link from the portal at once; a link lying in a chat or history must not start one. */
export const SIGN_IN_LAUNCH_TTL_MS = 5 * 60 * 1000;

export const LAUNCH_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** 256 random bits: whoever holds the token can start the session's sign-in in their own browser. */
export function newLaunchToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashLaunchToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}
