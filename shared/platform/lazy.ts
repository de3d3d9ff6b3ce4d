import { createRequire } from 'node:module';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';

/**
 * A value made on first call and kept: how a feature's SDK is loaded (`lazy(() => import('…'))`) so that the entry
 * point's cold start loads only what start-up needs (docs/decisions.md, 75). A failed load is not kept: the next
 * call tries again.
 */
export function lazy<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | null = null;
  return () => {
    made ??= make().catch((error: unknown) => {
      made = null;
      throw error;
    });
    return made;
  };
}

/** A value made on first call and kept, for a synchronous API: a failed make is not kept either. */
export function once<T>(make: () => T): () => T {
  let made: { readonly value: T } | null = null;
  return () => (made ??= { value: make() }).value;
}

const requireHere = createRequire(import.meta.url);

/**
 * A CommonJS package required on first call (`lazyRequire<typeof Api>('…')`): how a package that a synchronous
 * API needs (Handlebars for a template, csv-parse for a CSV, the Graph SDK for a client) stays out of the cold start
 * without making its callers async.
 */
export function lazyRequire<T>(specifier: string): () => T {
  return once(() => requireHere(specifier) as T);
}

/** A token credential whose SDK is loaded, and the credential made, when the first token is asked for. */
export interface LazyCredential extends TokenCredential {
  /** The credential it stands for, made (and its SDK loaded) now if not yet. */
  load(): Promise<TokenCredential>;
}

export function lazyCredential(make: () => Promise<TokenCredential>): LazyCredential {
  const load = lazy(make);
  return {
    load,
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      return (await load()).getToken(scopes, options);
    },
  };
}
