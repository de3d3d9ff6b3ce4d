import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../consent/consent-fixture.js';
import { type ApiResponse, apiClient } from '../support/api-client.js';
import { type FakeUserChanges, fakeUserChanges } from '../support/fake-user-changes.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';
import { mirrorUser } from '../support/mirror-user.js';
import { customerRange } from '../support/number-range.js';

/**
 * Issue 12 items 1 and 2: Manage Templates (the manual's fields, checked against the tenant's policies and the
 * customer's ranges) and Apply Template, which becomes a user import of what the template changes each user.
 */

let stack: MemoryStack;
let call: ReturnType<typeof apiClient>;
let fake: FakeUserChanges;
let rangeId: string;

const CUSTOMER = 'TplCo';
const ESSENTIALS = 'TplEss';
const TEMPLATES = `/api/v1/customers/${CUSTOMER}/user-templates`;
const idOf = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const upnOf = (i: number) => `user${i}@tplco.example`;

const ok = async (response: Promise<ApiResponse>, status = 200) => {
  const answered = await response;
  expect(answered.status, JSON.stringify(answered.body)).toBe(status);
  return answered;
};

const template = (changes: Record<string, unknown> = {}) => ({
  name: 'London voice',
  enterpriseVoice: 'enable',
  assignNumberFrom: 'number-range',
  numberRangeId: rangeId,
  policies: [
    { policyType: 'voice-routing', value: 'VRP-London' },
    { policyType: 'caller-id', value: '<Automatic>' },
  ],
  ...changes,
});

beforeAll(async () => {
  fake = fakeUserChanges();
  stack = await startMemoryStack({ overrides: { userChangeExecution: fake } });
  fake.mirror = stack.services.mirror;
  const token = await stack.token();
  call = apiClient(stack.api, async () => token);
  for (const [shortName, licenseType, licensedUsers] of [
    [CUSTOMER, 'hosted-pro', 100],
    [ESSENTIALS, 'hosted-essentials', 0],
  ] as const) {
    await ok(
      call('POST', '/api/v1/customers', {
        json: { fullName: `${shortName} Ltd`, shortName, licenseType, licensedUsers },
      }),
      201,
    );
  }
  rangeId = await customerRange(stack, call, {
    customerId: CUSTOMER,
    key: 'tpl',
    ipAddress: '192.0.2.30',
    start: '+442079460000',
    end: '+442079460004',
  });
  // Eight users: user0 has a number already, user1 a caller ID policy; user1–3 have international office phones, user4 a national one,
  // user5 none; user6 and user7 a mobile.
  await stack.services.mirror.putUsers(
    CUSTOMER,
    Array.from({ length: 8 }, (_, i) =>
      mirrorUser({
        id: idOf(i),
        userPrincipalName: upnOf(i),
        ...(i === 0 ? { lineUri: 'tel:+442079469999', enterpriseVoiceEnabled: true } : {}),
        ...(i === 1 ? { policies: { CallingLineIdentity: 'Anonymous' } } : {}),
        businessPhones: i >= 1 && i <= 3 ? [`+44 20 7946 10${i}0`] : i === 4 ? ['020 7946 1040'] : [],
        mobilePhone: i >= 6 ? `+44 (7700) 900 ${100 + i}` : null,
      }),
    ),
    'seed',
  );
  await stack.services.mirror.putVoiceObjects(
    CUSTOMER,
    [{ policyName: 'OnlineVoiceRoutingPolicy', identity: 'Tag:VRP-London', data: {} }],
    [],
    'seed',
  );
}, 60_000);
afterAll(async () => stack?.close());

