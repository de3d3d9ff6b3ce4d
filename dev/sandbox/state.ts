import { randomBytes, randomUUID } from 'node:crypto';
import {
  type Application,
  type DirectoryUser,
  findUser,
  FIRST_PARTY_RESOURCES,
  type NewApplication,
  type NewSecret,
  type NewTenant,
  type NewUser,
  type PasswordCredential,
  type RequiredAccess,
  type Resource,
  SandboxStateError,
  type ServicePrincipal,
  stableGuid,
  type Tenant,
  type UserChanges,
  type VerifiedDomain,
} from './directory-model.js';
import { DnsZones } from './dns-zones.js';
import { EntraGrants } from './entra-grants.js';
import { GraphDirectory } from './graph-directory.js';
import { type SandboxProfile, STRICT_PROFILE } from './profile.js';
import { groupView } from './tenant-groups.js';
import type { DirectorySnapshot } from './snapshot-schema.js';

// The model's types and helpers stay importable from here, where the sandbox's other modules look for them.
export * from './directory-model.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The simulated directories: tenants with their users and service principals, and the app registrations. */
export class SandboxState {
  private readonly tenantsById = new Map<string, Tenant>();
  private readonly applicationsById = new Map<string, Application>();
  /** Sign-in passwords, delegated consents, codes and refresh tokens of the interactive OAuth flows. */
  readonly entra = new EntraGrants(this);
  /** Azure DNS zones (ARM peer) and their role assignments; Graph's domain verification reads their TXT records. */
  readonly dns = new DnsZones();
  /** Graph's unverified domains, subscribed SKUs and users' licenses. */
  readonly directory = new GraphDirectory(this, this.dns);
  /** Which real behaviours the peers play (`startSandbox({ profile })`); kept across `reset`. */
  profile: SandboxProfile = STRICT_PROFILE;

  clear(): void {
    this.tenantsById.clear();
    this.applicationsById.clear();
    this.entra.clear();
    this.dns.clear();
    this.directory.clear();
  }

  /**
   * Tenants and app registrations as plain data; `skipTenant` leaves out generated (scale) tenants, their apps and
   * the service principals that refer to those apps.
   */
  snapshot(skipTenant: (tenantId: string) => boolean = () => false): DirectorySnapshot {
    const applications = this.applications().filter((a) => !skipTenant(a.homeTenantId));
    const kept = new Set(applications.map((a) => a.appId));
    return structuredClone({
      tenants: this.tenants()
        .filter((t) => !skipTenant(t.id))
        .map((t) => ({
          id: t.id,
          displayName: t.displayName,
          createdDateTime: t.createdDateTime,
          countryLetterCode: t.countryLetterCode,
          verifiedDomains: [...t.verifiedDomains],
          users: [...t.users.values()],
          servicePrincipals: [...t.servicePrincipals.values()].filter((sp) => kept.has(sp.appId)),
          groups: [...t.groups.values()].map((g) => ({ ...g.record, members: [...g.members] })),
        })),
      applications,
    }) as DirectorySnapshot;
  }

  /** Replaces the tenants and applications (not the other parts: each restores its own). */
  restore(snapshot: DirectorySnapshot): void {
    this.tenantsById.clear();
    this.applicationsById.clear();
    for (const t of structuredClone(snapshot).tenants) {
      this.tenantsById.set(t.id, {
        ...t,
        users: new Map(t.users.map((u) => [u.id, u])),
        servicePrincipals: new Map(t.servicePrincipals.map((sp) => [sp.appId, sp])),
        groups: new Map(
          t.groups.map(({ members, ...record }) => [record.id, { record, members: new Set(members) }]),
        ),
      });
    }
    for (const a of structuredClone(snapshot).applications) this.applicationsById.set(a.appId, a);
  }

  tenants(): Tenant[] {
    return [...this.tenantsById.values()];
  }

  /** Finds a tenant the way Entra ID does: by its id or by any of its verified domains. */
  tenant(idOrDomain: string): Tenant | undefined {
    const key = idOrDomain.toLowerCase();
    return (
      this.tenantsById.get(key) ??
      this.tenants().find((t) => t.verifiedDomains.some((d) => d.name.toLowerCase() === key))
    );
  }

  requireTenant(idOrDomain: string): Tenant {
    const tenant = this.tenant(idOrDomain);
    if (!tenant) throw new SandboxStateError(404, `Tenant '${idOrDomain}' does not exist.`);
    return tenant;
  }

  application(appId: string): Application | undefined {
    return this.applicationsById.get(appId.toLowerCase());
  }

