import { DomainError } from '../errors/domain-errors.js';
import type { TrustedTransport } from '../net/trusted-transport.js';
import { createEntraOAuthClient, type EntraOAuthClient } from '../m365/entra-oauth.js';
import type { ProviderSettingsReader, TokenAppSettings } from '../provider/provider-settings.js';
import type { DelegatedTokenSource } from './credential-service.js';

/** The token app as the consent flows use it: its OAuth client and its registered Redirect Uri. */
export interface TokenApp {
  readonly settings: TokenAppSettings;
  readonly oauth: EntraOAuthClient;
}

export type TokenAppClients = () => Promise<TokenApp>;

/** The manual's own words when the token app is not configured (Security > Authentication Status). */
export const NO_CLIENT_ID = 'No ClientId was specified.';

export function tokenAppMissing(): DomainError {
  return new DomainError('conflict', {
    code: 'prerequisite_missing',
    title: 'Token app not configured',
    detail: NO_CLIENT_ID,
  });
}

/** Reads the token app's settings at every use, so that an operator's fix applies to the next request. */
export function createTokenAppClients(deps: {
  readonly settings: ProviderSettingsReader;
  readonly authorityHost: string;
  readonly transport: TrustedTransport;
}): TokenAppClients {
  return async () => {
    const settings = await deps.settings.tokenApp();
    if (!settings) throw tokenAppMissing();
    return {
      settings,
      oauth: createEntraOAuthClient({
        authorityHost: deps.authorityHost,
        clientId: settings.clientId,
        clientSecret: settings.clientSecret,
        transport: deps.transport,
      }),
    };
  };
}

/** Delegated tokens for a customer's tenant come from the token app's refresh-token grant. */
export function delegatedTokenSource(clients: TokenAppClients): DelegatedTokenSource {
  return {
    async refresh(tenantId, refreshToken, scope) {
      const { oauth } = await clients();
      const tokens = await oauth.refresh({ tenant: tenantId, refreshToken, scope });
      return { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken };
    },
  };
}
