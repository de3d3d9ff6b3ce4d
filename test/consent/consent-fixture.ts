import { TableClient } from '@azure/data-tables';
import { expect } from 'vitest';
import { DEMO, DEMO_MAIL, type SandboxMail } from '../../dev/sandbox/index.js';
import { createTrustedTransport } from '../../shared/net/trusted-transport.js';
import type { apiClient } from '../support/api-client.js';
import type { MemoryStack } from '../support/memory-stack.js';
import type { TestStack } from '../support/stack.js';

export type Call = ReturnType<typeof apiClient>;

/** The provider's one-time set-up, as an operator does it through the settings API. */
export async function configureProvider(stack: Pick<TestStack, 'sandbox'>, call: Call): Promise<void> {
  const responses = await Promise.all([
    call('PUT', '/api/v1/settings/token-app', {
      json: { clientId: DEMO.tokenApp.clientId, clientSecret: DEMO.tokenApp.clientSecret, deviceCode: true },
    }),
    call('PUT', '/api/v1/settings/email', {
      json: {
        transport: 'smtp',
        from: DEMO_MAIL.smtp.username,
        host: stack.sandbox.smtp.host,
        port: stack.sandbox.smtp.port,
        enableSsl: true,
        username: DEMO_MAIL.smtp.username,
        password: DEMO_MAIL.smtp.password,
        confirmPassword: DEMO_MAIL.smtp.password,
      },
    }),
    call('PUT', '/api/v1/settings/white-label', { json: { displayName: 'Northwind Voice' } }),
  ]);
  for (const response of responses) expect(response.status, JSON.stringify(response.body)).toBe(200);
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The invitation email the sandbox mailbox received for this recipient, and the link in it. */
export async function invitationLink(
  stack: Pick<TestStack, 'sandbox'>,
  to: string,
  after = 0,
): Promise<{ mail: SandboxMail; link: string }> {
  const mail = await waitFor(`the invitation email to ${to}`, async () =>
    stack.sandbox.mail
      .messages()
      .filter((m) => m.seq > after && m.to.includes(to))
      .at(-1),
  );
  const link = /https?:\/\/\S+\/authenticate\/[A-Za-z0-9_-]{43}/.exec(mail.text ?? '')?.[0];
  if (!link) throw new Error(`No invitation link in: ${mail.text}`);
  return { mail, link };
}

/** Opens the onboarding wizard, fills its first page and asks for an invitation to the IT administrator. */
export async function inviteThroughWizard(
  call: Call,
  customer: { shortName: string; fullName?: string; licenseType?: string },
  invitationEmail: string,
): Promise<string> {
  const opened = await call('POST', '/api/v1/wizard-sessions');
  const sessionId = (opened.body as { id: string }).id;
  const page1 = await call('PUT', `/api/v1/wizard-sessions/${sessionId}/customer`, {
    json: {
      fullName: customer.fullName ?? `${customer.shortName} Ltd`,
      shortName: customer.shortName,
      licenseType: customer.licenseType ?? 'hosted-pro',
      licensedUsers: 25,
    },
  });
  expect(page1.status, JSON.stringify(page1.body)).toBe(200);
  const invited = await call('POST', `/api/v1/wizard-sessions/${sessionId}/connection`, {
    json: { method: 'invite', invitationEmail },
  });
  expect(invited.status, JSON.stringify(invited.body)).toBe(200);
  return sessionId;
}

/** Every row of a product table, as text, to prove what was (not) stored. */
export async function tableText(
  stack: Pick<TestStack, 'storageConnectionString'> | Pick<MemoryStack, 'tables'>,
  table: string,
): Promise<string> {
  if ('tables' in stack) {
    const rows: unknown[] = [];
    for await (const row of stack.tables.table(table).list()) rows.push(row.value);
    return JSON.stringify(rows);
  }
  const client = TableClient.fromConnectionString(stack.storageConnectionString, table, {
    allowInsecureConnection: true,
  });
  const rows: unknown[] = [];
  try {
    for await (const entity of client.listEntities()) rows.push(entity);
  } catch {
    return '[]';
  }
  return JSON.stringify(rows);
}

/**
 * The device-code flow as the customer's admin goes through it, without a browser: the invitation page's form,
 * the code approved at the sandbox's Microsoft, the page polled until it thanks them (both consents).
 */
export async function completeDeviceFlow(
  stack: Pick<TestStack, 'sandbox'>,
  link: string,
  userPrincipalName: string,
  /** How the customer's browser reaches the product's pages: over HTTP, or in process (the memory stack). */
  fetch: typeof globalThis.fetch = globalThis.fetch,
  /** How often Microsoft lets the page poll; 0 for tests that only need the flow done. */
  intervalSeconds = 1,
): Promise<void> {
  const transport = createTrustedTransport(stack.sandbox.caCertFile);
  stack.sandbox.state.entra.setDeviceCodeTiming({ intervalSeconds });
  try {
    const welcome = await (await fetch(link)).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(welcome)?.[1] ?? '';
    const started = await fetch(`${link}/device`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(link).origin },
      body: new URLSearchParams({ csrf, m365AdminEmail: userPrincipalName }).toString(),
      redirect: 'manual',
    });
    expect(started.status).toBe(303);
    const flowUrl = new URL(started.headers.get('location') ?? '', link).toString();
    // The flow belongs to this "browser": its pages answer only with the cookie the start set.
    const cookie = bindingCookie(started);
    let approved = '';
    await waitFor('the thank-you page', async () => {
      const html = await (await fetch(flowUrl, { headers: { cookie } })).text();
      if (html.includes('Thank you! You may close this window.')) return true;
      const code = /id="user-code">([^<]+)</.exec(html)?.[1]?.trim();
      if (!code) throw new Error(`Unexpected page: ${html.slice(0, 500)}`);
      if (code !== approved) {
        const response = await transport.fetch(`${stack.sandbox.url}/_sandbox/entra/device/approve`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ userCode: code, userPrincipalName }),
        });
        expect(response.status, await response.text()).toBe(200);
        approved = code;
      }
      await new Promise((resolve) => setTimeout(resolve, intervalSeconds * 1000 + 100));
      return undefined;
    });
  } finally {
    await transport.close();
  }
}

/** The `Cookie` header a browser would send back after this response: the consent flow's binding cookie. */
export function bindingCookie(response: Response): string {
  const found = response.headers
    .getSetCookie()
    .map((line) => line.split(';')[0] ?? '')
    .find((pair) => pair.startsWith('__Host-drh-consent='));
  if (!found) throw new Error('The response set no binding cookie.');
  return found;
}
