import { domainErrors, type FieldError } from '../errors/domain-errors.js';
import { customerIpGroups } from '../sbc/sbc-config.js';
import type { CustomerSite } from './customer-site.js';
import type { CustomerSiteStore } from './customer-site-store.js';
import type { OnboardingSettingsReader } from './onboarding-settings-service.js';
import { type SiteClaimLock, sbcClaimKey } from './site-claim-lock.js';

/**
 * Customers share SBCs and the provider's DNS zone; what one customer's site claims there is its own (docs/access.md,
 * "Shared resources"): its gateway FQDN and Sbc Site Name in a region, the numbers its dial-plan prefixes match on an
 * SBC, and the tags its rules send calls to. A refusal names nothing of the other customer: the caller may be a
 * channel admin who must not learn who else is on the SBC.
 */

/** A number range on an SBC, of any customer: E.164 digits without the `+`. */
export interface SbcRange {
  readonly customerId: string;
  readonly start: string;
  readonly end: string;
}

/** A dial-plan prefix on an SBC, of any customer. */
export interface SbcPrefix {
  readonly customerId: string;
  readonly prefix: string;
}

/** Every customer's dial-plan prefixes on an SBC, from their sites. */
export async function prefixesOnSbc(
  deps: Pick<SharedResourceDeps, 'sites' | 'regions'>,
  sbcId: string,
): Promise<SbcPrefix[]> {
  const sbcOf = new Map<string, string | null>();
  const found: SbcPrefix[] = [];
  for (const { site } of await deps.sites.listAll()) {
    if (!site.sbc || site.prefixes.length === 0) continue;
    const regionId = site.sbc.regionId;
    if (!sbcOf.has(regionId)) sbcOf.set(regionId, (await deps.regions.region(regionId))?.sbcId ?? null);
    if (sbcOf.get(regionId) !== sbcId) continue;
    found.push(...site.prefixes.map((p) => ({ customerId: site.customerId, prefix: p.prefix })));
  }
  return found;
}

export interface SharedResourceDeps {
  readonly sites: Pick<CustomerSiteStore, 'listAll'>;
  /** The regions' SBCs, and the provider's registrar hosts. */
  readonly regions: Pick<OnboardingSettingsReader, 'region' | 'registrarHosts'>;
  /** Every customer's number ranges on an SBC. */
  readonly rangesOnSbc: (sbcId: string) => Promise<readonly SbcRange[]>;
  /** Held from the last check of a site's claims until the site is written. */
  readonly lock: SiteClaimLock;
}

export interface SiteClaims {
  /** The site as it would be stored. */
  readonly site: CustomerSite;
  /** The site as stored before this change; null for a new site (then its names are checked too). */
  readonly before: CustomerSite | null;
  /** The customer's Microsoft 365 tenant id, when known: a tag may name it. */
  readonly tenantId: string | null;
}

/**
 * The strings a prefix matches, as an interval of equal-length strings: `+4420[10-19]` is every string whose first
 * seven characters lie in [`+442010`, `+442019`]. The `+` is a character like the digits (the SBC compares text).
 */
interface Pattern {
  readonly lo: string;
  readonly hi: string;
}

function patternOf(prefix: string): Pattern {
  const match = /^(\+?\d*)(?:\[(\d+)-(\d+)\])?$/.exec(prefix);
  const base = match?.[1] ?? prefix;
  return { lo: base + (match?.[2] ?? ''), hi: base + (match?.[3] ?? '') };
}

/** Two prefixes overlap when some number starts with both: their intervals, cut to the shorter length, meet. */
export function prefixesOverlap(a: string, b: string): boolean {
  const [p, q] = [patternOf(a), patternOf(b)];
  const n = Math.min(p.lo.length, q.lo.length);
  return p.lo.slice(0, n) <= q.hi.slice(0, n) && q.lo.slice(0, n) <= p.hi.slice(0, n);
}

/** A prefix overlaps a range when a number of the range (as `+digits`) starts with it. */
export function prefixOverlapsRange(prefix: string, range: Pick<SbcRange, 'start' | 'end'>): boolean {
  const p = patternOf(prefix);
  const n = p.lo.length;
  // The range's numbers of each length it spans, each an interval of equal-length strings.
  for (let length = range.start.length; length <= range.end.length; length++) {
    if (n > length + 1) continue;
    const lo = `+${length === range.start.length ? range.start : `1${'0'.repeat(length - 1)}`}`;
    const hi = `+${length === range.end.length ? range.end : '9'.repeat(length)}`;
    if (p.lo <= hi.slice(0, n) && lo.slice(0, n) <= p.hi) return true;
  }
  return false;
}

