import { z } from 'zod';
import type { PeerRequest, Reply, Route } from './router.js';
import type { SandboxState } from './state.js';

const skuUnitsSchema = z.strictObject({
  /** `prepaidUnits.enabled`; 0 or fewer than assigned leaves no free unit ("No License Plan Available"). */
  enabled: z.number().int().min(0),
});

const externalTxtSchema = z.strictObject({ values: z.array(z.string().max(1024)) });

type ParseJson = <T extends z.ZodType>(request: PeerRequest, schema: T) => z.output<T>;

/**
 * Control routes for what domain provisioning depends on: customers' subscribed SKUs (free units), the DNS zones
 * with their "DNS Zone Contributor" principals, and TXT records at external DNS hosts.
 */
export function directoryControlRoutes(state: SandboxState, parseJson: ParseJson): Route[] {
  const { directory, dns } = state;
  return [
    {
      method: 'GET',
      path: '/tenants/:tenant/subscribedSkus',
      handle: (request) =>
        ok({ value: directory.subscribedSkus(state.requireTenant(request.params.tenant ?? '')) }),
    },
    {
      method: 'PUT',
      path: '/tenants/:tenant/subscribedSkus/:sku',
      handle: (request) => {
        const { enabled } = parseJson(request, skuUnitsSchema);
        const tenant = state.requireTenant(request.params.tenant ?? '');
        const { definition } = directory.setSku(tenant.id, request.params.sku ?? '', enabled);
        return ok(directory.subscribedSkus(tenant).find((s) => s.skuId === definition.skuId));
      },
    },
    {
      method: 'GET',
      path: '/dns/zones',
      handle: () =>
        ok({
          value: dns.zones().map((zone) => ({
            subscriptionId: zone.subscriptionId,
            resourceGroup: zone.resourceGroup,
            name: zone.name,
            tenantId: zone.tenantId,
            contributors: [...zone.contributors],
            recordSets: dns.recordSets(zone),
          })),
        }),
    },
    {
      method: 'PUT',
      path: '/dns/zones/:zone/contributors/:principal',
      handle: (request) => {
        dns.grant(request.params.zone ?? '', request.params.principal ?? '');
        return { status: 204 };
      },
    },
    {
      method: 'DELETE',
      path: '/dns/zones/:zone/contributors/:principal',
      handle: (request) =>
        dns.revoke(request.params.zone ?? '', request.params.principal ?? '')
          ? { status: 204 }
          : { status: 404, body: { error: { code: 'NotFound', message: 'No such role assignment.' } } },
    },
    {
      method: 'PUT',
      path: '/dns/external-txt/:fqdn',
      handle: (request) => {
        dns.setExternalTxt(request.params.fqdn ?? '', parseJson(request, externalTxtSchema).values);
        return { status: 204 };
      },
    },
  ];
}

function ok(body: unknown): Reply {
  return { status: 200, body };
}
