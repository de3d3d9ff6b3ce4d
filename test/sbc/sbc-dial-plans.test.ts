import { describe, expect, it } from 'vitest';
import { parseCliDialPlans, parseDialPlanFile } from '../../shared/sbc/sbc-dial-plans.js';

describe('the dial-plan rules of an SBC', () => {
  it('reads the dial plan file: quoted fields, a BOM and blank lines as a device or a spreadsheet writes them', () => {
    const csv =
      '\uFEFFDialPlanName,Name,Prefix,Tag\r\n"CustDialPlan","acme","+3220000#","acme.example"\r\n\r\nOC,"a,b",+1,\r\n';
    expect(parseDialPlanFile(csv)).toEqual([
      { dialPlan: 'CustDialPlan', name: 'acme', prefix: '+3220000#', tag: 'acme.example' },
      { dialPlan: 'OC', name: 'a,b', prefix: '+1', tag: '' },
    ]);
  });

  it('refuses a dial plan file that is not one, naming what is wrong', () => {
    expect(() => parseDialPlanFile('Name,Prefix\r\nx,y\r\n')).toThrow(/starts with 'Name,Prefix'/);
    expect(() => parseDialPlanFile('DialPlanName,Name,Prefix,Tag\r\nCust,acme,,t\r\n')).toThrow(/Line 2/);
  });

  it('reads the CLI script by its indentation: rules with their row indexes, other tables ignored', () => {
    const script = [
      'configure voip',
      ' ip-group 0',
      '  name "not-a-plan"',
      ' exit',
      ' sbc dial-plan 3',
      '  name "CustDialPlan"',
      '  activate',
      '  dial-plan-rule 7',
      '   name "acme"',
      '   prefix "\\\\+1\\.x"',
      '   tag "a \\"b\\""',
      '   activate',
      '  exit',
      '  dial-plan-rule 2',
      '   prefix "+2"',
      '  exit',
      ' exit',
      ' sbc dial-plan 4',
      '  name "Empty"',
      ' exit',
      'exit',
    ].join('\r\n');
    expect(parseCliDialPlans(script)).toEqual({
      plans: ['CustDialPlan', 'Empty'],
      rules: [
        { dialPlan: 'CustDialPlan', index: 7, name: 'acme', prefix: '\\+1\\.x', tag: 'a "b"' },
        { dialPlan: 'CustDialPlan', index: 2, name: '', prefix: '+2', tag: '' },
      ],
    });
    expect(() => parseCliDialPlans('configure voip\n sbc dial-plan 0\n  activate\n exit')).toThrow(
      /without a name/,
    );
  });
});
