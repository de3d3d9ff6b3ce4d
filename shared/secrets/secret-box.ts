import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Seals secrets (client secrets, refresh tokens, SMTP passwords) before they reach storage: AES-256-GCM with the
 * key from the SECRETS_ENCRYPTION_KEY setting (in Azure, a Key Vault reference). The slot a secret belongs to is
 * authenticated too, so a sealed value copied into another record or field does not open.
 */
export interface SecretBox {
  seal(plaintext: string, slot: string): string;
  open(sealed: string, slot: string): string;
}

export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

const VERSION = 'v1';

export function createSecretBox(base64Key: string): SecretBox {
  const key = Buffer.from(base64Key, 'base64');
  if (key.length !== 32)
    throw new SecretBoxError('The secrets encryption key must be 32 bytes, base64-encoded.');
  // Names the key without revealing it, so that a later key rotation can tell which key sealed a value.
  const keyId = createHash('sha256').update(key).digest('base64url').slice(0, 8);
  return {
    seal(plaintext, slot) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(slot, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const payload = Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64url');
      return `${VERSION}.${keyId}.${payload}`;
    },
    open(sealed, slot) {
      const [version, sealedKeyId, payload] = sealed.split('.');
      if (version !== VERSION || !payload) throw new SecretBoxError('Not a sealed secret.');
      if (sealedKeyId !== keyId) throw new SecretBoxError('The secret was sealed with another key.');
      const bytes = Buffer.from(payload, 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
      decipher.setAAD(Buffer.from(slot, 'utf8'));
      decipher.setAuthTag(bytes.subarray(12, 28));
      try {
        return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretBoxError('The sealed secret does not open: wrong key, wrong slot, or tampered.');
      }
    },
  };
}
