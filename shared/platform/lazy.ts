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
