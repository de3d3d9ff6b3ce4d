import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCredentialStore } from '../../shared/credentials/credential-store.js';
import { type CustomerSite, carrierPasswordSlot } from '../../shared/onboarding/customer-site.js';
import { siteWithCurrentSeal } from '../../shared/onboarding/customer-site-store.js';
import { dnsApiInputSchema, knownSbcInputSchema } from '../../shared/onboarding/onboarding-settings.js';
import { createOnboardingSettingsService } from '../../shared/onboarding/onboarding-settings-service.js';
import {
  emailSettingsInputSchema,
  tokenAppInputSchema,
} from '../../shared/provider/provider-settings-schemas.js';
import { createProviderSettingsService } from '../../shared/provider/provider-settings-service.js';
import { createSecretBox, type SecretBox } from '../../shared/secrets/secret-box.js';
import { tableText } from '../consent/consent-fixture.js';
import { sbcSite } from '../support/sbc-site.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';

/**
 * Key rotation (docs/deploy.md, "Rotating the encryption key"): the app runs with a new key and the old one retired. Each kind of lasting
 * secret, stored under the old key, opens, and is written back sealed with the new key when it is read, so that
 * the old key can be dropped.
 */
const OLD = randomBytes(32).toString('base64');
const NEW = randomBytes(32).toString('base64');
const oldBox = createSecretBox(OLD);
const keyId = (box: SecretBox) => box.seal('', 'id').split('.')[1] ?? '';

let stack: MemoryStack;

beforeAll(async () => {
  stack = await startMemoryStack({
    settings: { secretsEncryptionKey: NEW, retiredSecretsEncryptionKeys: [OLD] },
  });
});
afterAll(async () => stack?.close());

/** The table holds sealed values of the new key only (and at least one). */
async function expectResealed(table: string): Promise<void> {
  const text = await tableText(stack, table);
  expect(text).not.toContain(`v1.${keyId(oldBox)}.`);
  expect(text).toContain(`v1.${keyId(stack.services.secretBox)}.`);
}

/** Settings saved by the app before the rotation: the same services, on the old key. */
const before = () => ({
  provider: createProviderSettingsService({
    tables: stack.tables,
    secretBox: oldBox,
    publicBaseUrl: stack.publicBaseUrl,
    defaultDisplayName: 'Provider',
  }),
  onboarding: createOnboardingSettingsService({ tables: stack.tables, secretBox: oldBox }),
});

describe('a secret sealed with a retired key is re-sealed with the current key when read', () => {
  it('the token app secret and the SMTP password (provider settings)', async () => {
    const { provider } = before();
    await provider.putTokenApp(
      tokenAppInputSchema.parse({
        clientId: '0f5b8a3e-2c1d-4e6f-9a7b-8c9d0e1f2a3b',
        clientSecret: 'token-app-secret',
      }),
    );
    await provider.putEmail(
      emailSettingsInputSchema.parse({
        transport: 'smtp',
        from: 'noreply@provider.example',
        host: 'smtp.provider.example',
        port: 587,
        enableSsl: true,
        username: 'noreply@provider.example',
        password: 'smtp-password',
        confirmPassword: 'smtp-password',
      }),
    );
    expect((await stack.services.providerSettings.tokenApp())?.clientSecret).toBe('token-app-secret');
    expect(await stack.services.providerSettings.email()).toMatchObject({ password: 'smtp-password' });
    await expectResealed('providersettings');
    // Read again, under the new key alone.
    expect((await stack.services.providerSettings.tokenApp())?.clientSecret).toBe('token-app-secret');
  });

  it('the DNS API client secret and a Known SBC gateway password (onboarding settings)', async () => {
    const { onboarding } = before();
    await onboarding.putDnsApi(
      dnsApiInputSchema.parse({
        credential: 'app',
        tenantId: '7c1f3c0e-5d2a-4b8e-9f10-2a3b4c5d6e7f',
        clientId: '1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d',
        clientSecret: 'dns-secret',
        subscriptionId: '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b',
        resourceGroupName: 'dns',
        dnsZone: 'voice.provider.example',
      }),
    );
    const sbc = await onboarding.createSbc(
      knownSbcInputSchema.parse({
        name: 'sbc-rotate',
        ipAddress: '192.0.2.77',
        https: true,
        gatewayUser: 'admin',
        gatewayPassword: 'gateway-password',
      }),
    );
    const dns = await stack.services.onboardingSettings.dnsApi();
    expect(dns?.credential).toMatchObject({ kind: 'app', clientSecret: 'dns-secret' });
    expect((await stack.services.onboardingSettings.sbc(sbc.id))?.gatewayPassword).toBe('gateway-password');
    await expectResealed('onboardingsettings');
  });

  it('a customer’s Microsoft 365 credential (app registration secret)', async () => {
    await createCredentialStore(stack.tables).put({
      customerId: 'Rotated',
      method: 'app-registration',
      tenantId: '7c1f3c0e-5d2a-4b8e-9f10-2a3b4c5d6e7f',
      m365Email: null,
      m365AdminObjectId: null,
      initialDomain: null,
      tenantDisplayName: null,
      clientId: '0f5b8a3e-2c1d-4e6f-9a7b-8c9d0e1f2a3b',
      clientSecretExpiresAt: null,
      sealedSecret: oldBox.seal('client-secret', 'credentials/rotated/secret'),
      whenLastVerified: null,
      lastVerificationStatus: 'successful',
      lastVerificationMessage: null,
      heldByWizardSession: null,
    });
    const credential = await stack.services.credentials.get('Rotated');
    expect(stack.services.secretBox.open(credential?.sealedSecret ?? '', 'credentials/rotated/secret')).toBe(
      'client-secret',
    );
    await expectResealed('credentials');
  });

  it('a site’s carrier registration password, when the onboarding reads its site', async () => {
    const base = sbcSite('Rotated', 'emea', 'Trunk');
    const site: CustomerSite = {
      ...base,
      sbc: {
        ...base.sbc!,
        carrierRegistration: {
          username: 'carrier-user',
          passwordSealed: oldBox.seal('carrier-password', carrierPasswordSlot('Rotated', 'Trunk')),
          mainLine: '+441234567890',
          hostName: 'registrar.carrier.example',
        },
      },
    };
    await stack.services.sites.create(site);
    const read = await siteWithCurrentSeal(
      stack.services.sites,
      stack.services.secretBox,
      'Rotated',
      'Trunk',
    );
    const sealed = read?.site.sbc?.carrierRegistration?.passwordSealed ?? '';
    expect(stack.services.secretBox.open(sealed, carrierPasswordSlot('Rotated', 'Trunk'))).toBe(
      'carrier-password',
    );
    await expectResealed('customersites');
  });
});
