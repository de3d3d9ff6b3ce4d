import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../dev/sandbox/index.js';
import { browseSignIn } from '../../dev/sandbox/entra-browser.js';
import { findUser } from '../../dev/sandbox/state.js';
import { hashLaunchToken } from '../../shared/consent/consent-flow.js';
import { createSignInLaunchStore } from '../../shared/consent/consent-flow-store.js';
import { createCredentialStore } from '../../shared/credentials/credential-store.js';
import { createTrustedTransport, type TrustedTransport } from '../../shared/net/trusted-transport.js';
import { apiClient } from '../support/api-client.js';
import { type MemoryStackWithPeers, startMemoryStackWithPeers } from '../support/memory-stack.js';
import {
  bindingCookie,
  type Call,
  configureProvider,
  invitationLink,
  inviteThroughWizard,
  tableText,
  waitFor,
} from './consent-fixture.js';

const contoso = DEMO.customers.contoso;
const fabrikam = DEMO.customers.fabrikam;
const FORM = 'application/x-www-form-urlencoded';

let stack: MemoryStackWithPeers;
let call: Call;
let transport: TrustedTransport;

beforeAll(async () => {
  stack = await startMemoryStackWithPeers();
  call = apiClient(stack.api, () => stack.token());
  await configureProvider(stack, call);
  transport = createTrustedTransport(stack.sandbox.caCertFile);
  stack.sandbox.state.entra.setDeviceCodeTiming({ intervalSeconds: 0 });
});
afterAll(async () => {
  await transport?.close();
  await stack?.close();
});

/** A browser at the product's pages: in process, keeping only the cookie it is given. */
const page = (url: string, cookie?: string, init: RequestInit = {}) =>
  stack.api.fetch(url, {
    redirect: 'manual',
    ...init,
    headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) },
  });

/** Posts one of the welcome page's forms as that page would; returns the redirect and the cookie it set. */
async function startFrom(link: string, form: 'sign-in' | 'device', fields: Record<string, string> = {}) {
  const welcome = await (await page(link)).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(welcome)?.[1] ?? '';
  const started = await page(`${link}/${form}`, undefined, {
    method: 'POST',
    headers: { 'content-type': FORM, origin: new URL(link).origin },
    body: new URLSearchParams({ csrf, ...fields }).toString(),
  });
  expect(started.status, await started.clone().text()).toBe(303);
  return {
    location: new URL(started.headers.get('location') ?? '', link).toString(),
    cookie: bindingCookie(started),
  };
}

/** Someone at Microsoft's sign-in page with the URL they were given; returns where Microsoft sends them back. */
async function signInAtMicrosoft(url: string, admin: { userPrincipalName: string; password: string }) {
  const outcome = await browseSignIn(transport.fetch, url, {
    username: admin.userPrincipalName,
    password: admin.password,
  });
  if (outcome.kind !== 'redirect') throw new Error(`Stopped at Microsoft: ${outcome.text}`);
  return outcome.location;
}

async function approveAtMicrosoft(userCode: string, userPrincipalName: string) {
  const response = await transport.fetch(`${stack.sandbox.url}/_sandbox/entra/device/approve`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userCode, userPrincipalName }),
  });
  expect(response.status, await response.text()).toBe(200);
}

async function invite(shortName: string, email: string): Promise<string> {
  const before = stack.sandbox.mail.messages().at(-1)?.seq ?? 0;
  await inviteThroughWizard(call, { shortName }, email);
  return (await invitationLink(stack, email, before)).link;
}

/**
 * Polls the device-code page as the starting browser, approving each new code (Graph, then the Teams admin API
 * when Microsoft asks for it), until the thank-you page; returns it.
 */
async function finishDeviceCode(flowUrl: string, cookie: string, userPrincipalName: string, approved = '') {
  let last = approved;
  return waitFor('the thank-you page', async () => {
    const html = await (await page(flowUrl, cookie)).text();
    if (html.includes('Thank you!')) return html;
    const code = userCodeOf(html);
    if (!code) throw new Error(`Unexpected page: ${html.slice(-800)}`);
    if (code !== last) {
      await approveAtMicrosoft(code, userPrincipalName);
      last = code;
    }
    return undefined;
  });
}

