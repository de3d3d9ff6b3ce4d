import * as azureFunctions from '@azure/functions';
import functionsInstrumentation from '@azure/functions-opentelemetry-instrumentation';
import { useAzureMonitor } from '@azure/monitor-opentelemetry';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { credentialUrlScrubber } from '../shared/platform/telemetry-scrub.js';

// A webpack-bundled CommonJS package: Node's ESM loader finds no named exports in it (only vitest's interop
// would), so a named import crashes the entry point on load; test/package/deployment-package.test.ts guards this.
const { AzureFunctionsInstrumentationESM } = functionsInstrumentation;

export type TelemetryMode = 'azure-monitor' | 'off';

/**
 * OpenTelemetry to Application Insights when APPLICATIONINSIGHTS_CONNECTION_STRING is set: requests, outgoing
 * calls (Graph, Teams, ARM, SBCs, storage) and the product's log lines, correlated per invocation with the
 * Functions host's own telemetry (AzureFunctionsJobHost__telemetryMode=OpenTelemetry, set by infra/main.bicep).
 */
export function startTelemetry(env: Readonly<Record<string, string | undefined>>): TelemetryMode {
  const connectionString = env.APPLICATIONINSIGHTS_CONNECTION_STRING?.trim();
  if (!connectionString) return 'off';
  useAzureMonitor({
    azureMonitorExporterOptions: { connectionString },
    spanProcessors: [credentialUrlScrubber()],
  });
  const functions = new AzureFunctionsInstrumentationESM();
  registerInstrumentations({ instrumentations: [functions] });
  functions.registerAzFunc(azureFunctions);
  return 'azure-monitor';
}
