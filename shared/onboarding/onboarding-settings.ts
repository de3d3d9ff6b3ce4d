import { z } from 'zod';

/** What the product reads of the provider's onboarding configuration (secrets opened). */
export interface DnsApiSettings {
  /** `app`: the DNS_Client_Provisioning app registration; `managed-identity`: the Function App's own identity. */
  readonly credential:
    | {
        readonly kind: 'app';
        readonly tenantId: string;
        readonly clientId: string;
        readonly clientSecret: string;
      }
    | { readonly kind: 'managed-identity'; readonly clientId?: string };
  readonly subscriptionId: string;
  readonly resourceGroupName: string;
  readonly dnsZone: string;
}

/** A row of the manual's "DNS sub domain Mapping table": a region the wizard's Region drop-down offers. */
export interface Region {
  readonly id: string;
  readonly name: string;
  /** The Known SBC serving the region. */
  readonly sbcId: string;
  /** The region's subdomain; customers' gateways are `<Sbc Site Name>.<fqdn>`. */
  readonly fqdn: string;
  readonly ipAddress: string;
}

/** A Known SBC (SBC List): how the product reaches the device's REST API. */
export interface KnownSbc {
  readonly id: string;
  readonly name: string;
  readonly ipAddress: string;
  readonly deviceFqdn: string | null;
  readonly natIpAddress: string | null;
  readonly https: boolean;
  readonly gatewayUser: string;
  readonly gatewayPassword: string;
}

/** A license plan the activation user may get: every SKU of the plan must have a free unit. */
export interface LicensePlan {
  readonly name: string;
  readonly skuPartNumbers: readonly string[];
}

/** The manual's eligible plans: "Office 365 E5", "Office 365 E1 / E3 with Microsoft Teams Phone Standard". */
export const DEFAULT_LICENSE_PLANS: readonly LicensePlan[] = [
  { name: 'Office 365 E5', skuPartNumbers: ['ENTERPRISEPREMIUM'] },
  { name: 'Microsoft 365 E5', skuPartNumbers: ['SPE_E5'] },
  { name: 'Office 365 E3 with Teams Phone Standard', skuPartNumbers: ['ENTERPRISEPACK', 'MCOEV'] },
  { name: 'Office 365 E1 with Teams Phone Standard', skuPartNumbers: ['STANDARDPACK', 'MCOEV'] },
];

const guid = (label: string) =>
  z
    .string({ error: `${label} is required.` })
    .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, `${label} must be a GUID.`);

const secret = (label: string) =>
  z
    .string({ error: `${label} must be text.` })
    .min(1, `${label} cannot be empty.`)
    .max(1024, `${label} can be at most 1024 characters long.`);

const hostname = (label: string) =>
  z
    .string({ error: `${label} is required.` })
    .trim()
    .toLowerCase()
    .regex(
      /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
      `${label} must be a fully qualified domain name, e.g. customers.example.com.`,
    );

const ipv4 = (label: string) => z.ipv4({ error: `${label} must be an IPv4 address, ex: 1.2.3.4.` });

export const dnsApiInputSchema = z
  .discriminatedUnion(
    'credential',
    [
      z.strictObject({
        credential: z.literal('app').meta({ description: 'The DNS_Client_Provisioning app registration.' }),
        tenantId: guid('Tenant Id'),
        clientId: guid('Client Id'),
        clientSecret: secret('Client Secret')
          .optional()
          .meta({ description: 'Write-only; omit to keep the saved one.' }),
        subscriptionId: guid('Subscription Id'),
        resourceGroupName: z
          .string({ error: 'Resource Group Name is required.' })
          .regex(/^[-\w._()]{1,90}$/u, 'Resource Group Name: 1-90 letters, digits, and - _ . ( ).')
          .refine((value) => !value.endsWith('.'), 'Resource Group Name cannot end with a period.'),
        dnsZone: hostname('Dns Zone'),
      }),
      z.strictObject({
        credential: z.literal('managed-identity').meta({
          description: "The Function App's managed identity, given DNS Zone Contributor by infra/main.bicep.",
        }),
        clientId: guid('Client Id')
          .optional()
          .meta({ description: 'A user-assigned identity; omit for system-assigned.' }),
        subscriptionId: guid('Subscription Id'),
        resourceGroupName: z
          .string({ error: 'Resource Group Name is required.' })
          .regex(/^[-\w._()]{1,90}$/u, 'Resource Group Name: 1-90 letters, digits, and - _ . ( ).'),
        dnsZone: hostname('Dns Zone'),
      }),
    ],
    { error: 'credential must be "app" or "managed-identity".' },
  )
  .meta({ id: 'DnsApiSettingsInput' });

