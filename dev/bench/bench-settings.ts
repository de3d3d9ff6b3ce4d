import { randomBytes } from 'node:crypto';
import { loadSettings, type Settings } from '../../shared/config/settings.js';
import type { startSandbox } from '../sandbox/index.js';
import { sandboxEndpointSettings } from '../sandbox/product-settings.js';
import { WORKER_NODE_ARGUMENTS } from '../host/node-arguments.js';

/**
 * The product's settings for a bench that runs the app in its own process on in-memory storage: the sandbox's
 * addresses for its peers, a fresh secrets key, licenses that limit nothing measured.
 */
export function benchSettings(sandbox: Awaited<ReturnType<typeof startSandbox>>): Settings {
  return loadSettings({
    SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    ...sandboxEndpointSettings(sandbox),
    LICENSE_TENANT_COUNT: '10',
    LICENSE_USER_COUNT: '1000000',
    LOG_LEVEL: 'warn',
    PUBLIC_BASE_URL: 'http://127.0.0.1:1',
  });
}

/**
 * The Node flags of a bench process that runs the product: Azure's (WORKER_NODE_ARGUMENTS), then
 * BENCH_WORKER_NODE_ARGS (e.g. `--cpu-prof`), whose V8 flags win over Azure's as the later ones.
 */
export function workerExecArgv(): string[] {
  return [
    ...WORKER_NODE_ARGUMENTS,
    ...(process.env.BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
  ];
}
