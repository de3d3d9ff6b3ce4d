import { describe, expect, it } from 'vitest';
import { DEMO, demoGroupId, seedDemo, seedDemoGroups } from '../../dev/sandbox/demo-data.js';
import { findUser } from '../../dev/sandbox/directory-model.js';
import { Mailbox } from '../../dev/sandbox/mailbox.js';
import { acsEmailService } from '../../dev/sandbox/peers/email-acs.js';
import { type PersistentParts, restoreWorld, snapshotWorld } from '../../dev/sandbox/persistence.js';
import { runCli } from '../../dev/sandbox/sbc-cli.js';
import { DEMO_SBC, SbcDevices, seedDemoSbcs } from '../../dev/sandbox/sbc-state.js';
import { addReplicationApp, createScaleTenant } from '../../dev/sandbox/scale-control.js';
import { SandboxState } from '../../dev/sandbox/state.js';
import { TeamsAdminState } from '../../dev/sandbox/teams-state.js';
import { changeTrackingSnapshotSchema, directorySnapshotSchema } from '../../dev/sandbox/snapshot-schema.js';
import { TenantDirectories } from '../../dev/sandbox/tenant-directory.js';
import { addGroup, addMember, removeMember } from '../../dev/sandbox/tenant-groups.js';

const contoso = DEMO.customers.contoso;
const zone = DEMO.provider.dns.zone;
const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

/** The parts of a sandbox world without a server, as `startSandbox` wires them. */
function world(): PersistentParts & { readonly mailbox: Mailbox } {
  const state = new SandboxState();
  const teams = new TeamsAdminState();
  const directories = new TenantDirectories(teams);
  const sbc = new SbcDevices();
  const mailbox = new Mailbox();
  const acs = acsEmailService({ mailbox });
  return {
    state,
    teams,
    directories,
    sbc,
    mailbox,
    mail: {
      snapshot: () => ({ ...mailbox.snapshot(), acsOperations: acs.snapshot() }),
      restore: (snapshot) => {
        mailbox.restore(snapshot);
        acs.restore(snapshot.acsOperations);
      },
    },
  };
}

/** Through JSON, as the state file does: what survives must survive serialisation, not just a copy. */
function restart(before: PersistentParts): ReturnType<typeof world> {
  const after = world();
  restoreWorld(after, JSON.parse(JSON.stringify(snapshotWorld(before))) as ReturnType<typeof snapshotWorld>);
  return after;
}

