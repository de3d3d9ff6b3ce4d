import type { RecordSet, RecordType } from '@azure/arm-dns';
import { isRestError } from '../net/rest-error.js';
import type { TokenCredential } from '@azure/identity';
import { azureSdkOptions } from '../net/azure-sdk-options.js';
import type { TrustedTransport } from '../net/trusted-transport.js';
import { lazy } from '../platform/lazy.js';

/** Loaded when a zone is first called: the onboarding's DNS steps and the health check use it, start-up does not. */
const armDns = lazy(() => import('@azure/arm-dns'));

/** Tokens for Azure Resource Manager; the audience is the same wherever the endpoint points (the sandbox too). */
export const ARM_SCOPE = 'https://management.azure.com/.default';

/** The record types the product writes or reads. */
export type DnsRecordType = Extract<RecordType, 'A' | 'CNAME' | 'TXT'>;

export interface AzureDnsZoneOptions {
  /** `settings.endpoints.arm`, e.g. `https://management.azure.com`. */
  readonly endpoint: string;
  /** The DNS app's `ClientSecretCredential`, or the Function App's managed identity in Azure. */
  readonly credential: TokenCredential;
  readonly transport: TrustedTransport;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  /** The provider's zone, e.g. `customers.example.com`. */
  readonly zone: string;
}

/** The record set's metadata key that names the site whose records they are (docs/access.md, Shared resources). */
export const DNS_OWNER_METADATA = 'drhOwner';

/**
 * Optimistic concurrency for a write: the record set's last-seen etag, or `*` to create only; and the owner the
 * record set is marked with.
 */
export interface WriteConditions {
  readonly ifMatch?: string;
  readonly ifNoneMatch?: '*';
  readonly owner?: string;
}

export interface DnsRecordSetView {
  readonly type: DnsRecordType;
  /** Relative to the zone, `@` for the apex. */
  readonly relativeName: string;
  /** TXT: each record's strings joined; A: the IPv4 addresses; CNAME: the alias. */
  readonly values: readonly string[];
  readonly ttl: number | null;
  readonly etag: string | null;
  /** The owner marker the product wrote with the record set; null for one written without it (or by hand). */
  readonly owner: string | null;
}

export interface AzureDnsZone {
  readonly zone: string;
  upsertTxt(
    relativeName: string,
    values: readonly string[],
    ttl: number,
    conditions?: WriteConditions,
  ): Promise<DnsRecordSetView>;
  upsertA(
    relativeName: string,
    ipv4: readonly string[],
    ttl: number,
    conditions?: WriteConditions,
  ): Promise<DnsRecordSetView>;
  /** Idempotent: a record set (or zone) that is already gone is fine. */
  deleteRecord(
    type: DnsRecordType,
    relativeName: string,
    conditions?: Pick<WriteConditions, 'ifMatch'>,
  ): Promise<void>;
  getRecordSet(type: DnsRecordType, relativeName: string): Promise<DnsRecordSetView | null>;
  /** Every record set of a type, following ARM's `nextLink` pages of `pageSize` (ARM's `$top`). */
  listRecordSets(type: DnsRecordType, options?: { readonly pageSize?: number }): Promise<DnsRecordSetView[]>;
  /** `x.customers.example.com` in zone `customers.example.com` → `x`; the zone itself → `@`. */
  relativeNameOf(fqdn: string): string;
}

/** A refused or failed Azure DNS call; never carries tokens or secrets. */
export class DnsError extends Error {
  override readonly name = 'DnsError';
  constructor(
    /** ARM's error code (`PreconditionFailed`, `AuthorizationFailed`, ...), or `NetworkError` / `NotInZone`. */
    readonly code: string,
    message: string,
    /** The HTTP status, null when no response came back. */
    readonly status: number | null,
    /** Worth retrying later: throttling, server errors, no response. */
    readonly transient: boolean,
  ) {
    super(message);
  }
}

