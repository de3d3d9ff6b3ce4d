import { type NewUser, type SandboxState, stableGuid } from './state.js';
import type { TeamsAdminState } from './teams-state.js';
import { addGroup } from './tenant-groups.js';

/**
 * The demo directory's well-known ids and secrets. They are published test values of the sandbox, so tests and
 * the local start script can configure the product with them; they mean nothing outside the sandbox.
 */
export const DEMO = {
  provider: {
    tenantId: 'b1f0c5d2-7a3e-4c61-9d8f-2e5a6b7c8d90',
    displayName: 'Northwind Voice',
    initialDomain: 'northwindvoice.onmicrosoft.com',
    /** The product's API app registration; callers' tokens carry its identifier URI as `aud`. */
    apiAppId: '5d2a8c41-9e7b-4f30-a1c6-3b8d9e0f1a27',
    apiAudience: 'api://direct-routing-hub',
    providerAdminRole: 'provider-admin',
    /** The provider portal's confidential client, granted `provider-admin` on the API. */
    portal: {
      clientId: '8c3e1f72-4b5a-4d96-b0e8-6f7a2c9d3e14',
      clientSecret: 'prt8Q~sandbox-portal-secret-not-for-production',
    },
    admin: {
      id: stableGuid('demo/provider/admin'),
      userPrincipalName: 'admin@northwindvoice.onmicrosoft.com',
      /** The sandbox sign-in page's password; a Global Administrator. */
      password: 'Northwind-Admin-Sandbox-1!',
    },
    /** The provider's Azure DNS zone (System > DNS API Configuration), served by the sandbox's ARM peer. */
    dns: {
      subscriptionId: '4f9c2e61-3b7a-4d58-9e0c-1a2b3c4d5e6f',
      resourceGroup: 'rg-voice',
      zone: 'voice.northwindvoice.example',
    },
    /** The `DNS_Client_Provisioning` app registration: "DNS Zone Contributor" on the provider zone. */
    dnsApp: {
      clientId: '2b7e9c14-5d3a-4f86-a0b1-c2d3e4f5a6b7',
      displayName: 'DNS_Client_Provisioning',
      clientSecret: 'dns8Q~sandbox-dns-app-secret-not-for-production',
    },
  },
  /** The product's multi-tenant app that customers consent to; it reads their directory through Graph. */
  tokenApp: {
    clientId: 'e7b4d2a9-1c8f-4a35-9e60-7d2b5c4a8f13',
    displayName: 'Direct Routing Hub',
    clientSecret: 'drh8Q~sandbox-token-app-secret-not-for-production',
    /** A second secret of the same app whose end date has passed (AADSTS7000222). */
    expiredClientSecret: 'old8Q~sandbox-expired-secret-not-for-production',
    /** Application permissions, for the client credentials grant: those replication reads with too. */
    graphRoles: [
      'Organization.Read.All',
      'User.Read.All',
      'Domain.ReadWrite.All',
      'User.ReadWrite.All',
      'GroupMember.Read.All',
      'TeamsUserConfiguration.Read.All',
    ],
    /**
     * Delegated Graph permissions of the registration: what a user's `https://graph.microsoft.com/.default` yields.
     * Exactly the list docs/deploy.md has operators add (a test holds them equal): no broader `Directory.Read.All`
     * that would let replication's group reads pass here and fail on a real registration.
     */
    graphScopes: [
      'Application.Read.All',
      'Domain.ReadWrite.All',
      'GroupMember.Read.All',
      'LicenseAssignment.ReadWrite.All',
      'Organization.Read.All',
      'TeamsTelephoneNumber.ReadWrite.All',
      'TeamsUserConfiguration.Read.All',
      'User.ReadWrite.All',
    ],
    /** The Skype and Teams Tenant Admin API, whose delegated consent is the second consent a customer gives. */
    teamsAdminApiAppId: '48ac35b8-9aa8-4d74-927d-1f4a14a0b239',
    /** The product's OAuth callback on any loopback port, since the product's URL varies per test. */
    redirectUris: [
      'https://localhost:*/authenticate/OAuth2Callback',
      'http://localhost:*/authenticate/OAuth2Callback',
    ],
  },
  /**
   * Exactly the Graph application permissions onboarding and replication need of a customer's own app
   * registration (the product's list is shared/credentials/app-permissions.ts; a test holds the two equal).
   */
  appRegistrationGraphRoles: [
    'Organization.Read.All',
    'User.ReadWrite.All',
    'Domain.ReadWrite.All',
    'GroupMember.Read.All',
    'TeamsUserConfiguration.Read.All',
    'TeamsTelephoneNumber.ReadWrite.All',
  ],
  customers: {
    contoso: {
      tenantId: '3c9e7a15-8b2d-4f4e-a6c1-9d0e8f7b6a52',
      displayName: 'Contoso Ltd',
      initialDomain: 'contoso.onmicrosoft.com',
      defaultDomain: 'contoso.com',
      /** Including the admin. */
      userCount: 42,
      /** A Global Administrator, who may consent for the organisation. */
      admin: { userPrincipalName: 'admin@contoso.onmicrosoft.com', password: 'Contoso-Admin-Sandbox-1!' },
      /** An ordinary user: signs in, but consenting fails with AADSTS90094. */
      user: { userPrincipalName: 'adele.vance@contoso.com', password: 'Contoso-User-Sandbox-1!' },
      /**
       * The wizard's "Use App Registration": an app registration of Contoso's own, admin-consented with
       * `DEMO.appRegistrationGraphRoles`. `npm start` prints it.
       */
      appRegistration: {
        clientId: '6f1d3b8e-2a4c-4e7f-9b15-0c8d7e6a5f42',
        displayName: 'Direct Routing Hub connection',
        clientSecret: 'con8Q~sandbox-contoso-connection-secret-not-for-production',
      },
    },
    fabrikam: {
      tenantId: '7a1d4e86-2c5b-4e9f-b3a7-6e1f0d9c8b24',
      displayName: 'Fabrikam Inc',
      initialDomain: 'fabrikam.onmicrosoft.com',
      defaultDomain: 'fabrikam.onmicrosoft.com',
      userCount: 25,
      admin: { userPrincipalName: 'admin@fabrikam.onmicrosoft.com', password: 'Fabrikam-Admin-Sandbox-1!' },
      user: {
        userPrincipalName: 'adele.vance@fabrikam.onmicrosoft.com',
        password: 'Fabrikam-User-Sandbox-1!',
      },
    },
  },
  /**
   * Subscribed SKUs per customer: `enabled` units, of which `assigned` are given to demo users at seeding. Change
   * units with `PUT /_sandbox/tenants/{tenant}/subscribedSkus/{sku}` or `sandbox.state.directory.setSku`.
   */
  /**
   * The Direct Routing numbers each customer tenant holds: `assignNumber` fails for a number outside them. Change
   * them in process with `sandbox.teams.voice.setDirectRoutingNumbers`.
   */
  directRoutingNumbers: {
    contoso: [{ from: '+14255550000', to: '+14255559999' }],
    fabrikam: [{ from: '+442079460000', to: '+442079469999' }],
  },
  /**
   * Named policies (besides Global) of the per-user types onboarding does not create, in both customer tenants,
   * so that grants of every type have something to name.
   */
  teamsPolicies: {
    CallingLineIdentity: ['Anonymous', 'MainLine'],
    TeamsEmergencyCallingPolicy: ['NotifySecurity'],
    TeamsEmergencyCallRoutingPolicy: ['Emergency-EU', 'Emergency-US'],
    TeamsMeetingPolicy: ['RestrictedAnonymousAccess', 'AllOn'],
    TeamsMessagingPolicy: ['NoGiphy'],
    TeamsAppSetupPolicy: ['FrontLine'],
    TeamsAppPermissionPolicy: ['BlockThirdParty'],
    TeamsSurvivableBranchAppliancePolicy: ['SBA-Branch1'],
    TeamsComplianceRecordingPolicy: ['RecordAll'],
    TeamsVideoInteropServicePolicy: ['ServiceProviderEnabled'],
    TeamsUpgradePolicy: ['UpgradeToTeams', 'Islands'],
  },
  /**
   * Security groups in each customer tenant, with the first `members` demo users of `department` in them; ids from
   * `demoGroupId`. Change them with the group control routes (`/_sandbox/scale/tenants/{tenant}/groups…`).
   */
  groups: [
    {
      key: 'sales-voice',
      displayName: 'Sales Voice',
      description: 'Sales staff with Teams Phone',
      mailNickname: 'sales-voice',
      department: 'Sales',
      members: 4,
    },
    {
      key: 'support-voice',
      displayName: 'Support Voice',
      description: 'Support agents with Teams Phone',
      mailNickname: 'support-voice',
      department: 'Support',
      members: 3,
    },
  ],
  licenses: {
    contoso: [{ skuPartNumber: 'ENTERPRISEPREMIUM', enabled: 25, assigned: 20 }],
    fabrikam: [
      { skuPartNumber: 'ENTERPRISEPACK', enabled: 30, assigned: 25 },
      { skuPartNumber: 'MCOEV', enabled: 5, assigned: 2 },
    ],
  },
} as const;

