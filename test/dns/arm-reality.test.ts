import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../dev/sandbox/demo-data.js';
import { REAL_RBAC_PROPAGATION_MS } from '../../dev/sandbox/peers/arm-dns.js';
import { sandboxProfile, STRICT_PROFILE } from '../../dev/sandbox/profile.js';
import { createAzureDnsZone, DnsError } from '../../shared/dns/azure-dns.js';
import { classifyPeerError } from '../../shared/onboarding/tasks/peer-task-errors.js';
import { TransientTaskError } from '../../shared/tasks/task-definition.js';
import { type SandboxFixture, startFixture } from '../sandbox/fixtures.js';

const { provider } = DEMO;
/** The 10-minute RBAC propagation played in 0.3 s. */
const SCALE = 300 / REAL_RBAC_PROPAGATION_MS;

describe('a DNS Zone Contributor role assigned a moment ago (reality profile)', () => {
  let f: SandboxFixture;
  const dnsZone = () =>
    createAzureDnsZone({
      endpoint: `${f.sandbox.url}/arm`,
      credential: f.credential(provider.tenantId, provider.dnsApp.clientId, provider.dnsApp.clientSecret),
      transport: f.transport,
      subscriptionId: provider.dns.subscriptionId,
      resourceGroup: provider.dns.resourceGroup,
      zone: provider.dns.zone,
    });

  beforeAll(async () => {
    f = await startFixture();
  });
  afterEach(() => {
    f.sandbox.state.profile = STRICT_PROFILE;
    f.sandbox.reset();
  });
  afterAll(() => f.close());

  it('is refused with 403 AuthorizationFailed until it has propagated, which the task takes as worth retrying', async () => {
    f.sandbox.state.profile = sandboxProfile('reality', SCALE);
    const { dns } = f.sandbox.state;
    dns.revoke(provider.dns.zone, provider.dnsApp.clientId);
    dns.grant(provider.dns.zone, provider.dnsApp.clientId);
    const refused = await dnsZone()
      .getRecordSet('TXT', 'fresh')
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DnsError);
    expect(refused).toMatchObject({ status: 403, code: 'AuthorizationFailed', transient: false });
    const classified = classifyPeerError(refused);
    expect(classified).toBeInstanceOf(TransientTaskError);
    expect(classified?.message).toContain('can take up to 10 minutes to apply');

    await sleep(400);
    await expect(dnsZone().getRecordSet('TXT', 'fresh')).resolves.toBeNull();
  });

  it('plays no propagation under the strict profile', async () => {
    const { dns } = f.sandbox.state;
    dns.revoke(provider.dns.zone, provider.dnsApp.clientId);
    dns.grant(provider.dns.zone, provider.dnsApp.clientId);
    await expect(dnsZone().getRecordSet('TXT', 'fresh')).resolves.toBeNull();
  });
});