describe('Manage Templates', () => {
  it("creates a template with the manual's fields, ids 1, 2, 3, and clones it under a new name", async () => {
    const created = await ok(call('POST', TEMPLATES, { json: template() }), 201);
    const body = created.body as { id: number; numberRange: unknown; registrarPool: string };
    expect(body).toMatchObject({
      name: 'London voice',
      registrarPool: 'Office365',
      enterpriseVoice: 'enable',
      clearLineUri: false,
      assignNumberFrom: 'number-range',
      numberRange: { name: 'London DR', start: '+442079460000', end: '+442079460004' },
      useExtensions: false,
      extensionDigits: null,
    });
    expect(created.headers.get('location')).toBe(`${TEMPLATES}/${body.id}`);
    const clone = await ok(
      call('POST', `${TEMPLATES}/${body.id}/clone`, { json: { name: 'Leeds voice' } }),
      201,
    );
    expect((clone.body as { id: number }).id).toBe(body.id + 1);
    expect(clone.body).toMatchObject({ name: 'Leeds voice', policies: template().policies });

    const list = (await ok(call('GET', TEMPLATES))).body as { value: Array<{ id: number; name: string }> };
    expect(list.value.map((t) => t.name)).toEqual(['London voice', 'Leeds voice']);

    // The range names them (the manual's "Used in"), and cannot go while they take numbers from it.
    const range = `/api/v1/customers/${CUSTOMER}/number-ranges/${rangeId}`;
    expect((await ok(call('GET', range))).body).toMatchObject({ usedIn: ['London voice', 'Leeds voice'] });
    const refused = await call('DELETE', range);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'range_used_by_template' });
    expect((refused.body as { detail: string }).detail).toMatch(/"London voice", "Leeds voice"/);
  });

  it("refuses what the manual's dialog cannot mean, and a policy or range the customer does not have", async () => {
    const refused = async (json: Record<string, unknown>, status: number, code: string, field?: string) => {
      const response = await call('POST', TEMPLATES, { json });
      expect(response.status, JSON.stringify(response.body)).toBe(status);
      expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(response.body).toMatchObject({ code });
      if (field) expect(JSON.stringify(response.body)).toContain(field);
    };
    await refused(
      template({ name: 'Home', assignNumberFrom: 'home', numberRangeId: null }),
      400,
      'validation_failed',
      'does not expose',
    );
    await refused(
      template({ name: 'Both', clearLineUri: true }),
      400,
      'validation_failed',
      'exclude each other',
    );
    await refused(
      template({ name: 'No range', numberRangeId: null }),
      400,
      'validation_failed',
      'numberRangeId',
    );
    await refused(
      template({ name: 'Ext', useExtensions: true }),
      400,
      'validation_failed',
      'extensionDigits',
    );
    await refused(
      template({
        name: 'Twice',
        policies: [
          { policyType: 'calling', value: 'A' },
          { policyType: 'calling', value: 'B' },
        ],
      }),
      400,
      'validation_failed',
      'already in the list',
    );
    await refused(
      template({ name: 'Unknown policy', policies: [{ policyType: 'voice-routing', value: 'VRP-Mars' }] }),
      409,
      'user_policy_unknown',
      'VRP-Mars',
    );
    await refused(
      template({ name: 'Unknown range', numberRangeId: 'r-0123456789abcdef' }),
      409,
      'template_range_unknown',
    );
    await refused(template({ name: 'LONDON VOICE' }), 409, 'template_name_taken');
    // A line break of any kind (C1's NEL, U+2028) would split the Teams command a policy value is rendered into.
    await refused(template({ name: 'Next\u0085line' }), 400, 'validation_failed', 'control character');
    await refused(
      template({ name: 'Separator', policies: [{ policyType: 'calling', value: 'Allow\u2028Calling' }] }),
      400,
      'validation_failed',
      'policies',
    );
    const essentials = await call('POST', `/api/v1/customers/${ESSENTIALS}/user-templates`, {
      json: template(),
    });
    expect(essentials.status).toBe(409);
    expect(essentials.body).toMatchObject({ code: 'no_m365_for_essentials' });
  });

  it('saves a change with the ETag it was read at, and refuses a stale one; deletes with it too', async () => {
    const created = await ok(call('POST', TEMPLATES, { json: template({ name: 'Editable' }) }), 201);
    const id = (created.body as { id: number }).id;
    const etag = created.headers.get('etag') ?? '';
    const saved = await ok(
      call('PUT', `${TEMPLATES}/${id}`, {
        json: template({ name: 'Edited', enterpriseVoice: 'do-not-configure' }),
        headers: { 'if-match': etag },
      }),
    );
    expect(saved.body).toMatchObject({ id, name: 'Edited', enterpriseVoice: 'do-not-configure' });
    const stale = await call('PUT', `${TEMPLATES}/${id}`, {
      json: template({ name: 'Again' }),
      headers: { 'if-match': etag },
    });
    expect(stale.status).toBe(412);
    // The old name is free again, the new one taken.
    await ok(call('POST', TEMPLATES, { json: template({ name: 'Editable' }) }), 201);
    expect((await call('POST', TEMPLATES, { json: template({ name: 'edited' }) })).status).toBe(409);
    expect((await call('DELETE', `${TEMPLATES}/${id}`, { headers: { 'if-match': etag } })).status).toBe(412);
    await ok(
      call('DELETE', `${TEMPLATES}/${id}`, { headers: { 'if-match': saved.headers.get('etag') ?? '' } }),
      204,
    );
    expect((await call('GET', `${TEMPLATES}/${id}`)).status).toBe(404);
  });
});

