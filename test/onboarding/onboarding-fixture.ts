import { expect } from 'vitest';
import { seedOnboardingSettings } from '../../dev/demo-seed.js';
import { DEMO } from '../../dev/sandbox/index.js';
import { configureProvider, waitFor } from '../consent/consent-fixture.js';
import { apiClient } from '../support/api-client.js';
import { startStack, type TestStack } from '../support/stack.js';

export type Call = ReturnType<typeof apiClient>;

export const ZONE = DEMO.provider.dns.zone;
export const EMEA_FQDN = `emea.${ZONE}`;
export const EMEA_IP = '192.0.2.10';
export const SBC = 'sbc-eu1';
export const CONTOSO = DEMO.customers.contoso;

export interface TaskView {
  readonly id: string;
  readonly type: string;
  readonly state: string;
  readonly result: string | null;
  readonly waiting: { readonly reason: string } | null;
  readonly log: ReadonlyArray<{ readonly at: string; readonly line: string }>;
  readonly changes: ReadonlyArray<{
    readonly kind: string;
    readonly description: string;
    readonly step: string;
  }>;
  readonly steps: ReadonlyArray<{ readonly name: string; readonly state: string; readonly attempts: number }>;
  readonly nextAttemptAt?: string | null;
  readonly lastTransientError?: string | null;
  readonly leaseUntil?: string | null;
  readonly leaseHolder?: string | null;
}

/**
 * For suites that count a task's tries, not their spacing: a retried step (an SBC's 409) and a task waiting for
 * another of its customer come back after 2 s in production; with these they are due at once, and the queue still
 * holds each for its whole second.
 */
export const PROMPT_TASK_TIMING = { backoffMs: 100, customerWaitMs: 100 } as const;

export interface OnboardingStack {
  readonly stack: TestStack;
  readonly call: Call;
}

/** The product with the demo provider set-up: token app, mail, DNS API Configuration, the demo SBCs and regions. */
export async function startOnboardingStack(
  options: Parameters<typeof startStack>[0] = {},
): Promise<OnboardingStack> {
  const stack = await startStack(options);
  const token = await stack.token();
  const call = apiClient(stack.apiUrl, async () => token);
  await configureProvider(stack, call);
  await seedOnboardingSettings({ apiBaseUrl: `${stack.apiUrl}/api/v1`, token, smtp: stack.sandbox.smtp });
  return { stack, call };
}

export interface WizardInput {
  readonly shortName: string;
  readonly licenseType?: 'hosted-pro' | 'hosted-essentials-plus' | 'hosted-essentials';
  readonly dns?: Record<string, unknown>;
  readonly m365Routing?: Record<string, unknown>;
  readonly sbc?: Record<string, unknown>;
  readonly prefixes?: ReadonlyArray<{ dialPlanName: string; prefix: string; tag?: string }>;
  readonly sbcScripts?: Record<string, unknown>;
}

export const SIP_TRUNK = {
  configureSbc: true,
  sbcConfiguration: 'sip-trunk',
  regionId: 'emea',
  carrier: 'Carrier1',
};

/** The wizard's pages as an operator fills them, up to (not including) Submit; returns the session id. */
export async function fillWizard(call: Call, input: WizardInput): Promise<string> {
  const licenseType = input.licenseType ?? 'hosted-pro';
  const opened = await call('POST', '/api/v1/wizard-sessions');
  const id = (opened.body as { id: string }).id;
  const put = async (page: string, json: unknown) => {
    const response = await call('PUT', `/api/v1/wizard-sessions/${id}/${page}`, { json });
    expect(response.status, `${page}: ${JSON.stringify(response.body)}`).toBe(200);
  };
  await put('customer', {
    fullName: `${input.shortName} Ltd`,
    shortName: input.shortName,
    licenseType,
    ...(licenseType === 'hosted-essentials' ? {} : { licensedUsers: 10 }),
  });
  if (licenseType !== 'hosted-essentials') {
    const connected = await call('POST', `/api/v1/wizard-sessions/${id}/connection`, {
      json: {
        method: 'app-registration',
        tenantId: CONTOSO.tenantId,
        clientId: CONTOSO.appRegistration.clientId,
        clientSecret: CONTOSO.appRegistration.clientSecret,
      },
    });
    expect(connected.status, JSON.stringify(connected.body)).toBe(200);
  }
  if (input.dns) await put('dns', input.dns);
  if (input.m365Routing) await put('m365-routing', input.m365Routing);
  if (input.sbc) await put('sbc', input.sbc);
  if (input.prefixes) await put('prefixes', { prefixes: input.prefixes });
  if (input.sbcScripts) await put('sbc-scripts', input.sbcScripts);
  return id;
}

export async function submit(call: Call, sessionId: string, dryRun = false): Promise<string> {
  const response = await call('POST', `/api/v1/wizard-sessions/${sessionId}/submit`, { json: { dryRun } });
  expect(response.status, JSON.stringify(response.body)).toBe(202);
  const location = response.headers.get('location');
  expect(location).toMatch(/^\/api\/v1\/tasks\/[0-9A-Z]{26}$/);
  return location ?? '';
}

/** Polls the task until it finishes or waits for the operator. */
export async function settled(call: Call, location: string, timeoutMs = 60_000): Promise<TaskView> {
  return waitFor(
    `task ${location}`,
    async () => {
      const response = await call('GET', location);
      const task = response.body as TaskView;
      return ['finish-success', 'finish-failure', 'paused'].includes(task.state) ? task : undefined;
    },
    timeoutMs,
  );
}

export function lines(task: TaskView): string[] {
  return task.log.map((l) => l.line);
}

/** The log lines, in order, are these (others may come between them). */
export function expectInOrder(task: TaskView, expected: readonly string[]): void {
  const log = lines(task);
  let at = 0;
  for (const line of expected) {
    const found = log.indexOf(line, at);
    expect(found, `"${line}" after line ${at} in:\n${log.join('\n')}`).toBeGreaterThanOrEqual(0);
    at = found + 1;
  }
}

export const changeKeys = (task: TaskView) => task.changes.map((c) => `${c.kind}: ${c.description}`);

/** What the tenant, the provider zone and the SBC hold: to compare before and after a run. */
export function snapshot(stack: TestStack) {
  const tenant = stack.sandbox.state.requireTenant(CONTOSO.tenantId);
  const zone = stack.sandbox.state.dns.requireZone(ZONE);
  return JSON.parse(
    JSON.stringify({
      teams: stack.sandbox.teams.snapshot(CONTOSO.tenantId),
      domains: stack.sandbox.state.directory.domains(tenant),
      users: [...tenant.users.values()].map((u) => u.userPrincipalName).sort(),
      records: stack.sandbox.state.dns.recordSets(zone),
      sbc: stack.sandbox.sbc.configuration(SBC),
    }),
  ) as Record<string, unknown>;
}