const lower = (s: string) => s.toLowerCase();

/** The regions a site lives in: its DNS page's and its SBC page's. */
const regionsOf = (site: CustomerSite) =>
  new Set([site.dns?.regionId, site.sbc?.regionId].filter((r): r is string => Boolean(r)));

/** Where a site's gateway FQDN came from: the request field to name in a refusal. */
function gatewayField(site: CustomerSite): string {
  if (site.dns && site.dns.method !== 'manual') return 'siteName';
  if (site.dns?.method === 'manual') return 'dns.onlinePstnGateway';
  return site.m365Routing ? 'm365Routing.onlinePstnGateway' : 'sbc.onlinePstnGateway';
}

/** The tags a customer's rules may carry: its sites' gateways, its tenant id and its IP Groups. */
function ownTags(customerId: string, sites: readonly CustomerSite[], tenantId: string | null): string[] {
  const tags = new Set<string>();
  for (const s of sites) if (s.gatewayFqdn) tags.add(lower(s.gatewayFqdn));
  if (tenantId) tags.add(lower(tenantId));
  for (const group of customerIpGroups(customerId)) tags.add(lower(group));
  return [...tags];
}

/**
 * A Carrier Registration makes the shared SBC register to its Host Name: a new or changed one must be a registrar the
 * provider allows (`registrarHosts`), or while the provider has set none, one that a site registers to already.
 */
async function registrarProblem(
  deps: SharedResourceDeps,
  site: CustomerSite,
  before: CustomerSite | null,
  all: readonly CustomerSite[],
): Promise<FieldError | null> {
  const host = site.sbc?.carrierRegistration ? lower(site.sbc.carrierRegistration.hostName) : null;
  if (!host || host === lower(before?.sbc?.carrierRegistration?.hostName ?? '')) return null;
  const listed = await deps.regions.registrarHosts();
  const allowed =
    listed ??
    all.flatMap((s) => (s.sbc?.carrierRegistration ? [lower(s.sbc.carrierRegistration.hostName)] : []));
  if (allowed.includes(host)) return null;
  return {
    field: 'sbc.carrierRegistration.hostName',
    in: 'body',
    code: 'registrar_host_not_allowed',
    message: listed
      ? `"${host}" is not a registrar the provider allows.`
      : `"${host}" is not a registrar configured yet; the provider adds it with PUT /api/v1/settings/registrar-hosts.`,
    // The provider's list is offered like the SBC's carriers; hosts other customers' sites use are not shown.
    ...(listed ? { allowed: listed } : {}),
  };
}

/**
 * Refuses a site whose claims on shared resources collide with another customer's; nothing is written here.
 * A new site's gateway FQDN and its Sbc Site Name per region are its own (`gateway_fqdn_taken`, `site_name_taken`);
 * a prefix new to the site matches no number another customer's prefixes or ranges on the same SBC match
 * (`prefix_overlap`); a tag new to the site names the customer's own gateway, tenant or IP Group (`tag_not_owned`);
 * a new Carrier Registration host is an allowed registrar (`registrar_host_not_allowed`).
 */
