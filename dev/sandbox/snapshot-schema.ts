import { z } from 'zod';

/**
 * The shape of each model's snapshot in `sandbox-state.json`. A leaf (zod only), so that the models can name
 * their snapshot types without importing the persistence that reads and writes the file. Every loaded file is
 * parsed with these before any model sees it: a file edited by hand or cut short is refused as a whole.
 */

const strings = z.array(z.string());
const nullableString = z.string().nullable();

const verifiedDomain = z.strictObject({
  name: z.string(),
  isDefault: z.boolean(),
  isInitial: z.boolean(),
  type: z.literal('Managed'),
  capabilities: z.string(),
});

const directoryUser = z.strictObject({
  id: z.string(),
  userPrincipalName: z.string(),
  displayName: z.string(),
  givenName: nullableString,
  surname: nullableString,
  mail: nullableString,
  jobTitle: nullableString,
  department: nullableString,
  officeLocation: nullableString,
  preferredLanguage: nullableString,
  usageLocation: nullableString,
  businessPhones: strings,
  mobilePhone: nullableString,
  accountEnabled: z.boolean(),
});

const servicePrincipal = z.strictObject({
  id: z.string(),
  appId: z.string(),
  displayName: z.string(),
  appRoleGrants: z.record(z.string(), strings),
});

const group = z.strictObject({
  id: z.string(),
  displayName: z.string(),
  description: nullableString,
  mailEnabled: z.boolean(),
  securityEnabled: z.boolean(),
  mailNickname: z.string(),
  groupTypes: strings,
  /** User ids. */
  members: strings,
});

const tenant = z.strictObject({
  id: z.string(),
  displayName: z.string(),
  createdDateTime: z.string(),
  countryLetterCode: z.string(),
  verifiedDomains: z.array(verifiedDomain),
  users: z.array(directoryUser),
  servicePrincipals: z.array(servicePrincipal),
  // Absent in files written before ordinary tenants had groups: none.
  groups: z.array(group).default([]),
});

const application = z.strictObject({
  appId: z.string(),
  displayName: z.string(),
  homeTenantId: z.string(),
  signInAudience: z.enum(['AzureADMyOrg', 'AzureADMultipleOrgs']),
  identifierUris: strings,
  appRoles: z.array(
    z.strictObject({
      id: z.string(),
      value: z.string(),
      displayName: z.string(),
      allowedMemberTypes: z.array(z.enum(['Application', 'User'])),
    }),
  ),
  passwordCredentials: z.array(
    z.strictObject({
      keyId: z.string(),
      displayName: z.string(),
      hint: z.string(),
      secretText: z.string(),
      startDateTime: z.string(),
      endDateTime: z.string(),
    }),
  ),
  redirectUris: strings,
  requiredResourceAccess: z.record(z.string(), z.strictObject({ scopes: strings, roles: strings })),
  // Absent: v1.0 tokens, as Entra ID issues for a manifest that does not ask for v2.
  accessTokenAcceptedVersion: z.union([z.literal(1), z.literal(2)]).optional(),
});

export const directorySnapshotSchema = z.strictObject({
  tenants: z.array(tenant),
  applications: z.array(application),
});
export type DirectorySnapshot = z.output<typeof directorySnapshotSchema>;

const pkce = z.strictObject({ value: z.string(), method: z.enum(['S256', 'plain']) }).nullable();

export const entraGrantsSnapshotSchema = z.strictObject({
  /** Keyed `tenantId/userId`. */
  credentials: z.array(
    z.strictObject({ key: z.string(), password: z.string(), globalAdministrator: z.boolean() }),
  ),
  consents: z.array(z.strictObject({ tenantId: z.string(), clientId: z.string(), resourceAppIds: strings })),
  authorizationCodes: z.array(
    z.strictObject({
      code: z.string(),
      tenantId: z.string(),
      userId: z.string(),
      clientId: z.string(),
      redirectUri: z.string(),
      scope: z.string(),
      challenge: pkce,
      expiresAt: z.number(),
      redeemed: z.boolean(),
    }),
  ),
  refreshTokens: z.array(
    z.strictObject({
      token: z.string(),
      tenantId: z.string(),
      userId: z.string(),
      clientId: z.string(),
      scope: z.string(),
      issuedAt: z.iso.datetime(),
      sequence: z.number().int(),
    }),
  ),
  /** Keyed `tenantId/userId`. */
  revocations: z.array(z.strictObject({ key: z.string(), sequence: z.number().int(), at: z.iso.datetime() })),
  sequence: z.number().int().nonnegative(),
});
export type EntraGrantsSnapshot = z.output<typeof entraGrantsSnapshotSchema>;

