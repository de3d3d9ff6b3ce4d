import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { TrustedTransport } from '../net/trusted-transport.js';
import { aadstsCode } from './aadsts.js';

export interface EntraOAuthOptions {
  /** `https://login.microsoftonline.com`, or the sandbox's `${url}/entra`. */
  readonly authorityHost: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly transport: TrustedTransport;
}

/** Who signed in, from the ID token (or the access token when there is none). */
export interface EntraAccount {
  readonly tenantId: string;
  readonly username: string | null;
  readonly objectId: string | null;
  readonly name: string | null;
}

export interface TokenSet {
  readonly accessToken: string;
  /** Entra ID rotates refresh tokens: store this one in place of the one redeemed. */
  readonly refreshToken: string | null;
  readonly expiresIn: number;
  readonly scope: string;
  readonly account: EntraAccount | null;
}

export interface DeviceCodeGrant {
  readonly deviceCode: string;
  readonly userCode: string;
  readonly verificationUri: string;
  readonly expiresIn: number;
  readonly interval: number;
  readonly message: string;
}

export type DeviceCodePoll =
  | { readonly status: 'pending'; readonly interval: number }
  | { readonly status: 'complete'; readonly tokens: TokenSet }
  | { readonly status: 'failed'; readonly error: string; readonly message: string };

/** A refusal by Entra ID (or an unusable answer). The message never contains secrets, codes or tokens. */
export class EntraOAuthError extends Error {
  override readonly name = 'EntraOAuthError';
  constructor(
    message: string,
    /** The OAuth `error`, e.g. `invalid_grant`; `network_error` / `invalid_response` when there was no answer. */
    readonly error: string,
    /** E.g. `AADSTS65001`, parsed from `error_description`. */
    readonly aadsts: string | null,
    /** The HTTP status; 0 when the request never got an answer. */
    readonly status: number,
  ) {
    super(message);
  }
}

export interface EntraOAuthClient {
  adminConsentUrl(o: { tenant: string; redirectUri: string; state: string; scope?: string }): string;
  authorizeUrl(o: {
    tenant: string;
    redirectUri: string;
    state: string;
    scope: string;
    codeChallenge: string;
    loginHint?: string;
    prompt?: 'consent' | 'select_account' | 'login';
  }): string;
  redeemCode(o: {
    tenant: string;
    code: string;
    codeVerifier: string;
    redirectUri: string;
    scope: string;
  }): Promise<TokenSet>;
  startDeviceCode(o: { tenant: string; scope: string }): Promise<DeviceCodeGrant>;
  /**
   * `interval` is the one the code's polls keep (the grant's, or the last poll's): the caller stores it with the
   * flow, since the next poll may come to another instance, or to a client built afresh for it.
   */
  pollDeviceCode(o: { tenant: string; deviceCode: string; interval: number }): Promise<DeviceCodePoll>;
  refresh(o: { tenant: string; refreshToken: string; scope: string }): Promise<TokenSet>;
}

const DEFAULT_ADMIN_CONSENT_SCOPE = 'https://graph.microsoft.com/.default';
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** RFC 8628 3.2: the interval when the server names none. */
const DEFAULT_POLL_INTERVAL = 5;
/** Device code errors after which polling is pointless (RFC 8628 3.5 and Entra ID's own). */
const PENDING_ERRORS = new Set(['authorization_pending', 'slow_down']);

const tokenResponseSchema = z.object({
  token_type: z.string().regex(/^bearer$/i),
  scope: z.string().optional(),
  expires_in: z.coerce.number().int().nonnegative(),
  access_token: z.string().min(1),
  refresh_token: z.string().min(1).optional(),
  id_token: z.string().min(1).optional(),
});

const deviceCodeSchema = z.object({
  device_code: z.string().min(1),
  user_code: z.string().min(1),
  verification_uri: z.string().min(1),
  expires_in: z.coerce.number().int().nonnegative(),
  interval: z.coerce.number().int().nonnegative().optional(),
  message: z.string(),
});

const errorSchema = z.object({ error: z.string().min(1), error_description: z.string().optional() });

const claimsSchema = z.object({
  tid: z.string().min(1),
  preferred_username: z.string().optional(),
  upn: z.string().optional(),
  oid: z.string().optional(),
  name: z.string().optional(),
});

