import type { z } from 'zod';

/**
 * Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) reorder how the text around them
 * is drawn, so "Contoso\u202Eetib\u202C" can display as another customer's name on the consent page a tenant's admin
 * trusts. A lone surrogate is no character at all: browsers draw it as U+FFFD and storage or JSON encoders may
 * reject or rewrite it, so two names that differ only there would look the same. Under the `u` flag a well-formed
 * pair is one code point, so `\p{Cs}` matches only a lone half.
 */
const SPOOFING = /[\u202A-\u202E\u2066-\u2069]|\p{Cs}/u;

export const UNSAFE_TEXT_CODE = 'unsafe_characters';

/** Whether the text is safe to show as a name: no bidirectional control, no lone surrogate. */
export function isSafeDisplayText(value: string): boolean {
  return !SPOOFING.test(value);
}

/**
 * A name people read to decide whom they trust (a customer's Full Name, the provider's display name): refuses what
 * could make it display as something else, with a field code of its own. One rule for every such name.
 */
export function safeDisplayText<S extends z.ZodType<string>>(schema: S, label: string): S {
  return schema.refine(isSafeDisplayText, {
    message: `${label} cannot contain bidirectional control characters (U+202A–U+202E, U+2066–U+2069) or unpaired surrogates: they can make it display as another name.`,
    params: { code: UNSAFE_TEXT_CODE },
  });
}
