import { describe, expect, it } from 'vitest';
import {
  computeLicenseUsage,
  DEFAULT_FACTORS,
  type LicenseFactor,
  type LicenseSubject,
} from '../../shared/licenses/license-usage.js';

const subject = (id: string, ...factors: LicenseFactor[]): LicenseSubject => ({
  id,
  qualifies: new Set(factors),
});
const many = (count: number, prefix: string, ...factors: LicenseFactor[]) =>
  Array.from({ length: count }, (_, i) => subject(`${prefix}${i}`, ...factors));

describe('license counting (the manual, part D §3.12)', () => {
  // 8 Direct Routing users who were also edited through the UI, 10 more edited through the UI only, 4 service
  // numbers: "Managed Users-User Interface shows 10 (18)", 8 users being counted under a higher-priority factor.
  const subjects = [
    ...many(8, 'dr', 'directRouting', 'byUserInterface'),
    ...many(10, 'ui', 'byUserInterface'),
    ...many(6, 'tpl', 'byTemplate'),
    ...many(4, 'num', 'serviceNumbers'),
  ];

  it('counts each user once, under the highest-priority factor, and shows "n1 (n2)"', () => {
    const usage = computeLicenseUsage({
      subjects,
      switches: DEFAULT_FACTORS,
      acquiredLicenses: 50,
      totalMonitoredUsers: 24,
    });
    expect(usage.factors.directRouting.display).toBe('8 (8)');
    expect(usage.factors.byTemplate.display).toBe('6 (6)');
    expect(usage.factors.byUserInterface.display).toBe('10 (18)');
    expect(usage.factors.serviceNumbers.display).toBe('4 (4)');
    expect(usage.factors.operatorConnect.display).toBe('0 (0)');
    expect(usage.currentlyLicensed).toBe(28);
    expect(usage.remaining).toBe(22);
  });

  it('moves the users of a factor switched off to the next enabled one they qualify for', () => {
    const both = [...subjects, ...many(5, 'both', 'byTemplate', 'byUserInterface')];
    const moved = computeLicenseUsage({
      subjects: both,
      switches: { ...DEFAULT_FACTORS, byTemplate: false },
      acquiredLicenses: 50,
      totalMonitoredUsers: 29,
    });
    expect(moved.factors.byUserInterface.display).toBe('15 (23)');
    expect(moved.currentlyLicensed).toBe(27);

    const noTemplate = computeLicenseUsage({
      subjects,
      switches: { ...DEFAULT_FACTORS, byTemplate: false },
      acquiredLicenses: 50,
      totalMonitoredUsers: 24,
    });
    expect(noTemplate.factors.byTemplate.display).toBe('[n/a] (6)');
    expect(noTemplate.factors.byUserInterface.display).toBe('10 (18)');
    expect(noTemplate.currentlyLicensed).toBe(22);

    const noUi = computeLicenseUsage({
      subjects,
      switches: { ...DEFAULT_FACTORS, byUserInterface: false },
      acquiredLicenses: 50,
      totalMonitoredUsers: 24,
    });
    expect(noUi.factors.byUserInterface.display).toBe('[n/a] (18)');
    expect(noUi.factors.directRouting.display).toBe('8 (8)');
    expect(noUi.currentlyLicensed).toBe(18);
    expect(noUi.remaining).toBe(32);
  });

  it('never switches off Direct Routing and Operator Connect', () => {
    const none = computeLicenseUsage({
      subjects: [
        subject('a', 'directRouting'),
        subject('b', 'operatorConnect'),
        subject('c', 'serviceNumbers'),
      ],
      switches: { byTemplate: false, byUserInterface: false, serviceNumbers: false },
      acquiredLicenses: 1,
      totalMonitoredUsers: 2,
    });
    expect(none.currentlyLicensed).toBe(2);
    expect(none.remaining).toBe(-1);
    expect(none.factors.serviceNumbers.display).toBe('[n/a] (1)');
  });
});

describe('the license pool', () => {
  it('refuses new customers and licensed users after the Expiration Date, and keeps what exists', async () => {
    const { allocate } = await import('../../shared/customers/license-pool.js');
    const limits = { tenantCount: 10, userCount: 100, expiresOn: '2026-12-31' };
    const allocation = { customers: 2, users: 20 };
    expect(allocate(limits, allocation, { customers: 1, users: 5 }, '2026-12-31')).toEqual({
      customers: 3,
      users: 25,
    });
    expect(() => allocate(limits, allocation, { customers: 1, users: 5 }, '2027-01-01')).toThrow(
      'The license expired on 2026-12-31',
    );
    expect(() => allocate(limits, allocation, { customers: 0, users: 1 }, '2027-01-01')).toThrow(/expired/);
    expect(allocate(limits, allocation, { customers: 0, users: -5 }, '2027-01-01')).toEqual({
      customers: 2,
      users: 15,
    });
    expect(() =>
      allocate({ ...limits, expiresOn: null }, allocation, { customers: 9, users: 0 }, '2099-01-01'),
    ).toThrow(/All 10 tenant licenses are in use/);
  });
});
