import { describe, expect, it } from 'vitest';
import { runCli } from '../../dev/sandbox/sbc-cli.js';
import { DEMO_SBC, SbcDevices, seedDemoSbcs } from '../../dev/sandbox/sbc-state.js';

function device() {
  const devices = new SbcDevices();
  seedDemoSbcs(devices);
  return devices.require(DEMO_SBC.devices.eu1.name);
}

const rule = (index: number) => ({ index, name: 'acme', prefix: `+1${index}`, tag: 'acme.example' });

const script = (...lines: string[]) =>
  [
    'configure voip',
    'sbc dial-plan where name "CustDialPlan"',
    ...lines,
    ' activate',
    'exit',
    'do write',
  ].join('\n');

const added = (prefix: string) => [' dial-plan-rule new', `  name "acme"`, `  prefix "${prefix}"`, ' exit'];

describe("the sandbox SBC's dial-plan rule rows", () => {
  it('gives a new rule the lowest free row, removes by row and by where, and keeps the table in row order', () => {
    const sbc = device();
    const plan = sbc.running.dialPlans.find((p) => p.name === 'CustDialPlan');
    if (!plan) throw new Error('no CustDialPlan');
    // Put in place behind the CLI's back, out of order and with gaps.
    plan.rules = [rule(5), rule(0), rule(3), rule(1), rule(2)];
    const outcome = runCli(
      sbc.running,
      script(
        ' no dial-plan-rule "1"',
        ' no dial-plan-rule "3"',
        ' no dial-plan-rule "9"',
        ' no dial-plan-rule where prefix "+15"',
        ...added('+20'),
        ...added('+21'),
        ...added('+22'),
        ...added('+23'),
      ),
      sbc.name,
    );
    if (!outcome.ok) throw new Error(outcome.message);
    const rules = outcome.config.dialPlans.find((p) => p.name === 'CustDialPlan')?.rules ?? [];
    expect(rules.map((r) => `${r.index} ${r.prefix}`)).toEqual([
      '0 +10',
      '1 +20',
      '2 +12',
      '3 +21',
      '4 +22',
      '5 +23',
    ]);
    expect(outcome.output).toContain('No matching dial-plan-rule entries.');
    expect(outcome.output).toContain('Removed dial-plan-rule 5 of CustDialPlan.');
    // The transaction worked on a copy: the running configuration it started from is as it was.
    expect(plan.rules.map((r) => r.index)).toEqual([5, 0, 3, 1, 2]);
  });

  it('refuses a rule past the table limit and gives its row to the next rule that fits', () => {
    const sbc = device();
    const held = sbc.running.dialPlans.reduce((n, p) => n + p.rules.length, 0);
    const outcome = runCli(
      sbc.running,
      script(...added('+30'), ...added('+31'), ' no dial-plan-rule where prefix "+30"', ...added('+32')),
      sbc.name,
      { partial: true, maxDialPlanRules: held + 1 },
    );
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.output).toContain(`Error: The Dial Plan Rule table is full (${held + 1} rules).`);
    const rules = outcome.config.dialPlans.find((p) => p.name === 'CustDialPlan')?.rules ?? [];
    const before = sbc.running.dialPlans.find((p) => p.name === 'CustDialPlan')?.rules.length ?? 0;
    expect(rules.map((r) => `${r.index} ${r.prefix}`).slice(before)).toEqual([`${before} +32`]);
  });
});
