import type { CustomerService } from '../customers/customer-service.js';
import type { LicenseLimits } from '../customers/license-pool.js';
import type { AlarmService } from './alarm-service.js';
import { LICENSE_ALARM_SOURCE, USER_LICENSE_THRESHOLD_ALARM } from './alarm-kinds.js';

/** The Warning Limit: user licenses in use, in percent of the pool, from which the alarm is raised. */
export const USER_LICENSE_WARNING_PERCENT = 90;

export interface LicenseAlarmDeps {
  readonly customers: Pick<CustomerService, 'availability'>;
  readonly license: LicenseLimits;
  readonly alarms: AlarmService;
  /** The Warning Limit (System > License), read at each check. */
  readonly warningPercent?: () => Promise<number>;
}

export interface LicenseCheckResult {
  readonly usedUsers: number;
  readonly userPool: number;
  readonly raised: boolean;
}

/**
 * Used user licenses (those the customers hold, a customer being removed included) ≥ the Warning Limit of the
 * pool raises "User License Threshold"; below it clears it. An empty pool (no user licenses bought) raises nothing.
 */
export async function checkUserLicenseThreshold(deps: LicenseAlarmDeps): Promise<LicenseCheckResult> {
  const percent = deps.warningPercent ? await deps.warningPercent() : USER_LICENSE_WARNING_PERCENT;
  const pool = deps.license.userCount;
  const { availableUsers } = await deps.customers.availability();
  const used = pool - availableUsers;
  const raised = pool > 0 && used * 100 >= pool * percent;
  if (raised) {
    await deps.alarms.raise({
      name: USER_LICENSE_THRESHOLD_ALARM,
      severity: 'warning',
      source: LICENSE_ALARM_SOURCE,
      text:
        `${used} of ${pool} user licenses are in use (${Math.floor((used * 100) / pool)}%), at or above the ` +
        `Warning Limit of ${percent}%: extend the license (LICENSE_USER_COUNT) or lower customers' licensed users.`,
    });
  } else {
    await deps.alarms.clear(USER_LICENSE_THRESHOLD_ALARM, LICENSE_ALARM_SOURCE);
  }
  return { usedUsers: used, userPool: pool, raised };
}

/**
 * The customer service, checking the threshold after each change of the licenses held (create, licensed users,
 * upgrade, removal). Best effort: the timer's check catches up on a failed one.
 */
export function withLicenseAlarm(
  customers: CustomerService,
  deps: Omit<LicenseAlarmDeps, 'customers'>,
): CustomerService {
  const check = () => checkUserLicenseThreshold({ ...deps, customers }).catch(() => undefined);
  return {
    ...customers,
    async create(input) {
      const created = await customers.create(input);
      await check();
      return created;
    },
    async updateLicensedUsers(id, licensedUsers, ifMatch) {
      const updated = await customers.updateLicensedUsers(id, licensedUsers, ifMatch);
      await check();
      return updated;
    },
    async upgrade(id, upgrade) {
      const upgraded = await customers.upgrade(id, upgrade);
      await check();
      return upgraded;
    },
    async completeRemoval(id) {
      await customers.completeRemoval(id);
      await check();
    },
  };
}