export const dnsApiViewSchema = z
  .object({
    configured: z.boolean(),
    credential: z.enum(['app', 'managed-identity']).nullable(),
    tenantId: z.string().nullable(),
    clientId: z.string().nullable(),
    clientSecretSaved: z.boolean(),
    subscriptionId: z.string().nullable(),
    resourceGroupName: z.string().nullable(),
    dnsZone: z.string().nullable(),
  })
  .meta({ id: 'DnsApiSettings' });

export const regionInputSchema = z.strictObject({
  name: z
    .string({ error: 'Please enter a valid Name' })
    .trim()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/, 'Please enter a valid Name'),
  sbcId: z
    .string({ error: 'Sbc is required.' })
    .regex(/^[a-z0-9-]{1,40}$/, 'Sbc must be the id of a Known SBC.'),
  fqdn: hostname('Fqdn'),
  ipAddress: ipv4('Ip Address'),
});

export const regionViewSchema = regionInputSchema.extend({ id: z.string() }).meta({ id: 'Region' });

export const knownSbcInputSchema = z
  .strictObject({
    name: z.string({ error: 'Name is required.' }).trim().min(1, 'Name is required.').max(100),
    ipAddress: ipv4('Ip Address'),
    deviceFqdn: hostname('Device Fqdn').nullable().default(null).meta({ description: 'ex: sbc.contoso.com' }),
    natIpAddress: ipv4('NAT Ip Address').nullable().default(null),
    https: z
      .boolean()
      .default(true)
      .meta({ description: 'On by default: "the new connection is by default secured over HTTPS".' }),
    gatewayUser: z.string({ error: 'Gateway User is required.' }).min(1, 'Gateway User is required.').max(60),
    gatewayPassword: secret('Gateway Password')
      .optional()
      .meta({ description: 'Write-only; required when adding, omit to keep the saved one.' }),
  })
  .meta({ id: 'KnownSbcInput' });

export const knownSbcViewSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    ipAddress: z.string(),
    deviceFqdn: z.string().nullable(),
    natIpAddress: z.string().nullable(),
    https: z.boolean(),
    gatewayUser: z.string(),
    gatewayPasswordSaved: z.boolean(),
  })
  .meta({ id: 'KnownSbc' });

export const licensePlansSchema = z
  .strictObject({
    plans: z
      .array(
        z.strictObject({
          name: z.string().trim().min(1, 'A plan needs a name.').max(100),
          skuPartNumbers: z
            .array(
              z
                .string()
                .regex(/^[A-Z0-9_]{2,64}$/, 'A SKU part number looks like ENTERPRISEPREMIUM or MCOEV.'),
            )
            .min(1, 'A plan needs at least one SKU.')
            .max(10),
        }),
      )
      .min(1, 'Keep at least one eligible license plan.')
      .max(50),
  })
  .meta({ id: 'LicensePlans' });

/**
 * The registrars a site's Carrier Registration may make the shared SBC register to (its Host Name). Null: the hosts
 * the sites have already (docs/access.md, Shared resources).
 */
export const registrarHostsSchema = z
  .strictObject({
    hosts: z
      .array(
        z
          .string()
          .trim()
          .toLowerCase()
          .min(1)
          .max(253)
          .regex(/^[a-z0-9.-]+$/, 'A registrar is a host name or IP address.'),
      )
      .max(200)
      .nullable()
      .meta({ description: 'The allowed registrar hosts; null: those the sites already register to.' }),
  })
  .meta({ id: 'RegistrarHosts' });
