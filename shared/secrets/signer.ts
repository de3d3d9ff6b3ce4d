import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/** Tamper-evident tags (HMAC-SHA256) with a key derived per purpose from the secrets encryption key. */
export interface Signer {
  sign(data: string): string;
  verify(data: string, tag: string): boolean;
}

export function createSigner(base64Key: string, purpose: string): Signer {
  const key = Buffer.from(hkdfSync('sha256', Buffer.from(base64Key, 'base64'), '', `drh/${purpose}`, 32));
  const sign = (data: string) => createHmac('sha256', key).update(data).digest('base64url');
  return {
    sign,
    verify(data, tag) {
      const expected = Buffer.from(sign(data));
      const given = Buffer.from(tag);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
