import { z } from 'zod';
import type { LicenseType } from '../customers/customer.js';
import { shortNameViolations } from '../customers/short-name.js';
import { labelledValues } from '../validation/enum-labels.js';

export const SBC_CONFIGURATIONS = ['sip-trunk', 'ip-pbx', 'byoc'] as const;
export type SbcConfiguration = (typeof SBC_CONFIGURATIONS)[number];

/** The manual's Sbc Configuration names. */
export const SBC_CONFIGURATION_LABELS: Readonly<Record<SbcConfiguration, string>> = {
  'sip-trunk': 'SIP Trunk',
  'ip-pbx': 'IP PBX',
  byoc: 'BYOC',
};

export const sbcConfigurationSchema = z
  .enum(SBC_CONFIGURATIONS, { error: `Sbc Configuration must be ${SBC_CONFIGURATIONS.join(', ')}.` })
  .meta({ id: 'SbcConfiguration', description: labelledValues(SBC_CONFIGURATION_LABELS) });

/** Essentials offers "Sip Trunk" and "BYOC" only; Essentials + and Pro add "IP PBX". */
export function sbcConfigurationsFor(licenseType: LicenseType): readonly SbcConfiguration[] {
  return licenseType === 'hosted-essentials' ? ['sip-trunk', 'byoc'] : SBC_CONFIGURATIONS;
}

/** "The password cannot be configured with wide characters": printable ASCII only. */
const NARROW = /^[\x20-\x7E]*$/;

export const carrierRegistrationSchema = z
  .strictObject({
    username: z
      .string({ error: 'Username is required.' })
      .min(1, 'Username is required.')
      .max(60, 'Username: the valid value is a string of up to 60 characters.'),
    password: z
      .string({ error: 'Password is required.' })
      .min(1, 'Password is required.')
      .max(50, 'Password: the valid value is a string of up to 50 characters.')
      .regex(NARROW, 'Password: the password cannot be configured with wide characters.'),
    mainLine: z.string({ error: 'MainLine is required.' }).min(1, 'MainLine is required.').max(60),
    hostName: z
      .string({ error: 'Host Name is required.' })
      .min(1, 'Host Name is required.')
      .max(253)
      .regex(/^[A-Za-z0-9.-]+$/, 'Host Name must be a host name or IP address.'),
  })
  .meta({ id: 'CarrierRegistration' });

/** The wizard's SBC page. Region is always required; Carrier for SIP Trunk and BYOC (the manual's IP PBX shows none). */
export const sbcSiteInputSchema = z
  .strictObject({
    configureSbc: z.boolean(),
    sbcSiteName: z
      .string()
      .trim()
      .superRefine((value, ctx) => {
        for (const v of shortNameViolations(value))
          ctx.addIssue({ code: 'custom', message: v.message, params: { code: v.code } });
      })
      .optional()
      .meta({ description: 'Default: the Short Name. Cannot change once the PSTN gateway exists.' }),
    onlinePstnGateway: z
      .string()
      .trim()
      .toLowerCase()
      .regex(
        /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
        'Online PSTN Gateway must be an FQDN.',
      )
      .optional()
      .meta({ description: 'Filled in by the DNS step when default routing is configured.' }),
    sbcConfiguration: sbcConfigurationSchema.optional(),
    regionId: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'Select an SBC from list.')
      .optional(),
    carrier: z.string().min(1).max(100).optional(),
    carrierRegistration: carrierRegistrationSchema.optional(),
    cacProfile: z.string().min(1).max(100).optional(),
  })
  .superRefine((value, ctx) => {
    if (!value.configureSbc) return;
    if (!value.sbcConfiguration) {
      ctx.addIssue({
        code: 'custom',
        path: ['sbcConfiguration'],
        message: 'Select the Sbc Configuration.',
        params: { code: 'required' },
      });
    }
    if (!value.regionId) {
      ctx.addIssue({
        code: 'custom',
        path: ['regionId'],
        message: 'Select an SBC from list.',
        params: { code: 'required' },
      });
    }
    if (value.sbcConfiguration && value.sbcConfiguration !== 'ip-pbx' && !value.carrier) {
      ctx.addIssue({
        code: 'custom',
        path: ['carrier'],
        message: 'Select a Carrier from list.',
        params: { code: 'required' },
      });
    }
    if (value.sbcConfiguration === 'ip-pbx' && value.carrier) {
      ctx.addIssue({
        code: 'custom',
        path: ['carrier'],
        message: 'A Carrier applies to SIP Trunk and BYOC only.',
        params: { code: 'not_applicable' },
      });
    }
  })
  .meta({ id: 'SbcSiteInput' });

export type SbcSiteInput = z.output<typeof sbcSiteInputSchema>;
