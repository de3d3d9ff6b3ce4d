import { describe, expect, it } from 'vitest';
import { parsePrefixCsv, prefixProblem } from '../../shared/onboarding/prefixes.js';
import { carrierRegistrationSchema } from '../../shared/onboarding/sbc-site.js';
import { prefixesOverlap, prefixOverlapsRange } from '../../shared/onboarding/shared-resources.js';

describe('number prefixes', () => {
  it.each(['+4455896552', '+44587996[01-20]', '5755', '+41589061[000-999]'])('accepts %s', (prefix) => {
    expect(prefixProblem(prefix)).toBeNull();
  });

  it.each([
    ['+44587996x', 'do not use any notations'],
    ['+1NXXNXXXXXX', 'do not use any notations'],
    ['+44#1', 'do not use any notations'],
    ['+44 587', 'is not a prefix'],
    ['+44587996[1-20]', 'same number of digits'],
    ['+44587996[20-01]', 'from low to high'],
    ['++44', 'is not a prefix'],
    ['', 'is not a prefix'],
  ])('rejects %s', (prefix, message) => {
    expect(prefixProblem(prefix)).toContain(message);
  });

  it('reads a CSV with its header, and reports every bad line by number', () => {
    const good = parsePrefixCsv(
      'dialPlanName,prefix,tag\r\nCustDialPlan,+9723976400,\nCustDialPlan,+44587996[01-20],Contoso\n\n',
    );
    expect(good.problems).toEqual([]);
    expect(good.prefixes).toEqual([
      { dialPlanName: 'CustDialPlan', prefix: '+9723976400', tag: '' },
      { dialPlanName: 'CustDialPlan', prefix: '+44587996[01-20]', tag: 'Contoso' },
    ]);
    const bad = parsePrefixCsv(
      'dialPlanName,prefix,tag\nCustDialPlan,+1x,\nCustDialPlan\nCustDialPlan,+1,\n',
    );
    expect(bad.problems.map((p) => p.line)).toEqual([2, 3]);
    expect(parsePrefixCsv('+1,+2').problems[0]).toMatchObject({ line: 1 });
  });

  it('keeps one of the same rule given twice', () => {
    const { prefixes } = parsePrefixCsv('dialPlanName,prefix,tag\nA,+1,\na,+1,\nA,+2,\n');
    expect(prefixes).toHaveLength(2);
  });
});

describe('prefixes of two customers on one SBC', () => {
  it.each([
    ['+4420', '+442079', true],
    ['+442079', '+4420', true],
    ['+44587996[01-20]', '+4458799615', true],
    ['+44587996[01-20]', '+4458799621', false],
    ['+44587996[01-20]', '+44587996[20-30]', true],
    ['+44587996[01-20]', '+445879962', true],
    ['+44587996[01-20]', '+445879963', false],
    ['+44587996[01-20]', '+445879960', true],
    ['+4420', '4420', false],
    ['+4420', '+4421', false],
  ])('%s and %s overlap: %s', (a, b, overlap) => {
    expect(prefixesOverlap(a, b)).toBe(overlap);
  });

  it.each([
    ['+4420794600', true],
    ['+4420794600[50-59]', true],
    ['+44207946000[50-59]', false],
    ['+442079460100', false],
    ['+4420794601000', false],
    ['+44', true],
    ['+4430', false],
  ])('%s matches a number of 442079460000–442079460099: %s', (prefix, overlap) => {
    expect(prefixOverlapsRange(prefix, { start: '442079460000', end: '442079460099' })).toBe(overlap);
  });
});

describe('Carrier Registration', () => {
  const valid = {
    username: 'trunk',
    password: 'Secret-1',
    mainLine: '+3222000000',
    hostName: 'sip.carrier.example',
  };
  it('takes the manual limits: Username up to 60, Password up to 50 with no wide characters', () => {
    expect(carrierRegistrationSchema.safeParse(valid).success).toBe(true);
    expect(carrierRegistrationSchema.safeParse({ ...valid, username: 'u'.repeat(61) }).success).toBe(false);
    expect(carrierRegistrationSchema.safeParse({ ...valid, password: 'p'.repeat(51) }).success).toBe(false);
    const wide = carrierRegistrationSchema.safeParse({ ...valid, password: 'pässwörd' });
    expect(wide.success).toBe(false);
    expect(wide.error?.issues[0]?.message).toBe(
      'Password: the password cannot be configured with wide characters.',
    );
  });
});
