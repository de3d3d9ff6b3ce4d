/**
 * Whether a Microsoft 365 tenant is a customer's, for accepting its tokens (issue 14 item 7). The connected
 * customers' tenant ids are read from their credentials and kept for a minute: a token from an unknown tenant costs
 * at most one read a minute, and a tenant connected a moment ago is known within one. A removed customer's tenant
 * may stay known that long; its admins are forgotten with it, so they reach nothing.
 */
export function customerTenantIndex(
  credentials: () => AsyncIterable<{ readonly tenantId: string }>,
  options: { readonly ttlMs?: number; readonly now?: () => number } = {},
): (tenantId: string) => Promise<boolean> {
  const ttl = options.ttlMs ?? 60_000;
  const now = options.now ?? Date.now;
  let known: { readonly at: number; readonly tenants: Promise<ReadonlySet<string>> } | null = null;
  const read = async () => {
    const tenants = new Set<string>();
    for await (const credential of credentials()) {
      if (credential.tenantId) tenants.add(credential.tenantId.toLowerCase());
    }
    return tenants;
  };
  return async (tenantId) => {
    if (!known || now() - known.at >= ttl) {
      const tenants = read();
      known = { at: now(), tenants };
      // A failed read is not remembered: the next token asks again.
      tenants.catch(() => {
        if (known?.tenants === tenants) known = null;
      });
    }
    return (await known.tenants).has(tenantId.toLowerCase());
  };
}
