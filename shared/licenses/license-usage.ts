/**
 * The manual's license counting (part D §3.12): every user (or service number) is counted once, under the
 * highest-priority factor it qualifies for; a factor switched off counts nothing and its users move down to the
 * next enabled factor they qualify for. Plain data in, plain data out.
 */
export const LICENSE_FACTORS = [
  'directRouting',
  'operatorConnect',
  'byTemplate',
  'byUserInterface',
  'serviceNumbers',
] as const;
export type LicenseFactor = (typeof LICENSE_FACTORS)[number];

/** The manual's labels, in priority order. */
export const FACTOR_LABELS: Readonly<Record<LicenseFactor, string>> = {
  directRouting: 'Managed Users - Direct Routing',
  operatorConnect: 'Managed Users - Operator Connect',
  byTemplate: 'Managed Users - By Template',
  byUserInterface: 'Managed Users - By User Interface',
  serviceNumbers: 'Managed Service Numbers',
};

/** The three optional factors ("License Factors"); Direct Routing and Operator Connect always count. */
export interface LicenseFactorSwitches {
  readonly byTemplate: boolean;
  readonly byUserInterface: boolean;
  readonly serviceNumbers: boolean;
}

export const DEFAULT_FACTORS: LicenseFactorSwitches = {
  byTemplate: true,
  byUserInterface: true,
  serviceNumbers: true,
};

/** A user, or a service number, with the factors it qualifies for. */
export interface LicenseSubject {
  readonly id: string;
  readonly qualifies: ReadonlySet<LicenseFactor>;
}

export interface FactorUsage {
  readonly label: string;
  readonly enabled: boolean;
  /** n1: counted in Currently Licensed (0 when the factor is off). */
  readonly counted: number;
  /** n2: qualified for it, whatever counted them. */
  readonly qualifying: number;
  /** "n1 (n2)", or "[n/a] (n2)" when the factor is off. */
  readonly display: string;
}

export interface LicenseUsage {
  readonly acquiredLicenses: number;
  readonly currentlyLicensed: number;
  readonly remaining: number;
  readonly totalMonitoredUsers: number;
  readonly factors: Readonly<Record<LicenseFactor, FactorUsage>>;
}

export const enabledOf = (factor: LicenseFactor, switches: LicenseFactorSwitches) =>
  factor === 'directRouting' || factor === 'operatorConnect' ? true : switches[factor];

/** The factor a subject is counted under (the highest-priority enabled one it qualifies for); none: not licensed. */
export function countedFactor(
  subject: LicenseSubject,
  switches: LicenseFactorSwitches,
): LicenseFactor | undefined {
  return LICENSE_FACTORS.find((f) => subject.qualifies.has(f) && enabledOf(f, switches));
}

export function computeLicenseUsage(input: {
  readonly subjects: readonly LicenseSubject[];
  readonly switches: LicenseFactorSwitches;
  readonly acquiredLicenses: number;
  readonly totalMonitoredUsers: number;
}): LicenseUsage {
  const counted = new Map<LicenseFactor, number>(LICENSE_FACTORS.map((f) => [f, 0]));
  const qualifying = new Map<LicenseFactor, number>(LICENSE_FACTORS.map((f) => [f, 0]));
  for (const subject of input.subjects) {
    for (const factor of subject.qualifies) qualifying.set(factor, (qualifying.get(factor) ?? 0) + 1);
    const winner = countedFactor(subject, input.switches);
    if (winner) counted.set(winner, (counted.get(winner) ?? 0) + 1);
  }
  const factors = Object.fromEntries(
    LICENSE_FACTORS.map((factor) => {
      const enabled = enabledOf(factor, input.switches);
      const n1 = counted.get(factor) ?? 0;
      const n2 = qualifying.get(factor) ?? 0;
      const usage: FactorUsage = {
        label: FACTOR_LABELS[factor],
        enabled,
        counted: n1,
        qualifying: n2,
        display: `${enabled ? n1 : '[n/a]'} (${n2})`,
      };
      return [factor, usage];
    }),
  ) as Record<LicenseFactor, FactorUsage>;
  const currentlyLicensed = [...counted.values()].reduce((a, b) => a + b, 0);
  return {
    acquiredLicenses: input.acquiredLicenses,
    currentlyLicensed,
    remaining: input.acquiredLicenses - currentlyLicensed,
    totalMonitoredUsers: input.totalMonitoredUsers,
    factors,
  };
}
