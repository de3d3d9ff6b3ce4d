import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../dev/sandbox/demo-data.js';
import { createAzureDnsZone, DnsError } from '../../shared/dns/azure-dns.js';
import { type SandboxFixture, startFixture } from '../sandbox/fixtures.js';

const { provider } = DEMO;
const ZONE_PATH = `/arm/subscriptions/${provider.dns.subscriptionId}/resourceGroups/${provider.dns.resourceGroup}/providers/Microsoft.Network/dnsZones/${provider.dns.zone}`;

describe('Azure DNS adapter (@azure/arm-dns) against the sandbox ARM peer', () => {
  let f: SandboxFixture;
  const dnsZone = (
    clientId: string = provider.dnsApp.clientId,
    secret: string = provider.dnsApp.clientSecret,
  ) =>
    createAzureDnsZone({
      endpoint: `${f.sandbox.url}/arm`,
      credential: f.credential(provider.tenantId, clientId, secret),
      transport: f.transport,
      subscriptionId: provider.dns.subscriptionId,
      resourceGroup: provider.dns.resourceGroup,
      zone: provider.dns.zone,
    });
  const armRequests = () => f.sandbox.requests.list().filter((r) => r.path.startsWith('/arm/'));

  beforeAll(async () => {
    f = await startFixture();
  });
  afterEach(() => f.sandbox.reset());
  afterAll(() => f.close());

  it('writes, reads and replaces TXT and A record sets, visible in the sandbox zone', async () => {
    const zone = dnsZone();
    const txt = await zone.upsertTxt('brad', ['MS=ms12345678'], 3600);
    expect(txt).toMatchObject({ type: 'TXT', relativeName: 'brad', values: ['MS=ms12345678'], ttl: 3600 });
    expect(txt.etag).toEqual(expect.any(String));
    await expect(zone.getRecordSet('TXT', 'brad')).resolves.toEqual(txt);
    expect(f.sandbox.state.dns.txtAt(`brad.${provider.dns.zone}`)).toEqual(['MS=ms12345678']);

    const a = await zone.upsertA('brad', ['51.124.43.46'], 14400);
    expect(a).toMatchObject({ values: ['51.124.43.46'], ttl: 14400 });
    const replaced = await zone.upsertA('brad', ['51.124.43.47'], 14400);
    expect(replaced.etag).not.toBe(a.etag);
    expect(armRequests().map((r) => [r.method, r.status])).toEqual([
      ['PUT', 201],
      ['GET', 200],
      ['PUT', 201],
      ['PUT', 200],
    ]);
    expect(armRequests()[0]?.query).toContain('api-version=2018-05-01');
  });

  it('honours If-None-Match: * and If-Match with 412 PreconditionFailed', async () => {
    const zone = dnsZone();
    const first = await zone.upsertTxt('lock', ['one'], 300, { ifNoneMatch: '*' });
    const again = await zone.upsertTxt('lock', ['two'], 300, { ifNoneMatch: '*' }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(DnsError);
    expect(again).toMatchObject({ code: 'PreconditionFailed', status: 412, transient: false });

    const second = await zone.upsertTxt('lock', ['two'], 300, { ifMatch: first.etag ?? '' });
    const stale = await zone
      .upsertTxt('lock', ['three'], 300, { ifMatch: first.etag ?? '' })
      .catch((e: unknown) => e);
    expect(stale).toMatchObject({ code: 'PreconditionFailed', status: 412 });
    await expect(zone.deleteRecord('TXT', 'lock', { ifMatch: first.etag ?? '' })).rejects.toMatchObject({
      code: 'PreconditionFailed',
    });
    await zone.deleteRecord('TXT', 'lock', { ifMatch: second.etag ?? '' });
    await expect(zone.getRecordSet('TXT', 'lock')).resolves.toBeNull();
  });

  it('deletes idempotently: a record set that is already gone is fine', async () => {
    const zone = dnsZone();
    await zone.upsertTxt('gone', ['x'], 60);
    await zone.deleteRecord('TXT', 'gone');
    await zone.deleteRecord('TXT', 'gone');
    await expect(zone.getRecordSet('TXT', 'gone')).resolves.toBeNull();
    expect(armRequests().map((r) => [r.method, r.status])).toEqual([
      ['PUT', 201],
      ['DELETE', 200],
      ['DELETE', 204],
      ['GET', 404],
    ]);
  });

  it('retries a 429 after Retry-After (the SDK throttling policy)', async () => {
    f.sandbox.faults.add({
      method: 'PUT',
      pathPattern: '^/arm/.*/TXT/busy$',
      kind: 'status',
      status: 429,
      times: 1,
    });
    await expect(dnsZone().upsertTxt('busy', ['v'], 60)).resolves.toMatchObject({ values: ['v'] });
    const puts = armRequests().filter((r) => r.method === 'PUT');
    expect(puts.map((r) => [r.status, r.fault])).toEqual([
      [429, 'status'],
      [201, undefined],
    ]);
    expect(Date.parse(puts[1]?.time ?? '') - Date.parse(puts[0]?.time ?? '')).toBeGreaterThanOrEqual(900);
  });

  it('refuses a principal without DNS Zone Contributor with 403 AuthorizationFailed', async () => {
    const portal = dnsZone(provider.portal.clientId, provider.portal.clientSecret);
    const refused = await portal.upsertTxt('x', ['v'], 60).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DnsError);
    expect(refused).toMatchObject({ code: 'AuthorizationFailed', status: 403, transient: false });
    expect((refused as Error).message).not.toMatch(/Bearer|eyJ/);

    f.sandbox.state.dns.grant(provider.dns.zone, provider.portal.clientId);
    await expect(portal.upsertTxt('x', ['v'], 60)).resolves.toMatchObject({ values: ['v'] });
  });

  it('lists record sets page by page with $top and nextLink', async () => {
    const zone = dnsZone();
    for (const name of ['a1', 'a2', 'a3', 'a4', 'a5']) await zone.upsertTxt(name, [name], 60);
    f.sandbox.requests.clear();
    const listed = await zone.listRecordSets('TXT', { pageSize: 2 });
    expect(listed.map((r) => r.relativeName)).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
    expect(listed[2]?.values).toEqual(['a3']);
    const gets = armRequests();
    expect(gets.map((r) => r.path)).toEqual([`${ZONE_PATH}/TXT`, `${ZONE_PATH}/TXT`, `${ZONE_PATH}/TXT`]);
    expect(gets[1]?.query).toMatch(/\$skipToken=/);
  });

  it('serves the zone and every record set through the raw ARM API, with ARM errors', async () => {
    const credential = f.credential(
      provider.tenantId,
      provider.dnsApp.clientId,
      provider.dnsApp.clientSecret,
    );
    const token = (await credential.getToken('https://management.azure.com/.default'))?.token ?? '';
    const get = (path: string) =>
      f.transport.fetch(`${f.sandbox.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const zone = await get(`${ZONE_PATH}?api-version=2018-05-01`);
    expect(zone.status).toBe(200);
    expect(await zone.json()).toMatchObject({ name: provider.dns.zone, type: 'Microsoft.Network/dnszones' });
    const all = (await (await get(`${ZONE_PATH}/recordsets?api-version=2018-05-01`)).json()) as {
      value: Array<{ type: string }>;
    };
    expect(all.value.map((r) => r.type)).toEqual([
      'Microsoft.Network/dnszones/NS',
      'Microsoft.Network/dnszones/SOA',
    ]);
    const missing = await get(`${ZONE_PATH}/TXT/nothing?api-version=2018-05-01`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'NotFound' } });
    const noVersion = await get(`${ZONE_PATH}/TXT/nothing`);
    expect(await noVersion.json()).toMatchObject({ error: { code: 'MissingApiVersionParameter' } });
    const anonymous = await f.transport.fetch(`${f.sandbox.url}${ZONE_PATH}?api-version=2018-05-01`);
    expect(anonymous.status).toBe(401);
  });

  it('computes relative names in the zone', () => {
    const zone = dnsZone();
    expect(zone.relativeNameOf(`Brad.${provider.dns.zone}.`)).toBe('brad');
    expect(zone.relativeNameOf(`brad.emea.${provider.dns.zone}`)).toBe('brad.emea');
    expect(zone.relativeNameOf(provider.dns.zone)).toBe('@');
    expect(() => zone.relativeNameOf('brad.example.org')).toThrow(DnsError);
  });
});
