import { DEMO_MAIL } from './sandbox/mail-demo.js';
import { DEMO } from './sandbox/demo-data.js';
import { DEMO_SBC } from './sandbox/sbc-state.js';

/** Demo customers for the local run; created through the API, so a second start finds them and skips them. */
const DEMO_CUSTOMERS = [
  { fullName: 'Contoso Ltd', shortName: 'Contoso', licenseType: 'hosted-pro', licensedUsers: 20 },
  {
    fullName: 'Fabrikam Inc',
    shortName: 'Fabrikam',
    licenseType: 'hosted-essentials-plus',
    licensedUsers: 10,
  },
  { fullName: 'Northwind Traders', shortName: 'Northwind', licenseType: 'hosted-essentials' },
] as const;

export interface DemoSeedOptions {
  readonly apiBaseUrl: string;
  readonly token: string;
  /** The sandbox's SMTP sink of this run (its port changes at every start). */
  readonly smtp: { readonly host: string; readonly port: number };
  /** How the API is reached: over HTTP by default, or in process (the tests' memory stack). */
  readonly fetch?: typeof globalThis.fetch;
}

async function send(
  options: DemoSeedOptions,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  return (options.fetch ?? fetch)(`${options.apiBaseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function expectOk(
  response: Response,
  what: string,
  accepted: readonly number[] = [200],
): Promise<void> {
  if (!accepted.includes(response.status)) {
    throw new Error(`Seeding ${what} failed: ${response.status} ${await response.text()}`);
  }
}

/**
 * Customers, and the provider settings the consent flows need (the sandbox's token app and SMTP sink, a white
 * label), so that an invitation can be sent and completed locally right away. Settings an operator changed to
 * something other than the sandbox are left alone.
 */
export async function seedDemoData(options: DemoSeedOptions): Promise<void> {
  for (const customer of DEMO_CUSTOMERS) {
    await expectOk(await send(options, 'POST', '/customers', customer), customer.shortName, [201, 409]);
  }

  const tokenApp = (await (await send(options, 'GET', '/settings/token-app')).json()) as {
    clientId: string | null;
  };
  if (tokenApp.clientId === null || tokenApp.clientId === DEMO.tokenApp.clientId) {
    await expectOk(
      await send(options, 'PUT', '/settings/token-app', {
        clientId: DEMO.tokenApp.clientId,
        clientSecret: DEMO.tokenApp.clientSecret,
        // The demo shows both ways; a provider turns the device code on knowingly (docs/consent-flow.md).
        deviceCode: true,
      }),
      'the token app',
    );
  }

  const email = (await (await send(options, 'GET', '/settings/email')).json()) as { host?: string | null };
  if (!email.host || email.host === options.smtp.host) {
    await expectOk(
      await send(options, 'PUT', '/settings/email', {
        transport: 'smtp',
        from: DEMO_MAIL.smtp.username,
        host: options.smtp.host,
        port: options.smtp.port,
        enableSsl: true,
        username: DEMO_MAIL.smtp.username,
        password: DEMO_MAIL.smtp.password,
        confirmPassword: DEMO_MAIL.smtp.password,
      }),
      'the Email Settings',
    );
  }

  const whiteLabel = (await (await send(options, 'GET', '/settings/white-label')).json()) as {
    displayName: string;
  };
  if (whiteLabel.displayName === 'Direct Routing Hub') {
    await expectOk(
      await send(options, 'PUT', '/settings/white-label', { displayName: DEMO.provider.displayName }),
      'the white label',
    );
  }
  await seedOnboardingSettings(options);
}

/** The demo regions, one per demo SBC: `<site>.emea.<zone>` resolves to sbc-eu1, `<site>.us.<zone>` to sbc-us1. */
export const DEMO_REGIONS = [
  { name: 'EMEA', device: DEMO_SBC.devices.eu1, label: 'emea' },
  { name: 'US', device: DEMO_SBC.devices.us1, label: 'us' },
] as const;

/** DNS API Configuration (the sandbox's DNS app and zone), the demo SBCs and their regions; only when unset. */
export async function seedOnboardingSettings(options: DemoSeedOptions): Promise<void> {
  const dns = (await (await send(options, 'GET', '/settings/dns-api')).json()) as { configured: boolean };
  if (!dns.configured) {
    await expectOk(
      await send(options, 'PUT', '/settings/dns-api', {
        credential: 'app',
        tenantId: DEMO.provider.tenantId,
        clientId: DEMO.provider.dnsApp.clientId,
        clientSecret: DEMO.provider.dnsApp.clientSecret,
        subscriptionId: DEMO.provider.dns.subscriptionId,
        resourceGroupName: DEMO.provider.dns.resourceGroup,
        dnsZone: DEMO.provider.dns.zone,
      }),
      'the DNS API Configuration',
    );
  }
  const sbcs = (await (await send(options, 'GET', '/settings/sbcs')).json()) as {
    value: Array<{ id: string }>;
  };
  if (sbcs.value.length > 0) return;
  for (const region of DEMO_REGIONS) {
    const created = await send(options, 'POST', '/settings/sbcs', {
      name: region.device.name,
      ipAddress: region.device.ipAddress,
      https: true,
      gatewayUser: region.device.username,
      gatewayPassword: region.device.password,
    });
    await expectOk(created, `the Known SBC ${region.device.name}`, [201]);
    const sbc = (await created.json()) as { id: string };
    await expectOk(
      await send(options, 'POST', '/settings/regions', {
        name: region.name,
        sbcId: sbc.id,
        fqdn: `${region.label}.${DEMO.provider.dns.zone}`,
        ipAddress: region.device.ipAddress,
      }),
      `the region ${region.name}`,
      [201],
    );
  }
}
