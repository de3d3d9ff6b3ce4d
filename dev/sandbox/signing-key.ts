import { createHash, createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, type JWK } from 'jose';
import { createSigningCertificate } from './certificates.js';

/** The RS256 key every sandbox token is signed with, published as a JWKS entry shaped like Entra ID's. */
export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The public JWK with `kid`, `x5t` and `x5c`; `issuer` is added per request because it names the host. */
  readonly jwk: JWK & { readonly kid: string; readonly x5t: string; readonly x5c: string[] };
}

/** Persisted in `dataDir` so that tokens issued before a restart still verify after it. */
export async function loadOrCreateSigningKey(dataDir: string): Promise<SigningKey> {
  const keyFile = join(dataDir, 'signing-key.pem');
  const certFile = join(dataDir, 'signing-cert.pem');
  if (!existsSync(keyFile) || !existsSync(certFile)) {
    const created = createSigningCertificate();
    writeFileSync(keyFile, created.keyPem, { mode: 0o600 });
    writeFileSync(certFile, created.certPem);
  }
  const privateKey = createPrivateKey(readFileSync(keyFile, 'utf8'));
  const certificate = new X509Certificate(readFileSync(certFile, 'utf8'));
  const publicKey = certificate.publicKey;
  // Entra ID uses the certificate's SHA-1 thumbprint as both `kid` and `x5t`.
  const kid = createHash('sha1').update(certificate.raw).digest('base64url');
  const { kty, n, e } = await exportJWK(publicKey);
  return {
    kid,
    privateKey,
    publicKey,
    jwk: { kty, use: 'sig', kid, x5t: kid, n, e, x5c: [certificate.raw.toString('base64')] },
  };
}
