import { randomUUID } from 'node:crypto';

const EMAIL_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A random, unguessable email id. UUID-shaped because it doubles as the idempotency key, and ACS takes a UUID as
 * `Operation-Id`.
 */
export function newEmailId(): string {
  return randomUUID();
}

export function isEmailId(value: unknown): value is string {
  return typeof value === 'string' && EMAIL_ID.test(value);
}
