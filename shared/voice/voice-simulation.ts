import { z } from 'zod';
import type { CustomerService } from '../customers/customer-service.js';
import { domainErrors } from '../errors/domain-errors.js';
import type { MirrorStore } from '../replication/mirror-store.js';
import { VOICE_POLICY_NAMES } from '../replication/m365-reader.js';
import { customerWithUsers } from '../users/user-access.js';
import { type SimulationResult, simulateCall, withPending } from './call-routing-simulator.js';
import { checkNormalizationRule, dotNetPatternSchema } from './dotnet-regex.js';

/**
 * `POST …/voice/simulate` (issue 13 item 3): the call-routing simulator over the customer's mirrored voice objects,
 * or over them with pending changes laid on top, for a user (their effective policies) or a policy and dial plan.
 */

/** What a pending change may name: the mirrored types (the emergency call routing policy among them). */
const SIMULATED_TYPES: readonly string[] = VOICE_POLICY_NAMES;
const policyNameOf = (name: string) => SIMULATED_TYPES.find((t) => t.toLowerCase() === name.toLowerCase());

const policyText = (what: string) =>
  z
    .string()
    .trim()
    .min(1)
    .max(256)
    .meta({ description: `The ${what} (its name, with or without Tag:; Global for the tenant's default).` });

const pendingSchema = z
  .strictObject({
    policyName: z
      .string()
      .refine((name) => policyNameOf(name) !== undefined, {
        message: `policyName is one of ${SIMULATED_TYPES.join(', ')}.`,
        params: { code: 'not_allowed' },
      })
      .meta({ description: 'The Teams type, e.g. OnlineVoiceRoute.' }),
    identity: z.string().trim().min(1).max(256).meta({ description: "The object's Identity." }),
    data: z
      .record(z.string(), z.unknown())
      .nullable()
      .meta({ description: "The object's Teams properties as they would be; null: the object removed." }),
  })
  .superRefine((change, ctx) => {
    if (change.data === null) return;
    const type = policyNameOf(change.policyName);
    if (type === 'OnlineVoiceRoute' && change.data.NumberPattern !== undefined) {
      const checked = dotNetPatternSchema.safeParse(change.data.NumberPattern);
      for (const issue of checked.error?.issues ?? []) {
        ctx.addIssue({
          code: 'custom',
          path: ['data', 'NumberPattern', ...issue.path],
          message: issue.message,
          params: { code: issue.code === 'custom' ? issue.params?.code : 'invalid_type' },
        });
      }
    }
    if (type === 'TenantDialPlan' && Array.isArray(change.data.NormalizationRules)) {
      change.data.NormalizationRules.forEach((rule: unknown, index) => {
        if (rule !== null && typeof rule === 'object') {
          checkNormalizationRule(rule as Record<string, unknown>, ctx, ['data', 'NormalizationRules', index]);
        }
      });
    }
  });

export const simulateBodySchema = z
  .strictObject({
    userId: z
      .string()
      .regex(/^[0-9a-fA-F-]{36}$/, 'userId is a user object id (a GUID).')
      .optional()
      .meta({
        description: 'A replicated user: their dial plan and voice routing policy are the ones in force.',
      }),
    voiceRoutingPolicy: policyText('OnlineVoiceRoutingPolicy to simulate, without userId').optional(),
    dialPlan: policyText('TenantDialPlan to simulate, without userId').optional(),
    emergencyCallRoutingPolicy: policyText(
      "TeamsEmergencyCallRoutingPolicy in force (e.g. a network site's); by default the user's, else Global",
    ).optional(),
    dialedNumber: z
      .string()
      .regex(
        /^\+?[0-9*#]{1,32}$/,
        'dialedNumber is what the user dials: digits, * and #, with an optional +.',
      )
      .meta({ description: 'The digits as dialed, e.g. 50100, 0044207946000 or +14255550100.' }),
    pending: z.array(pendingSchema).max(500).default([]).meta({
      description:
        'Voice objects to lay over the mirror first: a changed or new object, or data null to remove one.',
    }),
  })
  .superRefine((body, ctx) => {
    if (body.userId === undefined) return;
    for (const field of ['voiceRoutingPolicy', 'dialPlan'] as const) {
      if (body[field] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: `Give either userId or ${field}: a user's ${field} is the one they have.`,
          params: { code: 'not_allowed' },
        });
      }
    }
  })
  .meta({ id: 'VoiceSimulationRequest' });