/** A demo world with changes in every model, as a run of the product leaves it. */
function changedWorld(): ReturnType<typeof world> {
  const w = world();
  seedDemo(w.state);
  seedDemoSbcs(w.sbc);
  const tenant = w.state.addTenant({ displayName: 'Persisted Ltd', customDomains: ['persisted.example'] });
  w.state.addUser(tenant.id, { userPrincipalName: 'ann@persisted.example', displayName: 'Ann' });
  addGroup(tenant, { displayName: 'Persisted Voice', members: ['ann@persisted.example'] });
  w.state.entra.setCredentials(tenant.id, 'ann@persisted.example', {
    password: 'pw',
    globalAdministrator: true,
  });
  const app = w.state.addApplication({ displayName: 'Customer app', homeTenantId: tenant.id });
  w.state.addSecret(app.appId, { secretText: 'kept-secret' });
  w.state.consent(tenant.id, app.appId, { 'https://graph.microsoft.com': ['User.Read.All'] });
  w.state.entra.grantDelegatedConsent(tenant.id, DEMO.tokenApp.clientId, [
    '00000003-0000-0000-c000-000000000000',
  ]);

  const dnsZone = w.state.dns.requireZone(zone);
  w.state.dns.upsert(dnsZone, 'TXT', 'Cust1', { ttl: 3600, records: [{ value: ['hello'] }] });
  w.state.dns.upsert(dnsZone, 'CNAME', 'sip.cust1', { ttl: 300, records: { cname: 'sip.example.' } });
  w.state.dns.setExternalTxt('external.example', ['MS=ms12345678']);

  const contosoTenant = w.state.requireTenant(contoso.tenantId);
  w.state.directory.addDomain(contosoTenant, 'pending.example');
  w.state.directory.setSku(contoso.tenantId, 'ENTERPRISEPREMIUM', 25);

  w.teams.create(contoso.tenantId, 'OnlinePSTNGateway', {
    Identity: 'gw.example.com',
    SipSignalingPort: 5061,
  });
  w.directories.of(contosoTenant).seq();
  removeMember(contosoTenant, demoGroupId(contoso.tenantId, 'sales-voice'), contoso.user.userPrincipalName);
  w.directories.of(contosoTenant).seq();

  const run = runCli(
    w.sbc.require(DEMO_SBC.devices.eu1.name).running,
    'configure voip\nip-group new\n name "acme-c"\n proxy-set-name "Carrier2"\n ip-profile-name "Carrier2"\n activate\nexit',
    DEMO_SBC.devices.eu1.name,
  );
  if (!run.ok) throw new Error(run.message);
  w.sbc.require(DEMO_SBC.devices.eu1.name).running = run.config;
  w.sbc.setBusy(DEMO_SBC.devices.us1.name, true);

  w.mailbox.add({
    transport: 'smtp',
    from: 'a@example.com',
    to: ['b@example.com'],
    subject: 'Invitation',
    text: 'link',
    html: null,
    messageId: '<1@example.com>',
    operationId: null,
    username: 'smtp',
    raw: 'raw',
  });
  return w;
}

