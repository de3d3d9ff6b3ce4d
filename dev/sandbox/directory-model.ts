import { createHash } from 'node:crypto';

// What the sandbox's directories hold; a leaf, so that the parts SandboxState is made of can share it.

export interface VerifiedDomain {
  readonly name: string;
  readonly isDefault: boolean;
  readonly isInitial: boolean;
  readonly type: 'Managed';
  readonly capabilities: string;
}

/** The properties Graph v1.0 knows for a user that the sandbox keeps; all of them are selectable. */
export interface DirectoryUser {
  readonly id: string;
  readonly userPrincipalName: string;
  readonly displayName: string;
  readonly givenName: string | null;
  readonly surname: string | null;
  readonly mail: string | null;
  readonly jobTitle: string | null;
  readonly department: string | null;
  readonly officeLocation: string | null;
  readonly preferredLanguage: string | null;
  readonly usageLocation: string | null;
  readonly businessPhones: readonly string[];
  readonly mobilePhone: string | null;
  readonly accountEnabled: boolean;
}

/** `microsoft.graph.group`: the properties the sandbox keeps (Graph v1.0 CSDL names and types). */
export interface GroupRecord {
  readonly id: string;
  readonly displayName: string;
  readonly description: string | null;
  readonly mailEnabled: boolean;
  readonly securityEnabled: boolean;
  readonly mailNickname: string;
  /** `[]` for a security group, `['Unified']` for a Microsoft 365 group. */
  readonly groupTypes: readonly string[];
}

/** A group of an ordinary tenant with its direct members (user ids). */
export interface TenantGroup {
  readonly record: GroupRecord;
  readonly members: Set<string>;
}

export interface AppRole {
  readonly id: string;
  readonly value: string;
  readonly displayName: string;
  readonly allowedMemberTypes: ReadonlyArray<'Application' | 'User'>;
}

export interface PasswordCredential {
  readonly keyId: string;
  readonly displayName: string;
  /** The first three characters, as Entra ID shows them after creation. */
  readonly hint: string;
  readonly secretText: string;
  readonly startDateTime: string;
  readonly endDateTime: string;
}

/** An app registration; it lives in its home tenant and is known elsewhere through service principals. */
export interface Application {
  readonly appId: string;
  readonly displayName: string;
  readonly homeTenantId: string;
  readonly signInAudience: 'AzureADMyOrg' | 'AzureADMultipleOrgs';
  readonly identifierUris: readonly string[];
  readonly appRoles: readonly AppRole[];
  readonly passwordCredentials: PasswordCredential[];
  /**
   * Where the authorize and admin consent endpoints may send the browser back to. `http(s)://localhost:*`
   * entries match any port, as Entra ID ignores the port of loopback redirect URIs (RFC 8252 7.3).
   */
  readonly redirectUris: string[];
  /** The permissions the app asks for ("API permissions"), keyed by the resource's appId. */
  readonly requiredResourceAccess: Readonly<Record<string, RequiredAccess>>;
  /**
   * The manifest's `accessTokenAcceptedVersion` (Graph: `api.requestedAccessTokenVersion`): the format of access
   * tokens for this app as a resource. Absent or 1: v1.0; 2: v2.0.
   */
  readonly accessTokenAcceptedVersion?: 1 | 2;
}

/** Delegated scopes and app roles (application permissions) an app requests on one resource. */
export interface RequiredAccess {
  readonly scopes: readonly string[];
  readonly roles: readonly string[];
}

/** An application's presence in one tenant, with the app roles (application permissions) consented there. */
export interface ServicePrincipal {
  readonly id: string;
  readonly appId: string;
  readonly displayName: string;
  /** Granted app-role values, keyed by the resource's appId. */
  readonly appRoleGrants: Record<string, readonly string[]>;
}

export interface Tenant {
  readonly id: string;
  readonly displayName: string;
  readonly createdDateTime: string;
  readonly countryLetterCode: string;
  readonly verifiedDomains: readonly VerifiedDomain[];
  readonly users: Map<string, DirectoryUser>;
  /** Keyed by appId. */
  readonly servicePrincipals: Map<string, ServicePrincipal>;
  /** Keyed by group id. */
  readonly groups: Map<string, TenantGroup>;
}

