/**
 * The manual's Short Name rules, plus one of our own: the Short Name becomes the default SBC Site Name, i.e. the
 * left-most DNS label of the customer's trunk FQDN, so it must be a valid host-name label (docs/decisions.md).
 */
export const SHORT_NAME_MIN = 3;
export const SHORT_NAME_MAX = 15;
/** Quoted from the manual's list "\ / : * ? " < > | audit"; `audit` is a reserved word, not a character. */
export const SHORT_NAME_FORBIDDEN_CHARACTERS = ['\\', '/', ':', '*', '?', '"', '<', '>', '|'] as const;
export const SHORT_NAME_RESERVED_WORDS = ['audit'] as const;
/** The character rules as one pattern, for the OpenAPI document; the checks below give the specific messages. */
export const SHORT_NAME_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;

export interface ShortNameViolation {
  readonly code:
    | 'short_name_length'
    | 'short_name_forbidden_character'
    | 'short_name_dot'
    | 'short_name_space'
    | 'short_name_reserved'
    | 'short_name_not_dns_label';
  readonly message: string;
}

export function shortNameViolations(name: string): ShortNameViolation[] {
  const violations: ShortNameViolation[] = [];
  const length = [...name].length;
  if (length < SHORT_NAME_MIN || length > SHORT_NAME_MAX) {
    violations.push({
      code: 'short_name_length',
      message: `The string should be ${SHORT_NAME_MIN}-${SHORT_NAME_MAX} characters long (it has ${length}).`,
    });
  }
  const forbidden = SHORT_NAME_FORBIDDEN_CHARACTERS.filter((c) => name.includes(c));
  if (forbidden.length > 0) {
    violations.push({
      code: 'short_name_forbidden_character',
      message: `The following characters cannot be used: ${SHORT_NAME_FORBIDDEN_CHARACTERS.join(' ')} (found ${forbidden.join(' ')}).`,
    });
  }
  if (name.includes('.')) {
    violations.push({ code: 'short_name_dot', message: 'The Short Name cannot contain the dot (.).' });
  }
  if (/\s/u.test(name)) {
    violations.push({ code: 'short_name_space', message: 'The Short Name cannot contain blank spaces.' });
  }
  if (SHORT_NAME_RESERVED_WORDS.some((word) => word === name.toLowerCase())) {
    violations.push({
      code: 'short_name_reserved',
      message: `"${name}" is a reserved word and cannot be a Short Name.`,
    });
  }
  const otherCharacters = [...name].filter(
    (c) =>
      !/[A-Za-z0-9-]/.test(c) &&
      !(SHORT_NAME_FORBIDDEN_CHARACTERS as readonly string[]).includes(c) &&
      c !== '.' &&
      !/\s/u.test(c),
  );
  if (otherCharacters.length > 0 || name.startsWith('-') || name.endsWith('-')) {
    violations.push({
      code: 'short_name_not_dns_label',
      message:
        "The Short Name becomes a DNS label of the customer's trunk FQDN, so it may hold only letters (A-Z, a-z), digits and hyphens, and cannot start or end with a hyphen" +
        (otherCharacters.length > 0 ? ` (found ${[...new Set(otherCharacters)].join(' ')}).` : '.'),
    });
  }
  return violations;
}

/** Short Names are unique without regard to case, as DNS labels are. */
export function shortNameKey(name: string): string {
  return name.toLowerCase();
}
