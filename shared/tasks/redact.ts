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

const BEARER = /\b(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi;
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g;
/** `password=…`, `"clientSecret": "…"`, `token: …` in free text (error messages echoing a request). */
const SECRET_ASSIGNMENT =
  /(["']?[A-Za-z_-]*(?:password|passwd|secret|token|apikey|accesskey|privatekey)["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;&}]+)/gi;

/** Blanks known secret values (and their base64 forms), bearer tokens, JWTs and `secret=value` pairs in text. */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let result = text;
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (!secret || secret.length < 4) continue;
    forms.add(secret);
    forms.add(Buffer.from(secret, 'utf8').toString('base64'));
    forms.add(encodeURIComponent(secret));
  }
  // Longest first, so that a secret containing another is blanked whole.
  for (const form of [...forms].sort((a, b) => b.length - a.length)) {
    result = result.split(form).join(REDACTED);
  }
  return result
    .replace(BEARER, `$1${REDACTED}`)
    .replace(JWT, REDACTED)
    .replace(SECRET_ASSIGNMENT, (_match, prefix: string, secretValue: string) =>
      secretValue === REDACTED || secretValue === `"${REDACTED}"`
        ? `${prefix}${secretValue}`
        : `${prefix}${REDACTED}`,
    );
}

/** A JSON value with secret-named fields and secret text blanked: for changes and the state bag. */
export function redactDeep(
  value: unknown,
  secrets: readonly string[],
  extraFields: readonly string[] = [],
): unknown {
  const { value: redacted } = redactValue(value, extraFields);
  const walk = (item: unknown): unknown => {
    if (typeof item === 'string') return redactText(item, secrets);
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
