/**
 * The worked onboarding session of docs/onboarding.md ("A worked session"), as requests: the wizard's pages with
 * the demo app registration that `npm start` prints, Submit (a dry run first), the task, then the first
 * replication. `dev/onboard-demo.ts` runs it against a running `npm start`; a test runs that, and another holds
 * these bodies equal to the document's `curl` lines, so that neither can drift from what the product accepts.
 */

export interface DemoAppRegistration {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

/** The bodies, page by page, in the order the wizard asks for them. */
export const DEMO_ONBOARDING_PAGES = {
  customer: {
    fullName: 'Tailwind Traders',
    shortName: 'Tailwind',
    licenseType: 'hosted-pro',
    licensedUsers: 10,
  },
  dns: { method: 'automatic', regionId: 'emea', licensePlan: 'Office 365 E5' },
  m365Routing: { configure: true },
  sbc: {
    configureSbc: true,
    sbcConfiguration: 'sip-trunk',
    regionId: 'emea',
    carrier: 'Carrier1',
    cacProfile: '10 sessions',
  },
  prefixes: { prefixes: [{ dialPlanName: 'CustDialPlan', prefix: '+41589071' }] },
  sbcScripts: { onboardingTemplateId: 'sbc-scenario7', cleanupTemplateId: 'sbc-scenario7cleanup' },
} as const;

/** The connection page's body: "Use App Registration" with the given registration. */
export function demoConnection(app: DemoAppRegistration) {
  return { method: 'app-registration', ...app } as const;
}

export interface DemoOnboardingOptions {
  readonly apiBaseUrl: string;
  readonly token: string;
  readonly app: DemoAppRegistration;
  readonly log?: (line: string) => void;
  readonly timeoutMs?: number;
}

export interface DemoOnboardingResult {
  readonly customerId: string;
  readonly taskState: string;
  readonly replicatedUsers: number;
}

interface TaskView {
  readonly state: string;
  readonly result: string | null;
  readonly log: ReadonlyArray<{ readonly line: string }>;
}

interface ReplicationView {
  readonly state: string;
  readonly lastSyncAt: string | null;
  readonly counts: { readonly users: number };
  readonly lastCycle: { readonly outcome: string } | null;
}

const FINISHED = ['finish-success', 'finish-failure', 'paused'];

export async function runDemoOnboarding(options: DemoOnboardingOptions): Promise<DemoOnboardingResult> {
  const log = options.log ?? (() => undefined);
  const deadline = Date.now() + (options.timeoutMs ?? 180_000);

  async function send(method: string, path: string, body?: unknown): Promise<Response> {
    const response = await fetch(`${options.apiBaseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${options.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    log(`${method} ${path} → ${response.status}`);
    return response;
  }

  async function json<T>(method: string, path: string, body: unknown, expected: number): Promise<T> {
    const response = await send(method, path, body);
    const text = await response.text();
    if (response.status !== expected) {
      throw new Error(`${method} ${path} answered ${response.status}, not ${expected}: ${text}`);
    }
    return (text ? JSON.parse(text) : null) as T;
  }

  async function poll<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
    for (;;) {
      const value = await read();
      if (done(value)) return value;
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}: ${JSON.stringify(value)}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  const pages = DEMO_ONBOARDING_PAGES;
  const { id } = await json<{ id: string }>('POST', '/wizard-sessions', undefined, 201);
  const session = `/wizard-sessions/${id}`;
  await json('PUT', `${session}/customer`, pages.customer, 200);
  await json('POST', `${session}/connection`, demoConnection(options.app), 200);
  const offered = await json<{ carriers: string[]; cacProfiles: string[] }>(
    'GET',
    `/settings/regions/${pages.sbc.regionId}/sbc-options`,
    undefined,
    200,
  );
  log(`  carriers ${offered.carriers.join(', ')}; CAC profiles ${offered.cacProfiles.join(', ')}`);
  await json('PUT', `${session}/dns`, pages.dns, 200);
  await json('PUT', `${session}/m365-routing`, pages.m365Routing, 200);
  await json('PUT', `${session}/sbc`, pages.sbc, 200);
  await json('PUT', `${session}/prefixes`, pages.prefixes, 200);
  await json('PUT', `${session}/sbc-scripts`, pages.sbcScripts, 200);

  const runTask = async (dryRun: boolean): Promise<TaskView> => {
    const response = await send('POST', `${session}/submit`, { dryRun });
    if (response.status !== 202)
      throw new Error(`Submit answered ${response.status}: ${await response.text()}`);
    const location = response.headers.get('location') ?? '';
    const path = location.replace(/^\/api\/v1/, '');
    return poll(
      `the task ${location}`,
      () => json<TaskView>('GET', path, undefined, 200),
      (task) => FINISHED.includes(task.state),
    );
  };
  const planned = await runTask(true);
  log(`  dry run: ${planned.state}`);
  const task = await runTask(false);
  if (task.state !== 'finish-success') {
    throw new Error(`The task ended ${task.state}:\n${task.log.map((l) => l.line).join('\n')}`);
  }
  const customerId = pages.customer.shortName;
  const replication = await poll(
    'the first replication',
    () => json<ReplicationView>('GET', `/customers/${customerId}/replication`, undefined, 200),
    (status) => status.lastSyncAt !== null && status.lastCycle?.outcome === 'succeeded',
  );
  log(`  replicated ${replication.counts.users} users`);
  return {
    customerId,
    taskState: task.state,
    replicatedUsers: replication.counts.users,
  };
}
