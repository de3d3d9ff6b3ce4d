import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createJwtAuthenticator } from '../../shared/auth/authenticator.js';
import { isDomainError } from '../../shared/errors/domain-errors.js';

const ISSUER = 'https://login.example/tenant/v2.0';
const AUDIENCE = 'api://hub';

async function setUp() {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' }] };
  let clock = Date.UTC(2026, 11, 3, 12, 0, 0);
  const authenticator = createJwtAuthenticator({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks,
    now: () => clock,
  });
  const seconds = () => Math.floor(clock / 1000);
  const token = (lifetimeSeconds: number) =>
    new SignJWT({ oid: 'caller', roles: ['provider-admin'] })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(seconds())
      .setNotBefore(seconds())
      .setExpirationTime(seconds() + lifetimeSeconds)
      .sign(privateKey);
  return { authenticator, token, advance: (ms: number) => void (clock += ms) };
}

describe('a bearer token used again', () => {
  it('proves the same caller on every request until it expires, then is refused as expired', async () => {
    const { authenticator, token, advance } = await setUp();
    const bearer = `Bearer ${await token(60)}`;
    expect((await authenticator.authenticate(bearer)).subject).toBe('caller');
    advance(59_000);
    expect((await authenticator.authenticate(bearer)).roles).toEqual(['provider-admin']);
    advance(1_000);
    const error = await authenticator.authenticate(bearer).catch((e: unknown) => e);
    expect(isDomainError(error, 'unauthenticated')).toBe(true);
    expect((error as Error).message).toMatch(/expired/);
  });

  it('is never accepted with one character changed, even after the original was', async () => {
    const { authenticator, token } = await setUp();
    const raw = await token(3600);
    await authenticator.authenticate(`Bearer ${raw}`);
    const last = raw.at(-2) === 'A' ? 'B' : 'A';
    const tampered = `${raw.slice(0, -2)}${last}${raw.slice(-1)}`;
    const error = await authenticator.authenticate(`Bearer ${tampered}`).catch((e: unknown) => e);
    expect(isDomainError(error, 'unauthenticated')).toBe(true);
  });
});

describe('what a token must carry', () => {
  const PORTAL = '6f1c2a9e-0d3b-4c55-9a7e-2b8f3c1d4e5a';

  async function signer(allowedClientIds?: readonly string[]) {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' }] };
    const authenticator = createJwtAuthenticator({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks,
      ...(allowedClientIds ? { allowedClientIds } : {}),
    });
    const sign = (claims: Record<string, unknown>, expires = true) => {
      const jwt = new SignJWT({ oid: 'caller', roles: ['provider-admin'], ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt();
      return (expires ? jwt.setExpirationTime('1h') : jwt).sign(privateKey);
    };
    const refusal = async (token: string) => {
      const error = await authenticator.authenticate(`Bearer ${token}`).catch((e: unknown) => e);
      expect(isDomainError(error, 'unauthenticated')).toBe(true);
      return (error as Error).message;
    };
    return { authenticator, sign, refusal };
  }

  it('refuses a validly signed token without exp: it would never expire', async () => {
    const { sign, refusal } = await signer();
    expect(await refusal(await sign({}, false))).toMatch(/exp/);
  });

  it('accepts only the allowed client applications, by azp (v2) or appid (v1), when a list is set', async () => {
    const { authenticator, sign, refusal } = await signer([PORTAL]);
    expect((await authenticator.authenticate(`Bearer ${await sign({ azp: PORTAL })}`)).subject).toBe(
      'caller',
    );
    expect(
      (await authenticator.authenticate(`Bearer ${await sign({ appid: PORTAL.toUpperCase() })}`)).subject,
    ).toBe('caller');
    const elsewhere = '0b7e3c1a-5d2f-4e8a-9c6b-1a2b3c4d5e6f';
    expect(await refusal(await sign({ azp: elsewhere }))).toMatch(/client application/);
    expect(await refusal(await sign({ appid: elsewhere }))).toMatch(/client application/);
    expect(await refusal(await sign({}))).toMatch(/client application/);
  });

  it('accepts any client when no list is set', async () => {
    const { authenticator, sign } = await signer();
    const other = await sign({ azp: '0b7e3c1a-5d2f-4e8a-9c6b-1a2b3c4d5e6f' });
    expect((await authenticator.authenticate(`Bearer ${other}`)).subject).toBe('caller');
  });
});
