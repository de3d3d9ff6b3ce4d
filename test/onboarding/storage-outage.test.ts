import { describe, expect, it } from 'vitest';
import { createCustomerService } from '../../shared/customers/customer-service.js';
import { createCustomerStore } from '../../shared/customers/table-customer-store.js';
import type { CustomerSite } from '../../shared/onboarding/customer-site.js';
import { createCustomerSiteStore } from '../../shared/onboarding/customer-site-store.js';
import type { OnboardingTaskPorts } from '../../shared/onboarding/tasks/onboarding-job.js';
import { ONBOARDING_TASKS } from '../../shared/onboarding/tasks/onboarding-tasks.js';
import { memoryTables } from '../../shared/storage/memory-tables.js';
import type { AnyTaskDefinition } from '../../shared/tasks/task-definition.js';
import { createTaskEngine, type TaskMessage } from '../../shared/tasks/task-engine.js';
import { createTaskStore } from '../../shared/tasks/task-store.js';
import { faultyTables } from '../support/faulty-tables.js';

describe('A storage outage during an onboarding step', () => {
  it('leaves the task retrying (transient), and the task then succeeds', async () => {
    // The customers table is down for the next `outage` reads; everything else works.
    let outage = 0;
    const tables = faultyTables(memoryTables(), (call) => {
      // A customer (with its summary) is one point read.
      if (call.table !== 'customers' || call.operation !== 'get' || outage === 0) return false;
      outage--;
      return true;
    });
    const customers = createCustomerService({
      store: createCustomerStore(tables),
      license: { tenantCount: 10, userCount: 100 },
    });
    const sites = createCustomerSiteStore(tables);
    // The Start step and loading the job read only these; a step reaching for another port fails the test.
    const ports = {
      customers,
      sites,
      credentials: { get: async () => null },
    } as unknown as OnboardingTaskPorts;
    const queued: TaskMessage[] = [];
    const engine = createTaskEngine<OnboardingTaskPorts>({
      store: createTaskStore(memoryTables()),
      queue: { send: async (message) => void queued.push(message) },
      definitions:
        ONBOARDING_TASKS as readonly unknown[] as readonly AnyTaskDefinition<OnboardingTaskPorts>[],
      ports,
      timing: { backoffMs: 1, maxBackoffMs: 1 },
    });

    await customers.create({
      fullName: 'Contoso',
      shortName: 'contoso',
      licenseType: 'hosted-pro',
      licensedUsers: 5,
    });
    const at = new Date().toISOString();
    const site: CustomerSite = {
      customerId: 'contoso',
      siteName: 'hq',
      gatewayFqdn: null,
      dns: null,
      m365Routing: null,
      sbc: null,
      prefixes: [],
      gatewayCreated: false,
      createdAt: at,
      updatedAt: at,
    };
    await sites.create(site);
    const started = await engine.start({
      type: 'CreateCustomer',
      customerId: 'contoso',
      input: { customerId: 'contoso', siteName: 'hq' },
    });

    // Two attempts of the step fail.
    outage = 2;
    await engine.process(started.id);
    const retrying = await engine.get(started.id);
    expect(retrying?.state).toBe('queued');
    expect(retrying?.steps[0]).toMatchObject({ name: 'Start', state: 'pending' });
    expect(retrying?.steps[0]?.error).toMatch(/unavailable/);

    await engine.process(started.id);
    expect((await engine.get(started.id))?.state).toBe('queued');
    await engine.process(started.id);

    const done = await engine.get(started.id);
    const log = done?.log.map((l) => l.line).join('\n') ?? '';
    expect(log).not.toContain('There is no customer');
    expect(log.match(/Table storage is unavailable.*\(retrying at /g)).toHaveLength(2);
    expect(done?.state).toBe('finish-success');
    expect(outage).toBe(0);
    expect((await customers.get('contoso')).state).toBe('ready-for-deployment');
  });
});