  applications(): Application[] {
    return [...this.applicationsById.values()];
  }

  addTenant(input: NewTenant): Tenant {
    const id = (input.id ?? randomUUID()).toLowerCase();
    if (!GUID.test(id)) throw new SandboxStateError(400, `Tenant id '${id}' is not a GUID.`);
    if (this.tenantsById.has(id)) throw new SandboxStateError(409, `Tenant '${id}' already exists.`);
    const prefix = (input.initialDomainPrefix ?? input.displayName).toLowerCase().replace(/[^a-z0-9]/g, '');
    if (!prefix)
      throw new SandboxStateError(400, 'The initial domain prefix must contain letters or digits.');
    const initial = `${prefix}.onmicrosoft.com`;
    const custom = input.customDomains ?? [];
    for (const name of [initial, ...custom]) {
      if (this.tenant(name))
        throw new SandboxStateError(409, `Domain '${name}' is verified in another tenant.`);
    }
    const tenant: Tenant = {
      id,
      displayName: input.displayName,
      createdDateTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      countryLetterCode: input.countryLetterCode ?? 'US',
      verifiedDomains: [
        ...custom.map((name, index) => domain(name, { isDefault: index === 0, isInitial: false })),
        domain(initial, { isDefault: custom.length === 0, isInitial: true }),
      ],
      users: new Map(),
      servicePrincipals: new Map(),
      groups: new Map(),
    };
    this.tenantsById.set(id, tenant);
    return tenant;
  }

  addUser(tenantId: string, input: NewUser): DirectoryUser {
    const tenant = this.requireTenant(tenantId);
    checkNewUpn(tenant, input.userPrincipalName);
    const user: DirectoryUser = {
      givenName: null,
      surname: null,
      mail: null,
      jobTitle: null,
      department: null,
      officeLocation: null,
      preferredLanguage: null,
      usageLocation: null,
      businessPhones: [],
      mobilePhone: null,
      accountEnabled: true,
      ...input,
      id: (input.id ?? randomUUID()).toLowerCase(),
    };
    if (tenant.users.has(user.id)) throw new SandboxStateError(409, `User id '${user.id}' already exists.`);
    tenant.users.set(user.id, user);
    return user;
  }

  /** Changes a user's directory attributes in place, as an administrator would in the Entra admin center. */
  updateUser(tenantId: string, idOrUpn: string, changes: UserChanges): DirectoryUser {
    const tenant = this.requireTenant(tenantId);
    const user = findUser(tenant, idOrUpn);
    if (!user) throw new SandboxStateError(404, `User '${idOrUpn}' does not exist in tenant '${tenant.id}'.`);
    const upn = changes.userPrincipalName;
    if (upn !== undefined && upn.toLowerCase() !== user.userPrincipalName.toLowerCase())
      checkNewUpn(tenant, upn);
    const updated = { ...user, ...changes };
    tenant.users.set(user.id, updated);
    return updated;
  }

  /** Adds a verified custom domain (neither default nor initial), as Graph's domain verification does. */
  addVerifiedDomain(tenantId: string, name: string): VerifiedDomain {
    const tenant = this.requireTenant(tenantId);
    const owner = this.tenant(name);
    if (owner && owner.id !== tenant.id)
      throw new SandboxStateError(409, `Domain '${name}' is verified in another tenant.`);
    const existing = tenant.verifiedDomains.find((d) => d.name.toLowerCase() === name.toLowerCase());
    if (existing) return existing;
    const added: VerifiedDomain = {
      ...domain(name, { isDefault: false, isInitial: false }),
      capabilities: 'None',
    };
    (tenant.verifiedDomains as VerifiedDomain[]).push(added);
    return added;
  }

  /** Removes a verified domain that is neither the default nor the initial one. */
  removeVerifiedDomain(tenantId: string, name: string): void {
    const tenant = this.requireTenant(tenantId);
    const domains = tenant.verifiedDomains as VerifiedDomain[];
    const index = domains.findIndex((d) => d.name.toLowerCase() === name.toLowerCase());
    const found = domains[index];
    if (!found) throw new SandboxStateError(404, `Domain '${name}' is not verified in '${tenant.id}'.`);
    if (found.isDefault || found.isInitial)
      throw new SandboxStateError(400, `Domain '${name}' is the default or initial domain.`);
    domains.splice(index, 1);
  }

