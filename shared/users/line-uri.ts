import { once } from '../platform/lazy.js';

/**
 * The manual's tel rule for a Line URI (manual-part-D §5: "The number must match the regular expression
 * (tel:+)?([1-9]d{0,17})(;ext=[1-9]d{0,9})"): E.164 digits after an optional `tel:+`, an optional extension.
 * We also accept a bare `+` before the digits, as people paste numbers that way, and always store `tel:+…`.
 */
const LINE_URI = /^(?:tel:)?\+?([1-9]\d{0,17})(;ext=[1-9]\d{0,9})?$/i;

export const LINE_URI_RULE =
  'a Line URI is tel:+ followed by 1 to 18 digits not starting with 0, with an optional ;ext= of 1 to 10 digits (e.g. tel:+390810902003;ext=12)';

/** `tel:+<digits>[;ext=<digits>]`, or null when the text breaks the manual's rule. */
export function normalizeLineUri(text: string): string | null {
  const match = LINE_URI.exec(text.trim());
  if (!match) return null;
  return `tel:+${match[1]}${match[2] ? match[2].toLowerCase() : ''}`;
}

/** The number part of a Line URI (`+<digits>`), extension dropped: what Graph's assignNumber is given. */
export function e164Of(lineUri: string): string {
  return lineUri.replace(/^tel:/i, '').replace(/;ext=.*$/i, '');
}

// ICU's region names load on the first code checked, not at start-up (docs/decisions.md, 82).
const regions = once(() => new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' }));

/** CLDR names these, but they are user-assigned or groupings, not ISO 3166-1 countries. */
const NOT_COUNTRIES = /^(?:AA|Q[M-Z]|X[A-Z]|ZZ|EU|EZ|UN)$/;

/** An ISO 3166-1 alpha-2 country code that exists (Graph's usageLocation), upper case. */
export function isUsageLocation(code: string): boolean {
  if (!/^[A-Z]{2}$/.test(code) || NOT_COUNTRIES.test(code)) return false;
  try {
    return regions().of(code) !== undefined;
  } catch {
    return false;
  }
}
