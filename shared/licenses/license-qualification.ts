import type { CustomerSite } from '../onboarding/customer-site.js';
import type { MirrorVoiceObject } from '../replication/mirror-store.js';
import type { MirrorUser } from '../replication/mirror-user.js';
import type { LicenseFactor, LicenseSubject } from './license-usage.js';

/**
 * What each mirrored user (and each service number) qualifies for:
 * - Direct Routing: Enterprise Voice, an Online Voice Routing Policy assigned, whose route leads to one of the
 *   customer's own gateways (the site location's);
 * - Operator Connect: a number assigned, for an Operator Connect customer (none of our license types is yet);
 * - By Template / By User Interface: the users our templates or edits touched (given by the caller);
 * - Service Numbers: the customer's prefixes tagged with a gateway other than their site's (fax, IVR, emergency).
 */
export function licenseSubjects(input: {
  readonly users: ReadonlyArray<Pick<MirrorUser, 'id' | 'enterpriseVoiceEnabled' | 'lineUri' | 'policies'>>;
  readonly voice: readonly MirrorVoiceObject[];
  readonly sites: readonly CustomerSite[];
  readonly gatewayOf: (policy: string) => string | null;
  readonly operatorConnect: boolean;
  readonly byTemplate: ReadonlySet<string>;
  readonly byUserInterface: ReadonlySet<string>;
}): LicenseSubject[] {
  const gateways = new Set(input.sites.flatMap((s) => (s.gatewayFqdn ? [s.gatewayFqdn.toLowerCase()] : [])));
  const subjects: LicenseSubject[] = input.users.map((user) => {
    const qualifies = new Set<LicenseFactor>();
    const policy = user.policies.OnlineVoiceRoutingPolicy;
    const gateway = policy ? input.gatewayOf(policy)?.toLowerCase() : undefined;
    if (user.enterpriseVoiceEnabled && policy && gateway && gateways.has(gateway))
      qualifies.add('directRouting');
    if (input.operatorConnect && user.lineUri) qualifies.add('operatorConnect');
    if (input.byTemplate.has(user.id)) qualifies.add('byTemplate');
    if (input.byUserInterface.has(user.id)) qualifies.add('byUserInterface');
    return { id: user.id, qualifies };
  });
  for (const site of input.sites) {
    const own = site.gatewayFqdn?.toLowerCase() ?? '';
    for (const prefix of site.prefixes) {
      if (prefix.tag && prefix.tag.toLowerCase() !== own) {
        subjects.push({
          id: `number:${prefix.dialPlanName}:${prefix.prefix}`,
          qualifies: new Set<LicenseFactor>(['serviceNumbers']),
        });
      }
    }
  }
  return subjects;
}
