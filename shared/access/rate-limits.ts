import type { Principal } from '../auth/authenticator.js';
import type { RateLimitSettings } from '../provider/provider-settings.js';

/**
 * Which operations reach the outside systems a flood would hurt (issue 14 item 5, decisions §70): a customer's
 * Microsoft 365 tenant (Graph, the Teams admin API: Microsoft throttles the tenant, and the customer's own tools with
 * it) and the SBCs (one device serves many customers). Declared here, per operation, so the edge limits them in one
 * place (shared/http/edge/rate-limit.ts) and the OpenAPI document shows their 429; what the operation queues counts
 * as what it does. Reads served from the mirror or a cache (users, voice objects, drift, cached prefixes) reach
 * neither and are not listed.
 */
export interface Reach {
  /** Pulls from or writes to the customer's tenant, in the request or in the task it queues. */
  readonly tenant?: true;
  /** Reaches an SBC, and where the edge finds which one (its per-SBC limit). */
  readonly sbc?: SbcOfRequest;
}

/**
 * - `path`: the `sbcId` path parameter (a Known SBC);
 * - `region`: the SBC of the `regionId` path parameter's region;
 * - `site`: the SBC of the path's site (`customerId`, `siteName`);
 * - `customer`: every SBC the customer's sites are on (the path's customer, or the one `customerOf` names: a task's);
 * - `body-region`: the SBC of the body's region (`regionId`, or `sbc.regionId` of a new site);
 * - `unnamed`: the request names no SBC the edge can find without acting on it (the wizard's session, every queued
 *   task): only the per-principal limit applies.
 */
export type SbcOfRequest = 'path' | 'region' | 'site' | 'customer' | 'body-region' | 'unnamed';

const TENANT: Reach = { tenant: true };

/** The voice kinds whose create, update and delete queue Teams commands (functions/voice-objects.ts). */
const VOICE_OBJECT_OPERATIONS = [
  'voice-routes',
  'voice-routing-policies',
  'voice-dial-plans',
  'voice-network-regions',
  'voice-network-sites',
  'voice-network-subnets',
  'voice-trusted-ips',
  'voice-emergency-calling-policies',
  'voice-emergency-call-routing-policies',
  'voice-pstn-gateways',
].flatMap((kind) => [`${kind}-create`, `${kind}-update`, `${kind}-delete`]);

export const OPERATION_REACH: Readonly<Record<string, Reach>> = {
  // The SBC, read or changed now.
  'settings-sbcs-status': { sbc: 'path' },
  'sbc-import-candidates': { sbc: 'path' },
  'sbc-import-customer': { sbc: 'path' },
  'settings-regions-sbc-options': { sbc: 'region' },
  'prefixes-reload': { sbc: 'customer' },
  'prefixes-sync': { sbc: 'customer' },
  'site-prefixes-save': { sbc: 'site' },
  'wizard-sbc': { sbc: 'body-region' },
  'wizard-prefixes': { sbc: 'unnamed' },
  // Onboarding and its tasks: the SBC's scripts and the tenant's routing.
  'sites-add': { tenant: true, sbc: 'body-region' },
  'sites-deploy': { tenant: true, sbc: 'site' },
  'customers-upgrade': { tenant: true, sbc: 'customer' },
  'customers-delete': { tenant: true, sbc: 'customer' },
  'wizard-submit': { tenant: true, sbc: 'unnamed' },
  'tasks-resume': { tenant: true, sbc: 'customer' },
  'tasks-rerun': { tenant: true, sbc: 'customer' },
  'tasks-process-all': { tenant: true, sbc: 'unnamed' },
  // The tenant: tokens, Graph and the Teams admin API, now or queued.
  'replication-queue': TENANT,
  'authentication-status-check': TENANT,
  'authentication-status-update-app-registration': TENANT,
  'authentication-status-verify-all': TENANT,
  'sites-verify-domain': TENANT,
  'wizard-connection': TENANT,
  'wizard-license-plans': TENANT,
  'users-update': TENANT,
  'users-assign-number': TENANT,
  'users-unassign-number': TENANT,
  'audit-user-change-rollback': TENANT,
  'user-imports-create': TENANT,
  'user-templates-apply': TENANT,
  'user-templates-apply-file': TENANT,
  'voice-pstn-usages-create': TENANT,
  'voice-pstn-usages-delete': TENANT,
  'voice-routes-reorder': TENANT,
  'voice-reconcile': TENANT,
  'voice-audit-rollback': TENANT,
  'voice-routing-policy-groups-create': TENANT,
  'voice-routing-policy-groups-update': TENANT,
  'voice-routing-policy-groups-delete': TENANT,
  ...Object.fromEntries(VOICE_OBJECT_OPERATIONS.map((name) => [name, TENANT])),
};

/** One counter a call is counted against: its caller's, or an SBC's. */
export interface RateBucket {
  /** Unique across kinds; the storage key. */
  readonly key: string;
  readonly limit: number;
  /** The refusal's detail, before "try again in …". */
  readonly refusal: string;
}

/**
 * A caller's counter: by tenant and object id (an account is the same person in every role), with the provider's
 * admins allowed more than channel and customer admins: they operate every customer, and their own scripts.
 */
export function principalBucket(principal: Principal, limits: RateLimitSettings): RateBucket {
  const provider = principal.home !== 'customer' && principal.roles.includes('provider-admin');
  const limit = provider ? limits.providerAdminRequests : limits.adminRequests;
  return {
    key: `principal:${(principal.tenantId ?? '').toLowerCase()}:${principal.subject.toLowerCase()}`,
    limit,
    refusal: `Too many of your requests reach an SBC or a customer's tenant (at most ${limit} in ${limits.windowSeconds} seconds)`,
  };
}

/** An SBC's counter, shared by every caller and customer on it: it protects the device. */
export function sbcBucket(sbcId: string, limits: RateLimitSettings): RateBucket {
  return {
    key: `sbc:${sbcId.toLowerCase()}`,
    limit: limits.sbcRequests,
    refusal: `Too many requests reach SBC ${sbcId}`,
  };
}
