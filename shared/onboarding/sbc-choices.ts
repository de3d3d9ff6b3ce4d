import { DomainError, type FieldError } from '../errors/domain-errors.js';
import { SbcError } from '../sbc/sbc-client.js';
import { carriers, customerIpGroupsPresent, parseSbcIni } from '../sbc/sbc-config.js';
import type { OnboardingPorts } from './onboarding-ports.js';
import type { KnownSbc } from './onboarding-settings.js';
import type { DialPlanPrefix } from './prefixes.js';

/** What a site on an SBC may name: read from the SBC's configuration, never from a list of our own. */
export interface SbcChoices {
  /** The Known SBC's name, for messages. */
  readonly sbc: string;
  readonly carriers: readonly string[];
  readonly cacProfiles: readonly string[];
  readonly dialPlans: readonly string[];
  /** The IP Groups of `customerId` (when asked for) that the SBC holds already. */
  readonly programmed: readonly string[];
}

/** Reads a Known SBC's choices now; `SbcError` when the SBC does not answer. */
export type SbcChoicesReader = (sbcId: string, customerId?: string) => Promise<SbcChoices>;

/**
 * One ini read serves the SBC page's lists (GET …/sbc-options), the wizard's and the dry run's checks, the PATCH of
 * a site and the task's ValidateSite step, so all of them agree with what the onboarding script will meet.
 */
export function sbcChoicesReader(ports: Pick<OnboardingPorts, 'sbc'>): SbcChoicesReader {
  return async (sbcId, customerId) => {
    const { device, client } = await ports.sbc(sbcId);
    const config = parseSbcIni(await client.getIni());
    return {
      sbc: device.name,
      carriers: carriers(config),
      cacProfiles: config.cacProfiles.map((p) => p.name).filter((n) => n !== ''),
      dialPlans: config.dialPlans,
      programmed: customerId ? customerIpGroupsPresent(config, customerId) : [],
    };
  };
}

/** An SBC that does not answer is the operator's to look at, not our failure: 502 with what the device said. */
export function sbcUnreachable(sbcName: string, error: unknown): DomainError {
  if (!(error instanceof SbcError)) throw error;
  return new DomainError('upstream_failed', {
    code: 'sbc_unreachable',
    title: 'The SBC did not answer',
    detail: `${sbcName}: ${error.message}`,
  });
}

/** Reads a Known SBC's choices; a device that does not answer is a 502 (`sbc_unreachable`), as on the SBC page. */
export async function sbcChoicesOf(
  read: SbcChoicesReader,
  device: Pick<KnownSbc, 'id' | 'name'>,
  customerId?: string,
): Promise<SbcChoices> {
  try {
    return await read(device.id, customerId);
  } catch (error) {
    throw sbcUnreachable(device.name, error);
  }
}

/** The site's SBC choices that name something the SBC does not have. */
export interface SbcChoiceInput {
  readonly carrier: string | null;
  readonly cacProfile: string | null;
  readonly prefixes: readonly DialPlanPrefix[];
}

/** Where each choice sits in the request: the SBC page says `carrier`, a whole site `sbc.carrier`. */
export interface SbcChoiceFields {
  readonly carrier: string;
  readonly cacProfile: string;
  /** The prefixes array; an error names `<prefixes>.<index>.dialPlanName`. */
  readonly prefixes: string;
}

const listed = (values: readonly string[]) => (values.length > 0 ? values.join(', ') : 'none');

/**
 * Every choice the SBC would refuse, each with the valid values (`allowed`). Carrier and CAC Profile match exactly,
 * as the SBC's CLI does; dial plan names without regard to case, as its dial-plan rules do. An unknown dial plan is
 * reported once, at its first prefix.
 */
export function sbcChoiceErrors(
  choices: SbcChoices,
  input: SbcChoiceInput,
  fields: SbcChoiceFields,
): FieldError[] {
  const errors: FieldError[] = [];
  if (input.carrier !== null && !choices.carriers.includes(input.carrier)) {
    errors.push({
      field: fields.carrier,
      in: 'body',
      code: 'unknown_carrier',
      message: `"${input.carrier}" is not a carrier on ${choices.sbc}; its carriers: ${listed(choices.carriers)}.`,
      allowed: choices.carriers,
    });
  }
  if (input.cacProfile !== null && !choices.cacProfiles.includes(input.cacProfile)) {
    errors.push({
      field: fields.cacProfile,
      in: 'body',
      code: 'unknown_cac_profile',
      message: `"${input.cacProfile}" is not a CAC profile on ${choices.sbc}; its CAC profiles: ${listed(choices.cacProfiles)}.`,
      allowed: choices.cacProfiles,
    });
  }
  const plans = new Set(choices.dialPlans.map((p) => p.toLowerCase()));
  const reported = new Set<string>();
  input.prefixes.forEach((prefix, index) => {
    const name = prefix.dialPlanName.toLowerCase();
    if (plans.has(name) || reported.has(name)) return;
    reported.add(name);
    errors.push({
      field: `${fields.prefixes}.${index}.dialPlanName`,
      in: 'body',
      code: 'unknown_dial_plan',
      message: `"${prefix.dialPlanName}" is not a dial plan on ${choices.sbc}; its dial plans: ${listed(choices.dialPlans)}.`,
      allowed: choices.dialPlans,
    });
  });
  return errors;
}