export const dnsSnapshotSchema = z.strictObject({
  zones: z.array(
    z.strictObject({
      subscriptionId: z.string(),
      resourceGroup: z.string(),
      name: z.string(),
      tenantId: z.string(),
      etag: z.string(),
      recordSets: z.array(
        z.strictObject({
          type: z.enum(['A', 'AAAA', 'CAA', 'CNAME', 'MX', 'NS', 'PTR', 'SOA', 'SRV', 'TXT']),
          name: z.string(),
          etag: z.string(),
          ttl: z.number(),
          metadata: z.record(z.string(), z.string()),
          // ARM's JSON for the record type, kept as the API received it.
          records: z.unknown(),
        }),
      ),
      contributors: strings,
    }),
  ),
  externalTxt: z.array(z.strictObject({ host: z.string(), values: strings })),
});
export type DnsSnapshot = z.output<typeof dnsSnapshotSchema>;

export const graphDirectorySnapshotSchema = z.array(
  z.strictObject({
    tenantId: z.string(),
    pendingDomains: strings,
    skus: z.array(z.strictObject({ skuId: z.string(), enabled: z.number().int().nonnegative() })),
    licenses: z.array(
      z.strictObject({
        userId: z.string(),
        licenses: z.array(z.strictObject({ skuId: z.string(), disabledPlans: strings })),
      }),
    ),
    // Absent in files written before users were soft-deleted: none.
    deletedUsers: z
      .array(z.strictObject({ user: directoryUser, deletedDateTime: z.iso.datetime() }))
      .default([]),
  }),
);
export type GraphDirectorySnapshot = z.output<typeof graphDirectorySnapshotSchema>;

export const teamsVoiceSnapshotSchema = z.strictObject({
  directRoutingNumbers: z.array(z.strictObject({ from: z.string(), to: z.string() })),
  users: z.array(
    z.strictObject({
      userId: z.string(),
      numbers: z.array(
        z.strictObject({
          telephoneNumber: z.string(),
          assignmentCategory: z.enum(['primary', 'private', 'alternate']),
        }),
      ),
      enterpriseVoiceEnabled: z.boolean(),
      modified: z.iso.datetime(),
    }),
  ),
});
export type TeamsVoiceSnapshot = z.output<typeof teamsVoiceSnapshotSchema>;

export const teamsSnapshotSchema = z.array(
  z.strictObject({
    tenantId: z.string(),
    collections: z.array(
      z.strictObject({
        policyName: z.string(),
        // Configuration objects are the open property bags the service returns; their schema is checked on write.
        objects: z.array(z.looseObject({ Identity: z.string() })),
      }),
    ),
    grants: z.array(z.strictObject({ userId: z.string(), grants: z.record(z.string(), z.string()) })),
    // Absent in files written before group policy assignments, and when a tenant has none.
    groupAssignments: z
      .array(
        z.strictObject({
          GroupId: z.string(),
          PolicyType: z.string(),
          PolicyName: z.string(),
          Rank: z.number().int().min(1),
          CreatedTime: z.string(),
          CreatedBy: z.string().nullable(),
        }),
      )
      .optional(),
    // Absent in files written before number management existed: no numbers, no Direct Routing ranges.
    voice: teamsVoiceSnapshotSchema.optional(),
  }),
);
export type TeamsSnapshot = z.output<typeof teamsSnapshotSchema>;

/** Change tracking of the ordinary tenants: delta tokens issued before a restart stay valid after it. */
export const changeTrackingSnapshotSchema = z.array(
  z.strictObject({
    tenantId: z.string(),
    epoch: z.string(),
    sequence: z.number().int().nonnegative(),
    created: z.string(),
    fingerprints: z.array(z.tuple([z.string(), z.string()])),
    log: z.array(
      z.union([
        // Files written before groups were tracked hold user changes without a kind.
        z.strictObject({ seq: z.number().int(), kind: z.literal('user').default('user'), id: z.string() }),
        z.strictObject({
          seq: z.number().int(),
          kind: z.literal('group'),
          id: z.string(),
          removed: z.boolean(),
        }),
        z.strictObject({
          seq: z.number().int(),
          kind: z.literal('member'),
          groupId: z.string(),
          userId: z.string(),
          op: z.enum(['add', 'remove']),
        }),
      ]),
    ),
  }),
);
export type ChangeTrackingSnapshot = z.output<typeof changeTrackingSnapshotSchema>;

