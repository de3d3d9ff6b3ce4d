import type { TelemetryMode } from './telemetry.js';

/**
 * Starts OpenTelemetry when Application Insights is configured, loading the Azure Monitor distro only then: it is
 * the heaviest part of a cold start (docs/decisions.md, 75), and without a connection string nothing would use it.
 */
export async function startConfiguredTelemetry(
  env: Readonly<Record<string, string | undefined>>,
): Promise<TelemetryMode> {
  if (!env.APPLICATIONINSIGHTS_CONNECTION_STRING?.trim()) return 'off';
  const { startTelemetry } = await import('./telemetry.js');
  return startTelemetry(env);
}
