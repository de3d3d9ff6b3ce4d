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