/** The delegated (user) OAuth flows of Entra ID v2.0 for a confidential client (`client_secret_post`). */
export function createEntraOAuthClient(options: EntraOAuthOptions): EntraOAuthClient {
  const authority = options.authorityHost.replace(/\/+$/, '');
  const endpoint = (tenant: string, path: string) => `${authority}/${encodeURIComponent(tenant)}/${path}`;

  async function post(url: string, form: Record<string, string>, what: string): Promise<unknown> {
    let response: Response;
    try {
      response = await options.transport.fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({
          ...form,
          client_id: options.clientId,
          client_secret: options.clientSecret,
        }),
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new EntraOAuthError(
        `Microsoft Entra ID could not be reached for the ${what}: ${reason}`,
        'network_error',
        null,
        0,
      );
    }
    const body: unknown = await response.json().catch(() => null);
    if (response.ok) return body;
    const refusal = errorSchema.safeParse(body);
    if (!refusal.success) {
      throw new EntraOAuthError(
        `Microsoft Entra ID answered the ${what} with HTTP ${response.status} and no OAuth error.`,
        'invalid_response',
        null,
        response.status,
      );
    }
    const description = refusal.data.error_description ?? '';
    // The first line is Entra ID's sentence; trace and correlation ids follow it and help support.
    throw new EntraOAuthError(
      `Microsoft Entra ID refused the ${what} (${refusal.data.error}): ${description || 'no description.'}`,
      refusal.data.error,
      aadstsCode(description),
      response.status,
    );
  }

  async function token(tenant: string, form: Record<string, string>, what: string): Promise<TokenSet> {
    return toTokenSet(await post(endpoint(tenant, 'oauth2/v2.0/token'), form, what), what);
  }

  return {
    adminConsentUrl(o) {
      const url = new URL(endpoint(o.tenant, 'v2.0/adminconsent'));
      url.search = new URLSearchParams({
        client_id: options.clientId,
        scope: o.scope ?? DEFAULT_ADMIN_CONSENT_SCOPE,
        redirect_uri: o.redirectUri,
        state: o.state,
      }).toString();
      return url.toString();
    },

    authorizeUrl(o) {
      const url = new URL(endpoint(o.tenant, 'oauth2/v2.0/authorize'));
      url.search = new URLSearchParams({
        client_id: options.clientId,
        response_type: 'code',
        redirect_uri: o.redirectUri,
        response_mode: 'query',
        scope: o.scope,
        state: o.state,
        code_challenge: o.codeChallenge,
        code_challenge_method: 'S256',
        ...(o.loginHint ? { login_hint: o.loginHint } : {}),
        ...(o.prompt ? { prompt: o.prompt } : {}),
      }).toString();
      return url.toString();
    },

    redeemCode(o) {
      return token(
        o.tenant,
        {
          grant_type: 'authorization_code',
          code: o.code,
          redirect_uri: o.redirectUri,
          code_verifier: o.codeVerifier,
          scope: o.scope,
        },
        'authorization code redemption',
      );
    },

    async startDeviceCode(o) {
      const what = 'device code request';
      const body = parse(
        deviceCodeSchema,
        await post(endpoint(o.tenant, 'oauth2/v2.0/devicecode'), { scope: o.scope }, what),
        what,
      );
      const interval = body.interval ?? DEFAULT_POLL_INTERVAL;
      return {
        deviceCode: body.device_code,
        userCode: body.user_code,
        verificationUri: body.verification_uri,
        expiresIn: body.expires_in,
        interval,
        message: body.message,
      };
    },

    async pollDeviceCode(o) {
      try {
        const tokens = await token(
          o.tenant,
          { grant_type: DEVICE_CODE_GRANT, device_code: o.deviceCode },
          'device code poll',
        );
        return { status: 'complete', tokens };
      } catch (error) {
        if (!(error instanceof EntraOAuthError) || error.status === 0 || error.status >= 500) throw error;
        if (PENDING_ERRORS.has(error.error)) {
          return { status: 'pending', interval: error.error === 'slow_down' ? o.interval + 5 : o.interval };
        }
        return { status: 'failed', error: error.error, message: error.message };
      }
    },

    refresh(o) {
      return token(
        o.tenant,
        { grant_type: 'refresh_token', refresh_token: o.refreshToken, scope: o.scope },
        'refresh token redemption',
      );
    },
  };
}

/** A PKCE verifier (32 random bytes, 43 characters) and its S256 challenge (RFC 7636 4.1, 4.2). */
export function createPkcePair(): { readonly verifier: string; readonly challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function toTokenSet(body: unknown, what: string): TokenSet {
  const parsed = parse(tokenResponseSchema, body, what);
  return {
    accessToken: parsed.access_token,
    refreshToken: parsed.refresh_token ?? null,
    expiresIn: parsed.expires_in,
    scope: parsed.scope ?? '',
    account: accountOf(parsed.id_token) ?? accountOf(parsed.access_token),
  };
}

/**
 * The account from a token's claims. The signature is not checked: the token came straight from the token
 * endpoint over TLS, which OpenID Connect Core 1.0 section 3.1.3.7 accepts in place of validating it.
 */
function accountOf(jwt: string | undefined): EntraAccount | null {
  const payload = jwt?.split('.')[1];
  if (!payload) return null;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const claims = claimsSchema.safeParse(json);
  if (!claims.success) return null;
  return {
    tenantId: claims.data.tid,
    username: claims.data.preferred_username ?? claims.data.upn ?? null,
    objectId: claims.data.oid ?? null,
    name: claims.data.name ?? null,
  };
}

/** Validates an answer without echoing it: it may carry tokens. */
function parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const result = schema.safeParse(body);
  if (!result.success) {
    const fields = [...new Set(result.error.issues.map((issue) => issue.path.join('.') || '(body)'))].join(
      ', ',
    );
    throw new EntraOAuthError(
      `Microsoft Entra ID answered the ${what} with an unexpected shape (${fields}).`,
      'invalid_response',
      null,
      200,
    );
  }
  return result.data;
}
