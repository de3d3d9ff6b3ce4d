import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Seals secrets (client secrets, refresh tokens, SMTP passwords) before they reach storage: AES-256-GCM with the
 * key from the SECRETS_ENCRYPTION_KEY setting (in Azure, a Key Vault reference). The slot a secret belongs to is
 * authenticated too, so a sealed value copied into another record or field does not open.
 *
 * Key rotation: each sealed value names the key that sealed it (`v1.<key id>.<payload>`). Values sealed with a
 * retired key still open while that key is listed in SECRETS_ENCRYPTION_KEYS_RETIRED; every store of a lasting
 * secret re-seals what it reads under a retired key (`reseal`) and writes it back, so the old key can be dropped
 * once each secret has been read once (docs/deploy.md, "Rotating the encryption key").
 */
export interface SecretBox {
  seal(plaintext: string, slot: string): string;
  open(sealed: string, slot: string): string;
  /** Whether `sealed` was sealed with the current key (false: re-seal it when it is next written). */
  isCurrent(sealed: string): boolean;
  /**
   * `sealed` sealed again with the current key when a retired key sealed it (to be written back in its place), or
   * null when there is nothing to write back: it is current already, or no key opens it (its use says so, as
   * before; a read that only re-seals must not fail where the use would not have).
   */
  reseal(sealed: string, slot: string): string | null;
}

export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

const VERSION = 'v1';
const IV_BYTES = 12;
// GCM accepts tags as short as 4 bytes unless told otherwise; a short tag makes forgery a matter of 2^32 tries.
const TAG_BYTES = 16;

function keyOf(base64Key: string): { readonly id: string; readonly key: Buffer } {
  const key = Buffer.from(base64Key, 'base64');
  if (key.length !== 32)
    throw new SecretBoxError('The secrets encryption key must be 32 bytes, base64-encoded.');
  // Names the key without revealing it, so that a sealed value says which key opens it.
  return { id: createHash('sha256').update(key).digest('base64url').slice(0, 8), key };
}

export function createSecretBox(base64Key: string, retiredBase64Keys: readonly string[] = []): SecretBox {
  const current = keyOf(base64Key);
  const keys = new Map([...retiredBase64Keys.map(keyOf), current].map((entry) => [entry.id, entry.key]));
  const box: SecretBox = {
    seal(plaintext, slot) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', current.key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(slot, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const payload = Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64url');
      return `${VERSION}.${current.id}.${payload}`;
    },
    open(sealed, slot) {
      const [version, sealedKeyId, payload, extra] = sealed.split('.');
      if (version !== VERSION || !sealedKeyId || !payload || extra !== undefined)
        throw new SecretBoxError('Not a sealed secret.');
      const key = keys.get(sealedKeyId);
      if (!key) throw new SecretBoxError('The secret was sealed with another key.');
      const bytes = Buffer.from(payload, 'base64url');
      if (bytes.length < IV_BYTES + TAG_BYTES)
        throw new SecretBoxError('The sealed secret does not open: it is truncated.');
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(Buffer.from(slot, 'utf8'));
      decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      try {
        return Buffer.concat([
          decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)),
          decipher.final(),
        ]).toString('utf8');
      } catch {
        throw new SecretBoxError('The sealed secret does not open: wrong key, wrong slot, or tampered.');
      }
    },
    isCurrent(sealed) {
      return sealed.split('.')[1] === current.id;
    },
    reseal(sealed, slot) {
      if (box.isCurrent(sealed)) return null;
      try {
        return box.seal(box.open(sealed, slot), slot);
      } catch (error) {
        if (error instanceof SecretBoxError) return null;
        throw error;
      }
    },
  };
  return box;
}
