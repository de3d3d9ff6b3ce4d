/**
 * The Tenants list's search: a word of the search is the start of a word of the Full Name or Short Name, without
 * regard to case or accents ("phar" finds "Contoso Pharmacy", "contoso-eu" finds Short Name "Contoso-EU"). Words are
 * runs of letters and digits; anything else separates them.
 */

/** More words than this of one name are not indexed: a customer's index rows must fit one transaction. */
export const MAX_INDEXED_WORDS = 40;
/** Longer words are indexed (and searched) by their start: a Table key has a length limit. */
export const MAX_WORD_LENGTH = 64;

export function searchWords(text: string): string[] {
  const words = text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length > 0)
    .map((word) => word.slice(0, MAX_WORD_LENGTH));
  return [...new Set(words)];
}

/** The distinct words a customer is found by, at most MAX_INDEXED_WORDS (the Short Name's first). */
export function customerWords(customer: { readonly fullName: string; readonly shortName: string }): string[] {
  return [...new Set([...searchWords(customer.shortName), ...searchWords(customer.fullName)])].slice(
    0,
    MAX_INDEXED_WORDS,
  );
}

/** Whether every search word starts some word of the customer. */
export function matchesWords(words: readonly string[], customerWordList: readonly string[]): boolean {
  return words.every((word) => customerWordList.some((candidate) => candidate.startsWith(word)));
}
