import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../dev/sandbox/demo-data.js';
import { addReplicationApp, createScaleTenant } from '../../dev/sandbox/scale-control.js';
import { type SandboxFixture, startFixture } from './fixtures.js';

const contoso = DEMO.customers.contoso;
const BASE = '/graph/v1.0/admin/teams/telephoneNumberManagement';

describe('sandbox Graph number management', () => {
  let f: SandboxFixture;
  let token: string;

  const call = async (method: string, path: string, body?: unknown, bearer = token) => {
    const response = await f.transport.fetch(`${f.sandbox.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${bearer}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text ? (JSON.parse(text) as unknown) : undefined,
    };
  };
  const assign = (body: Record<string, unknown>, bearer?: string) =>
    call('POST', `${BASE}/numberAssignments/assignNumber`, body, bearer);

  /** A generated tenant with a Direct Routing range, and a bearer token of an app replicating it. */
  async function scaleTenantWithNumbers(displayName: string, users: number, seed: string, appName: string) {
    const scale = createScaleTenant(
      { state: f.sandbox.state, teams: f.sandbox.teams, directories: f.sandbox.directories },
      { displayName, users, seed },
    );
    const tenantId = scale.options.tenantId;
    f.sandbox.teams.voice.setDirectRoutingNumbers(tenantId, [{ from: '+442071000000', to: '+442071009999' }]);
    const app = addReplicationApp(f.sandbox, tenantId, appName);
    const bearer = (
      await f.credential(tenantId, app.appId, app.secretText).getToken('https://graph.microsoft.com/.default')
    ).token;
    return { scale, bearer };
  }

  beforeAll(async () => {
    f = await startFixture();
    const app = contoso.appRegistration;
    token = (
      await f
        .credential(contoso.tenantId, app.clientId, app.clientSecret)
        .getToken('https://graph.microsoft.com/.default')
    ).token;
  });
  afterEach(() => {
    f.sandbox.reset();
    f.sandbox.teams.timings.numberOperationMs = 3_000;
  });
  afterAll(() => f.close());

  it('accepts an assignment with 202, a Location and Retry-After, and its operation runs to the end', async () => {
    f.sandbox.teams.timings.numberOperationMs = 0;
    // The first user by UPN holds E5, Phone System included.
    const user = [...f.sandbox.state.requireTenant(contoso.tenantId).users.values()].sort((a, b) =>
      a.userPrincipalName.localeCompare(b.userPrincipalName),
    )[0];
    // A full replication cycle has read the tenant before (change tracking starts at the first look).
    await call('GET', '/graph/v1.0/admin/teams/userConfigurations?$top=1');
    await new Promise((resolve) => setTimeout(resolve, 5));
    const before = new Date().toISOString();
    const accepted = await assign({
      telephoneNumber: '14255550123',
      assignmentTargetId: user?.id,
      numberType: 'directRouting',
    });
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get('retry-after')).toBe('0');
    const location = new URL(accepted.headers.get('location') ?? '');
    const operation = await call('GET', location.pathname);
    expect(operation).toMatchObject({ status: 200, body: { status: 'succeeded' } });
    // A quick replication cycle asks for what changed since its last run: the user, and only the user.
    const changed = await call(
      'GET',
      `/graph/v1.0/admin/teams/userConfigurations?$filter=${encodeURIComponent(`modifiedDateTime ge ${before}`)}`,
    );
    expect(changed.body).toMatchObject({
      value: [{ id: user?.id, telephoneNumbers: [{ telephoneNumber: '+14255550123' }] }],
    });
  });

  it('refuses at once a malformed request, an unknown target and a token without the permission', async () => {
    const user = [...f.sandbox.state.requireTenant(contoso.tenantId).users.values()][0];
    const valid = {
      telephoneNumber: '+14255550123',
      assignmentTargetId: user?.id,
      numberType: 'directRouting',
    };
    expect(await assign({ ...valid, telephoneNumber: 'tel:+1' })).toMatchObject({
      status: 400,
      body: { error: { code: 'BadRequest' } },
    });
    expect((await assign({ ...valid, numberType: 'sometimes' })).status).toBe(400);
    expect(
      (await assign({ ...valid, assignmentTargetId: '00000000-0000-4000-8000-000000000009' })).status,
    ).toBe(404);
    const other = (
      await f
        .credential(contoso.tenantId, DEMO.tokenApp.clientId, DEMO.tokenApp.clientSecret)
        .getToken('https://graph.microsoft.com/.default')
    ).token;
    expect(await assign(valid, other)).toMatchObject({
      status: 403,
      body: { error: { code: 'Authorization_RequestDenied' } },
    });
    expect((await call('GET', `${BASE}/operations/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
  });
  it("assigns numbers to a scale tenant's voice users, shown in their Teams configuration; others lack Phone System", async () => {
    f.sandbox.teams.timings.numberOperationMs = 0;
    const { scale, bearer } = await scaleTenantWithNumbers('Scale Numbers Ltd', 8, 'numbers', 'Numbers');
    const run = async (userId: string, telephoneNumber: string) => {
      const accepted = await assign(
        { telephoneNumber, assignmentTargetId: userId, numberType: 'directRouting' },
        bearer,
      );
      expect(accepted.status).toBe(202);
      const location = new URL(accepted.headers.get('location') ?? '');
      return (await call('GET', location.pathname, undefined, bearer)).body;
    };
    // Index 0 is a voice user (Phone System); index 3 is not.
    expect(await run(scale.userId(0), '+442071000001')).toMatchObject({ status: 'succeeded' });
    const shown = await call(
      'GET',
      `/graph/v1.0/admin/teams/userConfigurations/${scale.userId(0)}`,
      undefined,
      bearer,
    );
    expect(shown.body).toMatchObject({
      isEnterpriseVoiceEnabled: true,
      telephoneNumbers: [{ telephoneNumber: '+442071000001', assignmentCategory: 'primary' }],
    });
    expect(await run(scale.userId(1), '+442071000001')).toMatchObject({
      status: 'failed',
      numbers: [{ statusDetail: expect.stringContaining('already been assigned') as unknown }],
    });
    expect(await run(scale.userId(3), '+442071000003')).toMatchObject({
      status: 'failed',
      numbers: [{ statusDetail: expect.stringContaining('Phone System') as unknown }],
    });
  });

  it("shows a scale tenant's finished assignment in the user's next read, with no other call in between", async () => {
    // A host that crashed after Teams accepted the assignment reads the user first when it resumes: the operation
    // ended meanwhile, so the number must be there, or the resumed task sends the assignment a second time.
    f.sandbox.teams.timings.numberOperationMs = 20;
    const { scale, bearer } = await scaleTenantWithNumbers('Scale Resume Ltd', 4, 'resume', 'Resume');
    const accepted = await assign(
      { telephoneNumber: '+442071000042', assignmentTargetId: scale.userId(0), numberType: 'directRouting' },
      bearer,
    );
    expect(accepted.status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const read = await call(
      'GET',
      `/graph/v1.0/admin/teams/userConfigurations/${scale.userId(0)}`,
      undefined,
      bearer,
    );
    expect(read.body).toMatchObject({
      telephoneNumbers: [{ telephoneNumber: '+442071000042', assignmentCategory: 'primary' }],
    });
  });
});
