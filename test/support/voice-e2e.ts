import { expect } from 'vitest';
import { waitFor } from '../consent/consent-fixture.js';
import { settled } from '../onboarding/onboarding-fixture.js';
import { apiClient, type ApiResponse } from './api-client.js';
import { type MemoryStackWithPeers, startMemoryStackWithPeers } from './memory-stack.js';
import { buildDeployedCustomer } from './onboarded-world.js';

/** What a voice change answers: the plan (per object old → new per property, the PowerShell), the task. */
export interface VoiceResult {
  readonly plan: {
    readonly objects: Array<{
      kind?: string;
      identity: string;
      action: string;
      fields: Array<{ property: string; oldValue: unknown; newValue: unknown }>;
    }>;
    readonly commands: string[];
  };
  readonly task: { id: string; type: string } | null;
  readonly warnings?: string[];
}

export interface VoiceProblem {
  readonly code: string;
  readonly detail: string;
  readonly errors?: Array<{ field: string; code: string }>;
}

type Call = ReturnType<typeof apiClient>;

/**
 * The day-two voice tests' three moves against one customer: a call answered with a status, a change queued as an
 * Office365 voice task and run to success, and how many tasks the customer has (a refusal queues none). `client`
 * is read at each call: the tests build it in `beforeAll`.
 */
export function voiceCalls(client: () => Call, customerBase: string) {
  const ok = async (response: Promise<ApiResponse>, status = 200): Promise<ApiResponse> => {
    const answered = await response;
    expect(answered.status, JSON.stringify(answered.body)).toBe(status);
    return answered;
  };
  const applied = async (response: Promise<ApiResponse>): Promise<VoiceResult> => {
    const queued = await ok(response, 202);
    const result = queued.body as VoiceResult;
    expect(result.task?.type).toBe('Office365 voice');
    const finished = await settled(client(), queued.headers.get('location') ?? '');
    expect(finished.state, JSON.stringify(finished.log)).toBe('finish-success');
    return result;
  };
  const taskCount = async () =>
    ((await ok(client()('GET', `${customerBase}/tasks?top=500`))).body as { value: unknown[] }).value.length;
  return { ok, applied, taskCount };
}

/** The voice e2e tests' pace: Teams' delays a hundred times faster, and users' changes applied 200 ms after the last. */
export const VOICE_E2E_OPTIONS = {
  sandbox: { timeScale: 0.01 },
  overrides: { userChangeDebounceMs: 200 },
} as const satisfies Parameters<typeof startMemoryStackWithPeers>[0];

/**
 * The voice e2e tests' world: the product in process with the HTTPS sandbox, a customer onboarded and deployed on
 * Contoso's tenant, and the PSTN gateway onboarding created once a replication cycle has mirrored it (the checks read
 * gateways there).
 */
export async function deployedVoiceCustomer(
  customerId: string,
  options: Parameters<typeof startMemoryStackWithPeers>[0] = VOICE_E2E_OPTIONS,
): Promise<{ stack: MemoryStackWithPeers; call: Call; gateway: string }> {
  const stack = await startMemoryStackWithPeers(options);
  const token = await stack.token();
  const call = apiClient(stack.api, async () => token);
  await buildDeployedCustomer(stack, call, token, customerId);
  const mirrored = await waitFor('the mirrored PSTN gateway', async () =>
    (await stack.services.mirror.voiceObjects(customerId)).find((o) => o.policyName === 'OnlinePSTNGateway'),
  );
  return { stack, call, gateway: mirrored.identity };
}
