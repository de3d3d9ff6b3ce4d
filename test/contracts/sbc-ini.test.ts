import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SBC } from '../../dev/sandbox/sbc-state.js';
import { parseIniTables } from '../../shared/sbc/sbc-config.js';
import { type SandboxFixture, startFixture } from '../sandbox/fixtures.js';
import { readSpecText } from './specs.js';

/**
 * The sandbox SBC's configuration file (`GET /api/v1/files/ini`) uses a real 7.40A ini's table and column names:
 * every table it writes that the pinned backup has, with columns that backup's FORMAT line lists (facts in
 * dev/contracts/specs/audiocodes/README.md; the backup itself has no licence and is not copied).
 */

/** FORMAT columns by table, from the facts file's verbatim FORMAT lines. */
const REAL_FORMATS = new Map(
  [...readSpecText('audiocodes/README.md').matchAll(/^- `(\w+)`: `FORMAT Index = ([^;`]+);`$/gm)].map(
    ([, table = '', columns = '']) => [table, columns.split(', ')] as const,
  ),
);

/** Tables the sandbox writes that the pinned backup does not hold, and why they are allowed. */
export const TABLE_EXCEPTIONS: Readonly<Record<string, string>> = {
  CallAdmissionControlProfile:
    'a 7.40A table (Call Admission Control) that the pinned backup’s device had no rows of, so its FORMAT is not pinned',
  CallAdmissionControlRule: 'as CallAdmissionControlProfile',
  Account:
    'a 7.40A table (SIP accounts) that the pinned backup’s device had no rows of, so its FORMAT is not pinned',
};

function problems(ini: string): string[] {
  return [...parseIniTables(ini)].flatMap(([table, { columns }]) => {
    const real = REAL_FORMATS.get(table);
    if (!real) return table in TABLE_EXCEPTIONS ? [] : [`table ${table} is not in a real 7.40A ini`];
    return columns
      .filter((c) => !real.includes(c))
      .map((c) => `${table}.${c} is not a column of a real 7.40A ini`);
  });
}

describe('the sandbox SBC ini uses real 7.40A table and column names', () => {
  let f: SandboxFixture;

  beforeAll(async () => {
    f = await startFixture();
  });
  afterAll(() => f.close());

  it('for every table of the demo SBC’s configuration', async () => {
    const eu1 = DEMO_SBC.devices.eu1;
    const response = await f.transport.fetch(`${f.sandbox.url}/sbc/${eu1.name}/api/v1/files/ini`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${eu1.username}:${eu1.password}`).toString('base64')}`,
      },
    });
    expect(response.status).toBe(200);
    const ini = await response.text();
    expect(REAL_FORMATS.size).toBeGreaterThan(30);
    expect(problems(ini)).toEqual([]);
    expect(ini).toContain('[ IPGroup ]');
  });

  it('fails a column a real ini does not have (broken on purpose: the IP Profile as IPProfileName)', () => {
    const ini = [
      '[ IPGroup ]',
      'FORMAT Index = Type, Name, IPProfileName;',
      'IPGroup 0 = 0, "a", "b";',
      '[ \\IPGroup ]',
    ];
    expect(problems(ini.join('\r\n'))).toEqual(['IPGroup.IPProfileName is not a column of a real 7.40A ini']);
  });
});
