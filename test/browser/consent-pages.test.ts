import { randomBytes } from 'node:crypto';
import { QueueServiceClient } from '@azure/storage-queue';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../dev/sandbox/index.js';
import type { LogRecord } from '../../dev/host/index.js';
import { EMAIL_OUTBOX_QUEUE } from '../../shared/email/outbox-queue.js';
import {
  configureProvider,
  type Call,
  invitationLink,
  inviteThroughWizard,
  tableText,
  waitFor,
} from '../consent/consent-fixture.js';
import { apiClient } from '../support/api-client.js';
import { launchBrowser } from '../support/browser.js';
import { startStack, type TestStack } from '../support/stack.js';

const contoso = DEMO.customers.contoso;
const fabrikam = DEMO.customers.fabrikam;

let stack: TestStack;
let call: Call;
let browser: Browser;
const logs: LogRecord[] = [];

beforeAll(async () => {
  stack = await startStack({
    log: (record) => logs.push(record),
    // The outbox retries every minute in production; here every second, same code.
    overrides: { outboxTiming: { retryDelayMs: 1_000, stallAfterMs: 3_000 } },
  });
  call = apiClient(stack.apiUrl, () => stack.token());
  [browser] = await Promise.all([launchBrowser(stack.sandboxUrl), configureProvider(stack, call)]);
  // Microsoft names a 5 s polling interval; its twin names 1 s here, and the device-code page, which polls at
  // the interval it is given, moves on within a second of each approval instead of five.
  stack.sandbox.state.entra.setDeviceCodeTiming({ intervalSeconds: 1 });
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

/** The visible text of the first element the locator finds, trimmed. */
const text = async (locator: Locator) => (await locator.first().innerText()).trim();

async function newPage(): Promise<Page> {
  const context = await browser.newContext();
  return context.newPage();
}

/** What the customer's admin does at Microsoft's device login page: code, sign-in, consent. */
async function approveDeviceCode(
  code: string,
  verificationUri: string,
  admin: { userPrincipalName: string; password: string },
  accept = true,
) {
  const page = await newPage();
  await page.goto(verificationUri);
  await page.getByLabel('Code').fill(code);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Email, phone, or Skype').fill(admin.userPrincipalName);
  await page.getByLabel('Password').fill(admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Permissions requested' }).waitFor();
  await page.getByRole('button', { name: accept ? 'Accept' : 'Cancel' }).click();
  await page.context().close();
}

async function signInAtMicrosoft(
  page: Page,
  admin: { userPrincipalName: string; password: string },
  accept = true,
) {
  await page.getByLabel('Email, phone, or Skype').fill(admin.userPrincipalName);
  await page.getByLabel('Password').fill(admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Permissions requested' }).waitFor();
  await page.getByRole('button', { name: accept ? 'Accept' : 'Cancel' }).click();
}

describe('the invitation path (device code, both consents)', () => {
  it('takes the customer from the email to the thank-you page, and the operator on to Microsoft 365 Settings', async () => {
    const before = stack.sandbox.mail.messages().at(-1)?.seq ?? 0;
    const sessionId = await inviteThroughWizard(
      call,
      { shortName: 'Contoso', fullName: 'Contoso Ltd' },
      contoso.admin.userPrincipalName,
    );
    const { mail, link } = await invitationLink(stack, contoso.admin.userPrincipalName, before);
    expect(mail.subject).toContain('Contoso');
    expect(link.startsWith(`${stack.publicBaseUrl}/authenticate/`)).toBe(true);

    const page = await newPage();
    await page.goto(link);
    expect(await text(page.getByRole('heading', { level: 1 }))).toBe('Welcome Contoso');
    expect(await text(page.locator('header'))).toContain('Northwind Voice');
    await page.getByLabel('M365 admin username').fill(contoso.admin.userPrincipalName);
    await page.getByRole('button', { name: 'Start authentication' }).first().click();

    // Step 1: Microsoft Graph.
    expect(await text(page.getByRole('heading', { level: 1 }))).toContain('Step 1 of 2');
    const code1 = (await page.locator('#user-code').textContent())!.trim();
    const verification = (await page.getByRole('link', { name: /devicelogin/ }).getAttribute('href'))!;
    await approveDeviceCode(code1, verification, contoso.admin);

    // Step 2: the Skype and Teams Tenant Admin API; the page moves on by itself.
    await page.getByRole('heading', { name: /Step 2 of 2/ }).waitFor({ timeout: 30_000 });
    const code2 = (await page.locator('#user-code').textContent())!.trim();
    expect(code2).not.toBe(code1);
    await approveDeviceCode(code2, verification, contoso.admin);

    await page
      .getByText(
        'Thank you! You may close this window. Service provider will contact you when service is ready for operation',
      )
      .waitFor({ timeout: 30_000 });
    await page.context().close();

    const pending = await call('GET', `/api/v1/wizard-sessions/${sessionId}/pending-invitations`);
    const row = (pending.body as { value: Array<Record<string, unknown>> }).value.find(
      (i) => i.id === 'Contoso',
    );
    expect(row).toMatchObject({
      status: 'authentication-complete',
      deviceAuthenticated: true,
      m365AdminEmail: contoso.admin.userPrincipalName,
      emailSent: true,
      invitationType: 'invite',
    });

    const added = await call('POST', `/api/v1/wizard-sessions/${sessionId}/pending-invitations/Contoso/add`);
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({
      connection: { status: 'authentication-complete', tenantId: contoso.tenantId },
      m365Settings: { tenantId: contoso.tenantId, overrideAdminDomain: contoso.initialDomain },
    });

    const status = await call('GET', '/api/v1/authentication-status');
    expect((status.body as { value: unknown[] }).value).toContainEqual(
      expect.objectContaining({
        customerId: 'Contoso',
        authenticationMethod: 'token',
        m365Email: contoso.admin.userPrincipalName,
        tenantId: contoso.tenantId,
        lastVerificationStatus: 'successful',
      }),
    );
    const check = await call('POST', '/api/v1/authentication-status/Contoso/check');
    expect(check.body).toMatchObject({ lastVerificationStatus: 'successful' });
  });
});

describe('the welcome page', () => {
  it('fits a phone, loads nothing from elsewhere, and works with the keyboard alone', async () => {
    const before = stack.sandbox.mail.messages().at(-1)?.seq ?? 0;
    await inviteThroughWizard(call, { shortName: 'Phone' }, 'admin@phone.example');
    const { link } = await invitationLink(stack, 'admin@phone.example', before);
    const context = await browser.newContext({
      viewport: { width: 360, height: 740 },
      isMobile: true,
      hasTouch: true,
    });
    const page = await context.newPage();
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    const response = await page.goto(link);
    expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");
    expect(response?.headers()['referrer-policy']).toBe('no-referrer');
    expect(requested.every((url) => url.startsWith(stack.publicBaseUrl) || url.startsWith('data:'))).toBe(
      true,
    );
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);

    // Keyboard only: Tab to the username, type, Tab to "Start authentication", Enter.
    let focused = '';
    for (let i = 0; i < 10 && focused !== 'm365AdminEmail'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate<string>("document.activeElement?.id ?? ''");
    }
    expect(focused).toBe('m365AdminEmail');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('admin@phone.example');
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string>('document.activeElement?.textContent')).toBe('Start authentication');
    await page.keyboard.press('Enter');
    // A domain that is no Microsoft 365 tenant is the admin's typo: said on the page, the form still there.
    expect(await text(page.getByRole('alert'))).toBe(
      'No Microsoft 365 tenant has the domain of admin@phone.example. Enter your Microsoft 365 admin username, e.g. admin@contoso.onmicrosoft.com.',
    );
    await page.getByLabel('M365 admin username').focus();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type(contoso.admin.userPrincipalName);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /Step 1 of 2/ }).waitFor();
    await context.close();
  });
});

