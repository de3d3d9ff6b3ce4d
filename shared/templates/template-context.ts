import { z } from 'zod';

/**
 * What a script template may read: the manual's names (`{{CustomerId}}`, `{{SBC.OnlinePstnGateway}}`,
 * `{{this.Prefix}}` inside `{{#each SBC.DialPlanPrefixes}}`, `{{PbxUser.E164}}`, `{{CustomVar.x}}`), plus a few of our
 * own (`Customer.*`, `Region.*`, `PstnGateway.Fqdn`, `Carrier.Name`, `Prefixes`) that carry the same data under
 * plainer names. docs/script-templates.md lists every variable.
 */
export interface TemplateContext {
  /** The customer's Short Name (the manual's `{{CustomerId}}`). */
  readonly CustomerId: string;
  readonly Customer: {
    readonly ShortName: string;
    readonly FullName: string;
    /** The customer's Microsoft 365 tenant id; empty for Hosted Essentials. */
    readonly TenantId: string;
  };
  readonly SBC: {
    readonly CarrierID: string;
    readonly OnlinePstnGateway: string;
    readonly SbcSiteName: string;
    readonly EnableCAC: boolean;
    readonly CacProfile: string;
    readonly FlagCarrierRegistration: boolean;
    readonly CarrierUserName: string;
    readonly CarrierPassword: string;
    readonly CarrierHostName: string;
    readonly CarrierMainLine: string;
    readonly DialPlanPrefixes: readonly {
      readonly DialPlanName: string;
      readonly Rules: readonly { readonly Name: string; readonly Prefix: string; readonly Tag: string }[];
    }[];
  };
  readonly Region: {
    readonly Name: string;
    /** The region's subdomain; the customer's gateway is `<SbcSiteName>.<Fqdn>`. */
    readonly Fqdn: string;
    readonly IpAddress: string;
    /** The Known SBC serving the region. */
    readonly SbcName: string;
  };
  readonly PstnGateway: { readonly Fqdn: string };
  readonly Carrier: { readonly Name: string };
  /** Every dial-plan rule of the customer, flat. */
  readonly Prefixes: readonly {
    readonly DialPlanName: string;
    readonly Name: string;
    readonly Prefix: string;
    readonly Tag: string;
  }[];
  /** The dial plan a background prefix script works on (`sbc-add-prefix`, `sbc-remove-prefix`). */
  readonly DialPlanName: string;
  readonly CmdData: {
    readonly DialPlanRules: {
      readonly ToAdd: readonly { readonly Name: string; readonly Prefix: string; readonly Tag: string }[];
    };
  };
  /** The SBC's row indexes of the rules to delete (`sbc-remove-prefix`). */
  readonly ToRemove: readonly { readonly Index: number }[];
  readonly PbxUser: {
    readonly create: boolean;
    readonly delete: boolean;
    readonly LocalUserName: string;
    readonly Pbxhost: string;
    readonly E164: string;
    readonly PbxExtension: string;
    readonly RegisteringUserName: string;
    readonly RegisteringPassword: string;
  };
  /** The template's declared Customer Variables, by name. */
  readonly CustomVar: Readonly<Record<string, string>>;
}

/** The type of a value in the context, for checking templates before they are stored. */
export type Shape =
  | { readonly kind: 'string' | 'number' | 'boolean'; readonly doc: string }
  | { readonly kind: 'object'; readonly doc: string; readonly fields: Readonly<Record<string, Shape>> }
  | { readonly kind: 'list'; readonly doc: string; readonly item: Shape };

const str = (doc: string): Shape => ({ kind: 'string', doc });
const bool = (doc: string): Shape => ({ kind: 'boolean', doc });
const num = (doc: string): Shape => ({ kind: 'number', doc });
const obj = (doc: string, fields: Record<string, Shape>): Shape => ({ kind: 'object', doc, fields });
const list = (doc: string, item: Shape): Shape => ({ kind: 'list', doc, item });

const RULE = obj('A dial-plan rule.', {
  Name: str("The rule's name: the customer's Short Name."),
  Prefix: str('The number prefix, e.g. +41589061[000-999].'),
  Tag: str('What the prefix routes to: the PSTN gateway FQDN, a tenant id or an IP Group name.'),
});

