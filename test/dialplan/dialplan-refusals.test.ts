import { describe, expect, it } from 'vitest';
import {
  ADD_PREFIX_TEMPLATE,
  type DialPlanScript,
  describeRefusal,
  REMOVE_PREFIX_TEMPLATE,
  refusedRules,
} from '../../shared/dialplan/dialplan-sync.js';
import { refusedCommands } from '../../shared/sbc/sbc-client.js';

const rule = (prefix: string, index = 0) => ({
  dialPlan: 'CustDialPlan',
  name: 'Acme',
  prefix,
  tag: 'acme.example.com',
  index,
});

const script = (templateId: string, parts: Partial<DialPlanScript>): DialPlanScript => ({
  description: '',
  templateId,
  script: '',
  dialPlan: 'CustDialPlan',
  toAdd: [],
  toRemove: [],
  ...parts,
});

const answer = (output: string) => ({ description: '', output, refused: refusedCommands(output) });

describe("reading which dial-plan rules an SBC refused from its CLI session's output", () => {
  it('names the added rule whose commands the error follows, once, and not its neighbours', () => {
    const output = [
      'sbc(config-voip)# sbc dial-plan where name "CustDialPlan"',
      'sbc(dial-plan)# dial-plan-rule new',
      'sbc(dial-plan-rule)# prefix "+100"',
      'sbc(dial-plan-rule)# exit',
      'sbc(dial-plan)# dial-plan-rule new',
      'sbc(dial-plan-rule)# prefix "+200"',
      'sbc(dial-plan-rule)# exit',
      'Error: The Dial Plan Rule table is full (5 rules).',
      'sbc(dial-plan)# activate',
    ].join('\n');
    const refused = refusedRules(
      script(ADD_PREFIX_TEMPLATE, { toAdd: [rule('+100'), rule('+200')] }),
      answer(output),
    );
    expect(refused.map(describeRefusal)).toEqual([
      'add +200 of Acme → acme.example.com to CustDialPlan: The Dial Plan Rule table is full (5 rules).',
    ]);
  });

  it('names a refused removal by the row it addressed, and an error of no rule by its command', () => {
    const output = [
      'sbc(dial-plan)# no dial-plan-rule "7"',
      'Error: Row 7 is in use.',
      'sbc(dial-plan)# no dial-plan-rule "9"',
      'sbc(dial-plan)# activate',
      'Error: Activation failed.',
    ].join('\n');
    const refused = refusedRules(
      script(REMOVE_PREFIX_TEMPLATE, { toRemove: [rule('+700', 7), rule('+900', 9)] }),
      answer(output),
    );
    expect(refused.map(describeRefusal)).toEqual([
      'remove +700 of Acme from CustDialPlan: Row 7 is in use.',
      'activate in CustDialPlan: Activation failed.',
    ]);
  });

  it('finds nothing refused in the output of a script applied whole', () => {
    const output = 'sbc(dial-plan)# dial-plan-rule new\nsbc(dial-plan-rule)# exit';
    expect(refusedRules(script(ADD_PREFIX_TEMPLATE, { toAdd: [rule('+100')] }), answer(output))).toEqual([]);
  });
});
