import { z } from 'zod';

/**
 * The one paging model of the API (docs/api-conventions.md): `top` and an opaque `cursor` in the query, and
 * `{ value, nextLink }` in the answer, where `nextLink` repeats the query with the next page's cursor.
 */
export const PAGE_SIZE = { default: 100, max: 500 } as const;

const CURSOR_MESSAGE = 'cursor is not one this API returned.';

export const topParam = z.coerce
  .number({ error: 'top must be a whole number.' })
  .int('top must be a whole number.')
  .min(1, 'top must be at least 1.')
  .max(PAGE_SIZE.max, `top can be at most ${PAGE_SIZE.max}.`)
  .default(PAGE_SIZE.default)
  .meta({
    description: `How many items a page holds: 1 to ${PAGE_SIZE.max}, ${PAGE_SIZE.default} when omitted.`,
  });

/** A cursor is a list's own key, base64url-encoded so that no client builds one; `isKey` checks the decoded key. */
export function cursorParam(isKey: (key: string) => boolean = () => true) {
  return z
    .string()
    .max(2048, CURSOR_MESSAGE)
    .regex(/^[A-Za-z0-9_-]+$/, CURSOR_MESSAGE)
    .transform((cursor, ctx) => {
      const key = Buffer.from(cursor, 'base64url').toString('utf8');
      if (key.length === 0 || !isKey(key)) {
        ctx.addIssue({ code: 'custom', message: CURSOR_MESSAGE });
        return z.NEVER;
      }
      return key;
    })
    .optional()
    .meta({ description: 'Opaque: pass the one nextLink carries, never build one.' });
}

/** `top` and `cursor`: the query of every list, extended by the list's own filters. */
export function pagingQuery(isKey?: (key: string) => boolean) {
  return z.object({ top: topParam, cursor: cursorParam(isKey) });
}

export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

/**
 * The next page: the same query with the next page's cursor, as an absolute-path reference (`/api/v1/…`) a client
 * resolves against the API's origin; `null` on the last page.
 */
export function nextLinkOf(
  path: string,
  query: Readonly<Record<string, string | number | boolean | undefined>>,
  nextKey: string | null | undefined,
): string | null {
  if (!nextKey) return null;
  const present = Object.entries(query)
    .filter(
      (entry): entry is [string, string | number | boolean] => entry[1] !== undefined && entry[1] !== '',
    )
    .map(([name, value]): [string, string] => [name, String(value)]);
  return `${path}?${new URLSearchParams([...present, ['cursor', encodeCursor(nextKey)]]).toString()}`;
}

export const nextLinkSchema = z.string().meta({ format: 'uri-reference' }).nullable().meta({
  description:
    "The next page: an absolute-path reference to resolve against the API's origin; null on the last page.",
});

/** `{ value, nextLink }`: the shape of every list, named `id` in the document. */
export function pageSchema<T extends z.ZodType>(item: T, id: string, description?: string) {
  return z
    .object({ value: z.array(item), nextLink: nextLinkSchema })
    .meta({ id, ...(description ? { description } : {}) });
}

export interface Page<T> {
  readonly items: T[];
  /** The last key of this page when another follows. */
  readonly nextKey: string | null;
}

/**
 * One page of a list read whole (a small partition: a customer's sites, the provider's SBCs), ordered by its key so a
 * cursor stays valid while items are added or removed around it.
 */
export function pageOf<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  query: { readonly top: number; readonly cursor?: string | undefined },
): Page<T> {
  const ordered = items
    .map((item) => [keyOf(item), item] as const)
    .filter(([key]) => query.cursor === undefined || key > query.cursor)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const page = ordered.slice(0, query.top);
  const last = page.at(-1);
  return {
    items: page.map(([, item]) => item),
    nextKey: ordered.length > query.top && last ? last[0] : null,
  };
}

/**
 * A list read whole, answered as one page of `{ value, nextLink }`: the link repeats the request's query (its filters
 * included) with the next cursor.
 */
export function listPage<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  query: { readonly top: number; readonly cursor?: string | undefined } & Readonly<
    Record<string, string | number | boolean | undefined>
  >,
  url: string,
): { value: T[]; nextLink: string | null } {
  const page = pageOf(items, keyOf, query);
  const { cursor: _current, ...rest } = query;
  return { value: page.items, nextLink: nextLinkOf(new URL(url).pathname, rest, page.nextKey) };
}

/** Orders newest first under `pageOf`'s ascending order: the time's distance to the year 9999, then the id. */
export function newestFirstKey(iso: string, id: string): string {
  const distance = Date.parse('9999-12-31T23:59:59.999Z') - Date.parse(iso);
  return `${String(distance).padStart(15, '0')}~${id}`;
}
