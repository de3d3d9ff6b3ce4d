import { lookup } from 'node:dns/promises';

/** The IPv4 addresses a name has in public DNS, each once; none when it does not resolve. */
export type AddressResolver = (fqdn: string) => Promise<readonly string[]>;

/** The host's resolver, as Resolve Address meets the provider's DNS in Azure. */
export const systemAddressResolver: AddressResolver = async (fqdn) => {
  try {
    const found = await lookup(fqdn, { all: true, family: 4 });
    return [...new Set(found.map((a) => a.address))];
  } catch {
    return [];
  }
};
