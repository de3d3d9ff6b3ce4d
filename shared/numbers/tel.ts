import { z } from 'zod';

/**
 * The manual's tel rules (manual-part-D §2.1, L12885–12890): "'tel:+' is automatically added to the phonenumber.
 * This means the number should begin with a digit 1 through 9." "The phone number can be up to 17 digits. The
 * extension is optional." The printed regex `(tel:+)?([1-9]d{0,17})(;ext=[1-9]d{0,9})` allows 18 digits; the text
 * wins (docs/decisions.md).
 */
export const MAX_NUMBER_DIGITS = 17;
const TEL_PATTERN = /^(?:tel:)?\+?([1-9]\d{0,16})(?:;ext=([1-9]\d{0,9}))?$/;
const NUMBER_PATTERN = /^(?:tel:)?\+?([1-9]\d{0,16})$/;

export const TEL_MESSAGE =
  "The number must match the regular expression (tel:+)?([1-9]\\d{0,16})(;ext=[1-9]\\d{0,9}): 'tel:+' is added " +
  'when missing, the number begins with a digit 1 through 9, has up to 17 digits, and the extension is optional.';

/** A phone number as the inventory compares it: its digits, and an extension when the Line URI has one. */
export interface Tel {
  readonly digits: string;
  readonly ext: string | null;
}

export function parseTel(text: string): Tel | null {
  const match = TEL_PATTERN.exec(text.trim());
  if (!match?.[1]) return null;
  return { digits: match[1], ext: match[2] ?? null };
}

/** `tel:+<digits>` with `;ext=<digits>` when there is one: the Line URI as Teams and the mirror spell it. */
export function lineUriOf(tel: Tel): string {
  return `tel:+${tel.digits}${tel.ext ? `;ext=${tel.ext}` : ''}`;
}

/** `+<digits>`: a number without `tel:`, as the manual's range and reserved-number grids show it. */
export const e164Of = (digits: string) => `+${digits}`;

/** The digits padded to one width, so that key order is number order (a range query on Table keys). */
export const numberKey = (digits: bigint | string) => String(digits).padStart(MAX_NUMBER_DIGITS, '0');

/** A Line URI, normalized: `2000`, `+2000` and `tel:+2000` are the same number. */
export const lineUriSchema = z
  .string()
  .max(48)
  .transform((text, ctx) => {
    const tel = parseTel(text);
    if (!tel) {
      ctx.addIssue({ code: 'custom', message: `"${text}" - ${TEL_MESSAGE}` });
      return z.NEVER;
    }
    return lineUriOf(tel);
  })
  .meta({
    description: "`tel:+<digits>` with an optional `;ext=<digits>`; 'tel:+' is added when missing.",
    examples: ['tel:+390810902000', 'tel:+390810902000;ext=12'],
  });

/** A range's end: a number without an extension, normalized to `+<digits>`. */
export const rangeNumberSchema = z
  .string()
  .max(24)
  .transform((text, ctx) => {
    const match = NUMBER_PATTERN.exec(text.trim());
    if (!match?.[1]) {
      ctx.addIssue({
        code: 'custom',
        message: `"${text}" is not a phone number: up to 17 digits beginning with 1 through 9, "+" or "tel:+" optional, no extension.`,
      });
      return z.NEVER;
    }
    return e164Of(match[1]);
  })
  .meta({
    description:
      "`+<digits>` (the manual's NumberRangeStart / NumberRangeEnd); 'tel:+' and '+' are optional.",
  });

/** `YYYY-MM-DD` of a day in UTC. */
export const dayOf = (date: Date) => date.toISOString().slice(0, 10);
