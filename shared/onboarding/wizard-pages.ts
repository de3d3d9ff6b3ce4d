import { z } from 'zod';
import type { DialPlanPrefix } from './prefixes.js';
import type { SbcConfiguration } from './sbc-site.js';

/** How the customer's PSTN gateway domain gets its DNS (manual-part-C §3.1). */
export const DNS_METHODS = ['automatic', 'two-step', 'manual'] as const;
export type DnsMethod = (typeof DNS_METHODS)[number];

export const templateIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'Select a script.');
const fqdn = (label: string) =>
  z
    .string({ error: `${label} is required.` })
    .trim()
    .toLowerCase()
    .regex(
      /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
      `${label} must be an FQDN.`,
    );

/** Customer Variables without a default: an edit that leaves them out keeps them. */
export const customVariablesRecordSchema = z.record(
  z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,39}$/, 'A Customer Variable name is letters, digits, - and _.'),
  z.string().max(500, 'A Customer Variable value can be at most 500 characters long.'),
);

export const customVariablesSchema = customVariablesRecordSchema.default({}).meta({ id: 'CustomVariables' });

/** "Click Here to Provision M365 Domain and DNS Automatically": Region/Country, Sbc Site Name, License Plan. */
export const dnsPageSchema = z
  .strictObject({
    method: z.enum(DNS_METHODS, { error: 'method must be automatic, two-step or manual.' }),
    regionId: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'Select a Region/Country.')
      .optional(),
    licensePlan: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .meta({ description: 'A plan name from the eligible license plans.' }),
    onlinePstnGateway: fqdn('Online PSTN Gateway').optional().meta({
      description: 'Manual only: the domain the operator set up and verified in the customer tenant.',
    }),
  })
  .superRefine((value, ctx) => {
    if (value.method !== 'manual' && !value.regionId) {
      ctx.addIssue({
        code: 'custom',
        path: ['regionId'],
        message: 'Select a Region/Country.',
        params: { code: 'required' },
      });
    }
    if (value.method === 'manual' && !value.onlinePstnGateway) {
      ctx.addIssue({
        code: 'custom',
        path: ['onlinePstnGateway'],
        message: 'Enter the Online PSTN Gateway you provisioned by hand.',
        params: { code: 'required' },
      });
    }
  })
  .meta({ id: 'WizardDnsPage' });

/** "Configure M365 default routing": the gateway, the onboarding and cleanup scripts and their Customer Variables. */
export const m365RoutingPageSchema = z
  .strictObject({
    configure: z.boolean(),
    onlinePstnGateway: fqdn('Online PSTN Gateway').optional(),
    onboardingTemplateId: templateIdSchema.optional(),
    cleanupTemplateId: templateIdSchema.optional(),
    customVariables: customVariablesSchema,
  })
  .meta({ id: 'WizardM365RoutingPage' });

/** The SBC scripts page: SBC Onboarding Script, SBC Cleanup Script, Customer Variables. */
export const sbcScriptsPageSchema = z
  .strictObject({
    onboardingTemplateId: templateIdSchema,
    cleanupTemplateId: templateIdSchema,
    customVariables: customVariablesSchema,
  })
  .meta({ id: 'WizardSbcScriptsPage' });

/** What the wizard keeps from the pages after the Microsoft 365 Settings page, until Submit. */
export interface WizardPages {
  readonly dns: z.output<typeof dnsPageSchema> | null;
  readonly m365Routing: z.output<typeof m365RoutingPageSchema> | null;
  readonly sbc: {
    readonly configureSbc: boolean;
    readonly sbcSiteName: string;
    readonly onlinePstnGateway: string | null;
    readonly sbcConfiguration: SbcConfiguration | null;
    readonly regionId: string | null;
    readonly carrier: string | null;
    /** The password sealed: the session is storage too. */
    readonly carrierRegistration: {
      readonly username: string;
      readonly passwordSealed: string;
      readonly mainLine: string;
      readonly hostName: string;
    } | null;
    readonly cacProfile: string | null;
  } | null;
  readonly prefixes: readonly DialPlanPrefix[];
  readonly sbcScripts: z.output<typeof sbcScriptsPageSchema> | null;
}

export const EMPTY_PAGES: WizardPages = {
  dns: null,
  m365Routing: null,
  sbc: null,
  prefixes: [],
  sbcScripts: null,
};
