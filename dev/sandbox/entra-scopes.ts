import type { Aadsts } from './entra-errors.js';
import type { Application, Resource, SandboxState, Tenant } from './state.js';

/** OpenID scopes that may accompany a resource scope and never name a resource. */
export const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access']);

const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

/** One resource of a scope parameter: `.default`, or named delegated scopes such as `User.Read`. */
export interface ResourceScopes {
  readonly resource: Resource;
  /** Null for `{resource}/.default`: whatever the client's registration asks for. */
  readonly names: readonly string[] | null;
}

export interface RequestedScopes {
  readonly resources: readonly ResourceScopes[];
  readonly openid: boolean;
  readonly offlineAccess: boolean;
  /** The OpenID scopes as requested, echoed in the token response's `scope`. */
  readonly oidc: readonly string[];
}

export type ScopeParse =
  | { readonly ok: true; readonly scopes: RequestedScopes }
  | { readonly ok: false; readonly error: 'invalid_scope' | 'invalid_resource'; readonly aadsts: Aadsts };

/**
 * Reads a v2.0 `scope` parameter. A token is for one resource, so two resources are AADSTS70011 unless the
 * caller (the admin consent endpoint) accepts several. Without a tenant (the multi-tenant aliases before
 * sign-in) any registered resource is accepted; with one, an app's API must be present in that tenant.
 */
export function parseScopes(
  state: SandboxState,
  text: string,
  options: { readonly tenant: Tenant | null; readonly multipleResources?: boolean },
): ScopeParse {
  const items = text.split(/\s+/).filter(Boolean);
  const oidc = items.filter((item) => OIDC_SCOPES.has(item.toLowerCase())).map((item) => item.toLowerCase());
  const byResource = new Map<string, { resource: Resource; names: string[] | null }>();
  for (const item of items.filter((i) => !OIDC_SCOPES.has(i.toLowerCase()))) {
    const slash = item.lastIndexOf('/');
    // A bare name such as `User.Read` is a Microsoft Graph scope, as in Entra ID.
    const identifier = slash < 0 ? GRAPH_APP_ID : item.slice(0, slash);
    const name = slash < 0 ? item : item.slice(slash + 1);
    const resource = options.tenant
      ? state.resolveResource(options.tenant, identifier)
      : state.findResource(identifier);
    if (!resource || !name) {
      return {
        ok: false,
        error: 'invalid_resource',
        aadsts: {
          code: 500011,
          message:
            `The resource principal named ${identifier} was not found in the tenant named ` +
            `${options.tenant?.displayName ?? 'organizations'}. This can happen if the application has not been ` +
            'installed by the administrator of the tenant or consented to by any user in the tenant. You might ' +
            'have sent your authentication request to the wrong tenant.',
        },
      };
    }
    const entry = byResource.get(resource.appId) ?? { resource, names: [] };
    byResource.set(resource.appId, entry);
    if (name === '.default') entry.names = null;
    else if (entry.names) entry.names.push(name);
  }
  if (byResource.size > 1 && !options.multipleResources) {
    return {
      ok: false,
      error: 'invalid_scope',
      aadsts: {
        code: 70011,
        message:
          `The provided request must include a 'scope' input parameter. The provided value for the input parameter ` +
          `'scope' is not valid. The scope ${text} is not valid. static scope limit exceeded.`,
      },
    };
  }
  const graph = state.findResource(GRAPH_APP_ID);
  // Only OpenID scopes: Entra ID issues a Graph token with User.Read, as for a plain sign-in.
  const resources =
    byResource.size > 0 || !graph ? [...byResource.values()] : [{ resource: graph, names: ['User.Read'] }];
  return {
    ok: true,
    scopes: {
      resources,
      openid: oidc.includes('openid'),
      offlineAccess: oidc.includes('offline_access'),
      oidc,
    },
  };
}

/** The delegated scopes (`scp`) a token gets: the named ones, or for `.default` what the app registered. */
export function delegatedScopes(application: Application, requested: ResourceScopes): readonly string[] {
  if (requested.names && requested.names.length > 0) return requested.names;
  const registered = application.requiredResourceAccess[requested.resource.appId]?.scopes ?? [];
  return registered.length > 0 ? registered : requested.resource.delegatedScopes;
}

/** The token response's `scope`: granted scopes prefixed with the resource, then the OpenID scopes. */
export function grantedScopeText(
  resource: Resource,
  scopes: readonly string[],
  oidc: readonly string[],
): string {
  const prefix = resource.identifiers[0]?.replace(/\/$/, '') ?? resource.appId;
  return [...scopes.map((scope) => `${prefix}/${scope}`), ...oidc].join(' ');
}

/** Whether a client can be used in a tenant at all: single-tenant apps only in their home tenant. */
export function clientAllowedIn(application: Application, tenantId: string): boolean {
  return application.signInAudience === 'AzureADMultipleOrgs' || application.homeTenantId === tenantId;
}

/** Matches a redirect URI against an app's list; `localhost:*` entries accept any port. */
export function redirectUriRegistered(application: Application, uri: string): boolean {
  return application.redirectUris.some((registered) => {
    if (registered === uri) return true;
    const wildcard = /^(https?):\/\/localhost:\*(\/.*)?$/i.exec(registered);
    if (!wildcard) return false;
    const candidate = /^(https?):\/\/localhost(?::\d+)?(\/[^?#]*)?$/i.exec(uri);
    return (
      candidate !== null &&
      candidate[1]?.toLowerCase() === wildcard[1]?.toLowerCase() &&
      (candidate[2] ?? '/') === (wildcard[2] ?? '/')
    );
  });
}
