import { randomBytes } from 'node:crypto';
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

/** One run of a consent flow, from its start until Microsoft's answer; also the OAuth `state` of a sign-in. */
export interface ConsentFlow {
  readonly id: string;
  readonly kind: 'device-code' | 'sign-in';
  readonly subject: ConsentSubject;
  readonly step: ConsentStep;
  readonly status: ConsentFlowStatus;
  /** Why it failed, in words for the person looking at the page. */
  readonly message: string | null;
  readonly m365AdminEmail: string | null;
  /** `organizations` until the customer's tenant is known, then its id. */
  readonly tenant: string;
  readonly device: DeviceCodeState | null;
  /** The PKCE verifier of a sign-in, sealed. */
  readonly sealedVerifier: string | null;
  /** The refresh token from the Graph step, sealed, carried into the Teams step. */
  readonly sealedRefreshToken: string | null;
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