describe('sandbox state snapshots', () => {
  it('restores every model to what it was, through JSON', () => {
    const before = changedWorld();
    const after = restart(before);
    expect(snapshotWorld(after)).toEqual(snapshotWorld(before));
  });

  it('keeps tenants, users, app secrets and consents usable: lookups by domain, UPN and secret work', () => {
    const after = restart(changedWorld());
    const tenant = after.state.requireTenant('persisted.example');
    expect(findUser(tenant, 'ANN@persisted.example')?.displayName).toBe('Ann');
    const app = after.state.applications().find((a) => a.displayName === 'Customer app');
    expect(app?.passwordCredentials.map((c) => c.secretText)).toEqual(['kept-secret']);
    expect(tenant.servicePrincipals.get(app?.appId ?? '')?.appRoleGrants).toEqual({
      '00000003-0000-0000-c000-000000000000': ['User.Read.All'],
    });
    expect(after.state.entra.signIn(null, 'ann@persisted.example', 'pw')).toMatchObject({
      ok: true,
      globalAdministrator: true,
    });
    expect(
      after.state.entra.hasDelegatedConsent(
        tenant.id,
        DEMO.tokenApp.clientId,
        '00000003-0000-0000-c000-000000000000',
      ),
    ).toBe(true);
  });

  it('honours refresh tokens and revocations issued before the restart', () => {
    const before = changedWorld();
    const admin = before.state.entra.requireUser(contoso.tenantId, contoso.admin.userPrincipalName);
    const grant = { tenantId: contoso.tenantId, userId: admin.user.id, clientId: DEMO.tokenApp.clientId };
    const revoked = before.state.entra.issueRefreshToken({ ...grant, scope: 'openid' });
    before.state.entra.revokeGrants(contoso.tenantId, contoso.admin.userPrincipalName);
    const kept = before.state.entra.issueRefreshToken({ ...grant, scope: 'offline_access' });

    const after = restart(before);
    const keptGrant = after.state.entra.refreshGrant(kept);
    expect(keptGrant).toMatchObject({ ...grant, scope: 'offline_access' });
    expect(after.state.entra.revokedSince(keptGrant ?? expect.fail('lost'))).toBeNull();
    const revokedGrant = after.state.entra.refreshGrant(revoked) ?? expect.fail('lost');
    expect(after.state.entra.revokedSince(revokedGrant)).toBeInstanceOf(Date);
    // Issue order continues after the restart, so a later revocation still covers tokens from before it.
    const next = after.state.entra.issueRefreshToken({ ...grant, scope: 'x' });
    expect(after.state.entra.refreshGrant(next)?.sequence).toBeGreaterThan(keptGrant?.sequence ?? 0);
  });

  it('keeps a verified domain verified and a pending one pending, with its SKUs', () => {
    const before = changedWorld();
    const contosoTenant = before.state.requireTenant(contoso.tenantId);
    const dnsZone = before.state.dns.requireZone(zone);
    const name = `cust1.${zone}`;
    before.state.directory.addDomain(contosoTenant, name);
    const code = before.state.directory.verificationCode(contosoTenant, name);
    before.state.dns.upsert(dnsZone, 'TXT', 'cust1', { ttl: 3600, records: [{ value: [code] }] });
    before.state.directory.verifyDomain(contosoTenant, name);

    const after = restart(before);
    const tenant = after.state.requireTenant(name);
    expect(tenant.id).toBe(contoso.tenantId);
    expect(after.state.directory.domain(tenant, name)).toMatchObject({ isVerified: true });
    expect(after.state.directory.domain(tenant, 'pending.example')).toMatchObject({ isVerified: false });
    expect(after.state.directory.subscribedSkus(tenant)).toContainEqual(
      expect.objectContaining({ skuPartNumber: 'ENTERPRISEPREMIUM' }),
    );
  });

  it('keeps soft-deleted users in deleted items, still referencing their domain, and a manifest asking for v2 tokens', () => {
    const before = changedWorld();
    const tenant = before.state.requireTenant('persisted.example');
    before.state.addVerifiedDomain(tenant.id, 'second.example');
    const bob = before.state.addUser(tenant.id, {
      userPrincipalName: 'bob@second.example',
      displayName: 'Bob',
    });
    tenant.users.delete(bob.id);
    before.state.directory.softDeleteUser(tenant, bob);
    const api = before.state.addApplication({
      displayName: 'A v2 API',
      homeTenantId: tenant.id,
      identifierUris: ['api://persisted-v2'],
      accessTokenAcceptedVersion: 2,
    });

    const after = restart(before);
    const restored = after.state.requireTenant('persisted.example');
    expect(after.state.directory.deletedUsers(restored).map((d) => d.user)).toEqual([bob]);
    expect(() => after.state.directory.deleteDomain(restored, 'second.example')).toThrow(/reference/);
    expect(after.state.findResource(api.appId)?.tokenVersion).toBe('2.0');
  });

  it('keeps DNS record sets, their etags, contributors and external TXT', () => {
    const before = changedWorld();
    const after = restart(before);
    const dnsZone = after.state.dns.requireZone(zone);
    const original = before.state.dns.recordSet(before.state.dns.requireZone(zone), 'TXT', 'cust1');
    // Looked up in another case, as ARM and DNS ignore it.
    expect(after.state.dns.recordSet(dnsZone, 'TXT', 'CUST1')).toEqual(original);
    expect(after.state.dns.txtAt(`cust1.${zone}`)).toEqual(['hello']);
    expect(after.state.dns.txtAt('external.example')).toEqual(['MS=ms12345678']);
    expect([...dnsZone.contributors]).toEqual([DEMO.provider.dnsApp.clientId]);
  });

  it('keeps an SBC’s programmed IP group and saved configuration, but not the busy switch', () => {
    const before = changedWorld();
    const after = restart(before);
    const eu1 = after.sbc.require(DEMO_SBC.devices.eu1.name);
    expect(eu1.running.ipGroups.map((g) => g.name)).toContain('acme-c');
    expect(eu1.saved).toEqual(before.sbc.require(DEMO_SBC.devices.eu1.name).saved);
    expect(eu1.saved.ipGroups.map((g) => g.name)).not.toContain('acme-c');
    expect(after.sbc.get(DEMO_SBC.devices.us1.ipAddress)?.busy).toBe(false);
  });

  it('keeps Teams configuration objects and finds them by any spelling of their identity', () => {
    const before = changedWorld();
    const after = restart(before);
    expect(after.teams.get(contoso.tenantId, 'OnlinePSTNGateway', 'GW.example.com')).toMatchObject({
      Identity: 'gw.example.com',
      SipSignalingPort: 5061,
    });
    expect(after.teams.snapshot(contoso.tenantId)).toEqual(before.teams.snapshot(contoso.tenantId));
  });

  it('keeps users’ numbers, Enterprise Voice and the Direct Routing numbers, but no operation in flight', () => {
    const before = changedWorld();
    const { voice } = before.teams;
    const [first, second] = [...before.state.requireTenant(contoso.tenantId).users.keys()];
    before.teams.timings.numberOperationMs = 0;
    voice.setDirectRoutingNumbers(contoso.tenantId, [{ from: '+14255550000', to: '+14255559999' }]);
    const assign = (userId: string, telephoneNumber: string) =>
      voice.start(contoso.tenantId, {
        kind: 'assign',
        telephoneNumber,
        userId,
        assignmentCategory: 'primary',
        phoneSystem: () => true,
      });
    expect(assign(first ?? '', '+14255550100;ext=7').status).toBe('succeeded');
    voice.setEnterpriseVoice(contoso.tenantId, second ?? '', true);
    before.teams.timings.numberOperationMs = 60_000;
    const inFlight = assign(second ?? '', '+14255550101');

    const after = restart(before);
    expect(after.teams.voice.user(contoso.tenantId, first ?? '')).toEqual(
      before.teams.voice.user(contoso.tenantId, first ?? ''),
    );
    expect(after.teams.voice.user(contoso.tenantId, first ?? '')?.numbers).toEqual([
      { telephoneNumber: '+14255550100;ext=7', assignmentCategory: 'primary' },
    ]);
    expect(after.teams.voice.user(contoso.tenantId, second ?? '')).toMatchObject({
      numbers: [],
      enterpriseVoiceEnabled: true,
    });
    expect(after.teams.voice.directRoutingNumbers(contoso.tenantId)).toEqual([
      { from: '+14255550000', to: '+14255559999' },
    ]);
    expect(after.teams.voice.operation(contoso.tenantId, inFlight.id)).toBeUndefined();
  });

  it('continues change tracking in the same epoch, so delta tokens stay valid', () => {
    const before = changedWorld();
    const tenant = before.state.requireTenant(contoso.tenantId);
    const tracked = before.directories.of(tenant);
    const seq = tracked.seq();
    const after = restart(before);
    const restored = after.directories.of(after.state.requireTenant(contoso.tenantId));
    expect(restored.epoch).toBe(tracked.epoch);
    expect(restored.seq()).toBe(seq);
  });

  it('keeps groups with their members, and their change tracking reports only what changes after the restart', () => {
    const before = changedWorld();
    const seq = before.directories.of(before.state.requireTenant(contoso.tenantId)).seq();
    const after = restart(before);
    const persisted = after.state.requireTenant('persisted.example');
    const ann = findUser(persisted, 'ann@persisted.example')?.id;
    expect([...persisted.groups.values()].map((g) => [g.record.displayName, [...g.members]])).toEqual([
      ['Persisted Voice', [ann]],
    ]);
    const contosoTenant = after.state.requireTenant(contoso.tenantId);
    const tracked = after.directories.of(contosoTenant);
    const salesVoice = demoGroupId(contoso.tenantId, 'sales-voice');
    const adele = findUser(contosoTenant, contoso.user.userPrincipalName)?.id ?? '';
    expect(tracked.groupChanges(seq - 1, seq)).toEqual([
      { id: salesVoice, removed: false, properties: false, members: new Map([[adele, 'remove']]) },
    ]);
    addMember(contosoTenant, salesVoice, adele);
    expect(tracked.groupChanges(seq, tracked.seq())).toEqual([
      { id: salesVoice, removed: false, properties: false, members: new Map([[adele, 'add']]) },
    ]);
  });

  it('loads a file written before tenants had groups; the demo tenants then get theirs as new groups', () => {
    const before = changedWorld();
    const saved = JSON.parse(JSON.stringify(snapshotWorld(before))) as ReturnType<typeof snapshotWorld>;
    const directory = {
      ...saved.directory,
      tenants: saved.directory.tenants.map(({ groups: _groups, ...tenant }) => tenant),
    };
    const changeTracking = saved.changeTracking.map((tracking) => ({
      ...tracking,
      fingerprints: tracking.fingerprints.filter(([key]) => !/^(group|member):/.test(key)),
      log: tracking.log.flatMap((c) => (c.kind === 'user' ? [{ seq: c.seq, id: c.id }] : [])),
    }));
    const after = world();
    restoreWorld(after, {
      ...saved,
      directory: directorySnapshotSchema.parse(directory),
      changeTracking: changeTrackingSnapshotSchema.parse(changeTracking),
    });
    const contosoTenant = after.state.requireTenant(contoso.tenantId);
    expect(contosoTenant.groups.size).toBe(0);
    const tracked = after.directories.of(contosoTenant);
    const seq = tracked.seq();
    expect(tracked.userChanges(0, seq)).toHaveLength(contoso.userCount);

    seedDemoGroups(after.state);
    const changes = tracked.groupChanges(seq, tracked.seq());
    expect(changes.map((c) => [c.id, c.properties, c.members.size])).toEqual(
      expect.arrayContaining([
        [demoGroupId(contoso.tenantId, 'sales-voice'), true, 4],
        [demoGroupId(contoso.tenantId, 'support-voice'), true, 3],
      ]),
    );
    expect(changes).toHaveLength(2);
  });

  it('keeps the mailbox and its numbering', () => {
    const after = restart(changedWorld());
    expect(after.mailbox.messages().map((m) => m.subject)).toEqual(['Invitation']);
    const { seq: _seq, receivedAt: _at, ...first } = after.mailbox.messages()[0] ?? expect.fail('lost');
    expect(after.mailbox.add({ ...first, subject: 'Next' }).seq).toBe(2);
  });

  it('keeps ACS send operations, so a repeated Operation-Id stays one send', () => {
    const acs = acsEmailService({ mailbox: new Mailbox() });
    const operations = [
      { id: 'a7f3c2d1-0000-4000-8000-000000000001', outcome: 'Succeeded' as const, polled: true },
      {
        id: 'a7f3c2d1-0000-4000-8000-000000000002',
        outcome: 'Failed' as const,
        polled: false,
        error: { code: 'EmailDroppedAllRecipientsSuppressed', message: 'dropped' },
      },
    ];
    acs.restore(JSON.parse(JSON.stringify(operations)) as typeof operations);
    expect(acs.snapshot()).toEqual(operations);
  });

  it('leaves generated (scale) tenants out, with their apps and everything that refers to them', () => {
    const before = changedWorld();
    const directory = createScaleTenant(before, { displayName: 'Scale Co', users: 1000 });
    const scaleTenantId = before.state.tenants().find((t) => t.displayName === 'Scale Co')?.id ?? '';
    expect(directory).toBeDefined();
    const { appId } = addReplicationApp(before, scaleTenantId, 'Scale replication');
    before.state.entra.grantDelegatedConsent(scaleTenantId, appId, [GRAPH_APP_ID]);
    const after = restart(before);
    expect(after.state.tenant(scaleTenantId)).toBeUndefined();
    expect(after.state.application(appId)).toBeUndefined();
    expect(snapshotWorld(after).entra.consents.map((c) => c.tenantId)).not.toContain(scaleTenantId);
    expect(snapshotWorld(after).teams.map((t) => t.tenantId)).not.toContain(scaleTenantId);
  });
});
