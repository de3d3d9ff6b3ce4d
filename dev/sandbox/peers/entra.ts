import { authenticateClient } from '../entra-client.js';
import {
  entraError,
  missingParameter,
  noStore,
  tenantNotFound,
  unknownClientError,
} from '../entra-errors.js';
import { OIDC_SCOPES } from '../entra-scopes.js';
import { DELEGATED_GRANTS, delegatedTokenGrant } from '../entra-token-grants.js';
import type { Peer, PeerRequest, Reply } from '../router.js';
import type { SigningKey } from '../signing-key.js';
import type { SandboxState } from '../state.js';
import { ACCESS_TOKEN_LIFETIME_SECONDS, type TokenIssuer } from '../tokens.js';
import { entraInteractiveRoutes } from './entra-interactive.js';

/** Path segments that name no tenant; Entra ID answers discovery for them with a `{tenantid}` placeholder. */
const MULTI_TENANT_ALIASES = new Set(['common', 'organizations']);

/**
 * Entra ID (login.microsoftonline.com) at `/entra`: discovery, signing keys, the token endpoint (client
 * credentials here, user grants in `entra-token-grants.ts`) and the interactive endpoints, with its
 * error format — `error`, `error_description` starting with the AADSTS code, `error_codes`, `timestamp`,
 * `trace_id`, `correlation_id`.
 */
export function entraPeer(deps: { state: SandboxState; issuer: TokenIssuer; signingKey: SigningKey }): Peer {
  const { state, issuer, signingKey } = deps;

  /** Discovery resolves a domain to the tenant id; the multi-tenant aliases keep a placeholder. */
  const discoveryTenant = (request: PeerRequest): string | Reply => {
    const segment = request.params.tenant ?? '';
    if (MULTI_TENANT_ALIASES.has(segment.toLowerCase())) return '{tenantid}';
    const tenant = state.tenant(segment);
    return tenant ? tenant.id : tenantNotFound(request, segment, 'invalid_tenant');
  };

  return {
    name: 'entra',
    prefix: '/entra',
    error: (status, message, request) =>
      entraError(request, status, status >= 429 ? 'temporarily_unavailable' : errorByStatus(status), {
        code: status >= 429 ? 90033 : 9002313,
        message: status >= 429 ? `A transient error has occurred. Please try again. ${message}` : message,
      }),
    routes: [
      {
        method: 'GET',
        path: '/:tenant/v2.0/.well-known/openid-configuration',
        handle(request) {
          const tenantId = discoveryTenant(request);
          if (typeof tenantId !== 'string') return tenantId;
          const base = `${request.origin}/entra/${tenantId}`;
          return {
            status: 200,
            body: {
              token_endpoint: `${base}/oauth2/v2.0/token`,
              token_endpoint_auth_methods_supported: [
                'client_secret_post',
                'private_key_jwt',
                'client_secret_basic',
              ],
              jwks_uri: `${base}/discovery/v2.0/keys`,
              response_modes_supported: ['query', 'fragment', 'form_post'],
              subject_types_supported: ['pairwise'],
              id_token_signing_alg_values_supported: ['RS256'],
              response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
              scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
              issuer: `${base}/v2.0`,
              request_uri_parameter_supported: false,
              authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
              device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
              http_logout_supported: true,
              frontchannel_logout_supported: true,
              end_session_endpoint: `${base}/oauth2/v2.0/logout`,
              claims_supported: [
                'sub',
                'iss',
                'aud',
                'exp',
                'iat',
                'auth_time',
                'acr',
                'nonce',
                'preferred_username',
                'name',
                'tid',
                'ver',
                'at_hash',
                'c_hash',
                'email',
              ],
              tenant_region_scope: 'NA',
              cloud_instance_name: 'microsoftonline.com',
            },
          };
        },
      },
      {
        method: 'GET',
        path: '/:tenant/discovery/v2.0/keys',
        handle(request) {
          const tenantId = discoveryTenant(request);
          if (typeof tenantId !== 'string') return tenantId;
          return {
            status: 200,
            body: { keys: [{ ...signingKey.jwk, issuer: `${request.origin}/entra/${tenantId}/v2.0` }] },
          };
        },
      },
      {
        method: 'POST',
        path: '/:tenant/oauth2/v2.0/token',
        handle: (request) => token(request),
      },
      ...entraInteractiveRoutes({ state }),
    ],
  };

  async function token(request: PeerRequest): Promise<Reply> {
    const form = new URLSearchParams(request.body.toString('utf8'));
    const grantType = form.get('grant_type');
    if (!grantType) return missingParameter(request, 'grant_type');
    if (DELEGATED_GRANTS.has(grantType)) return delegatedTokenGrant({ state, issuer }, request, form);
    if (grantType !== 'client_credentials') {
      return entraError(request, 400, 'unsupported_grant_type', {
        code: 70003,
        message: `The app requested an unsupported grant type '${grantType}'.`,
      });
    }
    const segment = request.params.tenant ?? '';
    if (MULTI_TENANT_ALIASES.has(segment.toLowerCase())) {
      return entraError(request, 400, 'invalid_request', {
        code: 50059,
        message:
          'No tenant-identifying information found in either the request or implied by any provided credentials.',
      });
    }
    const tenant = state.tenant(segment);
    if (!tenant) return tenantNotFound(request, segment, 'invalid_request');
    const clientId = form.get('client_id');
    if (!clientId) return missingParameter(request, 'client_id');
    const scope = form.get('scope');
    if (!scope) return missingParameter(request, 'scope');

    const client = tenant.servicePrincipals.get(clientId.toLowerCase());
    const application = state.application(clientId);
    if (!client || !application) {
      return entraError(
        request,
        400,
        'unauthorized_client',
        unknownClientError(clientId, tenant.displayName),
      );
    }
    const refused = authenticateClient(request, form, application, { allowPublicClient: false });
    if (refused) return refused;

    const scopes = scope.split(/\s+/).filter((s) => s && !OIDC_SCOPES.has(s.toLowerCase()));
    const resourceScope = scopes[0];
    if (scopes.length > 1) {
      return entraError(request, 400, 'invalid_scope', {
        code: 28000,
        message:
          'Provided value for the input parameter scope is not valid because it contains more than one resource.',
      });
    }
    if (!resourceScope?.toLowerCase().endsWith('/.default')) {
      return entraError(request, 400, 'invalid_scope', {
        code: 1002012,
        message:
          `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value ` +
          'with /.default suffixed to the resource identifier (application ID URI).',
      });
    }
    const identifier = resourceScope.slice(0, -'/.default'.length);
    const resource = state.resolveResource(tenant, identifier);
    if (!resource) {
      return entraError(request, 400, 'invalid_resource', {
        code: 500011,
        message:
          `The resource principal named ${identifier} was not found in the tenant named ${tenant.displayName}. ` +
          'This can happen if the application has not been installed by the administrator of the tenant or ' +
          'consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.',
      });
    }
    return {
      status: 200,
      headers: noStore,
      body: {
        token_type: 'Bearer',
        expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
        ext_expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
        access_token: await issuer.appToken(tenant, client, resource),
      },
    };
  }
}

function errorByStatus(status: number): string {
  if (status === 401) return 'invalid_client';
  if (status === 403) return 'access_denied';
  if (status === 404) return 'not_found';
  return 'invalid_request';
}