/** One Azure DNS zone through the real `@azure/arm-dns` client (its retry policy honours 429 Retry-After). */
export function createAzureDnsZone(options: AzureDnsZoneOptions): AzureDnsZone {
  const endpoint = options.endpoint.replace(/\/+$/, '');
  const recordSets = lazy(
    async () =>
      new (await armDns()).DnsManagementClient(options.credential, options.subscriptionId, {
        endpoint,
        $host: endpoint,
        credentialScopes: [ARM_SCOPE],
        ...azureSdkOptions(options.transport),
      }).recordSets,
  );
  const { resourceGroup } = options;
  const zone = options.zone.toLowerCase().replace(/\.$/, '');

  const call = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw toDnsError(error, what);
    }
  };

  const upsert = (
    type: DnsRecordType,
    relativeName: string,
    parameters: RecordSet,
    conditions: WriteConditions = {},
  ) =>
    call(`PUT ${type} '${relativeName}'`, async () =>
      view(
        type,
        relativeName,
        await (
          await recordSets()
        ).createOrUpdate(
          resourceGroup,
          zone,
          relativeName,
          type,
          conditions.owner
            ? { ...parameters, metadata: { [DNS_OWNER_METADATA]: conditions.owner } }
            : parameters,
          {
            ...(conditions.ifMatch ? { ifMatch: conditions.ifMatch } : {}),
            ...(conditions.ifNoneMatch ? { ifNoneMatch: conditions.ifNoneMatch } : {}),
          },
        ),
      ),
    );

  return {
    zone,
    upsertTxt: (relativeName, values, ttl, conditions) =>
      upsert(
        'TXT',
        relativeName,
        { ttl, txtRecords: values.map((value) => ({ value: [value] })) },
        conditions,
      ),
    upsertA: (relativeName, ipv4, ttl, conditions) =>
      upsert('A', relativeName, { ttl, aRecords: ipv4.map((ipv4Address) => ({ ipv4Address })) }, conditions),
    async deleteRecord(type, relativeName, conditions = {}) {
      try {
        await (
          await recordSets()
        ).delete(resourceGroup, zone, relativeName, type, {
          ...(conditions.ifMatch ? { ifMatch: conditions.ifMatch } : {}),
        });
      } catch (error) {
        if (isRestError(error) && error.statusCode === 404) return;
        throw toDnsError(error, `DELETE ${type} '${relativeName}'`);
      }
    },
    async getRecordSet(type, relativeName) {
      try {
        return view(
          type,
          relativeName,
          await (await recordSets()).get(resourceGroup, zone, relativeName, type),
        );
      } catch (error) {
        if (isRestError(error) && error.statusCode === 404) return null;
        throw toDnsError(error, `GET ${type} '${relativeName}'`);
      }
    },
    listRecordSets: (type, listOptions = {}) =>
      call(`LIST ${type}`, async () => {
        const found: DnsRecordSetView[] = [];
        const pages = (await recordSets())
          .listByType(resourceGroup, zone, type, {
            ...(listOptions.pageSize !== undefined ? { top: listOptions.pageSize } : {}),
          })
          .byPage();
        for await (const page of pages) {
          for (const recordSet of page) found.push(view(type, recordSet.name ?? '', recordSet));
        }
        return found;
      }),
    relativeNameOf(fqdn) {
      const host = fqdn.toLowerCase().replace(/\.$/, '');
      if (host === zone) return '@';
      if (host.endsWith(`.${zone}`)) return host.slice(0, -(zone.length + 1));
      throw new DnsError('NotInZone', `'${fqdn}' is not in the DNS zone '${zone}'.`, null, false);
    },
  };
}

function view(type: DnsRecordType, relativeName: string, recordSet: RecordSet): DnsRecordSetView {
  const values =
    type === 'TXT'
      ? (recordSet.txtRecords ?? []).map((record) => (record.value ?? []).join(''))
      : type === 'A'
        ? (recordSet.aRecords ?? []).flatMap((record) => (record.ipv4Address ? [record.ipv4Address] : []))
        : recordSet.cnameRecord?.cname
          ? [recordSet.cnameRecord.cname]
          : [];
  return {
    type,
    relativeName,
    values,
    ttl: recordSet.ttl ?? null,
    etag: recordSet.etag ?? null,
    owner: recordSet.metadata?.[DNS_OWNER_METADATA] ?? null,
  };
}

/** ARM's `{ error: { code, message } }` as a DnsError; the request (with its Authorization header) is left out. */
function toDnsError(error: unknown, what: string): DnsError {
  if (error instanceof DnsError) return error;
  if (isRestError(error)) {
    const status = error.statusCode ?? null;
    const body = armErrorBody(error.details);
    const code = body?.code ?? error.code ?? (status === null ? 'NetworkError' : `Http${status}`);
    const detail = body?.message ?? error.message;
    return new DnsError(
      code,
      `Azure DNS ${what} failed${status === null ? '' : ` (${status})`}: ${code}: ${detail}`,
      status,
      status === null || status === 429 || status >= 500,
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new DnsError('NetworkError', `Azure DNS ${what} failed: ${message}`, null, true);
}

function armErrorBody(details: unknown): { code?: string; message?: string } | undefined {
  if (typeof details !== 'object' || details === null) return undefined;
  const inner = (details as { error?: unknown }).error;
  const source = (typeof inner === 'object' && inner !== null ? inner : details) as Record<string, unknown>;
  return {
    ...(typeof source.code === 'string' ? { code: source.code } : {}),
    ...(typeof source.message === 'string' ? { message: source.message } : {}),
  };
}