/** Fills an empty state with the demo directory; the same ids every time. */
export function seedDemo(state: SandboxState): void {
  const { provider, tokenApp, customers } = DEMO;
  state.addTenant({
    id: provider.tenantId,
    displayName: provider.displayName,
    initialDomainPrefix: 'northwindvoice',
  });
  state.addUser(provider.tenantId, {
    id: provider.admin.id,
    userPrincipalName: provider.admin.userPrincipalName,
    displayName: 'Provider Admin',
    givenName: 'Provider',
    surname: 'Admin',
    mail: provider.admin.userPrincipalName,
  });
  state.entra.setCredentials(provider.tenantId, provider.admin.userPrincipalName, {
    password: provider.admin.password,
    globalAdministrator: true,
  });

  state.addApplication({
    appId: provider.apiAppId,
    displayName: 'Direct Routing Hub API',
    homeTenantId: provider.tenantId,
    identifierUris: [provider.apiAudience],
    // The product accepts both formats (API issuers, shared/config/settings.ts); the demo's manifest asks for v2.
    accessTokenAcceptedVersion: 2,
    appRoles: [
      {
        id: stableGuid('demo/api/provider-admin'),
        value: provider.providerAdminRole,
        displayName: 'Provider administrator',
        allowedMemberTypes: ['User', 'Application'],
      },
    ],
  });
  state.addApplication({
    appId: provider.portal.clientId,
    displayName: 'Direct Routing Hub portal',
    homeTenantId: provider.tenantId,
  });
  state.addSecret(provider.portal.clientId, {
    secretText: provider.portal.clientSecret,
    displayName: 'portal',
  });
  state.consent(provider.tenantId, provider.portal.clientId, {
    [provider.apiAudience]: [provider.providerAdminRole],
  });

  state.addApplication({
    appId: tokenApp.clientId,
    displayName: tokenApp.displayName,
    homeTenantId: provider.tenantId,
    signInAudience: 'AzureADMultipleOrgs',
    redirectUris: tokenApp.redirectUris,
    requiredResourceAccess: {
      'https://graph.microsoft.com': { scopes: tokenApp.graphScopes, roles: tokenApp.graphRoles },
      [tokenApp.teamsAdminApiAppId]: { scopes: ['user_impersonation'] },
    },
  });
  state.addSecret(tokenApp.clientId, { secretText: tokenApp.clientSecret, displayName: 'current' });
  state.addSecret(tokenApp.clientId, {
    secretText: tokenApp.expiredClientSecret,
    displayName: 'expired',
    endDateTime: '2024-01-01T00:00:00.000Z',
  });

  seedCustomer(state, customers.contoso, { usageLocation: 'US', phonePrefix: '+1 425 555 ' });
  seedCustomer(state, customers.fabrikam, { usageLocation: 'GB', phonePrefix: '+44 20 7946 ' });

  seedDns(state);
  seedLicenses(state);
  seedDemoAppRegistration(state);
  seedDemoGroups(state);
}

