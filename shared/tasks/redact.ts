/** What stands in for a secret in task input, state, logs and results. */
export const REDACTED = '[redacted]';

/**
 * Field names that hold secrets wherever they appear (customer client secrets, refresh tokens, SMTP and SBC
 * passwords, DNS app secrets, keys). Matched case-insensitively against the whole name, ignoring `-` and `_`.
 */
const SECRET_NAME =
  /(password|passwd|secret|token|apikey|accesskey|privatekey|connectionstring|credential|sas)$/i;

export function isSecretFieldName(name: string, extra: readonly string[] = []): boolean {
  const compact = name.replace(/[-_]/g, '');
  return SECRET_NAME.test(compact) || extra.some((field) => field.toLowerCase() === name.toLowerCase());
}

/**
 * A copy of a JSON value with every secret-named field replaced by `[redacted]` (at any depth), and the secret
 * values found that way collected so that they can be blanked from free text too.
 */
export function redactValue(
  value: unknown,
  extraFields: readonly string[] = [],
  found: string[] = [],
): { readonly value: unknown; readonly secrets: string[] } {
  const walk = (item: unknown): unknown => {
    if (Array.isArray(item)) return item.map(walk);
    if (item !== null && typeof item === 'object') {
      const result: Record<string, unknown> = {};
      for (const [key, field] of Object.entries(item as Record<string, unknown>)) {
        if (isSecretFieldName(key, extraFields) && field !== null && field !== undefined && field !== '') {
          collect(field, found);
          result[key] = REDACTED;
        } else {
          result[key] = walk(field);
        }
      }
      return result;
    }
    return item;
  };
  return { value: walk(value), secrets: found };
}

function collect(value: unknown, into: string[]): void {
  if (typeof value === 'string') {
    if (value.length >= 4) into.push(value);
  } else if (typeof value === 'number') {
    into.push(String(value));
  } else if (Array.isArray(value)) {
    for (const item of value) collect(item, into);
  } else if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) collect(item, into);
  }
}

/**
 * Free text longer than this is cut before it is redacted and stored: a log line or error message needs no more, and
 * the work and the stored size stay bounded whatever a caller (or an attacker echoing a request) passes in.
 */
export const MAX_REDACTED_TEXT_CHARS = 8_192;

// Each pattern is linear in the text: no pattern may start a match inside a run another start already scanned.
// `Bearer` needs a word boundary and its token stops at white space, so every character is scanned once.
const BEARER = /\b(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi;
// A JWT starts a run of base64url characters (not \b, which lets every `-eyJ` in `-eyJ-eyJ…` rescan the rest).
const JWT = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g;
/**
 * `password=…`, `"clientSecret": "…"`, `token: …` in free text (error messages echoing a request). Only the name's
 * secret-sounding end is matched: a leading `[A-Za-z_-]*` would rescan every run of letters from each of its
 * characters (80,000 letters took seconds).
 */
const SECRET_ASSIGNMENT =
  /(password|passwd|secret|token|apikey|accesskey|privatekey)(["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;&}]+)/gi;

function secretForms(secrets: readonly string[]): string[] {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (!secret || secret.length < 4) continue;
    forms.add(secret);
    forms.add(Buffer.from(secret, 'utf8').toString('base64'));
    forms.add(encodeURIComponent(secret));
  }
  // Longest first, so that a secret containing another is blanked whole.
  return [...forms].sort((a, b) => b.length - a.length);
}

function blankForms(text: string, forms: readonly string[]): string {
  let result = text;
  for (const form of forms) result = result.split(form).join(REDACTED);
  return result;
}

function blankPatterns(text: string): string {
  return text
    .replace(BEARER, `$1${REDACTED}`)
    .replace(JWT, REDACTED)
    .replace(SECRET_ASSIGNMENT, (_match, name: string, separator: string, secretValue: string) =>
      secretValue === REDACTED || secretValue === `"${REDACTED}"`
        ? `${name}${separator}${secretValue}`
        : `${name}${separator}${REDACTED}`,
    );
}

/**
 * Blanks known secret values (and their base64 forms), bearer tokens, JWTs and `secret=value` pairs in free text,
 * cut to MAX_REDACTED_TEXT_CHARS first (with a note saying how much was cut).
 */
export function redactText(text: string, secrets: readonly string[] = []): string {
  if (text.length <= MAX_REDACTED_TEXT_CHARS) return blankPatterns(blankForms(text, secretForms(secrets)));
  const forms = secretForms(secrets);
  // Known secrets are blanked in a window reaching one secret past the cut, so none is left half-shown at the end.
  const window = text.slice(0, MAX_REDACTED_TEXT_CHARS + (forms[0]?.length ?? 0));
  const kept = blankForms(window, forms).slice(0, MAX_REDACTED_TEXT_CHARS);
  return `${blankPatterns(kept)}… [${text.length - MAX_REDACTED_TEXT_CHARS} more characters cut]`;
}

/** A JSON value with secret-named fields and secret text blanked: for changes and the state bag. */
export function redactDeep(
  value: unknown,
  secrets: readonly string[],
  extraFields: readonly string[] = [],
): unknown {
  const { value: redacted } = redactValue(value, extraFields);
  const forms = secretForms(secrets);
  const walk = (item: unknown): unknown => {
    // Not redactText: the state bag is resumed from, so its strings are never cut.
    if (typeof item === 'string') return blankPatterns(blankForms(item, forms));
    if (Array.isArray(item)) return item.map(walk);
    if (item !== null && typeof item === 'object') {
      return Object.fromEntries(
        Object.entries(item as Record<string, unknown>).map(([k, v]) => [k, walk(v)]),
      );
    }
    return item;
  };
  return walk(redacted);
}
