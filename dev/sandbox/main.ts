import { parseArgs } from 'node:util';
import { DEMO, sandboxProfile, startSandbox } from './index.js';

/**
 * `node dist/dev/sandbox/main.js --port 7443 --data .data/sandbox [--seed demo|empty] [--keep-state]
 * [--reset-state] [--profile strict|reality] [--delay-scale 0.01]`: runs the sandbox until SIGINT or SIGTERM and prints the settings that point the product at
 * it. `--keep-state` keeps the world in the data folder across restarts; `--reset-state` forgets it first.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '7443' },
      data: { type: 'string', default: '.data/sandbox' },
      seed: { type: 'string', default: 'demo' },
      'keep-state': { type: 'boolean', default: false },
      'reset-state': { type: 'boolean', default: false },
      profile: { type: 'string', default: process.env.SANDBOX_PROFILE || 'strict' },
      'delay-scale': { type: 'string', default: process.env.SANDBOX_DELAY_SCALE || '1' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be 0-65535, not ${values.port}`);
  if (values.seed !== 'demo' && values.seed !== 'empty') throw new Error(`--seed must be demo or empty`);

  const sandbox = await startSandbox({
    port,
    dataDir: values.data,
    seed: values.seed,
    profile: sandboxProfile(values.profile, Number(values['delay-scale'])),
    ...(values['keep-state'] ? { stateDir: values.data, resetState: values['reset-state'] } : {}),
  });
  console.log(`Sandbox listening at ${sandbox.url} (profile ${sandbox.profile.name})`);
  console.log(`  ENTRA_AUTHORITY_HOST=${sandbox.url}/entra`);
  console.log(`  GRAPH_BASE_URL=${sandbox.url}/graph`);
  console.log(`  TEAMS_ADMIN_BASE_URL=${sandbox.url}/teams`);
  console.log(`  ARM_BASE_URL=${sandbox.url}/arm`);
  console.log(`  SBC_BASE_URL_TEMPLATE=${sandbox.url}/sbc/{device}`);
  console.log(`  TRUSTED_CA_CERT_FILE=${sandbox.caCertFile}`);
  console.log('  ALLOW_DEVELOPMENT_ENDPOINTS=true');
  if (values.seed === 'demo') {
    console.log(`  API_TENANT_ID=${DEMO.provider.tenantId}`);
    console.log(`  API_AUDIENCE=${DEMO.provider.apiAudience}`);
  }

  const stop = (signal: NodeJS.Signals) => {
    console.log(`${signal}: stopping the sandbox`);
    sandbox.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