const invitation = async (id: string) => (await call('GET', `/api/v1/invitations/${id}`)).body;
const userCodeOf = (html: string) => /id="user-code">([^<]+)</.exec(html)?.[1]?.trim() ?? '';

describe('a consent is bound to the browser that started it', () => {
  it('refuses a Microsoft sign-in URL forwarded to another company’s admin, and stores nothing', async () => {
    const link = await invite('Forwarded', 'it@forwarded.example');
    // The link holder starts the sign-in and, instead of signing in, forwards Microsoft's genuine URL.
    const { location: microsoftUrl } = await startFrom(link, 'sign-in');
    expect(microsoftUrl.startsWith(stack.sandbox.url)).toBe(true);
    // Another company's admin signs in and consents; Microsoft sends *their* browser back to the callback.
    const callback = await signInAtMicrosoft(microsoftUrl, fabrikam.admin);
    const code = new URL(callback).searchParams.get('code') ?? '';
    expect(code).not.toBe('');

    const refused = await page(callback);
    expect(refused.status).toBe(403);
    const html = await refused.text();
    expect(html).toContain('This sign-in belongs to another browser');
    expect(html).toContain('consent_browser_mismatch');
    expect(html).not.toContain(code);
    expect(await tableText(stack, 'credentials')).not.toContain('Forwarded');
    expect(await invitation('Forwarded')).toMatchObject({ deviceAuthenticated: false });

    // The answer is spent: not even the starting browser can use it now.
    const { cookie } = await startFrom(link, 'sign-in');
    const again = await page(callback, cookie);
    expect(again.status).toBe(409);
    expect(await tableText(stack, 'credentials')).not.toContain('Forwarded');
  });

  it('refuses the callback in a browser with a cookie of its own, and completes in the starting one', async () => {
    const link = await invite('Bound', 'it@bound.example');
    const mine = await startFrom(link, 'sign-in');
    const theirs = await startFrom(link, 'sign-in');
    expect(theirs.cookie).not.toBe(mine.cookie);

    const forwarded = await signInAtMicrosoft(theirs.location, fabrikam.admin);
    const refused = await page(forwarded, mine.cookie);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('consent_browser_mismatch');

    // The starting browser goes through both consents (Graph, then the Teams admin API) with its cookie.
    const first = await page(await signInAtMicrosoft(mine.location, fabrikam.admin), mine.cookie);
    expect(first.status).toBe(303);
    const second = await signInAtMicrosoft(first.headers.get('location') ?? '', fabrikam.admin);
    const done = await page(second, mine.cookie);
    expect(done.status).toBe(200);
    const html = await done.text();
    expect(html).toContain('Thank you! You may close this window.');
    // The tenant that was connected and who signed in, as Microsoft and Graph name them.
    expect(html).toContain(`<dd id="tenant-domain">${fabrikam.initialDomain}</dd>`);
    expect(html).toContain(`<dd id="signed-in-as">${fabrikam.admin.userPrincipalName}</dd>`);
    expect(await invitation('Bound')).toMatchObject({ deviceAuthenticated: true });
  });

  it('refuses to poll a device code from a browser without the cookie: no code shown, Microsoft not asked', async () => {
    const link = await invite('DeviceBound', 'it@devicebound.example');
    const { location: flowUrl, cookie } = await startFrom(link, 'device', {
      m365AdminEmail: contoso.admin.userPrincipalName,
    });
    const shown = await (await page(flowUrl, cookie)).text();
    const userCode = userCodeOf(shown);
    expect(userCode).not.toBe('');
    await approveAtMicrosoft(userCode, contoso.admin.userPrincipalName);

    for (const other of [undefined, '__Host-drh-consent=' + 'A'.repeat(43)]) {
      const refused = await page(flowUrl, other);
      expect(refused.status).toBe(403);
      const html = await refused.text();
      expect(html).toContain('consent_browser_mismatch');
      expect(html).not.toContain(userCode);
      const status = await page(`${flowUrl}/status`, other);
      expect(status.status).toBe(403);
      expect(await status.json()).toEqual({ status: 'refused', code: 'consent_browser_mismatch' });
    }
    expect(await tableText(stack, 'credentials')).not.toContain('DeviceBound');

    // The browser that started it collects the approval, and goes on to the Teams consent when Microsoft asks.
    const done = await finishDeviceCode(flowUrl, cookie, contoso.admin.userPrincipalName, userCode);
    expect(done).toContain(`<dd id="tenant-domain">${contoso.initialDomain}</dd>`);
  });
});