describe('the app-registration path', () => {
  it('refuses a wrong secret with the AADSTS message and stores nothing, then accepts the right one', async () => {
    const app = stack.sandbox.state.addApplication({
      displayName: 'Fabrikam for Northwind',
      homeTenantId: fabrikam.tenantId,
    });
    const secret = stack.sandbox.state.addSecret(app.appId, { displayName: 'provider' });
    stack.sandbox.state.consent(fabrikam.tenantId, app.appId, {
      'https://graph.microsoft.com': DEMO.appRegistrationGraphRoles,
    });

    const before = stack.sandbox.mail.messages().at(-1)?.seq ?? 0;
    await inviteThroughWizard(call, { shortName: 'Fabrikam' }, 'it@fabrikam.example');
    const { link } = await invitationLink(stack, 'it@fabrikam.example', before);
    const page = await newPage();
    await page.goto(link);
    await page.getByLabel('Customer Microsoft Tenant ID').fill(fabrikam.tenantId);
    await page.getByLabel('Application (Client) ID').fill(app.appId);
    await page.getByLabel('Client Secret').fill('not-the-secret-value');
    await page.getByRole('button', { name: 'Start authentication' }).last().click();
    expect(await text(page.getByRole('alert'))).toBe(
      "Invalid client secret: enter the secret's Value, not its Secret ID.",
    );
    // The form keeps what was right and never echoes the secret.
    expect(await page.getByLabel('Application (Client) ID').inputValue()).toBe(app.appId);
    expect(await page.getByLabel('Client Secret').inputValue()).toBe('');
    expect(await tableText(stack, 'credentials')).not.toContain('Fabrikam');

    await page.getByLabel('Client Secret').fill(secret.secretText);
    await page.getByRole('button', { name: 'Start authentication' }).last().click();
    await page.getByText('Application Registration is valid').waitFor();
    await page.getByText('Thank you! You may close this window.', { exact: false }).waitFor();
    await page.context().close();

    const invitation = await call('GET', '/api/v1/invitations/Fabrikam');
    expect(invitation.body).toMatchObject({ deviceAuthenticated: true, status: 'authentication-complete' });
    expect(await tableText(stack, 'credentials')).not.toContain(secret.secretText);
  });
});

