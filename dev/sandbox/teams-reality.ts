import { profileDelayMs } from './profile.js';
import type { SandboxState, Tenant } from './state.js';

/**
 * What the Teams admin API does under the reality profile that no specification file says. Each behaviour cites
 * its public source here and in `dev/sandbox/README.md` ("Reality profile: Teams, SBC and Azure").
 */

/**
 * From the later of a domain's verification and its first licensed user to Teams accepting a PSTN gateway on it.
 * Learn, "Configure a Session Border Controller for multiple tenants" (direct-routing-sbc-multiple-tenants): after
 * the domain is added and a licensed user created on it, "it might take up to 24 hours to fully provision the domain
 * name"; creating the trunk before that answers "Can not use the "sbc1.customers.adatum.biz" domain as it was not
 * configured for this tenant. Please allow some time for domain registration and activation to replicate and try
 * again." Observed waits are minutes; the sandbox plays 15 of them (times the delay scale).
 */
export const REAL_DOMAIN_ACTIVATION_MS = 15 * 60_000;

/**
 * The refusal of `New-CsOnlinePSTNGateway` on a domain Teams does not know yet, worded as Learn quotes it ("Connect
 * your Session Border Controller to Direct Routing", direct-routing-connect-the-sbc: `Can not use the
 * "sbc.contoso.com" domain as it was not configured for this tenant`). The HTTP status and code of the admin API's
 * answer are not public: the sandbox answers 400 `BadRequest`, as for the API's other refused bodies.
 */
export function gatewayDomainMessage(fqdn: string): string {
  return `Can not use the "${fqdn}" domain as it was not configured for this tenant.`;
}

/**
 * Why a gateway `fqdn` may not be created yet under the reality profile, or undefined when it may. Only domains
 * verified in this run are played as fresh: a seeded or restored domain counts as activated long ago, and a
 * gateway outside the tenant's verified domains is left to the strict profile's rules (deliberate, README).
 */
export function gatewayActivationRefusal(
  state: SandboxState,
  tenant: Tenant,
  fqdn: string,
  now: number = Date.now(),
): string | undefined {
  if (state.profile.name !== 'reality') return undefined;
  const name = fqdn.toLowerCase();
  const domain = tenant.verifiedDomains
    .map((d) => d.name.toLowerCase())
    .filter((d) => name === d || name.endsWith(`.${d}`))
    .sort((a, b) => b.length - a.length)[0];
  if (!domain) return undefined;
  const verifiedAt = state.directory.domainVerifiedAt(tenant, domain);
  if (verifiedAt === undefined) return undefined;
  const licensedAt = [...tenant.users.values()]
    .filter((u) => u.userPrincipalName.toLowerCase().endsWith(`@${domain}`))
    .filter((u) => state.directory.assignedLicenses(tenant, u.id).length > 0)
    .map((u) => state.directory.userLicensedAt(tenant, u.id) ?? verifiedAt)
    .sort((a, b) => a - b)[0];
  if (licensedAt === undefined) return gatewayDomainMessage(fqdn);
  const activeAt =
    Math.max(verifiedAt, licensedAt) + profileDelayMs(state.profile, REAL_DOMAIN_ACTIVATION_MS);
  return now < activeAt ? gatewayDomainMessage(fqdn) : undefined;
}

/** Names switched on per tenant (an app id, a policy type), compared case-insensitively as Teams compares them. */
class TenantNames {
  private readonly names = new Set<string>();

  clear(): void {
    this.names.clear();
  }

  /** Switches `name` on (an app's Teams Administrator role, a refused type) or off in the tenant. */
  set(tenantId: string, name: string, on: boolean): void {
    const key = `${tenantId.toLowerCase()}/${name.toLowerCase()}`;
    if (on) this.names.add(key);
    else this.names.delete(key);
  }

  has(tenantId: string, name: string): boolean {
    return this.names.has(`${tenantId.toLowerCase()}/${name.toLowerCase()}`);
  }
}

/**
 * Which apps hold a Teams admin directory role (Teams Administrator) on their service principal, per tenant. An
 * app-only token reaches the Teams admin API only with one: Learn, "Application-based authentication in Teams
 * PowerShell Module" (set-up: assign Microsoft Entra roles to the application), and go-teams `teamsapi/invoke.go`
 * `parseAPIError`, which explains a 403 as "the app's service principal likely lacks a Teams admin directory role".
 * The demo apps get it in the demo tenants (`seedDemoTeams`: onboarding works under the reality profile as `npm
 * start` sets it up); other apps do not unless a test assigns it. Not kept in the state file (seeded again).
 */
export class TeamsAdminRoles extends TenantNames {}

/** The 403 of an app-only call whose app holds no Teams admin role; the wording is the sandbox's own. */
export const NO_TEAMS_ADMIN_ROLE_MESSAGE =
  "The application's service principal holds no Teams administrator role in this tenant; app-only calls need one.";

/**
 * Configuration types a tenant's Teams admin API does not serve (under `reality`): a retired type, or one not rolled
 * out to the tenant yet. Listing one answers as an unknown `{PolicyName}` does, `404 NotFound`. Sources: go-teams
 * `teamsapi/invoke.go` (`IsNotFound`: "a 404 from the API"; `parseAPIError` reads the `{ error: { code, message } }`
 * body) and `validated-policy-types.txt` (its names are those "confirmed to resolve (HTTP 200) on a live tenant": a
 * name is served per tenant, not everywhere). The status for a retired type is not public; 404 is what the sandbox
 * answers for any type it does not know. Not kept in the state file (a test's knob).
 */
export class RefusedPolicyTypes extends TenantNames {}