  /** Registers an application in its home tenant, with its service principal there. */
  addApplication(input: NewApplication): Application {
    const home = this.requireTenant(input.homeTenantId);
    const appId = (input.appId ?? randomUUID()).toLowerCase();
    if (this.applicationsById.has(appId))
      throw new SandboxStateError(409, `Application '${appId}' already exists.`);
    for (const uri of input.identifierUris ?? []) {
      if (this.findResourceApplication(uri)) {
        throw new SandboxStateError(409, `Identifier URI '${uri}' is used by another application.`);
      }
    }
    const application: Application = {
      appId,
      displayName: input.displayName,
      homeTenantId: home.id,
      signInAudience: input.signInAudience ?? 'AzureADMyOrg',
      identifierUris: input.identifierUris ?? [],
      appRoles: (input.appRoles ?? []).map((role) => ({ ...role, id: role.id ?? randomUUID() })),
      passwordCredentials: [],
      redirectUris: [...(input.redirectUris ?? [])],
      requiredResourceAccess: this.requiredAccessByAppId(input.requiredResourceAccess ?? {}),
      ...(input.accessTokenAcceptedVersion
        ? { accessTokenAcceptedVersion: input.accessTokenAcceptedVersion }
        : {}),
    };
    this.applicationsById.set(appId, application);
    home.servicePrincipals.set(appId, servicePrincipal(home, application));
    return application;
  }

  /** Registers more redirect URIs for an app ("Authentication" blade); returns them all. */
  addRedirectUris(appId: string, uris: readonly string[]): readonly string[] {
    const application = this.application(appId);
    if (!application) throw new SandboxStateError(404, `Application '${appId}' does not exist.`);
    for (const uri of uris) {
      if (!/^(https:\/\/|http:\/\/localhost[:/])/i.test(uri)) {
        throw new SandboxStateError(400, `Redirect URI '${uri}' must use https (or http on localhost).`);
      }
      if (!application.redirectUris.includes(uri)) application.redirectUris.push(uri);
    }
    return application.redirectUris;
  }

  /**
   * Creates the application's service principal in the tenant if it has none, keeping existing grants; what a
   * consent does before it records anything.
   */
  ensureServicePrincipal(tenant: Tenant, application: Application): ServicePrincipal {
    const existing = tenant.servicePrincipals.get(application.appId);
    if (existing) return existing;
    const created = servicePrincipal(tenant, application);
    tenant.servicePrincipals.set(application.appId, created);
    return created;
  }

  /** Adds a client secret; without `endDateTime` it is valid for two years like the portal's default. */
  addSecret(appId: string, input: NewSecret = {}): PasswordCredential {
    const application = this.application(appId);
    if (!application) throw new SandboxStateError(404, `Application '${appId}' does not exist.`);
    const secretText = input.secretText ?? randomBytes(30).toString('base64url');
    const credential: PasswordCredential = {
      keyId: randomUUID(),
      displayName: input.displayName ?? 'sandbox secret',
      hint: secretText.slice(0, 3),
      secretText,
      startDateTime: new Date().toISOString(),
      endDateTime: input.endDateTime ?? new Date(Date.now() + 730 * DAY_MS).toISOString(),
    };
    application.passwordCredentials.push(credential);
    return credential;
  }

  /**
   * Admin consent: creates (or updates) the application's service principal in the tenant with the given app
   * roles, keyed by resource identifier (appId or identifier URI).
   */
  consent(tenantId: string, appId: string, grants: Record<string, readonly string[]> = {}): ServicePrincipal {
    const tenant = this.requireTenant(tenantId);
    const application = this.application(appId);
    if (!application) throw new SandboxStateError(404, `Application '${appId}' does not exist.`);
    if (application.homeTenantId !== tenant.id && application.signInAudience === 'AzureADMyOrg') {
      throw new SandboxStateError(
        400,
        `Application '${appId}' is single-tenant and cannot be consented elsewhere.`,
      );
    }
    const appRoleGrants: Record<string, readonly string[]> = {};
    for (const [identifier, roles] of Object.entries(grants)) {
      const resource = this.resolveResource(tenant, identifier);
      if (!resource)
        throw new SandboxStateError(400, `Resource '${identifier}' is not available in '${tenant.id}'.`);
      const unknown = roles.filter((role) => !resource.appRoles.includes(role));
      if (unknown.length > 0) {
        throw new SandboxStateError(
          400,
          `${resource.displayName} defines no app role ${unknown.join(', ')}.`,
        );
      }
      appRoleGrants[resource.appId] = [...roles];
    }
    const sp = { ...servicePrincipal(tenant, application), appRoleGrants };
    tenant.servicePrincipals.set(application.appId, sp);
    return sp;
  }