describe('the sign-in path (authorization code with PKCE)', () => {
  let callbackUrl = '';

  it('signs in at Microsoft, consents twice and completes the wizard connection', async () => {
    const opened = await call('POST', '/api/v1/wizard-sessions');
    const sessionId = (opened.body as { id: string }).id;
    await call('PUT', `/api/v1/wizard-sessions/${sessionId}/customer`, {
      json: {
        fullName: 'Fabrikam Two',
        shortName: 'Fabrikam2',
        licenseType: 'hosted-essentials-plus',
        licensedUsers: 5,
      },
    });
    const started = await call('POST', `/api/v1/wizard-sessions/${sessionId}/connection`, {
      json: { method: 'sign-in', loginHint: fabrikam.admin.userPrincipalName },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    const { signInUrl, connection } = started.body as { signInUrl: string; connection: { status: string } };
    expect(connection.status).toBe('pending-authentication');
    // A one-time link on this host: opened in this browser, it binds the sign-in to it, then goes to Microsoft.
    expect(new URL(signInUrl).pathname).toMatch(/^\/authenticate\/launch\//);

    const page = await newPage();
    page.on('request', (request) => {
      if (request.url().includes('/authenticate/OAuth2Callback') && request.url().includes('code='))
        callbackUrl = request.url();
    });
    await page.goto(signInUrl);
    expect(new URL(page.url()).searchParams.get('code_challenge_method')).toBe('S256');
    await signInAtMicrosoft(page, fabrikam.admin);
    // The second consent, for the Teams admin API, follows without the operator doing anything but sign in
    // again (the sandbox keeps no browser session at Microsoft).
    await signInAtMicrosoft(page, fabrikam.admin);
    await page.getByRole('heading', { name: 'Authentication complete' }).waitFor();
    await page.context().close();

    const session = await call('GET', `/api/v1/wizard-sessions/${sessionId}`);
    expect(session.body).toMatchObject({
      connection: { method: 'sign-in', status: 'authentication-complete', tenantId: fabrikam.tenantId },
      m365Settings: { tenantId: fabrikam.tenantId, overrideAdminDomain: fabrikam.initialDomain },
    });

    // The grant is the session's until Submit; Reset deletes it and asks for the consent to be removed.
    expect((await stack.services.credentials.get('Fabrikam2'))?.heldByWizardSession).toBe(sessionId);
    const reset = await call('DELETE', `/api/v1/wizard-sessions/${sessionId}`);
    expect(reset.status).toBe(200);
    expect(
      (reset.body as { credentialsDeleted: { message: string } | null }).credentialsDeleted?.message,
    ).toContain('remove the admin consent');
    expect(await stack.services.credentials.get('Fabrikam2')).toBeNull();
  });

  it('shows the replay page for a callback used twice, and changes nothing', async () => {
    expect(callbackUrl).not.toBe('');
    const before = await tableText(stack, 'credentials');
    const page = await newPage();
    const response = await page.goto(callbackUrl);
    expect(response?.status()).toBe(409);
    expect(await text(page.getByRole('heading', { level: 1 }))).toBe('This sign-in answer was already used');
    await page.context().close();
    expect(await tableText(stack, 'credentials')).toBe(before);
  });

  it('shows the forged-state page for a state it never issued', async () => {
    const page = await newPage();
    const forged = randomBytes(32).toString('base64url');
    const response = await page.goto(
      `${stack.publicBaseUrl}/authenticate/OAuth2Callback?code=abc&state=${forged}`,
    );
    expect(response?.status()).toBe(400);
    expect(await text(page.getByRole('heading', { level: 1 }))).toBe('This sign-in answer is not valid');
    await page.context().close();
  });
});

describe('links and answers that must not work', () => {
  it('shows the consent-declined page when the admin cancels at Microsoft, and the invitation stays pending', async () => {
    // A tenant that never consented, so Microsoft shows its consent screen.
    const tenant = stack.sandbox.state.addTenant({
      displayName: 'Tailspin Toys',
      initialDomainPrefix: 'tailspintoys',
    });
    const tailspin = {
      userPrincipalName: 'admin@tailspintoys.onmicrosoft.com',
      password: 'Tailspin-Admin-1!',
    };
    stack.sandbox.state.addUser(tenant.id, {
      userPrincipalName: tailspin.userPrincipalName,
      displayName: 'Tailspin Admin',
    });
    stack.sandbox.state.entra.setCredentials(tenant.id, tailspin.userPrincipalName, {
      password: tailspin.password,
      globalAdministrator: true,
    });
    const before = stack.sandbox.mail.messages().at(-1)?.seq ?? 0;
    await inviteThroughWizard(call, { shortName: 'Declined' }, 'admin@declined.example');
    const { link } = await invitationLink(stack, 'admin@declined.example', before);
    const page = await newPage();
    await page.goto(link);
    await page.getByRole('button', { name: 'Sign in with Microsoft in this browser instead' }).click();
    await signInAtMicrosoft(page, tailspin, false);
    expect(await text(page.getByRole('alert'))).toBe(
      'The administrator has not consented to use the application!',
    );
    await page.context().close();
    expect((await call('GET', '/api/v1/invitations/Declined')).body).toMatchObject({
      status: 'pending-authentication',
      deviceAuthenticated: false,
    });
    expect(await tableText(stack, 'credentials')).not.toContain('Declined');
  });

  it('shows the revoked page as soon as the operator revokes the invitation', async () => {
    const before = stack.sandbox.mail.messages().at(-1)?.seq ?? 0;
    await inviteThroughWizard(call, { shortName: 'Revoked' }, 'admin@revoked.example');
    const { link } = await invitationLink(stack, 'admin@revoked.example', before);
    const page = await newPage();
    expect((await page.goto(link))?.status()).toBe(200);
    expect((await call('DELETE', '/api/v1/invitations/Revoked')).status).toBe(204);
    expect((await page.goto(link))?.status()).toBe(410);
    expect(await text(page.getByRole('heading', { level: 1 }))).toBe('This invitation was withdrawn');
    await page.context().close();
  });

  it('shows the expired page once the validity has passed, and a reminder brings a working link', async () => {
    const before = stack.sandbox.mail.messages().at(-1)?.seq ?? 0;
    await inviteThroughWizard(call, { shortName: 'Expiring' }, 'admin@expiring.example');
    const { link } = await invitationLink(stack, 'admin@expiring.example', before);
    await expireInvitation('Expiring');
    const page = await newPage();
    expect((await page.goto(link))?.status()).toBe(410);
    expect(await text(page.getByRole('heading', { level: 1 }))).toBe('This invitation has expired');

    const mark = stack.sandbox.mail.messages().at(-1)?.seq ?? 0;
    expect((await call('POST', '/api/v1/invitations/Expiring/reminder', { json: {} })).status).toBe(200);
    const reminder = await invitationLink(stack, 'admin@expiring.example', mark);
    expect(reminder.link).not.toBe(link);
    expect((await page.goto(reminder.link))?.status()).toBe(200);
    expect((await page.goto(link))?.status()).toBe(404);
    await page.context().close();
  });

  it('shows the expired page when the invitation expires while the admin is at Microsoft, and stores nothing', async () => {
    const before = stack.sandbox.mail.messages().at(-1)?.seq ?? 0;
    await inviteThroughWizard(call, { shortName: 'LateAdmin' }, 'admin@late.example');
    const { link } = await invitationLink(stack, 'admin@late.example', before);
    const page = await newPage();
    await page.goto(link);
    await page.getByRole('button', { name: 'Sign in with Microsoft in this browser instead' }).click();
    await page.getByLabel('Email, phone, or Skype').waitFor();
    await expireInvitation('LateAdmin');
    await page.getByLabel('Email, phone, or Skype').fill(fabrikam.admin.userPrincipalName);
    await page.getByLabel('Password').fill(fabrikam.admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const accept = page.getByRole('button', { name: 'Accept' });
    const heading = page.getByRole('heading', { name: 'This invitation can no longer be used' });
    await Promise.race([accept.waitFor(), heading.waitFor()]);
    if (await accept.isVisible()) await accept.click();
    await heading.waitFor();
    await page.context().close();
    expect(await tableText(stack, 'credentials')).not.toContain('LateAdmin');
    expect((await call('GET', '/api/v1/invitations/LateAdmin')).body).toMatchObject({
      deviceAuthenticated: false,
    });
  });

  it("refuses a Microsoft sign-in URL forwarded to another company's admin, in their browser", async () => {
    const before = stack.sandbox.mail.messages().at(-1)?.seq ?? 0;
    await inviteThroughWizard(call, { shortName: 'Forwarded' }, 'admin@forwarded.example');
    const { link } = await invitationLink(stack, 'admin@forwarded.example', before);
    // The link holder starts the sign-in, and copies Microsoft's URL from the address bar instead of signing in.
    const holder = await newPage();
    await holder.goto(link);
    await holder.getByRole('button', { name: 'Sign in with Microsoft in this browser instead' }).click();
    await holder.getByLabel('Email, phone, or Skype').waitFor();
    const microsoftUrl = holder.url();
    await holder.context().close();
    // Another company's admin opens it in their own browser, signs in and consents.
    const victim = await newPage();
    await victim.goto(microsoftUrl);
    await victim.getByLabel('Email, phone, or Skype').fill(fabrikam.admin.userPrincipalName);
    await victim.getByLabel('Password').fill(fabrikam.admin.password);
    await victim.getByRole('button', { name: 'Sign in' }).click();
    // Microsoft asks for consent only if the tenant has not given it yet (an earlier test may have).
    const accept = victim.getByRole('button', { name: 'Accept' });
    const refused = victim.getByRole('heading', { name: 'This sign-in belongs to another browser' });
    await Promise.race([accept.waitFor(), refused.waitFor()]);
    if (await accept.isVisible()) await accept.click();
    await refused.waitFor();
    expect(await victim.content()).toContain('consent_browser_mismatch');
    await victim.context().close();
    expect(await tableText(stack, 'credentials')).not.toContain('Forwarded');
    expect((await call('GET', '/api/v1/invitations/Forwarded')).body).toMatchObject({
      deviceAuthenticated: false,
    });
  });

  it('refuses a form posted from another site', async () => {
    const before = stack.sandbox.mail.messages().at(-1)?.seq ?? 0;
    await inviteThroughWizard(call, { shortName: 'Csrf' }, 'admin@csrf.example');
    const { link } = await invitationLink(stack, 'admin@csrf.example', before);
    const forged = await fetch(`${link}/device`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: new URLSearchParams({ csrf: 'guess', m365AdminEmail: 'admin@csrf.example' }).toString(),
      redirect: 'manual',
    });
    expect(forged.status).toBe(403);
  });
});

describe('email delivery', () => {
  it('retries while the mail server refuses, the Sent Count grows, and the email goes out once on recovery', async () => {
    stack.sandbox.mail.failSmtp('always');
    const before = stack.sandbox.mail.messages().at(-1)?.seq ?? 0;
    await inviteThroughWizard(call, { shortName: 'Retry' }, 'admin@retry.example');
    const grown = await waitFor('three failed attempts', async () => {
      const view = (await call('GET', '/api/v1/invitations/Retry')).body as {
        emailInvitationSentCount: number;
        emailSent: boolean;
      };
      return view.emailInvitationSentCount >= 3 ? view : undefined;
    });
    expect(grown.emailSent).toBe(false);
    stack.sandbox.mail.failSmtp(false);
    await invitationLink(stack, 'admin@retry.example', before);
    const sent = await waitFor('Email Sent', async () => {
      const view = (await call('GET', '/api/v1/invitations/Retry')).body as {
        emailSent: boolean;
        emailInvitationSentCount: number;
      };
      return view.emailSent ? view : undefined;
    });
    expect(sent.emailInvitationSentCount).toBeGreaterThanOrEqual(grown.emailInvitationSentCount);
    // No delivery left under way (the queue counts messages not yet visible too): nothing can send it again.
    const outbox = QueueServiceClient.fromConnectionString(stack.storageConnectionString).getQueueClient(
      EMAIL_OUTBOX_QUEUE,
    );
    await waitFor('the outbox queue to drain', async () =>
      (await outbox.getProperties()).approximateMessagesCount === 0 ? true : undefined,
    );
    expect(
      stack.sandbox.mail.messages().filter((m) => m.seq > before && m.to.includes('admin@retry.example')),
    ).toHaveLength(1);
  });
});

describe('the logs of everything above', () => {
  it('contain none of the secrets, tokens, passwords or invitation links', async () => {
    const everything = JSON.stringify(logs);
    expect(logs.length).toBeGreaterThan(10);
    const links = stack.sandbox.mail
      .messages()
      .flatMap((m) =>
        [...(m.text ?? '').matchAll(/\/authenticate\/([A-Za-z0-9_-]{43})/g)].map((match) => match[1]!),
      );
    expect(links.length).toBeGreaterThan(3);
    for (const secret of [
      DEMO.tokenApp.clientSecret,
      contoso.admin.password,
      fabrikam.admin.password,
      ...links,
      ...stack.sandbox.state.entra.issuedRefreshTokens(),
    ]) {
      expect(everything).not.toContain(secret);
    }
    // Access and ID tokens are JWTs; none may appear, whoever issued them.
    expect(everything).not.toMatch(/eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\./);
  });
});

async function expireInvitation(id: string): Promise<void> {
  const { TableClient } = await import('@azure/data-tables');
  const table = TableClient.fromConnectionString(stack.storageConnectionString, 'invitations', {
    allowInsecureConnection: true,
  });
  for await (const entity of table.listEntities<{ shortName?: string; expiresAt?: string }>()) {
    if (entity.shortName === id && entity.expiresAt) {
      await table.updateEntity(
        {
          partitionKey: entity.partitionKey!,
          rowKey: entity.rowKey!,
          expiresAt: new Date(Date.now() - 1000).toISOString(),
        },
        'Merge',
      );
    }
  }
}
