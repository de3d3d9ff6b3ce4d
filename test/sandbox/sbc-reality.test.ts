import { describe, expect, it } from 'vitest';
import { runCli } from '../../dev/sandbox/sbc-cli.js';
import { DEMO_SBC, SbcDevices, seedDemoSbcs } from '../../dev/sandbox/sbc-state.js';
import { refusedCommands } from '../../shared/sbc/sbc-client.js';

/** A script whose second ip-group names an IP Profile the device lacks, between two lines it accepts. */
const SCRIPT = `configure voip
ip-group new
 name "Acme-c"
 proxy-set-name "Teams"
 activate
exit
ip-group new
 name "Acme-t"
 ip-profile-name "Nowhere"
 proxy-set-name "Teams"
 activate
exit
do write
`;

function device() {
  const devices = new SbcDevices();
  seedDemoSbcs(devices);
  return devices.require(DEMO_SBC.devices.eu1.name);
}

describe('the incremental CLI script on a real device (reality profile)', () => {
  it('applies every line it accepts, skips the refused one and says so in the output', () => {
    const outcome = runCli(device().running, SCRIPT, 'sbc-eu1', { partial: true });
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.refused).toEqual([9]);
    const groups = outcome.config.ipGroups.filter((g) => g.name.startsWith('Acme-'));
    expect(groups.map((g) => [g.name, g.ipProfileName, g.proxySetName])).toEqual([
      ['Acme-c', '', 'Teams'],
      ['Acme-t', '', 'Teams'],
    ]);
    expect(outcome.saved).toBe(true);
    expect(refusedCommands(outcome.output)).toEqual([
      { command: 'ip-profile-name "Nowhere"', error: "IP Profile 'Nowhere' does not exist." },
    ]);
  });

  it('still refuses a script it cannot parse as a whole, and the strict profile refuses any error as a whole', () => {
    expect(
      runCli(device().running, 'configure voip\nfly away\n', 'sbc-eu1', { partial: true }),
    ).toMatchObject({
      ok: false,
      line: 2,
    });
    expect(runCli(device().running, SCRIPT, 'sbc-eu1')).toMatchObject({ ok: false, line: 9 });
  });

  it('reads no refusal in the output of a script applied whole', () => {
    const outcome = runCli(device().running, SCRIPT.replace(' ip-profile-name "Nowhere"\n', ''), 'sbc-eu1', {
      partial: true,
    });
    expect(outcome.ok && refusedCommands(outcome.output)).toEqual([]);
  });
});
