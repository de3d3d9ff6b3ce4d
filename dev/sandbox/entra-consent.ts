import { delegatedScopes, type RequestedScopes } from './entra-scopes.js';
import type { Application, SandboxState, Tenant } from './state.js';

/** Whether some requested resource lacks the client's tenant-wide delegated consent. */
export function consentMissing(
  state: SandboxState,
  tenant: Tenant,
  application: Application,
  requested: RequestedScopes,
): boolean {
  return requested.resources.some(
    ({ resource }) => !state.entra.hasDelegatedConsent(tenant.id, application.appId, resource.appId),
  );
}

/**
 * What Accept on a consent page records, on behalf of the whole organisation (the sandbox models admin consent
 * only): the service principal, delegated consent for each requested resource and, for the admin consent
 * endpoint, the app roles the app's registration asks for on those resources.
 */
export function recordConsent(
  state: SandboxState,
  tenant: Tenant,
  application: Application,
  requested: RequestedScopes,
  options: { readonly appRoles: boolean },
): void {
  const principal = state.ensureServicePrincipal(tenant, application);
  state.entra.grantDelegatedConsent(
    tenant.id,
    application.appId,
    requested.resources.map(({ resource }) => resource.appId),
  );
  if (!options.appRoles) return;
  const grants: Record<string, string[]> = {};
  for (const [resourceAppId, roles] of Object.entries(principal.appRoleGrants))
    grants[resourceAppId] = [...roles];
  for (const { resource } of requested.resources) {
    const roles = application.requiredResourceAccess[resource.appId]?.roles ?? [];
    grants[resource.appId] = [...new Set([...(grants[resource.appId] ?? []), ...roles])];
  }
  state.consent(tenant.id, application.appId, grants);
}

/** The lines of the "Permissions requested" list: delegated scopes, and app roles for admin consent. */
export function requestedPermissions(
  application: Application,
  requested: RequestedScopes,
  options: { readonly appRoles: boolean },
): string[] {
  const lines: string[] = [];
  for (const resourceScopes of requested.resources) {
    const { resource } = resourceScopes;
    for (const scope of delegatedScopes(application, resourceScopes)) {
      lines.push(`${resource.displayName}: ${scope} (delegated)`);
    }
    if (options.appRoles) {
      for (const role of application.requiredResourceAccess[resource.appId]?.roles ?? []) {
        lines.push(`${resource.displayName}: ${role} (application)`);
      }
    }
  }
  if (requested.offlineAccess)
    lines.push('Maintain access to data you have given it access to (offline_access)');
  if (requested.openid) lines.push('Sign you in (openid)');
  return lines;
}
