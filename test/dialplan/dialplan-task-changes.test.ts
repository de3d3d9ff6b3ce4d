import { describe, expect, it } from 'vitest';
import { runCli } from '../../dev/sandbox/sbc-cli.js';
import { renderRunningConfig } from '../../dev/sandbox/sbc-files.js';
import { DEMO_SBC, SbcDevices, seedDemoSbcs } from '../../dev/sandbox/sbc-state.js';
import type { DialPlanService } from '../../shared/dialplan/dialplan-service.js';
import {
  applyDialPlanScripts,
  type OwnerRules,
  planDialPlanSync,
} from '../../shared/dialplan/dialplan-sync.js';
import { updatePrefixesTask } from '../../shared/dialplan/dialplan-task.js';
import { refusedCommands, type SbcClient } from '../../shared/sbc/sbc-client.js';
import { memoryTables } from '../../shared/storage/memory-tables.js';
import { builtInTemplate } from '../../shared/templates/builtin-templates.js';
import { renderTemplate } from '../../shared/templates/template-compiler.js';
import { SAMPLE_CONTEXT, type TemplateContext } from '../../shared/templates/template-context.js';
import { createTaskEngine, type TaskMessage } from '../../shared/tasks/task-engine.js';
import { createTaskStore } from '../../shared/tasks/task-store.js';

const GATEWAY = 'acme.customers.example';

/**
 * The sandbox's SBC in process, as a real device plays a script: line by line, refusing a rule past its table,
 * which has room for `room` more rules.
 */
function memorySbc(room: number) {
  const devices = new SbcDevices();
  seedDemoSbcs(devices);
  const device = devices.require(DEMO_SBC.devices.eu1.name);
  const limit = device.running.dialPlans.reduce((n, p) => n + p.rules.length, 0) + room;
  const client: Pick<SbcClient, 'getCliScript' | 'runCliScript'> = {
    getCliScript: async () => renderRunningConfig(device.running),
    async runCliScript(script) {
      const outcome = runCli(device.running, script, device.name, { partial: true, maxDialPlanRules: limit });
      if (!outcome.ok) throw new Error(outcome.message);
      device.running = outcome.config;
      return { description: '', output: outcome.output, refused: refusedCommands(outcome.output) };
    },
  };
  return { client, limit };
}

/** SbcUpdatePrefixes over one SBC: the sync of the product, against the in-process device. */
function dialPlans(sbc: Pick<SbcClient, 'getCliScript' | 'runCliScript'>): Pick<DialPlanService, 'syncAll'> {
  const owner: OwnerRules = {
    owner: 'Acme',
    rules: ['+41589081', '+41589082', '+41589083'].map((prefix) => ({
      dialPlan: 'CustDialPlan',
      name: 'Acme',
      prefix,
      tag: GATEWAY,
    })),
    context: { ...SAMPLE_CONTEXT, CustomerId: 'Acme' },
  };
  const render = async (templateId: string, context: TemplateContext) => {
    const template = builtInTemplate(templateId);
    if (!template) throw new Error(`no template ${templateId}`);
    return renderTemplate(template, context);
  };
  return {
    async syncAll(options = {}) {
      const plan = await planDialPlanSync(sbc, [owner], render);
      if (options.dryRun) return [{ sbcId: 'sbc-eu1', plan, applied: 0, refused: [] }];
      const refused = await applyDialPlanScripts(sbc, plan.scripts, options.onApplied);
      return [{ sbcId: 'sbc-eu1', plan, applied: plan.scripts.length, refused }];
    },
  };
}

describe("SbcUpdatePrefixes' change list when the SBC refuses a rule of a script it applies", () => {
  it('records the rules the SBC took as applied and the one it refused as refused', async () => {
    // Room for two of the three rules: the third finds the table full.
    const sbc = memorySbc(2);
    const queued: TaskMessage[] = [];
    const engine = createTaskEngine({
      store: createTaskStore(memoryTables()),
      queue: { send: async (message) => void queued.push(message) },
      definitions: [updatePrefixesTask],
      ports: { dialPlans: dialPlans(sbc.client) },
    });
    const started = await engine.start({
      type: 'SbcUpdatePrefixes',
      customerId: 'Acme',
      input: { customerId: 'Acme' },
    });
    const first = queued.shift();
    if (!first) throw new Error('The task was not queued.');
    await engine.process(first.taskId);
    const task = await engine.get(started.id);
    expect(task?.changes.map((c) => c.description)).toEqual([
      `Add 2 rule(s) to CustDialPlan: +41589081 of Acme → ${GATEWAY}, +41589082 of Acme → ${GATEWAY}`,
      `Refused by the SBC: add +41589083 of Acme → ${GATEWAY} to CustDialPlan: The Dial Plan Rule table is full (${sbc.limit} rules).`,
    ]);
    expect(task?.changes[1]?.detail).toMatchObject({
      refused: true,
      error: `The Dial Plan Rule table is full (${sbc.limit} rules).`,
    });
  });
});