/** Every known path but `CustomVar`, whose fields are the template's declared Customer Variables. */
export const CONTEXT_FIELDS: Readonly<Record<string, Shape>> = {
  CustomerId: str(
    "The customer's Short Name (the manual's {{CustomerId}}); IP Groups are <CustomerId>-c / -t.",
  ),
  Customer: obj('The customer.', {
    ShortName: str('The Short Name, same as {{CustomerId}}.'),
    FullName: str('The Customer Name.'),
    TenantId: str("The customer's Microsoft 365 tenant id (empty for Hosted Essentials)."),
  }),
  SBC: obj("The customer's SBC site (the wizard's SBC page).", {
    CarrierID: str('The Carrier: proxy-set-name and ip-profile-name on the SBC.'),
    OnlinePstnGateway: str('The Online PSTN Gateway FQDN (derived trunk).'),
    SbcSiteName: str('The SBC site name (defaults to the Short Name).'),
    EnableCAC: bool('Whether Call Admission Control is enabled.'),
    CacProfile: str('The CAC profile when EnableCAC is set.'),
    FlagCarrierRegistration: bool('Whether the SBC registers a SIP account at the carrier (SIP Trunk/BYOC).'),
    CarrierUserName: str('Carrier registration user name.'),
    CarrierPassword: str('Carrier registration password.'),
    CarrierHostName: str('Carrier registration host name.'),
    CarrierMainLine: str('Carrier registration main line (contact-user).'),
    DialPlanPrefixes: list(
      'Dial plans with their rules.',
      obj('A dial plan.', {
        DialPlanName: str('The dial plan, e.g. CustDialPlan.'),
        Rules: list('The rules of this dial plan.', RULE),
      }),
    ),
  }),
  Region: obj('The region (DNS sub domain mapping) of the customer.', {
    Name: str('The Region/Country name.'),
    Fqdn: str("The region's subdomain."),
    IpAddress: str("The region SBC's IP address."),
    SbcName: str('The Known SBC serving the region.'),
  }),
  PstnGateway: obj('The Online PSTN Gateway.', {
    Fqdn: str('Its FQDN, same as {{SBC.OnlinePstnGateway}}.'),
  }),
  Carrier: obj('The carrier.', { Name: str('Same as {{SBC.CarrierID}}.') }),
  Prefixes: list(
    "All of the customer's dial-plan rules, flat.",
    obj('A dial-plan rule.', {
      DialPlanName: str('The dial plan.'),
      Name: str("The rule's name."),
      Prefix: str('The prefix.'),
      Tag: str('The tag.'),
    }),
  ),
  DialPlanName: str('The dial plan a background prefix script works on.'),
  CmdData: obj('What a background task asks for.', {
    DialPlanRules: obj('Dial-plan changes.', {
      ToAdd: list(
        'Rules to add.',
        obj('A rule to add.', {
          Name: str("The rule's name: its customer's Short Name."),
          Prefix: str('The prefix.'),
          Tag: str('The tag.'),
        }),
      ),
    }),
  }),
  ToRemove: list(
    'Rules to delete, by SBC row index.',
    obj('A rule to delete.', { Index: num('The row index.') }),
  ),
  PbxUser: obj('An IP-PBX registered user (add-ipx-user).', {
    create: bool('Set to run the create section.'),
    delete: bool('Set to run the delete section.'),
    LocalUserName: str('The extension, e.g. 2345.'),
    Pbxhost: str('The PBX SIP domain, e.g. ac3cx.elastix.com.'),
    E164: str('The E.164 number without +.'),
    PbxExtension: str('The PBX extension, e.g. 4002.'),
    RegisteringUserName: str('The IP-PBX user name.'),
    RegisteringPassword: str('The IP-PBX password.'),
  }),
};

/** The root shape for a template declaring these Customer Variables. */
export function contextShape(customVariables: readonly string[]): Shape {
  const custom: Record<string, Shape> = {};
  for (const name of customVariables) custom[name] = str('A Customer Variable of this template.');
  return obj('The template context.', {
    ...CONTEXT_FIELDS,
    CustomVar: obj("The template's Customer Variables.", custom),
  });
}

/** Every leaf path of the context, for docs and for the portal's variable picker. */
export function contextPaths(
  fields: Readonly<Record<string, Shape>> = CONTEXT_FIELDS,
  prefix = '',
): { path: string; type: string; description: string }[] {
  return Object.entries(fields).flatMap(([name, shape]) => {
    const path = `${prefix}${name}`;
    if (shape.kind === 'object') return contextPaths(shape.fields, `${path}.`);
    if (shape.kind === 'list') {
      const item = shape.item;
      const own = { path, type: 'list', description: shape.doc };
      return item.kind === 'object' ? [own, ...contextPaths(item.fields, `${path}[].`)] : [own];
    }
    return [{ path, type: shape.kind, description: shape.doc }];
  });
}

