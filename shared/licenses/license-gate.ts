import {
  CUSTOMER_LICENSE_EXHAUSTED_ALARM,
  CUSTOMER_LICENSE_GRACE_ALARM,
  customerLicenseAlarmSource,
} from '../alarms/alarm-kinds.js';
import type { AlarmService } from '../alarms/alarm-service.js';
import { usesLicensedUsers } from '../customers/customer.js';
import type { CustomerService } from '../customers/customer-service.js';
import { domainErrors } from '../errors/domain-errors.js';
import type { ProblemCode } from '../errors/problem-codes.js';
import type { PresetProblem } from '../users/bulk-import.js';
import { countCustomerLicenses, type LicenseCountDeps } from './license-service.js';
import type { LicenseStore } from './license-store.js';
import { enabledOf } from './license-usage.js';

/**
 * How long the Grace Interval's licenses last: the manual says only "for a limited time period". They run from when
 * the customer first went over its Licensed Users, and come back once it is within them again (docs/decisions.md).
 */
export const GRACE_PERIOD_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

/** What a refused user gets: an import row's error, or the problem of an operator's edit. */
export const LICENSE_EXHAUSTED = 'license_exhausted' satisfies ProblemCode;

/** The factors a provisioning counts under: templates (and lifecycle) By Template, operators' edits By User Interface. */
export type ProvisioningFactor = 'byTemplate' | 'byUserInterface';

export interface LicenseGateDeps extends LicenseCountDeps {
  readonly customers: Pick<CustomerService, 'get'>;
  readonly licenses: Pick<
    LicenseStore,
    'settings' | 'customerFactors' | 'graceStartedAt' | 'putGraceStartedAt'
  >;
  readonly alarms: Pick<AlarmService, 'raise' | 'clear'>;
  readonly now?: () => Date;
}

export interface LicenseRefusal {
  readonly userId: string;
  /** The manual's "no more available licenses", with the figures and what to do. */
  readonly reason: string;
}

export interface LicenseAdmission {
  /** The users that may be provisioned: those licensed already, then new ones while licenses last (in order). */
  readonly admitted: readonly string[];
  readonly refused: readonly LicenseRefusal[];
  /** Users (and service numbers) licensed before this admission. */
  readonly licensed: number;
  readonly licensedUsers: number;
  /** Licensed Users, plus the grace licenses while the grace period runs. */
  readonly limit: number;
  /** When the grace licenses run out; null while the customer is within its Licensed Users. */
  readonly graceEndsAt: string | null;
}

export interface AdmitOptions {
  /** Which factor the users will count under once provisioned; By Template unless said. */
  readonly factor?: ProvisioningFactor;
  /** Decides without recording: no grace period started, no alarm raised or cleared (decision 35). */
  readonly dryRun?: boolean;
}

/**
 * The license check of provisioning (issue 12): "When the maximum number of licensed users has been reached, … it is
 * no longer possible to automatically add users through Lifecycle management, nor … to import users" (manual,
 * System > License). The customer's licenses are counted afresh at each admission (one pass over its mirrored users,
 * so the users a template marked a moment ago count), and each user is admitted or refused on its own.
 */
