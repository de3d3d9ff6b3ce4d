import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { createSecureContext, rootCertificates } from 'node:tls';
import type { Agent as UndiciAgent, fetch as undiciFetch } from 'undici';
import { lazy } from '../platform/lazy.js';
import { checkOutbound } from '../platform/outbound-guard.js';

/** Loaded on the first fetch (a Graph, Teams, SBC or JWKS call), not at start-up. */
const undici = lazy(() => import('undici'));

/**
 * The product's outbound TLS trust: the public roots plus, when the TRUSTED_CA_CERT_FILE setting names one,
 * an extra CA (the local sandbox's). Certificate checks always stay on.
 */
export interface TrustedTransport {
  /** For clients built on Node's https module, such as the Azure SDK pipeline. */
  readonly httpsAgent: HttpsAgent;
  /** A WHATWG fetch for clients that take one (Graph client, jose's JWKS fetch, our own adapters). */
  readonly fetch: typeof globalThis.fetch;
  close(): Promise<void>;
}

export function createTrustedTransport(trustedCaCertFile: string | undefined): TrustedTransport {
  const ca = trustedCaCertFile ? [...rootCertificates, readFileSync(trustedCaCertFile, 'utf8')] : undefined;
  // One context for every connection: given `ca` alone, each new connection parses the 140-odd roots again, which
  // took half the CPU of a bulk import's hundreds of connections.
  const secureContext = ca ? createSecureContext({ ca }) : undefined;
  const httpsAgent = new HttpsAgent({ keepAlive: true, ...(secureContext ? { secureContext } : {}) });
  let dispatcher: Promise<UndiciAgent> | null = null;
  const fetch = (async (
    input: Parameters<typeof undiciFetch>[0],
    init?: Parameters<typeof undiciFetch>[1],
  ) => {
    // A task step's call from a holder that lost its lease is refused here, before it reaches the peer.
    checkOutbound();
    const { Agent, fetch: undiciFetch } = await undici();
    dispatcher ??= Promise.resolve(new Agent({ connect: secureContext ? { secureContext } : {} }));
    return undiciFetch(input, { ...init, dispatcher: await dispatcher });
  }) as unknown as typeof globalThis.fetch;
  return {
    httpsAgent,
    fetch,
    async close() {
      httpsAgent.destroy();
      await (await dispatcher)?.close();
    },
  };
}