/** The id of a demo group (`DEMO.groups[].key`) in a customer tenant. */
export function demoGroupId(tenantId: string, key: string): string {
  return stableGuid(`demo/${tenantId}/group/${key}`);
}

/**
 * The customer tenants' groups (`DEMO.groups`). Also run on a restored world, so that a state file saved before
 * ordinary tenants had groups gets them; a tenant with any group is left as it is.
 */
export function seedDemoGroups(state: SandboxState): void {
  for (const customer of Object.values(DEMO.customers)) {
    const tenant = state.tenant(customer.tenantId);
    if (!tenant || tenant.groups.size > 0) continue;
    for (const group of DEMO.groups) {
      const members = [...tenant.users.values()]
        .filter((u) => u.department === group.department)
        .slice(0, group.members)
        .map((u) => u.id);
      addGroup(tenant, {
        id: demoGroupId(tenant.id, group.key),
        displayName: group.displayName,
        description: group.description,
        mailNickname: group.mailNickname,
        members,
      });
    }
  }
}

/**
 * The customer tenants' Teams side: Direct Routing numbers and named policies (`DEMO.teamsPolicies`). Also run on
 * a restored world, so that a state file saved before they existed gets them; what exists is left as it is.
 */
export function seedDemoTeams(teams: TeamsAdminState): void {
  for (const [customer, numbers] of [
    [DEMO.customers.contoso, DEMO.directRoutingNumbers.contoso],
    [DEMO.customers.fabrikam, DEMO.directRoutingNumbers.fabrikam],
  ] as const) {
    // The reality profile asks app-only callers for a Teams admin role: the demo apps hold it.
    for (const app of [DEMO.tokenApp.clientId, DEMO.customers.contoso.appRegistration.clientId]) {
      teams.adminRoles.set(customer.tenantId, app, true);
    }
    if (teams.voice.directRoutingNumbers(customer.tenantId).length === 0) {
      teams.voice.setDirectRoutingNumbers(customer.tenantId, numbers);
    }
    for (const [policyName, identities] of Object.entries(DEMO.teamsPolicies)) {
      for (const identity of identities) {
        if (teams.get(customer.tenantId, policyName, identity)) continue;
        teams.create(customer.tenantId, policyName, { Identity: identity, Description: `Demo ${identity}` });
      }
    }
  }
}