interface DryRun {
  rowsTotal: number;
  rowsToChange: number;
  changes: Array<{
    userPrincipalName: string;
    changes: Array<{ field: string; policyType?: string; value: unknown }>;
  }>;
  errors: Array<{ row: number; column: string | null; code: string; message: string }>;
}

describe('Apply Template', () => {
  const created = async (json: Record<string, unknown>) =>
    ((await ok(call('POST', TEMPLATES, { json }), 201)).body as { id: number }).id;
  const users = (...indexes: number[]) => ({ users: indexes.map((i) => ({ userId: idOf(i) })) });

  it('gives users without a number the next free numbers of the range, one each, and the policies', async () => {
    const id = await created(template({ name: 'Range apply' }));
    const dry = (
      await ok(
        call('POST', `${TEMPLATES}/${id}/apply?dryRun=true`, {
          json: { users: [{ userId: upnOf(0) }, ...users(1, 2, 3, 4, 5, 6).users] },
        }),
      )
    ).body as DryRun;
    const numberOf = (upn: string) =>
      dry.changes.find((c) => c.userPrincipalName === upn)?.changes.find((c) => c.field === 'line-uri')
        ?.value;
    // user0 (named by its UPN) keeps its number; five free numbers for six users: the last one fails, the others
    // go on.
    expect(numberOf(upnOf(0))).toBeUndefined();
    expect([1, 2, 3, 4, 5].map((i) => numberOf(upnOf(i)))).toEqual(
      [0, 1, 2, 3, 4].map((k) => `tel:+44207946000${k}`),
    );
    expect(dry.errors).toEqual([
      expect.objectContaining({ row: 8, column: 'LineUri', code: 'range_exhausted' }),
    ]);
    const first = dry.changes.find((c) => c.userPrincipalName === upnOf(1))?.changes;
    expect(first).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'enterprise-voice', value: true }),
        expect.objectContaining({ field: 'policy', policyType: 'voice-routing', value: 'VRP-London' }),
        // <Automatic> is the policy type's Global default.
        expect.objectContaining({ field: 'policy', policyType: 'caller-id', value: null }),
      ]),
    );
    expect(fake.applied).toHaveLength(0);

    const started = await ok(call('POST', `${TEMPLATES}/${id}/apply`, { json: users(1, 2) }), 202);
    const location = started.headers.get('location') ?? '';
    const done = await waitFor('the template import', async () => {
      const view = (await call('GET', location)).body as { state: string; rowsApplied: number };
      return view.state === 'completed' ? view : undefined;
    });
    expect(done.rowsApplied).toBe(2);
    expect((await stack.services.mirror.getUser(CUSTOMER, idOf(1)))?.lineUri).toBe('tel:+442079460000');
    expect((await stack.services.mirror.getUser(CUSTOMER, idOf(2)))?.lineUri).toBe('tel:+442079460001');
    expect((await stack.services.mirror.getUser(CUSTOMER, idOf(2)))?.policies.OnlineVoiceRoutingPolicy).toBe(
      'VRP-London',
    );

    // The Users list's Template column and filter, and the details, show it; a replication cycle keeps it.
    const byTemplate = async (name = 'RANGE%20APPLY') =>
      (
        (await ok(call('GET', `/api/v1/customers/${CUSTOMER}/users?template=${name}`))).body as {
          value: Array<{ userPrincipalName: string; template: string | null }>;
        }
      ).value;
    expect(await byTemplate()).toEqual([
      expect.objectContaining({ userPrincipalName: upnOf(1), template: 'Range apply' }),
      expect.objectContaining({ userPrincipalName: upnOf(2), template: 'Range apply' }),
    ]);
    const user2 = await stack.services.mirror.getUser(CUSTOMER, idOf(2));
    await stack.services.mirror.putUsers(
      CUSTOMER,
      [{ ...(user2 ?? mirrorUser({ id: '', userPrincipalName: '' })), department: 'Sales' }],
      'cycle',
    );
    expect((await byTemplate()).map((u) => u.userPrincipalName)).toEqual([upnOf(1), upnOf(2)]);
    const details = await ok(call('GET', `/api/v1/customers/${CUSTOMER}/users/${idOf(2)}`));
    expect(details.body).toMatchObject({ template: 'Range apply', location: { department: 'Sales' } });

    // Renamed, the column follows; deleted, its users show none (and count By Template no more).
    const renamed = await ok(call('PUT', `${TEMPLATES}/${id}`, { json: template({ name: 'Range two' }) }));
    expect((await byTemplate('RANGE%20TWO')).map((u) => u.template)).toEqual(['Range two', 'Range two']);
    await ok(
      call('DELETE', `${TEMPLATES}/${id}`, { headers: { 'if-match': renamed.headers.get('etag') ?? '' } }),
      204,
    );
    expect(await byTemplate('Range%20two')).toEqual([]);
    expect((await ok(call('GET', `/api/v1/customers/${CUSTOMER}/users/${idOf(2)}`))).body).toMatchObject({
      template: null,
    });
    expect((await stack.services.mirror.managedUsers(CUSTOMER)).byTemplate).toEqual(new Set());
  });

  it('takes the number from the Entra ID phone, with its extension, and fails a user who has none to take', async () => {
    const id = await created(
      template({
        name: 'Office phone',
        assignNumberFrom: 'phone',
        numberRangeId: null,
        useExtensions: true,
        extensionDigits: 3,
        policies: [],
      }),
    );
    const dry = (
      await ok(
        call('POST', `${TEMPLATES}/${id}/apply?dryRun=true`, {
          json: { users: [{ userId: upnOf(3).toUpperCase() }, ...users(4, 5).users] },
        }),
      )
    ).body as DryRun;
    expect(
      dry.changes.map((c) => [c.userPrincipalName, c.changes.find((x) => x.field === 'line-uri')?.value]),
    ).toEqual([[upnOf(3), 'tel:+442079461030;ext=030']]);
    expect(dry.errors.map((e) => [e.row, e.code])).toEqual([
      [3, 'number_source_empty'],
      [4, 'number_source_empty'],
    ]);
    expect(dry.errors[0]?.message).toMatch(/"020 7946 1040" is not an international number/);
    expect(dry.errors[1]?.message).toMatch(/has no Phone/);
  });

  it('clears the number, or takes it from the mobile or from the file; the result CSV names each failed row', async () => {
    const mobile = await created(
      template({ name: 'Mobile', assignNumberFrom: 'mobile', numberRangeId: null, policies: [] }),
    );
    const dry = (await ok(call('POST', `${TEMPLATES}/${mobile}/apply?dryRun=true`, { json: users(6, 7) })))
      .body as DryRun;
    expect(dry.changes.map((c) => c.changes.find((x) => x.field === 'line-uri')?.value)).toEqual([
      'tel:+447700900106',
      'tel:+447700900107',
    ]);

    const file = await created(
      template({ name: 'File', assignNumberFrom: 'file', numberRangeId: null, policies: [] }),
    );
    const started = await ok(
      call('POST', `${TEMPLATES}/${file}/apply`, {
        json: {
          users: [
            { userId: idOf(6), lineUri: '+442079468888' },
            { userId: idOf(7) },
            { userId: 'nobody@tplco.example' },
          ],
        },
      }),
      202,
    );
    const location = started.headers.get('location') ?? '';
    const done = await waitFor('the file import', async () => {
      const view = (await call('GET', location)).body as {
        state: string;
        result: string;
        rowsApplied: number;
        rowsFailed: number;
      };
      return view.state === 'completed' ? view : undefined;
    });
    expect([done.rowsApplied, done.rowsFailed]).toEqual([1, 2]);
    expect((await stack.services.mirror.getUser(CUSTOMER, idOf(6)))?.lineUri).toBe('tel:+442079468888');
    const csv = parse((await ok(call('GET', done.result))).body as string, { columns: true }) as Array<
      Record<string, string>
    >;
    expect(csv.map((r) => [r.User, r.Error !== ''])).toEqual([
      [upnOf(6), false],
      [upnOf(7), true],
      ['nobody@tplco.example', true],
    ]);

    const clear = await created(
      template({
        name: 'Clear',
        clearLineUri: true,
        assignNumberFrom: null,
        numberRangeId: null,
        enterpriseVoice: 'disable',
        policies: [],
      }),
    );
    const cleared = (await ok(call('POST', `${TEMPLATES}/${clear}/apply?dryRun=true`, { json: users(0) })))
      .body as DryRun;
    expect(cleared.changes[0]?.changes).toEqual([
      expect.objectContaining({ field: 'line-uri', value: null }),
      expect.objectContaining({ field: 'enterprise-voice', value: false }),
    ]);
  });

  it('applies a template file (Sip address, Number), and refuses one that names no user column', async () => {
    const file = await created(
      template({ name: 'From file', assignNumberFrom: 'file', numberRangeId: null, policies: [] }),
    );
    const csv = `Sip address,Number\r\nsip:${upnOf(6)},tel:+442079467777\r\n${upnOf(7)},\r\n`;
    const dry = await ok(
      call('POST', `${TEMPLATES}/${file}/apply-file?dryRun=true`, { body: csv, contentType: 'text/csv' }),
    );
    const plan = dry.body as DryRun;
    expect(plan.changes.map((c) => [c.userPrincipalName, c.changes[0]?.value])).toEqual([
      [upnOf(6), 'tel:+442079467777'],
    ]);
    expect(plan.errors.map((e) => [e.row, e.code])).toEqual([[3, 'number_missing']]);
    const refused = await call('POST', `${TEMPLATES}/${file}/apply-file`, {
      body: 'Name,Number\r\nAda,+442079467777\r\n',
      contentType: 'text/csv',
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: 'csv_header_invalid' });
  });

  it('refuses a body naming no user or one user twice, and an unknown template', async () => {
    expect((await call('POST', `${TEMPLATES}/1/apply`, { json: { users: [] } })).status).toBe(400);
    expect(
      (await call('POST', `${TEMPLATES}/1/apply`, { json: { users: [{ userId: 'a' }, { userId: 'A' }] } }))
        .status,
    ).toBe(400);
    expect((await call('POST', `${TEMPLATES}/999/apply`, { json: users(1) })).status).toBe(404);
    // A path that cannot name a template names nothing.
    expect((await call('GET', `${TEMPLATES}/abc`)).status).toBe(404);
  });
});

describe('Template names', () => {
  it('may hold the characters Table storage refuses in keys, and stay unique', async () => {
    // Found by the fuzz suite: "#" and "?" as a name answered 500.
    const names = ['Sales #1', 'Who?', 'HQ/London', 'A\\B', '100%', '50%23'];
    const ids: number[] = [];
    for (const name of names) {
      const created = await ok(call('POST', TEMPLATES, { json: { name, enterpriseVoice: 'enable' } }), 201);
      expect(created.body).toMatchObject({ name });
      ids.push((created.body as { id: number }).id);
    }
    const taken = await call('POST', TEMPLATES, { json: { name: 'sales #1', enterpriseVoice: 'enable' } });
    expect(taken.status).toBe(409);
    // "%23" is the escape of "#": a name holding it is still its own.
    const clone = await ok(
      call('POST', `${TEMPLATES}/${ids[0]}/clone`, { json: { name: 'Sales %231' } }),
      201,
    );
    ids.push((clone.body as { id: number }).id);
    for (const id of ids) await ok(call('DELETE', `${TEMPLATES}/${id}`), 204);
  });
});