export type SimulateBody = z.output<typeof simulateBodySchema>;

const ruleSchema = z.object({
  name: z.string(),
  pattern: z.string(),
  translation: z.string(),
  isInternalExtension: z.boolean(),
  outcome: z.enum(['matched', 'no-match', 'not-evaluated', 'not-evaluable']),
  message: z.string().nullable(),
});

const routeSchema = z.object({
  route: z.string(),
  numberPattern: z.string(),
  priority: z.number(),
  matches: z.boolean(),
  gateways: z.array(z.object({ gateway: z.string(), status: z.enum(['enabled', 'disabled', 'unknown']) })),
});

export const simulationViewSchema = z
  .object({
    customerId: z.string(),
    userId: z.string().nullable(),
    pendingChanges: z
      .number()
      .int()
      .meta({ description: 'How many pending changes were laid over the mirror.' }),
    dialedNumber: z.string(),
    outcome: z.enum(['routed', 'no-route', 'no-gateway', 'no-policy']).meta({
      description:
        'routed: at least one gateway would be tried; no-route: no route of the usages matches; no-gateway: routes match but none of their gateways is enabled; no-policy: the voice routing policy does not exist.',
    }),
    emergency: z
      .object({
        policy: z.string(),
        dialString: z.string(),
        dialMask: z.string().nullable(),
        usage: z.string(),
      })
      .nullable()
      .meta({
        description: 'The emergency number dialed, from the emergency call routing policy; null: not one.',
      }),
    normalization: z.object({
      dialPlan: z.string().nullable(),
      rules: z.array(ruleSchema),
      matchedRule: z.string().nullable(),
      normalizedNumber: z.string(),
      isInternalExtension: z.boolean(),
    }),
    routing: z.object({
      voiceRoutingPolicy: z.string().nullable(),
      number: z.string(),
      usages: z.array(
        z.object({
          usage: z.string(),
          outcome: z.enum(['selected', 'no-match', 'not-evaluated']),
          routes: z.array(routeSchema),
        }),
      ),
      selectedUsage: z.string().nullable(),
      attempts: z.array(z.object({ route: z.string(), gateways: z.array(z.string()) })).meta({
        description:
          'Route after route in the order Teams tries them; within a route, gateways in random order.',
      }),
    }),
    warnings: z.array(z.string()),
  })
  .meta({ id: 'VoiceSimulation' });

/** The answer: the simulation and what it was run on (simulationViewSchema documents it). */
export interface VoiceSimulation extends SimulationResult {
  readonly customerId: string;
  readonly userId: string | null;
  readonly pendingChanges: number;
}

export interface VoiceSimulationDeps {
  readonly customers: Pick<CustomerService, 'get'>;
  readonly mirror: Pick<MirrorStore, 'voiceObjects' | 'getUser'>;
}

export async function simulateForCustomer(
  deps: VoiceSimulationDeps,
  customerId: string,
  body: SimulateBody,
): Promise<VoiceSimulation> {
  await customerWithUsers(deps.customers, customerId);
  let policies: Readonly<Record<string, string>> = {};
  if (body.userId !== undefined) {
    const user = await deps.mirror.getUser(customerId, body.userId.toLowerCase());
    if (!user) throw domainErrors.notFound(`"${customerId}" has no replicated user ${body.userId}.`);
    policies = user.policies;
  }
  const objects = withPending(
    await deps.mirror.voiceObjects(customerId),
    body.pending.map((change) => ({ ...change, policyName: policyNameOf(change.policyName)! })),
  );
  const result = simulateCall({
    objects,
    dialedNumber: body.dialedNumber,
    dialPlan: body.dialPlan ?? policies.TenantDialPlan ?? null,
    voiceRoutingPolicy: body.voiceRoutingPolicy ?? policies.OnlineVoiceRoutingPolicy ?? null,
    emergencyCallRoutingPolicy:
      body.emergencyCallRoutingPolicy ?? policies.TeamsEmergencyCallRoutingPolicy ?? null,
  });
  return { customerId, userId: body.userId ?? null, pendingChanges: body.pending.length, ...result };
}
