import type {
  ClientSecretCredentialOptions,
  ManagedIdentityCredentialClientIdOptions,
} from '@azure/identity';
import { lazy, type LazyCredential, lazyCredential } from '../platform/lazy.js';

/** @azure/identity and MSAL under it: a cold start's largest package, needed only when a token is first asked for. */
const identity = lazy(() => import('@azure/identity'));

/** Entra ID's client-credentials flow for an app registration (a customer's, the DNS app). */
export function clientSecretCredential(
  tenantId: string,
  clientId: string,
  clientSecret: string,
  options: ClientSecretCredentialOptions,
): LazyCredential {
  return lazyCredential(
    async () => new (await identity()).ClientSecretCredential(tenantId, clientId, clientSecret, options),
  );
}

/** The Function App's managed identity: the system-assigned one, or a user-assigned one by its client ID. */
export function managedIdentityCredential(
  options?: ManagedIdentityCredentialClientIdOptions,
): LazyCredential {
  return lazyCredential(async () => new (await identity()).ManagedIdentityCredential(options));
}

/** Whatever DefaultAzureCredential finds: a developer's `az login`, environment variables, a managed identity. */
export function defaultAzureCredential(): LazyCredential {
  return lazyCredential(async () => new (await identity()).DefaultAzureCredential());
}

/**
 * @azure/identity's AuthenticationError (a token request the authority answered with an error), told by its name
 * so that checking a failure does not load the package.
 */
export function isAuthenticationError(error: unknown): error is Error & { readonly statusCode: number } {
  return (
    error instanceof Error &&
    error.name === 'AuthenticationError' &&
    typeof (error as { statusCode?: unknown }).statusCode === 'number'
  );
}
