import type { Settings } from '../config/settings.js';
import type { TrustedTransport } from '../net/trusted-transport.js';
import { sbcBaseUrl } from '../onboarding/onboarding-ports.js';
import type { OnboardingSettingsService } from '../onboarding/onboarding-settings-service.js';
import { createSbcClient } from '../sbc/sbc-client.js';
import { SBC_UNREACHABLE_ALARM, sbcAlarmSource } from './alarm-kinds.js';
import type { AlarmService } from './alarm-service.js';

export interface SbcCheckResult {
  readonly checked: number;
  /** Ids of the Known SBCs that did not answer. */
  readonly unreachable: readonly string[];
}

/** How long one SBC may take to answer its status request. */
export const SBC_CHECK_TIMEOUT_MS = 15_000;
const PARALLEL = 8;

/**
 * Reads every Known SBC's status (`GET /api/v1/status`, as the SBC status page does): a failure raises
 * "SBC unreachable" for it, an answer clears it; SBCs no longer known clear theirs.
 */
export async function checkSbcReachability(
  services: {
    readonly onboardingSettings: OnboardingSettingsService;
    readonly alarms: AlarmService;
    readonly transport: TrustedTransport;
    readonly settings: Pick<Settings, 'endpoints'>;
  },
  options: { readonly timeoutMs?: number } = {},
): Promise<SbcCheckResult> {
  const timeoutMs = options.timeoutMs ?? SBC_CHECK_TIMEOUT_MS;
  const { alarms, onboardingSettings } = services;
  const known = await onboardingSettings.sbcViews();
  const unreachable: string[] = [];
  const fetchWithTimeout: typeof globalThis.fetch = (input, init) =>
    services.transport.fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) });

  async function check(id: string): Promise<void> {
    const device = await onboardingSettings.sbc(id);
    if (!device) return; // Deleted meanwhile: cleared below on the next check.
    const address = device.deviceFqdn ?? device.ipAddress;
    try {
      await createSbcClient({
        baseUrl: sbcBaseUrl(services.settings.endpoints, device),
        username: device.gatewayUser,
        password: device.gatewayPassword,
        transport: { fetch: fetchWithTimeout },
      }).status();
      await alarms.clear(SBC_UNREACHABLE_ALARM, sbcAlarmSource(id));
    } catch (error) {
      unreachable.push(id);
      const why = error instanceof Error ? error.message : String(error);
      await alarms.raise({
        name: SBC_UNREACHABLE_ALARM,
        severity: 'critical',
        source: sbcAlarmSource(id),
        text: `SBC ${device.name} (${address}) did not answer its status request: ${why}`,
      });
    }
  }

  for (let i = 0; i < known.length; i += PARALLEL) {
    await Promise.all(known.slice(i, i + PARALLEL).map((sbc) => check(sbc.id)));
  }
  const knownSources = new Set(known.map((sbc) => sbcAlarmSource(sbc.id)));
  for (const alarm of await alarms.list({ activeOnly: true, name: SBC_UNREACHABLE_ALARM })) {
    if (!knownSources.has(alarm.source)) await alarms.clear(SBC_UNREACHABLE_ALARM, alarm.source);
  }
  return { checked: known.length, unreachable: unreachable.sort() };
}
