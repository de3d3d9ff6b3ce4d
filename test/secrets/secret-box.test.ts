import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSecretBox, SecretBoxError } from '../../shared/secrets/secret-box.js';

const key = () => randomBytes(32).toString('base64');

/** Rewrites a sealed value's payload: iv (12 bytes), tag, ciphertext. */
function withPayload(sealed: string, edit: (bytes: Buffer) => Buffer): string {
  const [version, keyId, payload] = sealed.split('.') as [string, string, string];
  return `${version}.${keyId}.${edit(Buffer.from(payload, 'base64url')).toString('base64url')}`;
}

describe('secret box', () => {
  it('opens what it sealed, in the same slot only', () => {
    const box = createSecretBox(key());
    const sealed = box.seal('s3cret', 'credentials/contoso/secret');
    expect(box.open(sealed, 'credentials/contoso/secret')).toBe('s3cret');
    expect(() => box.open(sealed, 'credentials/fabrikam/secret')).toThrow(SecretBoxError);
  });

  it('refuses a truncated authentication tag (a 4-byte tag would take 2^32 tries to forge)', () => {
    const box = createSecretBox(key());
    // An empty secret: the payload is iv + tag, so cutting bytes off the end shortens the tag itself.
    const sealed = box.seal('', 'slot');
    expect(box.open(sealed, 'slot')).toBe('');
    for (const tagBytes of [4, 8, 12, 15]) {
      const truncated = withPayload(sealed, (bytes) => bytes.subarray(0, 12 + tagBytes));
      expect(() => box.open(truncated, 'slot')).toThrow(SecretBoxError);
    }
  });

  it('refuses a tampered tag or ciphertext', () => {
    const box = createSecretBox(key());
    const sealed = box.seal('refresh-token', 'slot');
    for (const at of [12, 27, 28]) {
      const tampered = withPayload(sealed, (bytes) => {
        const copy = Buffer.from(bytes);
        copy[at] = (copy[at] ?? 0) ^ 1;
        return copy;
      });
      expect(() => box.open(tampered, 'slot')).toThrow(SecretBoxError);
    }
  });

  it('opens values sealed with a retired key, seals only with the current one', () => {
    const oldKey = key();
    const oldBox = createSecretBox(oldKey);
    const sealedBefore = oldBox.seal('smtp-password', 'slot');

    const rotated = createSecretBox(key(), [oldKey]);
    expect(rotated.open(sealedBefore, 'slot')).toBe('smtp-password');
    expect(rotated.isCurrent(sealedBefore)).toBe(false);
    const resealed = rotated.seal(rotated.open(sealedBefore, 'slot'), 'slot');
    expect(rotated.isCurrent(resealed)).toBe(true);
    // The old key alone no longer opens the re-sealed value; without the retired key the old value does not open.
    expect(() => oldBox.open(resealed, 'slot')).toThrow(SecretBoxError);
    expect(() => createSecretBox(key()).open(sealedBefore, 'slot')).toThrow(/another key/);
  });

  it('re-seals a value of a retired key, and leaves alone one that is current or that no key opens', () => {
    const oldKey = key();
    const sealedBefore = createSecretBox(oldKey).seal('dns-secret', 'slot');
    const rotated = createSecretBox(key(), [oldKey]);
    const resealed = rotated.reseal(sealedBefore, 'slot');
    expect(resealed && rotated.isCurrent(resealed)).toBe(true);
    expect(rotated.open(resealed ?? '', 'slot')).toBe('dns-secret');
    expect(rotated.reseal(resealed ?? '', 'slot')).toBeNull();
    // Its use reports a value that does not open; a read that would only re-seal it does not fail.
    expect(rotated.reseal('sealed', 'slot')).toBeNull();
    expect(createSecretBox(key()).reseal(sealedBefore, 'slot')).toBeNull();
  });
});
