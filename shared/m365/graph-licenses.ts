import type { Client } from '@microsoft/microsoft-graph-client';
import { z } from 'zod';
import {
  GraphRequestError,
  graphCall,
  parse,
  toGraphRequestError,
  untilVisible,
  visibleUser,
} from './graph-domains.js';

/** The wizard's words when no eligible plan has a free license (manual, "License Plan"). */
export const NO_LICENSE_MESSAGE =
  'No License Plan Available! Make sure to free the license(s) for a plan and reload';

/** No eligible license plan has a free unit in the customer's tenant. */
export class NoLicenseAvailableError extends Error {
  override readonly name = 'NoLicenseAvailableError';
  constructor(readonly plans: readonly string[]) {
    super(NO_LICENSE_MESSAGE);
  }
}

/** A license plan the activation user may get, e.g. `{ name: 'E3 with Phone System', skuPartNumbers: ['ENTERPRISEPACK', 'MCOEV'] }`. */
export interface EligiblePlan {
  readonly name: string;
  /** All of them are assigned together; the plan is eligible only when each has a free unit. */
  readonly skuPartNumbers: readonly string[];
}

const skusSchema = z.object({
  value: z.array(
    z.object({
      skuId: z.string(),
      skuPartNumber: z.string(),
      capabilityStatus: z.string().optional(),
      consumedUnits: z.number(),
      prepaidUnits: z.object({ enabled: z.number() }).loose(),
      servicePlans: z.array(z.object({ servicePlanName: z.string() }).loose()).optional(),
    }),
  ),
});

export interface SubscribedSku {
  readonly skuId: string;
  readonly skuPartNumber: string;
  readonly enabled: number;
  readonly consumed: number;
  /** Units nobody holds. */
  readonly available: number;
  readonly servicePlans: readonly string[];
}

/** The tenant's subscriptions (Billing > Licenses): units bought, consumed and free. */
export async function listSubscribedSkus(client: Client): Promise<SubscribedSku[]> {
  const what = 'GET /subscribedSkus';
  const body = parse(skusSchema, await graphCall(what, () => client.api('/subscribedSkus').get()), what);
  return body.value
    .filter((sku) => (sku.capabilityStatus ?? 'Enabled') === 'Enabled')
    .map((sku) => ({
      skuId: sku.skuId,
      skuPartNumber: sku.skuPartNumber,
      enabled: sku.prepaidUnits.enabled,
      consumed: sku.consumedUnits,
      available: Math.max(0, sku.prepaidUnits.enabled - sku.consumedUnits),
      servicePlans: (sku.servicePlans ?? []).map((plan) => plan.servicePlanName),
    }));
}

/**
 * Gives the user the first plan (in the given order) whose SKUs all have a free unit and returns it. A user who
 * already holds every SKU of an eligible plan keeps it and gets nothing new. Throws NoLicenseAvailableError when
 * no plan fits (also when the last free unit goes to someone else in the meantime).
 */
export async function assignFirstFreeLicense(
  client: Client,
  userId: string,
  eligiblePlans: readonly EligiblePlan[],
): Promise<EligiblePlan> {
  // The user was just created: Graph may not show it for a few seconds, and a later try may (transient).
  const user = await visibleUser(client, userId);
  if (!user) {
    throw new GraphRequestError(
      'Request_ResourceNotFound',
      `The user '${userId}' cannot be found yet.`,
      404,
      true,
    );
  }
  const skus = await listSubscribedSkus(client);
  const byPartNumber = new Map(skus.map((sku) => [sku.skuPartNumber.toUpperCase(), sku]));
  const held = new Set((user.assignedLicenses ?? []).map((license) => license.skuId.toLowerCase()));
  const skusOf = (plan: EligiblePlan) => plan.skuPartNumbers.map((p) => byPartNumber.get(p.toUpperCase()));

  const alreadyHeld = eligiblePlans.find((plan) =>
    skusOf(plan).every((sku) => sku !== undefined && held.has(sku.skuId.toLowerCase())),
  );
  if (alreadyHeld) return alreadyHeld;

  for (const plan of eligiblePlans) {
    const planSkus = skusOf(plan);
    if (plan.skuPartNumbers.length === 0 || planSkus.some((sku) => sku === undefined)) continue;
    const missing = planSkus.filter(
      (sku): sku is SubscribedSku => sku !== undefined && !held.has(sku.skuId.toLowerCase()),
    );
    if (missing.some((sku) => sku.available < 1)) continue;
    try {
      await untilVisible(() =>
        client.api(`/users/${encodeURIComponent(user.id)}/assignLicense`).post({
          addLicenses: missing.map((sku) => ({ skuId: sku.skuId, disabledPlans: [] })),
          removeLicenses: [],
        }),
      );
      return plan;
    } catch (error) {
      const failure = error instanceof Error ? error.message : '';
      // The last unit went elsewhere between listing and assigning: the next plan may still fit.
      if (/available licenses/i.test(failure)) continue;
      throw toGraphRequestError(error, 'POST /users/{id}/assignLicense');
    }
  }
  throw new NoLicenseAvailableError(eligiblePlans.map((plan) => plan.name));
}