describe('the device code polling', () => {
  it('keeps the interval Microsoft named for every poll, not the default of five seconds', async () => {
    stack.sandbox.state.entra.setDeviceCodeTiming({ intervalSeconds: 2 });
    try {
      const link = await invite('Paced', 'it@paced.example');
      const { location: flowUrl, cookie } = await startFrom(link, 'device', {
        m365AdminEmail: contoso.admin.userPrincipalName,
      });
      // The page shows the code (asking Microsoft once), then its script polls the status at the interval.
      expect(userCodeOf(await (await page(flowUrl, cookie)).text())).not.toBe('');
      for (let poll = 0; poll < 2; poll++) {
        const status = await page(`${flowUrl}/status`, cookie);
        expect(await status.json()).toEqual({ status: 'pending', step: 'graph', intervalSeconds: 2 });
      }
    } finally {
      stack.sandbox.state.entra.setDeviceCodeTiming({ intervalSeconds: 0 });
    }
  });
});

describe('a customer whose tenant is known', () => {
  /** An existing customer connected to Contoso's tenant, asked to authenticate again (Switch to token). */
  async function knownCustomer(shortName: string): Promise<string> {
    const created = await call('POST', '/api/v1/customers', {
      json: { fullName: `${shortName} Ltd`, shortName, licenseType: 'hosted-pro', licensedUsers: 5 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await createCredentialStore(stack.tables).put({
      customerId: shortName,
      method: 'app-registration',
      tenantId: contoso.tenantId,
      m365Email: null,
      m365AdminObjectId: null,
      initialDomain: contoso.initialDomain,
      tenantDisplayName: 'Contoso Ltd',
      clientId: '0f5b8a3e-2c1d-4e6f-9a7b-8c9d0e1f2a3b',
      clientSecretExpiresAt: null,
      sealedSecret: stack.services.secretBox.seal('secret', `credentials/${shortName.toLowerCase()}/secret`),
      whenLastVerified: null,
      lastVerificationStatus: 'successful',
      lastVerificationMessage: null,
      heldByWizardSession: null,
    });
    const before = stack.sandbox.mail.messages().at(-1)?.seq ?? 0;
    const email = `it@${shortName.toLowerCase()}.example`;
    const invited = await call('POST', `/api/v1/customers/${shortName}/invitations`, {
      json: { invitationEmail: email },
    });
    expect(invited.status, JSON.stringify(invited.body)).toBe(201);
    return (await invitationLink(stack, email, before)).link;
  }

  it('refuses another tenant signing in (sign-in), and keeps the customer’s credential as it was', async () => {
    const link = await knownCustomer('Kept');
    const before = await tableText(stack, 'credentials');
    const { location, cookie } = await startFrom(link, 'sign-in');
    const refused = await page(await signInAtMicrosoft(location, fabrikam.admin), cookie);
    expect(refused.status).toBe(403);
    const html = await refused.text();
    expect(html).toContain('consent_tenant_mismatch');
    expect(html).toContain('belongs to another Microsoft 365 tenant');
    expect(await tableText(stack, 'credentials')).toBe(before);
    expect(await invitation('Kept')).toMatchObject({ deviceAuthenticated: false });
  });

  it('refuses another tenant approving the device code, and keeps the customer’s credential as it was', async () => {
    const link = await knownCustomer('KeptToo');
    const before = await tableText(stack, 'credentials');
    const { location: flowUrl, cookie } = await startFrom(link, 'device', {
      m365AdminEmail: fabrikam.admin.userPrincipalName,
    });
    await approveAtMicrosoft(
      userCodeOf(await (await page(flowUrl, cookie)).text()),
      fabrikam.admin.userPrincipalName,
    );
    const html = await waitFor('the refusal', async () => {
      const text = await (await page(flowUrl, cookie)).text();
      return text.includes('consent_tenant_mismatch') ? text : undefined;
    });
    expect(html).toContain('belongs to another Microsoft 365 tenant');
    expect(await tableText(stack, 'credentials')).toBe(before);
    expect(await invitation('KeptToo')).toMatchObject({ deviceAuthenticated: false });
  });
});

describe('a first-time tenant', () => {
  it('is recorded with the account that signed in, not the username typed on the page', async () => {
    const link = await invite('Typed', 'it@typed.example');
    const typed = `someone.else@${contoso.initialDomain}`;
    const { location: flowUrl, cookie } = await startFrom(link, 'device', { m365AdminEmail: typed });
    await finishDeviceCode(flowUrl, cookie, contoso.admin.userPrincipalName);
    const admin = findUser(
      stack.sandbox.state.requireTenant(contoso.tenantId),
      contoso.admin.userPrincipalName,
    );
    expect(await stack.services.credentials.get('Typed')).toMatchObject({
      tenantId: contoso.tenantId,
      m365Email: contoso.admin.userPrincipalName,
      m365AdminObjectId: admin?.id,
      initialDomain: contoso.initialDomain,
    });
    expect(await invitation('Typed')).toMatchObject({ m365AdminEmail: contoso.admin.userPrincipalName });
  });
});

describe('the device code as a provider setting', () => {
  it('is off unless the provider turns it on: the page offers only the sign-in, and a posted form is refused', async () => {
    const saved = await call('PUT', '/api/v1/settings/token-app', {
      json: { clientId: DEMO.tokenApp.clientId },
    });
    expect(saved.body).toMatchObject({ deviceCode: false });
    try {
      const link = await invite('NoDevice', 'it@nodevice.example');
      const welcome = await (await page(link)).text();
      expect(welcome).not.toContain(`action="${new URL(link).pathname}/device"`);
      expect(welcome).toContain('>Sign in with Microsoft</button>');
      const csrf = /name="csrf" value="([^"]+)"/.exec(welcome)?.[1] ?? '';
      const refused = await page(`${link}/device`, undefined, {
        method: 'POST',
        headers: { 'content-type': FORM, origin: new URL(link).origin },
        body: new URLSearchParams({ csrf, m365AdminEmail: contoso.admin.userPrincipalName }).toString(),
      });
      expect(refused.status).toBe(403);
      expect(await refused.text()).toContain('Sign-in with a code is not offered.');
      expect(refused.headers.getSetCookie()).toEqual([]);
    } finally {
      await call('PUT', '/api/v1/settings/token-app', {
        json: { clientId: DEMO.tokenApp.clientId, deviceCode: true },
      });
    }
  });
});

describe('the wizard’s Sign in now', () => {
  /** A wizard session on its first page, then Sign in now through the API: the launch link it answers. */
  async function signInNow(shortName: string): Promise<{ sessionId: string; launch: string }> {
    const opened = await call('POST', '/api/v1/wizard-sessions');
    const sessionId = (opened.body as { id: string }).id;
    const named = await call('PUT', `/api/v1/wizard-sessions/${sessionId}/customer`, {
      json: { fullName: `${shortName} Ltd`, shortName, licenseType: 'hosted-pro', licensedUsers: 5 },
    });
    expect(named.status, JSON.stringify(named.body)).toBe(200);
    const started = await call('POST', `/api/v1/wizard-sessions/${sessionId}/connection`, {
      json: { method: 'sign-in', loginHint: fabrikam.admin.userPrincipalName },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    return { sessionId, launch: (started.body as { signInUrl: string }).signInUrl };
  }

  /** The operator's browser opens the launch link: it is bound, and sent on to Microsoft. */
  async function launch(url: string) {
    const opened = await page(url);
    expect(opened.status, await opened.clone().text()).toBe(303);
    return { microsoftUrl: opened.headers.get('location') ?? '', cookie: bindingCookie(opened) };
  }

  const connection = async (sessionId: string) =>
    ((await call('GET', `/api/v1/wizard-sessions/${sessionId}`)).body as { connection: unknown }).connection;

  it('answers a one-time link on this host, not Microsoft’s URL', async () => {
    const { launch: url } = await signInNow('LaunchHost');
    expect(new URL(url).pathname).toMatch(/^\/authenticate\/launch\/[A-Za-z0-9_-]{43}$/);
    expect(url.startsWith(stack.sandbox.url)).toBe(false);
    // Only the token's hash is stored.
    expect(await tableText(stack, 'consentflows')).not.toContain(new URL(url).pathname.split('/').at(-1));
  });

  it('refuses a Microsoft URL forwarded from the operator’s browser, and stores nothing', async () => {
    const { sessionId, launch: url } = await signInNow('WizForward');
    const { microsoftUrl } = await launch(url);
    expect(microsoftUrl.startsWith(stack.sandbox.url)).toBe(true);
    // Someone else signs in with the forwarded URL; Microsoft sends their browser (no cookie) back.
    const refused = await page(await signInAtMicrosoft(microsoftUrl, fabrikam.admin));
    expect(refused.status).toBe(403);
    const html = await refused.text();
    expect(html).toContain('consent_browser_mismatch');
    expect(html).toContain('Choose Sign in now again in the onboarding wizard');
    expect(await tableText(stack, 'credentials')).not.toContain('WizForward');
    expect(await connection(sessionId)).toMatchObject({ status: 'pending-authentication' });
  });

  it('completes in the browser that opened the link, which cannot open it again', async () => {
    const { sessionId, launch: url } = await signInNow('WizBound');
    const { microsoftUrl, cookie } = await launch(url);

    const reused = await page(url);
    expect(reused.status).toBe(410);
    expect(await reused.text()).toContain('This sign-in link was already used');
    expect(reused.headers.getSetCookie()).toEqual([]);

    // Graph, then the Teams admin API when Microsoft asks for it (the tenant may have consented to it already).
    let done = await page(await signInAtMicrosoft(microsoftUrl, fabrikam.admin), cookie);
    if (done.status === 303) {
      done = await page(await signInAtMicrosoft(done.headers.get('location') ?? '', fabrikam.admin), cookie);
    }
    expect(done.status, await done.clone().text()).toBe(200);
    expect(await done.text()).toContain('Authentication complete');
    expect(await connection(sessionId)).toMatchObject({
      status: 'authentication-complete',
      tenantId: fabrikam.tenantId,
    });
  });

  it('refuses an expired link with its own page, and a made-up one', async () => {
    const { launch: url } = await signInNow('WizLate');
    const launches = createSignInLaunchStore(stack.tables);
    const found = await launches.get(hashLaunchToken(new URL(url).pathname.split('/').at(-1) ?? ''));
    if (!found) throw new Error('The launch was not stored.');
    const { etag: _etag, ...rest } = found;
    await launches.replace(found, { ...rest, expiresAt: new Date(Date.now() - 1000).toISOString() });

    const expired = await page(url);
    expect(expired.status).toBe(410);
    expect(await expired.text()).toContain('This sign-in link has expired');
    expect(expired.headers.getSetCookie()).toEqual([]);

    const unknown = await page(new URL(`/authenticate/launch/${'A'.repeat(43)}`, url).toString());
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('This sign-in link is not valid');
  });
});
