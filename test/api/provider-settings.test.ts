import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableText } from '../consent/consent-fixture.js';
import { apiClient } from '../support/api-client.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';

let stack: MemoryStack;
let call: ReturnType<typeof apiClient>;

beforeAll(async () => {
  stack = await startMemoryStack();
  call = apiClient(stack.api, () => stack.token());
});
afterAll(() => stack?.close());

/** Everything stored for the provider's settings, as text: what an attacker with the storage key would read. */
function storedText(): Promise<string> {
  return tableText(stack, 'providersettings');
}

const CLIENT_ID = '0f6c7a4e-2b1d-4c8e-9a3f-5d6e7f8a9b0c';

describe('the token app', () => {
  it('starts unconfigured, with the redirect URI under the public base URL and no device code', async () => {
    const response = await call('GET', '/api/v1/settings/token-app');
    expect(response.body).toEqual({
      clientId: null,
      clientSecretSaved: false,
      redirectUri: `${stack.publicBaseUrl}/authenticate/OAuth2Callback`,
      deviceCode: false,
    });
  });

  it('needs the Client Secret the first time, keeps it write-only, and seals it at rest', async () => {
    const missing = await call('PUT', '/api/v1/settings/token-app', { json: { clientId: CLIENT_ID } });
    expect(missing.status).toBe(400);
    expect(missing.problem.errors?.[0]).toMatchObject({ field: 'clientSecret', code: 'required' });

    const secret = 'Qx8~token-app-secret-value-0123456789';
    const saved = await call('PUT', '/api/v1/settings/token-app', {
      json: { clientId: CLIENT_ID, clientSecret: secret },
    });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ clientId: CLIENT_ID, clientSecretSaved: true });
    expect(JSON.stringify(saved.body)).not.toContain(secret);

    const kept = await call('PUT', '/api/v1/settings/token-app', {
      json: { clientId: CLIENT_ID, redirectUri: 'https://hub.example.com/authenticate/OAuth2Callback' },
    });
    expect(kept.body).toEqual({
      clientId: CLIENT_ID,
      clientSecretSaved: true,
      redirectUri: 'https://hub.example.com/authenticate/OAuth2Callback',
      deviceCode: false,
    });
    // The device code is offered only when the provider says so, and a PUT without it turns it off again.
    const withDevice = await call('PUT', '/api/v1/settings/token-app', {
      json: { clientId: CLIENT_ID, deviceCode: true },
    });
    expect(withDevice.body).toMatchObject({ deviceCode: true });
    const notABoolean = await call('PUT', '/api/v1/settings/token-app', {
      json: { clientId: CLIENT_ID, deviceCode: 'yes' },
    });
    expect(notABoolean.status).toBe(400);
    expect(notABoolean.problem.errors?.[0]).toMatchObject({ field: 'deviceCode' });
    expect(
      (await call('PUT', '/api/v1/settings/token-app', { json: { clientId: CLIENT_ID } })).body,
    ).toMatchObject({
      deviceCode: false,
    });
    expect(JSON.stringify((await call('GET', '/api/v1/settings/token-app')).body)).not.toContain(secret);
    const stored = await storedText();
    expect(stored).toContain(CLIENT_ID);
    expect(stored).not.toContain(secret);
  });

  it('refuses a Client Id that is not a GUID and a Redirect Uri elsewhere than /authenticate/OAuth2Callback', async () => {
    const response = await call('PUT', '/api/v1/settings/token-app', {
      json: { clientId: 'my-app', clientSecret: 'x', redirectUri: 'http://hub.example.com/callback' },
    });
    expect(response.status).toBe(400);
    expect([...new Set(response.problem.errors?.map((e) => e.field))].sort()).toEqual([
      'clientId',
      'redirectUri',
    ]);
  });
});