const sbcConfiguration = z.strictObject({
  sipInterfaces: z.array(
    z.strictObject({
      index: z.number().int(),
      name: z.string(),
      networkInterface: z.string(),
      udpPort: z.number().int(),
      tcpPort: z.number().int(),
      tlsPort: z.number().int(),
    }),
  ),
  proxySets: z.array(
    z.strictObject({
      index: z.number().int(),
      name: z.string(),
      sipInterfaceName: z.string(),
      proxyAddresses: z.array(z.string()).readonly(),
      transportType: z.enum(['udp', 'tcp', 'tls']),
    }),
  ),
  ipProfiles: z.array(z.strictObject({ index: z.number().int(), name: z.string() })),
  cacProfiles: z.array(
    z.strictObject({ index: z.number().int(), name: z.string(), maxSessions: z.number().int() }),
  ),
  ipGroups: z.array(
    z.strictObject({
      index: z.number().int(),
      name: z.string(),
      type: z.enum(['server', 'user', 'gateway']),
      proxySetName: z.string(),
      ipProfileName: z.string(),
      sipGroupName: z.string(),
      classifyByProxySet: z.boolean(),
      tags: z.string(),
      localHostName: z.string(),
      alwaysUseSourceAddr: z.boolean(),
      callSetupRulesSetId: z.number().int(),
      cacProfile: z.string(),
      mediaRealmName: z.string(),
      extra: z.record(z.string(), z.string()),
    }),
  ),
  accounts: z.array(
    z.strictObject({
      index: z.number().int(),
      accountName: z.string(),
      servedIpGroupName: z.string(),
      servingIpGroupName: z.string(),
      userName: z.string(),
      password: z.string(),
      hostName: z.string(),
      contactUser: z.string(),
      register: z.enum(['no-reg', 'reg', 'gin']),
      applicationType: z.enum(['sbc', 'gw']),
    }),
  ),
  dialPlans: z.array(
    z.strictObject({
      index: z.number().int(),
      name: z.string(),
      rules: z.array(
        z.strictObject({ index: z.number().int(), name: z.string(), prefix: z.string(), tag: z.string() }),
      ),
    }),
  ),
  userInfos: z.array(
    z.strictObject({
      index: z.number().int(),
      localUser: z.string(),
      username: z.string(),
      password: z.string(),
      ipGroupName: z.string(),
    }),
  ),
});

export const sbcSnapshotSchema = z.array(
  z.strictObject({
    name: z.string(),
    ipAddress: z.string(),
    username: z.string(),
    password: z.string(),
    serialNumber: z.string(),
    running: sbcConfiguration,
    saved: sbcConfiguration,
    scriptsApplied: z.number().int().nonnegative(),
  }),
);
export type SbcSnapshot = z.output<typeof sbcSnapshotSchema>;

export const mailSnapshotSchema = z.strictObject({
  seq: z.number().int().nonnegative(),
  messages: z.array(
    z.strictObject({
      seq: z.number().int(),
      transport: z.enum(['acs', 'smtp']),
      receivedAt: z.string(),
      from: z.string(),
      to: z.array(z.string()).readonly(),
      subject: z.string(),
      text: nullableString,
      html: nullableString,
      messageId: nullableString,
      operationId: nullableString,
      username: nullableString,
      raw: nullableString,
    }),
  ),
  /** ACS send operations, so that a send repeated with the same Operation-Id after a restart sends nothing more. */
  acsOperations: z.array(
    z.strictObject({
      id: z.string(),
      outcome: z.enum(['Succeeded', 'Failed']),
      error: z.strictObject({ code: z.string(), message: z.string() }).optional(),
      polled: z.boolean(),
    }),
  ),
});
export type MailSnapshot = z.output<typeof mailSnapshotSchema>;