/** A resource that tokens can be requested for: its audience and the app roles it defines. */
export interface Resource {
  readonly appId: string;
  readonly displayName: string;
  /** The `aud` of tokens for this resource. */
  readonly audience: string;
  readonly identifiers: readonly string[];
  readonly appRoles: readonly string[];
  /** The delegated scopes `{resource}/.default` means when the client's registration lists none. */
  readonly delegatedScopes: readonly string[];
  /**
   * The access token format Entra ID issues for it: v1.0 unless the resource's manifest asks for v2
   * (learn.microsoft.com/entra/identity-platform/access-tokens, "Token formats": the version "is decided by the
   * resource", `accessTokenAcceptedVersion`). Microsoft Graph and the other first-party APIs take v1.0.
   */
  readonly tokenVersion: '1.0' | '2.0';
}

/** Microsoft's own resources, present in every tenant without consent. */
export const FIRST_PARTY_RESOURCES: readonly Resource[] = [
  {
    appId: '00000003-0000-0000-c000-000000000000',
    displayName: 'Microsoft Graph',
    audience: 'https://graph.microsoft.com',
    identifiers: ['https://graph.microsoft.com', 'https://graph.microsoft.com/'],
    appRoles: [
      'Application.Read.All',
      'Directory.Read.All',
      'Directory.ReadWrite.All',
      'Domain.Read.All',
      'Domain.ReadWrite.All',
      'Group.Read.All',
      'GroupMember.Read.All',
      'LicenseAssignment.ReadWrite.All',
      'Organization.Read.All',
      'Organization.ReadWrite.All',
      'TeamsTelephoneNumber.ReadWrite.All',
      'TeamsUserConfiguration.Read.All',
      'User.Read.All',
      'User.ReadWrite.All',
    ],
    delegatedScopes: ['User.Read'],
    tokenVersion: '1.0',
  },
  {
    appId: '48ac35b8-9aa8-4d74-927d-1f4a14a0b239',
    displayName: 'Skype and Teams Tenant Admin API',
    audience: '48ac35b8-9aa8-4d74-927d-1f4a14a0b239',
    identifiers: [],
    appRoles: [],
    delegatedScopes: ['user_impersonation'],
    tokenVersion: '1.0',
  },
  {
    appId: '797f4846-ba00-4fd7-ba43-dac1f8f63013',
    displayName: 'Windows Azure Service Management API',
    audience: 'https://management.azure.com/',
    identifiers: [
      'https://management.azure.com',
      'https://management.azure.com/',
      'https://management.core.windows.net/',
    ],
    appRoles: [],
    delegatedScopes: ['user_impersonation'],
    tokenVersion: '1.0',
  },
];

/** A refused state change; `status` is what an HTTP caller of the control API should see. */
export class SandboxStateError extends Error {
  override readonly name = 'SandboxStateError';
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

export interface NewTenant {
  readonly id?: string;
  readonly displayName: string;
  /** The label before `.onmicrosoft.com`; derived from the display name when omitted. */
  readonly initialDomainPrefix?: string;
  /** Custom domains, already verified; the first becomes the default domain. */
  readonly customDomains?: readonly string[];
  readonly countryLetterCode?: string;
}

export type NewUser = Partial<Omit<DirectoryUser, 'userPrincipalName' | 'displayName'>> &
  Pick<DirectoryUser, 'userPrincipalName' | 'displayName'>;

/** What the control API may change of a user: everything but the id. */
export type UserChanges = Partial<Omit<DirectoryUser, 'id'>>;

export interface NewApplication {
  readonly appId?: string;
  readonly displayName: string;
  readonly homeTenantId: string;
  readonly signInAudience?: Application['signInAudience'];
  readonly identifierUris?: readonly string[];
  readonly appRoles?: ReadonlyArray<Omit<AppRole, 'id'> & { readonly id?: string }>;
  readonly redirectUris?: readonly string[];
  /** Keyed by the resource's appId or identifier URI. */
  readonly requiredResourceAccess?: Readonly<Record<string, Partial<RequiredAccess>>>;
  readonly accessTokenAcceptedVersion?: 1 | 2;
}

export interface NewSecret {
  readonly secretText?: string;
  readonly displayName?: string;
  readonly endDateTime?: string;
}

/** Graph addresses a user by object id or by userPrincipalName (case-insensitive). */
export function findUser(tenant: Tenant, idOrUpn: string): DirectoryUser | undefined {
  const key = idOrUpn.toLowerCase();
  return (
    tenant.users.get(key) ?? [...tenant.users.values()].find((u) => u.userPrincipalName.toLowerCase() === key)
  );
}

/** A GUID derived from a name, so that seeded objects keep their ids across restarts. */
export function stableGuid(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  const variant = ((Number.parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