describe('Invitation Settings', () => {
  it("default to the manual's text with the provider's name, a 5-day validity and the public portal URL", async () => {
    const body = (await call('GET', '/api/v1/settings/invitations')).body as Record<string, unknown>;
    expect(body.validityDays).toBe(5);
    expect(body.portalUrl).toBe(`${stack.publicBaseUrl}/authenticate`);
    expect(body.emailTemplate).toContain('Dear Administrator of {{CustomerId}},');
    expect(body.emailTemplate).toContain('{{CustomerAuthenticationPortalUrl}}/{{InvitationId}}');
    expect(body.emailTemplate).toContain('we will not know or save your password');
    expect(body.emailTemplate).not.toContain('Finebak');
    expect(body.placeholders).toEqual([
      '{{CustomerId}}',
      '{{CustomerAuthenticationPortalUrl}}',
      '{{InvitationId}}',
      '{{ProviderName}}',
    ]);
  });

  it.each([
    ['Hello {CustomerName}', 'single braces'],
    ['Hello {{CustomerName}}', 'is not a placeholder'],
    ['{{#if CustomerId}}x{{/if}}', 'is not a placeholder'],
    ['Hello {{CustomerId', 'does not compile'],
  ])('refuses the template %s', async (subjectTemplate, message) => {
    const response = await call('PUT', '/api/v1/settings/invitations', {
      json: {
        subjectTemplate,
        emailTemplate: 'Link: {{CustomerAuthenticationPortalUrl}}/{{InvitationId}}',
        validityDays: 5,
      },
    });
    expect(response.status).toBe(400);
    expect(response.problem.errors?.[0]).toMatchObject({
      field: 'subjectTemplate',
      code: 'invalid_template',
    });
    expect(response.problem.errors?.[0]?.message).toContain(message);
  });

  it('saves valid templates and a validity of 1-30 days', async () => {
    for (const validityDays of [0, 31]) {
      const response = await call('PUT', '/api/v1/settings/invitations', {
        json: { subjectTemplate: 'Hi {{CustomerId}}', emailTemplate: 'x', validityDays },
      });
      expect(response.status).toBe(400);
    }
    const saved = await call('PUT', '/api/v1/settings/invitations', {
      json: {
        subjectTemplate: 'Hi {{CustomerId}}',
        emailTemplate: 'Go to {{CustomerAuthenticationPortalUrl}}/{{InvitationId}}',
        validityDays: 3,
      },
    });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ subjectTemplate: 'Hi {{CustomerId}}', validityDays: 3 });
  });
});

describe('Email Settings', () => {
  it('saves SMTP with a write-only password that must match ConfirmPassword', async () => {
    const smtp = {
      transport: 'smtp',
      from: 'onboarding@provider.example',
      host: 'smtp.provider.example',
      port: 587,
      enableSsl: true,
      username: 'apikey',
    };
    const mismatch = await call('PUT', '/api/v1/settings/email', {
      json: { ...smtp, password: 'S3cret-smtp!', confirmPassword: 'other' },
    });
    expect(mismatch.status).toBe(400);
    expect(mismatch.problem.errors?.[0]).toMatchObject({ field: 'confirmPassword' });

    const saved = await call('PUT', '/api/v1/settings/email', {
      json: { ...smtp, password: 'S3cret-smtp!', confirmPassword: 'S3cret-smtp!' },
    });
    expect(saved.body).toEqual({ ...smtp, passwordSaved: true });
    expect(await storedText()).not.toContain('S3cret-smtp!');
    const kept = await call('PUT', '/api/v1/settings/email', { json: { ...smtp, port: 2525 } });
    expect(kept.body).toMatchObject({ port: 2525, passwordSaved: true });
  });

  it('switches to Azure Communication Services, needing its access key and dropping the SMTP password', async () => {
    const acs = {
      transport: 'acs',
      endpoint: 'https://drh.communication.azure.com',
      senderAddress: 'DoNotReply@provider.example',
    };
    const missing = await call('PUT', '/api/v1/settings/email', { json: acs });
    expect(missing.status).toBe(400);
    expect(missing.problem.errors?.[0]).toMatchObject({ field: 'accessKey', code: 'required' });
    const saved = await call('PUT', '/api/v1/settings/email', {
      json: { ...acs, accessKey: 'YWNzLWFjY2Vzcy1rZXk=' },
    });
    expect(saved.body).toEqual({ ...acs, accessKeySaved: true });
    const back = await call('PUT', '/api/v1/settings/email', {
      json: {
        transport: 'smtp',
        from: 'a@provider.example',
        host: 'smtp.provider.example',
        port: 25,
        enableSsl: false,
      },
    });
    expect(back.body).toMatchObject({ transport: 'smtp', passwordSaved: false });
    expect((await call('PUT', '/api/v1/settings/email', { json: { transport: 'pigeon' } })).status).toBe(400);
  });
});

describe('white label', () => {
  it('takes a display name and a small PNG or SVG logo', async () => {
    const tooBig = await call('PUT', '/api/v1/settings/white-label', {
      json: {
        displayName: 'Northwind Voice',
        logo: { contentType: 'image/png', base64: Buffer.alloc(300 * 1024).toString('base64') },
      },
    });
    expect(tooBig.status).toBe(400);
    const logo = {
      contentType: 'image/svg+xml',
      base64: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>').toString('base64'),
    };
    const saved = await call('PUT', '/api/v1/settings/white-label', {
      json: { displayName: '  Northwind Voice ', logo },
    });
    expect(saved.body).toEqual({ displayName: 'Northwind Voice', logo });
  });

  it('refuses a display name that could draw as another (a bidi override), as the consent page shows it', async () => {
    const spoof = await call('PUT', '/api/v1/settings/white-label', {
      json: { displayName: 'Northwind \u202EecioV' },
    });
    expect(spoof.status).toBe(400);
    expect(spoof.problem.errors?.[0]).toMatchObject({ field: 'displayName', code: 'unsafe_characters' });
  });

  it('belongs to provider admins only', async () => {
    const response = await call('GET', '/api/v1/settings/white-label', {
      token: await stack.token({ roles: [] }),
    });
    expect(response.status).toBe(403);
  });
});