/**
 * Contoso's demo app registration (`DEMO.customers.contoso.appRegistration`). Also run on a restored world, so
 * that a state file saved before the app existed gets it; an existing app is left as it is.
 */
export function seedDemoAppRegistration(state: SandboxState): void {
  const { tenantId, appRegistration: app } = DEMO.customers.contoso;
  if (state.application(app.clientId) || !state.tenant(tenantId)) return;
  state.addApplication({
    appId: app.clientId,
    displayName: app.displayName,
    homeTenantId: tenantId,
    signInAudience: 'AzureADMyOrg',
    requiredResourceAccess: { 'https://graph.microsoft.com': { roles: DEMO.appRegistrationGraphRoles } },
  });
  state.addSecret(app.clientId, { secretText: app.clientSecret, displayName: 'provider' });
  state.consent(tenantId, app.clientId, { 'https://graph.microsoft.com': DEMO.appRegistrationGraphRoles });
}

/** The provider's DNS zone and the DNS app that may write it. */
function seedDns(state: SandboxState): void {
  const { provider } = DEMO;
  state.addApplication({
    appId: provider.dnsApp.clientId,
    displayName: provider.dnsApp.displayName,
    homeTenantId: provider.tenantId,
  });
  state.addSecret(provider.dnsApp.clientId, {
    secretText: provider.dnsApp.clientSecret,
    displayName: 'dns',
  });
  state.dns.addZone({
    subscriptionId: provider.dns.subscriptionId,
    resourceGroup: provider.dns.resourceGroup,
    name: provider.dns.zone,
    tenantId: provider.tenantId,
    contributors: [provider.dnsApp.clientId],
  });
}

/**
 * Subscriptions of the customer tenants (`DEMO.licenses`), with licenses assigned to the first demo users so
 * that `consumedUnits` is realistic: Contoso has free E5 units, Fabrikam free E3 and Teams Phone Standard units.
 */
function seedLicenses(state: SandboxState): void {
  for (const [customer, skus] of [
    [DEMO.customers.contoso, DEMO.licenses.contoso],
    [DEMO.customers.fabrikam, DEMO.licenses.fabrikam],
  ] as const) {
    const tenant = state.requireTenant(customer.tenantId);
    const users = [...tenant.users.values()].sort((a, b) =>
      a.userPrincipalName.localeCompare(b.userPrincipalName),
    );
    for (const sku of skus) {
      const { definition } = state.directory.setSku(tenant.id, sku.skuPartNumber, sku.enabled);
      for (const user of users.slice(0, sku.assigned)) {
        state.directory.assignLicense(tenant, user.id, [{ skuId: definition.skuId, disabledPlans: [] }], []);
      }
    }
  }
}