export function createLicenseGate(deps: LicenseGateDeps) {
  const now = deps.now ?? (() => new Date());

  interface Standing {
    readonly customerId: string;
    readonly licensedUsers: number;
    readonly grace: number;
    /** The grace start as stored, and as it stands: null when the customer was within its Licensed Users. */
    readonly stored: string | null;
    readonly startedAt: string | null;
    /** The grace licenses may still be taken. */
    readonly graceOpen: boolean;
    readonly limit: number;
  }

  async function standing(customerId: string, licensedUsers: number, licensed: number): Promise<Standing> {
    const [settings, stored] = await Promise.all([
      deps.licenses.settings(),
      deps.licenses.graceStartedAt(customerId),
    ]);
    const grace = Math.floor((licensedUsers * settings.graceIntervalPercent) / 100);
    // A customer back within its Licensed Users has a fresh grace period for the next time.
    const startedAt = licensed > licensedUsers ? stored : null;
    const graceOpen = grace > 0 && (startedAt === null || now().getTime() < graceEnd(startedAt));
    return {
      customerId,
      licensedUsers,
      grace,
      stored,
      startedAt,
      graceOpen,
      limit: licensedUsers + (graceOpen ? grace : 0),
    };
  }

  const graceEnd = (startedAt: string) => Date.parse(startedAt) + GRACE_PERIOD_DAYS * DAY_MS;
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

  function limitText(s: Standing, startedAt: string | null): string {
    if (s.grace === 0) return `Licensed Users ${s.licensedUsers}`;
    const ends = day(startedAt ? graceEnd(startedAt) : now().getTime() + GRACE_PERIOD_DAYS * DAY_MS);
    return s.graceOpen
      ? `Licensed Users ${s.licensedUsers} + ${s.grace} grace until ${ends}`
      : `Licensed Users ${s.licensedUsers}; the grace period ended ${ends}`;
  }

  /** The grace start once `after` users are licensed: it starts with the first license past Licensed Users. */
  const startAfter = (s: Standing, after: number) =>
    after > s.licensedUsers ? (s.startedAt ?? now().toISOString()) : null;

  /**
   * Records where the customer stands once `after` users are licensed: its grace start, and the two alarms. The
   * exhausted alarm clears when an admission refused nobody and took a license, or when one is free again.
   */
  async function record(s: Standing, after: number, refused: number, took: number): Promise<string | null> {
    const startedAt = startAfter(s, after);
    if (s.stored !== startedAt) await deps.licenses.putGraceStartedAt(s.customerId, startedAt);
    const source = customerLicenseAlarmSource(s.customerId);
    if (refused > 0) {
      await deps.alarms.raise({
        name: CUSTOMER_LICENSE_EXHAUSTED_ALARM,
        severity: 'major',
        source,
        text:
          `Customer ${s.customerId}: ${refused} user(s) refused a license, ${after} of ${s.limit} in use ` +
          `(${limitText(s, startedAt)}). Raise its Licensed Users; the next provisioning takes them.`,
      });
    } else if (took > 0 || after < s.limit) {
      await deps.alarms.clear(CUSTOMER_LICENSE_EXHAUSTED_ALARM, source);
    }
    if (startedAt === null) {
      await deps.alarms.clear(CUSTOMER_LICENSE_GRACE_ALARM, source);
    } else {
      const ends = day(graceEnd(startedAt));
      const over = `Customer ${s.customerId} uses ${after} licenses of its Licensed Users ${s.licensedUsers}`;
      await deps.alarms.raise({
        name: CUSTOMER_LICENSE_GRACE_ALARM,
        severity: 'warning',
        source,
        text:
          s.grace === 0
            ? `${over} and has no Grace Interval: new users are refused. Raise its Licensed Users.`
            : s.graceOpen
              ? `${over}, on grace licenses: from ${ends} new users are refused. Raise its Licensed Users.`
              : `${over} and its grace period ended ${ends}: new users are refused. Raise its Licensed Users.`,
      });
    }
    return startedAt;
  }

  /**
   * Which of `userIds` (mirrored user ids) may be newly provisioned for the customer. A user licensed already is
   * always admitted (changing it costs no license); the others take one each, in order, while the count stays
   * within the limit; the rest are refused with the reason. A factor switched off counts nothing, so its
   * provisioning takes no license.
   */
  async function admit(
    customerId: string,
    userIds: readonly string[],
    options: AdmitOptions = {},
  ): Promise<LicenseAdmission> {
    const customer = await deps.customers.get(customerId);
    const count = await countCustomerLicenses(deps, customer);
    const licensed = count.usage.currentlyLicensed;
    const s = await standing(customer.id, customer.licensedUsers, licensed);
    const charged = enabledOf(options.factor ?? 'byTemplate', count.switches);
    const admitted: string[] = [];
    const refused: LicenseRefusal[] = [];
    let taken = licensed;
    for (const userId of new Set(userIds)) {
      if (!charged || count.counted.has(userId)) {
        admitted.push(userId);
      } else if (taken < s.limit) {
        admitted.push(userId);
        taken += 1;
      } else {
        refused.push({
          userId,
          reason:
            `No more available licenses: all ${s.limit} licenses of ${customer.id} are in use ` +
            `(${limitText(s, s.startedAt)}). Raise the customer's Licensed Users to provision this user.`,
        });
      }
    }
    const startedAt =
      options.dryRun === true
        ? startAfter(s, taken)
        : await record(s, taken, refused.length, taken - licensed);
    return {
      admitted,
      refused,
      licensed,
      licensedUsers: customer.licensedUsers,
      limit: s.limit,
      graceEndsAt: startedAt ? new Date(graceEnd(startedAt)).toISOString() : null,
    };
  }

  return {
    admit,

    /**
     * An operator's change of one user (it counts By User Interface): refused with `409 license_exhausted` when the
     * user is not licensed and no license is left (the manual's pop-up "there are no more available licenses").
     */
    async assertAdmitted(customerId: string, userId: string): Promise<void> {
      const [refusal] = (await admit(customerId, [userId], { factor: 'byUserInterface' })).refused;
      if (refusal) {
        throw domainErrors.limitReached(LICENSE_EXHAUSTED, 'No more available licenses', refusal.reason);
      }
    },

    /**
     * The import rows of users the gate refuses get the problem `license_exhausted` (added to `problems`, by row
     * number: the header is row 1). `rowUsers` are the rows' mirrored user ids (null: not mirrored, it fails on its
     * own); a row that already has a problem is not provisioned, so it takes no license.
     */
    async refuseRows(
      customerId: string,
      rowUsers: ReadonlyArray<string | null>,
      problems: Map<number, PresetProblem[]>,
      options: AdmitOptions = {},
    ): Promise<LicenseAdmission> {
      const candidates = rowUsers.flatMap((id, index) =>
        id !== null && !problems.has(index + 2) ? [id] : [],
      );
      const admission = await admit(customerId, candidates, options);
      const reasons = new Map(admission.refused.map((r) => [r.userId, r.reason]));
      rowUsers.forEach((id, index) => {
        const reason = id === null || problems.has(index + 2) ? undefined : reasons.get(id);
        if (reason) problems.set(index + 2, [{ column: 'User', code: LICENSE_EXHAUSTED, message: reason }]);
      });
      return admission;
    },

    /**
     * Brings the grace period and the alarms up to date with a count made elsewhere (the hourly refresh): a
     * customer back within its Licensed Users gets its grace back and its alarms clear. A Hosted Essentials
     * customer provisions no users (its service numbers alone would count against its 0 Licensed Users).
     */
    async review(snapshot: {
      readonly customerId: string;
      readonly currentlyLicensed: number;
      readonly acquiredLicenses: number;
    }): Promise<void> {
      const customer = await deps.customers.get(snapshot.customerId);
      if (!usesLicensedUsers(customer.licenseType)) return;
      const s = await standing(snapshot.customerId, snapshot.acquiredLicenses, snapshot.currentlyLicensed);
      await record(s, snapshot.currentlyLicensed, 0, 0);
    },
  };
}

export type LicenseGate = ReturnType<typeof createLicenseGate>;