/** A plausible customer, used to check M365 templates on save and as the base of a preview. */
export const SAMPLE_CONTEXT: TemplateContext = {
  CustomerId: 'SIPTrunkPlus',
  Customer: {
    ShortName: 'SIPTrunkPlus',
    FullName: 'SIP Trunk Plus Ltd',
    TenantId: '00000000-0000-4000-8000-000000000001',
  },
  SBC: {
    CarrierID: 'SIPTrunk',
    OnlinePstnGateway: 'siptrunkplus.customers.example.com',
    SbcSiteName: 'SIPTrunkPlus',
    EnableCAC: true,
    CacProfile: '10 sessions',
    FlagCarrierRegistration: true,
    CarrierUserName: 'siptrunkplus',
    CarrierPassword: 'Sample-Password1',
    CarrierHostName: 'sip.carrier.example.com',
    CarrierMainLine: '+41589061000',
    DialPlanPrefixes: [
      {
        DialPlanName: 'CustDialPlan',
        Rules: [
          { Name: 'SIPTrunkPlus', Prefix: '+41589061[000-999]', Tag: 'siptrunkplus.customers.example.com' },
        ],
      },
    ],
  },
  Region: {
    Name: 'Nederland',
    Fqdn: 'customers.example.com',
    IpAddress: '203.0.113.10',
    SbcName: 'SBC-1',
  },
  PstnGateway: { Fqdn: 'siptrunkplus.customers.example.com' },
  Carrier: { Name: 'SIPTrunk' },
  Prefixes: [
    {
      DialPlanName: 'CustDialPlan',
      Name: 'SIPTrunkPlus',
      Prefix: '+41589061[000-999]',
      Tag: 'siptrunkplus.customers.example.com',
    },
  ],
  DialPlanName: 'CustDialPlan',
  CmdData: {
    DialPlanRules: {
      ToAdd: [
        { Name: 'SIPTrunkPlus', Prefix: '+41589062[000-999]', Tag: 'siptrunkplus.customers.example.com' },
      ],
    },
  },
  ToRemove: [{ Index: 12 }],
  PbxUser: {
    create: true,
    delete: false,
    LocalUserName: '2345',
    Pbxhost: 'pbx.example.com',
    E164: '41589061234',
    PbxExtension: '4002',
    RegisteringUserName: '2345',
    RegisteringPassword: 'Sample-Password2',
  },
  CustomVar: {},
};

const text = z.string().max(500);
const rule = z.strictObject({ Name: text, Prefix: text, Tag: text });

/** A preview's context: any part of the template context, laid over {@link SAMPLE_CONTEXT}. */
export const previewContextSchema = z
  .strictObject({
    CustomerId: text,
    Customer: z.strictObject({ ShortName: text, FullName: text, TenantId: text }).partial(),
    SBC: z
      .strictObject({
        CarrierID: text,
        OnlinePstnGateway: text,
        SbcSiteName: text,
        EnableCAC: z.boolean(),
        CacProfile: text,
        FlagCarrierRegistration: z.boolean(),
        CarrierUserName: text,
        CarrierPassword: text,
        CarrierHostName: text,
        CarrierMainLine: text,
        DialPlanPrefixes: z
          .array(z.strictObject({ DialPlanName: text, Rules: z.array(rule).max(1000) }))
          .max(50),
      })
      .partial(),
    Region: z.strictObject({ Name: text, Fqdn: text, IpAddress: text, SbcName: text }).partial(),
    PstnGateway: z.strictObject({ Fqdn: text }).partial(),
    Carrier: z.strictObject({ Name: text }).partial(),
    Prefixes: z.array(rule.extend({ DialPlanName: text })).max(5000),
    DialPlanName: text,
    CmdData: z.strictObject({
      DialPlanRules: z.strictObject({
        ToAdd: z.array(z.strictObject({ Name: text.optional(), Prefix: text, Tag: text })).max(5000),
      }),
    }),
    ToRemove: z.array(z.strictObject({ Index: z.number().int().min(0) })).max(5000),
    PbxUser: z
      .strictObject({
        create: z.boolean(),
        delete: z.boolean(),
        LocalUserName: text,
        Pbxhost: text,
        E164: text,
        PbxExtension: text,
        RegisteringUserName: text,
        RegisteringPassword: text,
      })
      .partial(),
  })
  .partial();

export type PreviewContext = z.output<typeof previewContextSchema>;

/** Lays `partial` over `base`: objects merge field by field, lists and values replace. */
export function mergeContext(base: TemplateContext, partial: PreviewContext): TemplateContext {
  return deepMerge(base, partial) as TemplateContext;
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (isPlainObject(base) && isPlainObject(over)) {
    const result: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(over)) result[key] = deepMerge(base[key], value);
    return result;
  }
  return over;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
