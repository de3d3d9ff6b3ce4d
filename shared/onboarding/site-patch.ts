import { z } from 'zod';
import { domainErrors, type FieldError } from '../errors/domain-errors.js';
import type { SecretBox } from '../secrets/secret-box.js';
import type { ScriptTemplateService } from '../templates/script-template-service.js';
import { type CustomerSite, sealedRegistration } from './customer-site.js';
import type { OnboardingSettingsReader } from './onboarding-settings-service.js';
import { dedupe, dialPlanPrefixSchema, MAX_PREFIXES } from './prefixes.js';
import { sbcChoiceErrors, type SbcChoicesReader, sbcChoicesOf } from './sbc-choices.js';
import { carrierRegistrationSchema } from './sbc-site.js';
import { checkTemplate } from './site-builder.js';
import { customVariablesRecordSchema, templateIdSchema } from './wizard-pages.js';

const scripts = {
  onboardingTemplateId: templateIdSchema.optional(),
  cleanupTemplateId: templateIdSchema.optional(),
  customVariables: customVariablesRecordSchema.optional().meta({ description: 'Replaces them all.' }),
};

/** What a site's fix may change; a member left out stays as it is, `null` clears an optional choice. */
export const sitePatchSchema = z
  .strictObject({
    m365Routing: z.strictObject(scripts).optional().meta({
      description: 'The M365 onboarding and cleanup scripts; only a site with M365 default routing.',
    }),
    sbc: z
      .strictObject({
        carrier: z.string().min(1).max(100).nullable().optional(),
        carrierRegistration: carrierRegistrationSchema
          .nullable()
          .optional()
          .meta({ description: 'The whole registration, password included; null turns it off.' }),
        cacProfile: z.string().min(1).max(100).nullable().optional(),
        ...scripts,
      })
      .optional()
      .meta({
        description: 'Carrier, Carrier Registration, CAC and the SBC scripts; only a site with an SBC.',
      }),
    prefixes: z
      .array(dialPlanPrefixSchema)
      .max(MAX_PREFIXES, `At most ${MAX_PREFIXES} prefixes per customer.`)
      .optional()
      .meta({ description: 'Replaces all of the site’s prefixes.' }),
  })
  .meta({ id: 'SitePatch' });
export type SitePatch = z.output<typeof sitePatchSchema>;

export interface SitePatchDeps {
  readonly settings: Pick<OnboardingSettingsReader, 'region' | 'sbc'>;
  readonly templates: ScriptTemplateService;
  readonly secretBox: SecretBox;
  readonly sbcChoices: SbcChoicesReader;
}

/**
 * The site with the patch applied, checked as Submit checks a new site: scripts exist and are of their type, and the
 * carrier, CAC profile and dial plans are on the site's SBC now. Every problem at once; nothing is written here.
 */
export async function patchedSite(
  site: CustomerSite,
  patch: SitePatch,
  deps: SitePatchDeps,
): Promise<CustomerSite> {
  const errors: FieldError[] = [];
  const fail = (field: string, code: string, message: string) =>
    errors.push({ field, in: 'body', code, message });

  let m365Routing = site.m365Routing;
  if (patch.m365Routing && !m365Routing) {
    fail('m365Routing', 'not_configured', `Site "${site.siteName}" does not configure M365 default routing.`);
  } else if (patch.m365Routing && m365Routing) {
    const p = patch.m365Routing;
    m365Routing = {
      onboardingTemplateId: p.onboardingTemplateId ?? m365Routing.onboardingTemplateId,
      cleanupTemplateId: p.cleanupTemplateId ?? m365Routing.cleanupTemplateId,
      customVariables: p.customVariables ?? m365Routing.customVariables,
    };
    if (p.onboardingTemplateId) {
      await checkTemplate(
        deps.templates,
        p.onboardingTemplateId,
        'm365-onboarding',
        'm365Routing.onboardingTemplateId',
        fail,
      );
    }
    if (p.cleanupTemplateId) {
      await checkTemplate(
        deps.templates,
        p.cleanupTemplateId,
        'm365-cleanup',
        'm365Routing.cleanupTemplateId',
        fail,
      );
    }
  }

  let sbc = site.sbc;
  const prefixes = patch.prefixes ? dedupe(patch.prefixes) : site.prefixes;
  if ((patch.sbc || patch.prefixes) && !sbc) {
    fail(
      patch.sbc ? 'sbc' : 'prefixes',
      'not_configured',
      `Site "${site.siteName}" does not configure an SBC.`,
    );
  } else if (sbc && (patch.sbc || patch.prefixes)) {
    const p = patch.sbc ?? {};
    const carrier = p.carrier === undefined ? sbc.carrier : p.carrier;
    const cacProfile = p.cacProfile === undefined ? sbc.cacProfile : p.cacProfile;
    if (sbc.configuration === 'ip-pbx' && carrier !== null) {
      fail('sbc.carrier', 'not_applicable', 'A Carrier applies to SIP Trunk and BYOC only.');
    }
    if (sbc.configuration !== 'ip-pbx' && carrier === null) {
      fail('sbc.carrier', 'required', 'Select a Carrier from list.');
    }
    if (p.onboardingTemplateId) {
      await checkTemplate(
        deps.templates,
        p.onboardingTemplateId,
        'sbc-onboarding',
        'sbc.onboardingTemplateId',
        fail,
      );
    }
    if (p.cleanupTemplateId) {
      await checkTemplate(deps.templates, p.cleanupTemplateId, 'sbc-cleanup', 'sbc.cleanupTemplateId', fail);
    }
    // The whole result is checked, not only what changed: a fix must leave nothing the SBC would still refuse.
    const region = await deps.settings.region(sbc.regionId);
    const device = region ? await deps.settings.sbc(region.sbcId) : null;
    if (!device) {
      fail('sbc', 'unknown_sbc', `The site's region "${sbc.regionId}" names no Known SBC any more.`);
    } else {
      errors.push(
        ...sbcChoiceErrors(
          await sbcChoicesOf(deps.sbcChoices, device),
          { carrier, cacProfile, prefixes },
          { carrier: 'sbc.carrier', cacProfile: 'sbc.cacProfile', prefixes: 'prefixes' },
        ),
      );
    }
    const registration = p.carrierRegistration;
    sbc = {
      ...sbc,
      carrier,
      cacProfile,
      carrierRegistration:
        registration === undefined
          ? sbc.carrierRegistration
          : registration === null
            ? null
            : sealedRegistration(deps.secretBox, registration, site.customerId, site.siteName),
      onboardingTemplateId: p.onboardingTemplateId ?? sbc.onboardingTemplateId,
      cleanupTemplateId: p.cleanupTemplateId ?? sbc.cleanupTemplateId,
      customVariables: p.customVariables ?? sbc.customVariables,
    };
  }
  if (errors.length > 0)
    throw domainErrors.validation(errors, 'The site has invalid fields; nothing was saved.');
  return { ...site, m365Routing, sbc, prefixes };
}
