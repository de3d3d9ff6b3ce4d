import { timingSafeEqual } from 'node:crypto';
import { entraError } from './entra-errors.js';
import type { PeerRequest, Reply } from './router.js';
import type { Application } from './directory-model.js';

/**
 * Client authentication with `client_secret_post`, as Entra ID checks it for every grant of a confidential
 * client: a missing secret (AADSTS7000218), a wrong one (7000215) or an expired one (7000222). An application
 * without any secret is a public client: delegated grants let it through without one, client credentials never.
 */
export function authenticateClient(
  request: PeerRequest,
  form: URLSearchParams,
  application: Application,
  options: { readonly allowPublicClient: boolean },
): Reply | null {
  const secret = form.get('client_secret');
  if (!secret) {
    if (options.allowPublicClient && application.passwordCredentials.length === 0) return null;
    return entraError(request, 401, 'invalid_client', {
      code: 7000218,
      message:
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    });
  }
  const credential = application.passwordCredentials.find((c) => sameSecret(c.secretText, secret));
  if (!credential) {
    return entraError(request, 401, 'invalid_client', {
      code: 7000215,
      message:
        'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, ' +
        `not the client secret ID, for a secret added to app '${application.appId}'.`,
    });
  }
  if (Date.parse(credential.endDateTime) <= Date.now()) {
    return entraError(request, 401, 'invalid_client', {
      code: 7000222,
      message:
        `The provided client secret keys for app '${application.appId}' are expired. Visit the Azure portal to ` +
        'create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials ' +
        'for added security: https://aka.ms/certCreds.',
    });
  }
  return null;
}

/** Constant-time, so that the sandbox does not teach clients to rely on leaky comparisons. */
export function sameSecret(expected: string, actual: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(actual);
  return a.length === b.length && timingSafeEqual(a, b);
}