type DemoCustomer = (typeof DEMO.customers)[keyof typeof DEMO.customers];

function seedCustomer(
  state: SandboxState,
  customer: DemoCustomer,
  locale: { usageLocation: string; phonePrefix: string },
): void {
  const initialDomainPrefix = customer.initialDomain.replace(/\.onmicrosoft\.com$/, '');
  state.addTenant({
    id: customer.tenantId,
    displayName: customer.displayName,
    initialDomainPrefix,
    ...(customer.defaultDomain !== customer.initialDomain ? { customDomains: [customer.defaultDomain] } : {}),
    countryLetterCode: locale.usageLocation,
  });
  state.addUser(customer.tenantId, {
    id: stableGuid(`demo/${customer.tenantId}/admin`),
    userPrincipalName: customer.admin.userPrincipalName,
    displayName: `${customer.displayName} Admin`,
    usageLocation: locale.usageLocation,
  });
  for (let index = 0; index < customer.userCount - 1; index++) {
    state.addUser(customer.tenantId, demoUser(customer, index, locale));
  }
  state.entra.setCredentials(customer.tenantId, customer.admin.userPrincipalName, {
    password: customer.admin.password,
    globalAdministrator: true,
  });
  state.entra.setCredentials(customer.tenantId, customer.user.userPrincipalName, {
    password: customer.user.password,
  });
  state.consent(customer.tenantId, DEMO.tokenApp.clientId, {
    'https://graph.microsoft.com': DEMO.tokenApp.graphRoles,
  });
}

const GIVEN_NAMES = [
  'Adele',
  'Alex',
  'Diego',
  'Grady',
  'Henrietta',
  'Isaiah',
  'Johanna',
  'Joni',
  'Lee',
  'Lidia',
  'Lynne',
  'Megan',
  'Miriam',
  'Nestor',
  'Patti',
  'Pradeep',
  'Raul',
  'Sanjay',
  'Tomasz',
  'Yuki',
];
const SURNAMES = [
  'Vance',
  'Wilber',
  'Siciliani',
  'Archie',
  'Mueller',
  'Langer',
  'Lauer',
  'Sherman',
  'Gu',
  'Holloway',
  'Robbins',
  'Bowen',
  'Graham',
  'Wilke',
  'Fernandez',
  'Gupta',
  'Ortiz',
  'Patel',
  'Nowak',
  'Tanaka',
];
const DEPARTMENTS = ['Sales', 'Engineering', 'Support', 'Finance', 'Operations', 'Marketing'];
const JOB_TITLES = ['Account Manager', 'Engineer', 'Support Agent', 'Analyst', 'Coordinator', 'Specialist'];

function demoUser(
  customer: DemoCustomer,
  index: number,
  locale: { usageLocation: string; phonePrefix: string },
) {
  const givenName = GIVEN_NAMES[index % GIVEN_NAMES.length] ?? 'User';
  // Walks the surnames at a different pace from the given names so that every pair is unique.
  const surname = SURNAMES[(index + Math.floor(index / GIVEN_NAMES.length)) % SURNAMES.length] ?? `${index}`;
  const userPrincipalName = `${givenName}.${surname}@${customer.defaultDomain}`.toLowerCase();
  const slot = index % DEPARTMENTS.length;
  const user: NewUser = {
    id: stableGuid(`demo/${customer.tenantId}/${userPrincipalName}`),
    userPrincipalName,
    displayName: `${givenName} ${surname}`,
    givenName,
    surname,
    mail: userPrincipalName,
    jobTitle: JOB_TITLES[slot] ?? null,
    department: DEPARTMENTS[slot] ?? null,
    officeLocation: `${(index % 4) + 1}/${100 + index}`,
    preferredLanguage: locale.usageLocation === 'GB' ? 'en-GB' : 'en-US',
    usageLocation: locale.usageLocation,
    businessPhones: [`${locale.phonePrefix}${String(1000 + index)}`],
    mobilePhone: index % 3 === 0 ? `${locale.phonePrefix}${String(5000 + index)}` : null,
    accountEnabled: index % 13 !== 12,
  };
  return user;
}