  /**
   * The resource a token request names (`{identifier}/.default`), as Entra ID resolves it in a tenant:
   * Microsoft's resources everywhere, other applications only where they have a service principal.
   */
  resolveResource(tenant: Tenant, identifier: string): Resource | undefined {
    const firstParty = firstPartyResource(identifier);
    if (firstParty) return firstParty;
    const application = this.findResourceApplication(identifier);
    if (!application || !tenant.servicePrincipals.has(application.appId)) return undefined;
    return resourceOf(application);
  }

  /** A resource by identifier whatever the tenant, for requests whose tenant is known only after sign-in. */
  findResource(identifier: string): Resource | undefined {
    const firstParty = firstPartyResource(identifier);
    if (firstParty) return firstParty;
    const application = this.findResourceApplication(identifier);
    return application ? resourceOf(application) : undefined;
  }

  private requiredAccessByAppId(
    input: Readonly<Record<string, Partial<RequiredAccess>>>,
  ): Record<string, RequiredAccess> {
    const byAppId: Record<string, RequiredAccess> = {};
    for (const [identifier, access] of Object.entries(input)) {
      const resource = this.findResource(identifier);
      if (!resource)
        throw new SandboxStateError(400, `Resource '${identifier}' is not known to the sandbox.`);
      byAppId[resource.appId] = { scopes: [...(access.scopes ?? [])], roles: [...(access.roles ?? [])] };
    }
    return byAppId;
  }

  private findResourceApplication(identifier: string): Application | undefined {
    const key = identifier.toLowerCase();
    return this.applications().find(
      (a) => a.appId === key || a.identifierUris.some((uri) => uri.toLowerCase() === key),
    );
  }
}

/** A UPN a new or renamed user may take: on a verified domain of the tenant, and no one else's. */
function checkNewUpn(tenant: Tenant, upn: string): void {
  const upnDomain = upn.split('@')[1]?.toLowerCase();
  if (!upnDomain || !tenant.verifiedDomains.some((d) => d.name.toLowerCase() === upnDomain)) {
    throw new SandboxStateError(
      400,
      `The domain portion of the userPrincipalName '${upn}' is not a verified domain of tenant '${tenant.id}'.`,
    );
  }
  if (findUser(tenant, upn)) throw new SandboxStateError(409, `User '${upn}' already exists.`);
}

function firstPartyResource(identifier: string): Resource | undefined {
  const key = identifier.toLowerCase();
  return FIRST_PARTY_RESOURCES.find(
    (r) => r.appId === key || r.identifiers.some((id) => id.toLowerCase() === key),
  );
}

/** An application seen as a resource other apps request tokens for. */
function resourceOf(application: Application): Resource {
  return {
    appId: application.appId,
    displayName: application.displayName,
    audience: application.identifierUris[0] ?? application.appId,
    identifiers: application.identifierUris,
    appRoles: application.appRoles.map((role) => role.value),
    // The scope the portal suggests when an API is exposed; enough for delegated tokens of sandbox apps.
    delegatedScopes: ['access_as_user'],
    tokenVersion: application.accessTokenAcceptedVersion === 2 ? '2.0' : '1.0',
  };
}

/** A tenant as the control API shows it: secrets appear by hint only. */
export function describeTenant(state: SandboxState, tenant: Tenant) {
  return {
    id: tenant.id,
    displayName: tenant.displayName,
    createdDateTime: tenant.createdDateTime,
    countryLetterCode: tenant.countryLetterCode,
    verifiedDomains: tenant.verifiedDomains,
    users: [...tenant.users.values()],
    servicePrincipals: [...tenant.servicePrincipals.values()],
    groups: [...tenant.groups.values()].map(groupView),
    delegatedConsents: state.entra.delegatedConsents(tenant.id),
    applications: state
      .applications()
      .filter((a) => a.homeTenantId === tenant.id)
      .map((a) => ({
        ...a,
        passwordCredentials: a.passwordCredentials.map(({ secretText: _secret, ...rest }) => rest),
      })),
  };
}

function domain(name: string, flags: { isDefault: boolean; isInitial: boolean }): VerifiedDomain {
  return {
    name,
    ...flags,
    type: 'Managed',
    capabilities: 'Email, OfficeCommunicationsOnline',
  };
}

/** The object id is derived from tenant and app so that a re-consent keeps it, as Entra ID does. */
function servicePrincipal(tenant: Tenant, application: Application): ServicePrincipal {
  return {
    id: stableGuid(`${tenant.id}/${application.appId}`),
    appId: application.appId,
    displayName: application.displayName,
    appRoleGrants: {},
  };
}