export async function assertSiteClaims(deps: SharedResourceDeps, claims: SiteClaims): Promise<void> {
  const { site, before } = claims;
  const customer = lower(site.customerId);
  const all = (await deps.sites.listAll()).map((s) => s.site);
  const others = all.filter((s) => lower(s.customerId) !== customer);
  const own = [
    ...all.filter((s) => lower(s.customerId) === customer && lower(s.siteName) !== lower(site.siteName)),
    site,
  ];

  if (!before) {
    const fqdn = site.gatewayFqdn ? lower(site.gatewayFqdn) : null;
    if (fqdn && others.some((o) => o.gatewayFqdn && lower(o.gatewayFqdn) === fqdn)) {
      const field = gatewayField(site);
      throw domainErrors.conflict(
        'gateway_fqdn_taken',
        'The gateway FQDN belongs to another customer',
        `The Online PSTN Gateway ${fqdn} is another customer's; a gateway FQDN belongs to one site.`,
        [{ field, in: 'body', code: 'gateway_fqdn_taken', message: 'Unique gateway FQDN per region.' }],
      );
    }
    const regions = regionsOf(site);
    const clash = others.find(
      (o) => lower(o.siteName) === lower(site.siteName) && [...regionsOf(o)].some((r) => regions.has(r)),
    );
    if (clash) {
      throw domainErrors.conflict(
        'site_name_taken',
        'Sbc Site Name already in use',
        `Another customer has a site named "${site.siteName}" in the same region; an Sbc Site Name is unique per region.`,
        [
          {
            field: 'siteName',
            in: 'body',
            code: 'site_name_taken',
            message: 'Unique Sbc Site Name per region.',
          },
        ],
      );
    }
  }

  const known = new Set((before?.prefixes ?? []).map((p) => `${lower(p.dialPlanName)}\n${p.prefix}`));
  const knownTags = new Set((before?.prefixes ?? []).map((p) => lower(p.tag)));
  const allowed = ownTags(site.customerId, own, claims.tenantId);
  const tagErrors: FieldError[] = [];
  site.prefixes.forEach((p, index) => {
    const tag = lower(p.tag);
    if (tag === '' || allowed.includes(tag) || knownTags.has(tag)) return;
    tagErrors.push({
      field: `prefixes.${index}.tag`,
      in: 'body',
      code: 'tag_not_owned',
      message: `Tag "${p.tag}" is not this customer's: a tag names one of its gateways, its tenant id or one of its IP Groups.`,
      allowed,
    });
  });
  const registrarError = await registrarProblem(deps, site, before, all);
  if (registrarError) tagErrors.push(registrarError);
  if (tagErrors.length > 0) {
    throw domainErrors.validation(
      tagErrors,
      'The site names a tag or registrar that is not its to use; nothing was saved.',
    );
  }

  const added = site.prefixes
    .map((p, index) => ({ p, index }))
    .filter(({ p }) => !known.has(`${lower(p.dialPlanName)}\n${p.prefix}`));
  const sbcId = site.sbc ? (await deps.regions.region(site.sbc.regionId))?.sbcId : undefined;
  if (added.length === 0 || !sbcId) return;
  const taken = (await prefixesOnSbc(deps, sbcId))
    .filter((p) => lower(p.customerId) !== customer)
    .map((p) => p.prefix);
  const ranges = (await deps.rangesOnSbc(sbcId)).filter((r) => lower(r.customerId) !== customer);
  const overlapping = added.filter(
    ({ p }) =>
      taken.some((t) => prefixesOverlap(p.prefix, t)) || ranges.some((r) => prefixOverlapsRange(p.prefix, r)),
  );
  if (overlapping.length > 0) {
    throw domainErrors.conflict(
      'prefix_overlap',
      "The prefixes overlap another customer's numbers",
      `${overlapping.length} prefix(es) match numbers of another customer on the same SBC; numbers on an SBC belong to one customer. Nothing was saved.`,
      overlapping.map(({ p, index }) => ({
        field: `prefixes.${index}.prefix`,
        in: 'body',
        code: 'prefix_overlap',
        message: `"${p.prefix}" overlaps a prefix or number range of another customer on the same SBC.`,
      })),
    );
  }
}

/** What a site claims that another customer's site could claim at the same instant: its SBC, regions and gateway. */
async function claimKeys(deps: SharedResourceDeps, site: CustomerSite): Promise<string[]> {
  const keys = [...regionsOf(site)].map((r) => `region|${lower(r)}`);
  const sbcId = site.sbc ? (await deps.regions.region(site.sbc.regionId))?.sbcId : undefined;
  if (sbcId) keys.push(sbcClaimKey(sbcId));
  if (site.gatewayFqdn) keys.push(`fqdn|${lower(site.gatewayFqdn)}`);
  return keys;
}

/**
 * Writes a site whose claims `assertSiteClaims` accepted, holding its SBC, regions and gateway FQDN: the claims are
 * checked again under the lease, so of two customers' sites saved at the same instant the second sees the first
 * and is refused with the same code, before `write` runs (it wrote nothing). The caller checks once before, without
 * the lease, so that an ordinary refusal writes nothing at all, not even a lease.
 */
export async function writeWithSiteClaims<R>(
  deps: SharedResourceDeps,
  claims: SiteClaims,
  write: () => Promise<R>,
): Promise<R> {
  return deps.lock.hold(await claimKeys(deps, claims.site), async () => {
    await assertSiteClaims(deps, claims);
    return write();
  });
}
