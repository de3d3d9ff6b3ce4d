import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_TEMPLATES } from '../../shared/templates/builtin-templates.js';
import { createScriptTemplateService } from '../../shared/templates/script-template-service.js';
import { createScriptTemplateStore } from '../../shared/templates/script-template-store.js';
import type { TableRow } from '../../shared/storage/versioned-table.js';
import { apiClient } from '../support/api-client.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';

let stack: MemoryStack;
let call: ReturnType<typeof apiClient>;

beforeAll(async () => {
  stack = await startMemoryStack();
  call = apiClient(stack.api, () => stack.token());
});
afterAll(() => stack?.close());

const BASE = '/api/v1/script-templates';
type View = Record<string, unknown> & { id: string; version: number; pairedTemplateId: string | null };
const body = (response: { body: unknown }) => response.body as View;

async function rows(tableName: string): Promise<Array<{ rowKey: string }>> {
  const found: Array<{ rowKey: string }> = [];
  for await (const row of stack.tables.table<TableRow>(tableName).list()) {
    found.push(row.value);
  }
  return found;
}

describe('built-ins', () => {
  it('are seeded once on first use, even by two concurrent first reads', async () => {
    const [a, b] = await Promise.all([call('GET', BASE), call('GET', BASE)]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    const templates = (a.body as { value: View[] }).value;
    expect(templates.map((t) => t.id).sort()).toEqual(BUILT_IN_TEMPLATES.map((t) => t.id).sort());
    expect(templates.every((t) => t.builtIn === true && t.version === 1)).toBe(true);
    const stored = await rows('scripttemplates');
    expect(stored.filter((r) => r.rowKey.startsWith('V|'))).toHaveLength(BUILT_IN_TEMPLATES.length);
  });

  it('are seeded once when two processes race on an empty table', async () => {
    const table = 'scripttemplatesrace';
    const services = [1, 2, 3].map(() =>
      createScriptTemplateService({
        store: createScriptTemplateStore(stack.tables, table),
      }),
    );
    const lists = await Promise.all(services.map((s) => s.list()));
    for (const list of lists) expect(list).toHaveLength(BUILT_IN_TEMPLATES.length);
    const stored = await rows(table);
    expect(stored.filter((r) => r.rowKey.startsWith('T|'))).toHaveLength(BUILT_IN_TEMPLATES.length);
    expect(stored.filter((r) => r.rowKey.startsWith('V|'))).toHaveLength(BUILT_IN_TEMPLATES.length);
  });

  it('carry the manual pairing, defaults and Customer Variables; the LBR variants are not the default', async () => {
    const byId = new Map(((await call('GET', BASE)).body as { value: View[] }).value.map((t) => [t.id, t]));
    expect(byId.get('sbc-scenario7')).toMatchObject({
      type: 'sbc-onboarding',
      pairedTemplateId: 'sbc-scenario7cleanup',
      isDefault: true,
    });
    expect(byId.get('sbc-scenario7cleanup')).toMatchObject({ name: 'sbc-scenario7Cleanup', isDefault: true });
    expect(byId.get('sbc-add-prefix')).toMatchObject({
      type: 'background',
      pairedTemplateId: 'sbc-remove-prefix',
    });
    expect(byId.get('m365-default-onboarding')).toMatchObject({
      isDefault: true,
      pairedTemplateId: 'm365-default-cleanup',
    });
    expect(byId.get('m365-lbr-onboarding')).toMatchObject({ isDefault: false, type: 'm365-onboarding' });
    expect(byId.get('m365-lbr-custom-networks-onboarding')).toMatchObject({
      isDefault: false,
      hasCustomArguments: true,
    });
    const m365 = (await call('GET', `${BASE}?family=m365`)).body as { value: View[] };
    expect(m365.value.map((t) => t.id).sort()).toEqual([
      'm365-default-cleanup',
      'm365-default-onboarding',
      'm365-lbr-custom-networks-onboarding',
      'm365-lbr-onboarding',
    ]);
    const cleanups = (await call('GET', `${BASE}?type=${encodeURIComponent('sbc-cleanup')}`)).body as {
      value: View[];
    };
    expect(cleanups.value.map((t) => t.id)).toEqual(['sbc-scenario7cleanup']);
    expect((await call('GET', `${BASE}?type=Nope`)).status).toBe(400);
  });

  it('cannot be deleted, are editable, and reset to the shipped text as a new version', async () => {
    const original = await call('GET', `${BASE}/sbc-scenario7Cleanup`);
    expect(original.status).toBe(200);
    expect(body(original).id).toBe('sbc-scenario7cleanup');
    const shippedBody = body(original).body as string;

    const refused = await call('DELETE', `${BASE}/sbc-scenario7cleanup`);
    expect(refused.status).toBe(409);
    expect(refused.problem.code).toBe('builtin_not_deletable');

    const edited = await call('PUT', `${BASE}/sbc-scenario7cleanup`, {
      json: { name: 'sbc-scenario7Cleanup', type: 'sbc-cleanup', body: `# ours\n${shippedBody}` },
      headers: { 'if-match': original.headers.get('etag')! },
    });
    expect(edited.status).toBe(200);
    expect(body(edited)).toMatchObject({ version: 2, customized: true, pairedTemplateId: 'sbc-scenario7' });

    const typeChange = await call('PUT', `${BASE}/sbc-scenario7cleanup`, {
      json: { name: 'x', type: 'sbc-onboarding', body: shippedBody },
    });
    expect(typeChange.problem.code).toBe('builtin_type_fixed');

    const reset = await call('POST', `${BASE}/sbc-scenario7cleanup/reset`);
    expect(reset.status).toBe(200);
    expect(body(reset)).toMatchObject({ version: 3, customized: false, body: shippedBody });
    const versions = (await call('GET', `${BASE}/sbc-scenario7cleanup/versions`)).body as {
      value: Array<{ version: number; change: string }>;
    };
    expect(versions.value.map((v) => [v.version, v.change])).toEqual([
      [3, 'reset'],
      [2, 'updated'],
      [1, 'created'],
    ]);
    const v2 = await call('GET', `${BASE}/sbc-scenario7cleanup/versions/2`);
    expect(body(v2).body).toBe(`# ours\n${shippedBody}`);
  });
});

const CUSTOM_BODY = `configure voip
ip-group new
 name "{{CustomerId}}-c"
 local-host-name "{{CustomVar.localhostname}}"
 activate
exit
do write
`;

describe('custom templates', () => {
  it('are created, read, saved with If-Match as new versions, and deleted with their history', async () => {
    const created = await call('POST', BASE, {
      json: {
        id: 'customscript',
        name: 'customscript',
        type: 'sbc-onboarding',
        body: CUSTOM_BODY,
        variables: [{ name: 'localhostname', label: 'Local host name', required: true }],
      },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`${BASE}/customscript`);
    expect(body(created)).toMatchObject({
      version: 1,
      builtIn: false,
      isDefault: false,
      pairedTemplateId: null,
    });
    expect(body(created).variables).toEqual([
      { name: 'localhostname', label: 'Local host name', default: null, required: true },
    ]);
    const etag = created.headers.get('etag')!;

    const duplicate = await call('POST', BASE, {
      json: { id: 'customscript', name: 'again', type: 'sbc-onboarding', body: 'configure voip' },
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.problem.code).toBe('template_exists');

    const saved = await call('PUT', `${BASE}/customscript`, {
      json: { name: 'customscript', type: 'sbc-onboarding', body: CUSTOM_BODY.replace('-c', '-t') },
      headers: { 'if-match': etag },
    });
    expect(saved.status).toBe(200);
    expect(body(saved)).toMatchObject({ version: 2 });
    expect(body(saved).variables).toHaveLength(1);

    const stale = await call('PUT', `${BASE}/customscript`, {
      json: { name: 'customscript', type: 'sbc-onboarding', body: CUSTOM_BODY },
      headers: { 'if-match': etag },
    });
    expect(stale.status).toBe(412);
    expect(stale.problem.code).toBe('precondition_failed');

    const v1 = await call('GET', `${BASE}/customscript/versions/1`);
    expect(body(v1)).toMatchObject({ version: 1, change: 'created', body: CUSTOM_BODY });
    expect((await call('GET', `${BASE}/customscript/versions/9`)).status).toBe(404);

    const preview = await call('POST', `${BASE}/customscript/preview`, {
      json: { context: { CustomerId: 'Fidinam' }, customVariables: { localhostname: 'fidinam.example.com' } },
    });
    expect(preview.status).toBe(200);
    expect((preview.body as { text: string }).text).toContain(
      ' name "Fidinam-t"\n local-host-name "fidinam.example.com"',
    );
    const missing = await call('POST', `${BASE}/customscript/preview`, { json: {} });
    expect(missing.status).toBe(400);
    expect(missing.problem.errors?.[0]).toMatchObject({
      field: 'customVariables.localhostname',
      code: 'required',
    });

    const deleted = await call('DELETE', `${BASE}/customscript`, {
      headers: { 'if-match': saved.headers.get('etag')! },
    });
    expect(deleted.status).toBe(204);
    expect((await call('GET', `${BASE}/customscript`)).status).toBe(404);
    expect((await rows('scripttemplates')).some((r) => r.rowKey.includes('customscript'))).toBe(false);
  });

  it('are refused with template_invalid, line and column, and nothing is stored', async () => {
    const response = await call('POST', BASE, {
      json: {
        id: 'broken',
        name: 'broken',
        type: 'sbc-onboarding',
        body: 'configure voip\n tags "Trunk={{SBC.OfflinePstnGateway}}"\n local-host-name "{SBC.SbcSiteName}"\n{{lookup SBC "x"}}\n tag "{{SysAdmin.O365OnlinePSTNGateway}}"',
      },
    });
    expect(response.status).toBe(400);
    expect(response.contentType).toBe('application/problem+json');
    expect(response.problem.code).toBe('template_invalid');
    expect(response.problem.errors).toEqual([
      expect.objectContaining({ field: 'body', code: 'unknown_variable', line: 2, column: 16 }),
      expect.objectContaining({ field: 'body', code: 'stray_brace', line: 3, column: 19 }),
      expect.objectContaining({ field: 'body', code: 'helper_not_allowed', line: 4 }),
      expect.objectContaining({ field: 'body', code: 'retired_variable', line: 5 }),
    ]);
    expect((await call('GET', `${BASE}/broken`)).status).toBe(404);

    const syntax = await call('POST', BASE, {
      json: { id: 'broken', name: 'b', type: 'sbc-onboarding', body: 'a\n{{#if SBC.EnableCAC}}\nb' },
    });
    expect(syntax.problem.errors?.[0]).toMatchObject({ code: 'handlebars_syntax', line: 3 });

    const m365 = await call('POST', BASE, {
      json: {
        id: 'broken',
        name: 'b',
        type: 'm365-onboarding',
        body: 'Set-CsOnlinePstnUsage -Identity Global -Usage @{Add="Unrestricted"}\nGet-CsOnlineVoiceRoute | Where-Object {$_.Identity -eq "Unrestricted"}',
      },
    });
    expect(m365.problem.code).toBe('template_invalid');
    expect(m365.problem.errors?.[0]).toMatchObject({ code: 'command_invalid' });
    expect(m365.problem.errors?.[0]?.message).toContain('line 2');
  });

  it('keep a body of nearly 64 KB across Table property limits', async () => {
    const big = `configure voip\n# ${'é'.repeat(29_982)}😀${'ü'.repeat(2_000)}\ndo write\n`;
    const created = await call('POST', BASE, {
      json: { id: 'big', name: 'big', type: 'background', body: big },
    });
    expect(created.status).toBe(201);
    expect(body(await call('GET', `${BASE}/big`)).body).toBe(big);
    expect(body(await call('GET', `${BASE}/big/versions/1`)).body).toBe(big);
  });

  it('validate every field with zod', async () => {
    const response = await call('POST', BASE, {
      json: {
        id: 'Bad Id',
        name: '',
        type: 'SBC',
        body: 'x'.repeat(64 * 1024 + 1),
        variables: [{ name: '1abc' }, { name: 'ok' }, { name: 'OK' }],
      },
    });
    expect(response.status).toBe(400);
    expect(response.problem.code).toBe('validation_failed');
    const fields = response.problem.errors?.map((e) => `${e.field}:${e.code}`) ?? [];
    expect(fields).toEqual(
      expect.arrayContaining([
        'id:invalid_format',
        'name:too_short',
        'type:not_allowed',
        'body:too_long',
        'variables.0.name:invalid_format',
        'variables.2.name:duplicate',
      ]),
    );
    const unknownField = await call('POST', BASE, {
      json: { id: 'x1', name: 'x', type: 'background', body: 'configure voip', script: 'x' },
    });
    expect(unknownField.problem.errors?.[0]).toMatchObject({ field: 'script', code: 'unknown_field' });
  });

  it('are for provider admins only', async () => {
    expect((await call('GET', BASE, { token: null })).status).toBe(401);
    const other = await stack.token({ roles: ['customer-admin'] });
    expect((await call('GET', BASE, { token: other })).status).toBe(403);
  });
});

describe('pairing', () => {
  const create = (id: string, type: string, extra: Record<string, unknown> = {}) =>
    call('POST', BASE, {
      json: { id, name: id, type, body: type.startsWith('m365') ? '# nothing' : 'configure voip', ...extra },
    });

  it('is mutual, type-consistent, exclusive, and released on unpair and delete', async () => {
    expect((await create('ippbx-cleanup', 'sbc-cleanup')).status).toBe(201);
    const onboarding = await create('ippbx', 'sbc-onboarding', { pairedTemplateId: 'ippbx-cleanup' });
    expect(onboarding.status).toBe(201);
    expect(body(onboarding).pairedTemplateId).toBe('ippbx-cleanup');
    expect(body(await call('GET', `${BASE}/ippbx-cleanup`)).pairedTemplateId).toBe('ippbx');

    const wrongType = await create('m365-custom', 'm365-onboarding', { pairedTemplateId: 'ippbx-cleanup' });
    expect(wrongType.status).toBe(400);
    expect(wrongType.problem.errors?.[0]).toMatchObject({
      field: 'pairedTemplateId',
      code: 'pairing_type_mismatch',
    });
    const unknown = await create('sip-basic', 'sbc-onboarding', { pairedTemplateId: 'nope' });
    expect(unknown.problem.errors?.[0]).toMatchObject({ field: 'pairedTemplateId', code: 'not_found' });

    const taken = await create('sip-basic', 'sbc-onboarding', { pairedTemplateId: 'ippbx-cleanup' });
    expect(taken.status).toBe(409);
    expect(taken.problem.code).toBe('pairing_conflict');
    expect((await call('GET', `${BASE}/sip-basic`)).status).toBe(404);

    const unpaired = await call('PUT', `${BASE}/ippbx`, {
      json: { name: 'ippbx', type: 'sbc-onboarding', body: 'configure voip', pairedTemplateId: null },
    });
    expect(body(unpaired).pairedTemplateId).toBeNull();
    expect(body(await call('GET', `${BASE}/ippbx-cleanup`)).pairedTemplateId).toBeNull();

    // Pairing from the cleanup side points the onboarding back too.
    const fromCleanup = await call('PUT', `${BASE}/ippbx-cleanup`, {
      json: { name: 'ippbx-cleanup', type: 'sbc-cleanup', body: 'configure voip', pairedTemplateId: 'ippbx' },
    });
    expect(fromCleanup.status).toBe(200);
    expect(body(await call('GET', `${BASE}/ippbx`)).pairedTemplateId).toBe('ippbx-cleanup');

    expect((await call('DELETE', `${BASE}/ippbx`)).status).toBe(204);
    expect(body(await call('GET', `${BASE}/ippbx-cleanup`)).pairedTemplateId).toBeNull();
  });

  it('makes at most one default per type', async () => {
    const created = await create('m365-own', 'm365-cleanup', { isDefault: true });
    expect(body(created).isDefault).toBe(true);
    expect(body(await call('GET', `${BASE}/m365-default-cleanup`)).isDefault).toBe(false);
    const background = await create('bg-default', 'background', { isDefault: true });
    expect(background.problem.errors?.[0]).toMatchObject({ field: 'isDefault', code: 'not_allowed' });
    await call('PUT', `${BASE}/m365-default-cleanup`, {
      json: {
        name: 'Default M365 Cleanup',
        type: 'm365-cleanup',
        body: body(await call('GET', `${BASE}/m365-default-cleanup`)).body,
        isDefault: true,
      },
    });
    expect(body(await call('GET', `${BASE}/m365-own`)).isDefault).toBe(false);
  });
});

describe('preview', () => {
  it('renders sbc-scenario7 to the CLI for a sample customer', async () => {
    const response = await call('POST', `${BASE}/sbc-scenario7/preview`, {
      json: {
        context: {
          CustomerId: 'Brad',
          SBC: {
            CarrierID: 'SIPTrunk',
            OnlinePstnGateway: 'brad.customers.example.com',
            EnableCAC: true,
            CacProfile: '10 sessions',
            FlagCarrierRegistration: false,
            DialPlanPrefixes: [
              {
                DialPlanName: 'CustDialPlan',
                Rules: [{ Name: 'Brad', Prefix: '+41589061[000-999]', Tag: 'brad.customers.example.com' }],
              },
            ],
          },
        },
      },
    });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      templateId: 'sbc-scenario7',
      type: 'sbc-onboarding',
      text: `configure voip
ip-group new
 name "Brad-c"
 proxy-set-name "SIPTrunk"
 ip-profile-name "SIPTrunk"
 tags "Trunk=brad.customers.example.com"
 classify-by-proxy-set disable
 call-setup-rules-set-id 1
 activate
exit
ip-group new
 name "Brad-t"
 proxy-set-name "Teams"
 ip-profile-name "Teams"
 local-host-name "brad.customers.example.com"
 always-use-source-addr enable
 tags "Tenant=brad.customers.example.com"
 classify-by-proxy-set disable
 call-setup-rules-set-id 0
 cac-profile "10 sessions"
 activate
exit
sbc dial-plan where name "CustDialPlan"
 dial-plan-rule new
  name "Brad"
  prefix "+41589061[000-999]"
  tag "brad.customers.example.com"
 exit
 activate
exit
do write
`,
    });
  });

  it('renders the Default M365 script and its cleanup to Teams commands with their PowerShell lines', async () => {
    const context = { SBC: { OnlinePstnGateway: 'brad.customers.example.com' } };
    const onboarding = await call('POST', `${BASE}/m365-default-onboarding/preview`, { json: { context } });
    expect(onboarding.status).toBe(200);
    const commands = (onboarding.body as { commands: Array<Record<string, unknown>> }).commands;
    expect(commands.map((c) => [c.cmdlet, c.params])).toEqual([
      ['Set-CsOnlinePstnUsage', { Identity: 'Global', Usage: { add: ['Unrestricted'] } }],
      [
        'New-CsOnlineVoiceRoute',
        {
          Identity: 'Unrestricted',
          NumberPattern: '.*',
          OnlinePstnGatewayList: { add: ['brad.customers.example.com'] },
          Priority: 1,
          OnlinePstnUsages: { add: ['Unrestricted'] },
        },
      ],
      ['New-CsOnlineVoiceRoutingPolicy', { Identity: 'Unrestricted', OnlinePstnUsages: 'Unrestricted' }],
    ]);
    expect(commands[1]?.powerShell).toContain("-OnlinePstnGatewayList @{Add='brad.customers.example.com'}");

    const cleanup = await call('POST', `${BASE}/m365-default-cleanup/preview`, { json: { context } });
    expect(
      (cleanup.body as { commands: Array<Record<string, unknown>> }).commands.map((c) => [
        c.cmdlet,
        c.params,
      ]),
    ).toEqual([
      [
        'Set-CsOnlineVoiceRoute',
        { Identity: 'Unrestricted', OnlinePstnGatewayList: { remove: ['brad.customers.example.com'] } },
      ],
      ['Remove-CsOnlineVoiceRoute', { Identity: 'Unrestricted' }],
    ]);
  });

  it('refuses a value that would break out of the command, and unknown context fields', async () => {
    const unsafe = await call('POST', `${BASE}/sbc-scenario7/preview`, {
      json: { context: { CustomerId: 'x"\ndo write' } },
    });
    expect(unsafe.status).toBe(400);
    expect(unsafe.problem.errors?.[0]).toMatchObject({ field: 'context.CustomerId', code: 'unsafe_value' });
    const unknown = await call('POST', `${BASE}/sbc-scenario7/preview`, { json: { context: { Nope: 1 } } });
    expect(unknown.status).toBe(400);
    expect((await call('POST', `${BASE}/nope/preview`, { json: {} })).status).toBe(404);
  });
});
