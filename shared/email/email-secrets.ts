import type { EmailSettings } from '../provider/provider-settings.js';

/**
 * The secret strings of Email Settings in every form a transport might echo them: as typed, and base64 as SMTP
 * AUTH PLAIN / LOGIN put them on the wire.
 */
export function emailSecrets(settings: EmailSettings | null | undefined): string[] {
  if (!settings) return [];
  if (settings.transport === 'acs') return [settings.accessKey];
  return smtpSecrets(settings.username, settings.password);
}

export function smtpSecrets(username: string | undefined, password: string | undefined): string[] {
  if (!password) return [];
  const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  return [password, base64(password), base64(`\0${username ?? ''}\0${password}`)];
}

/** Error texts end up in the outbox record and the logs, which must never hold a secret. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let result = text;
  // Longest first, so that a secret containing another is blanked whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret) result = result.split(secret).join('[redacted]');
  }
  return result;
}
