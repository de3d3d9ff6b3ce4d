import type { z } from 'zod';
import { type DomainError, domainErrors } from '../errors/domain-errors.js';
import type { SecretBox } from '../secrets/secret-box.js';
import { VersionConflictError } from '../errors/domain-errors.js';
import { type TablesSource, tablesFrom } from '../storage/azure-tables.js';
import {
  DEFAULT_LICENSE_PLANS,
  type DnsApiSettings,
  type dnsApiInputSchema,
  type dnsApiViewSchema,
  type KnownSbc,
  type knownSbcInputSchema,
  type knownSbcViewSchema,
  type LicensePlan,
  type Region,
  type regionInputSchema,
} from './onboarding-settings.js';

export const ONBOARDING_SETTINGS_TABLE = 'onboardingsettings';
const PARTITION = 'provider';

/** What onboarding tasks read: the DNS API, regions, Known SBCs (with their password) and license plans. */
export interface OnboardingSettingsReader {
  dnsApi(): Promise<DnsApiSettings | null>;
  regions(): Promise<Region[]>;
  region(id: string): Promise<Region | null>;
  sbc(id: string): Promise<KnownSbc | null>;
  licensePlans(): Promise<readonly LicensePlan[]>;
  /** The hosts a Carrier Registration may register the SBC to; null until the provider sets them. */
  registrarHosts(): Promise<readonly string[] | null>;
}

export interface OnboardingSettingsService extends OnboardingSettingsReader {
  dnsApiView(): Promise<z.output<typeof dnsApiViewSchema>>;
  putDnsApi(input: z.output<typeof dnsApiInputSchema>): Promise<z.output<typeof dnsApiViewSchema>>;
  putLicensePlans(plans: readonly LicensePlan[]): Promise<readonly LicensePlan[]>;
  putRegistrarHosts(hosts: readonly string[] | null): Promise<readonly string[] | null>;
  createRegion(input: z.output<typeof regionInputSchema>): Promise<Region>;
  updateRegion(id: string, input: z.output<typeof regionInputSchema>): Promise<Region>;
  deleteRegion(id: string): Promise<void>;
  sbcViews(): Promise<Array<z.output<typeof knownSbcViewSchema>>>;
  createSbc(input: z.output<typeof knownSbcInputSchema>): Promise<z.output<typeof knownSbcViewSchema>>;
  updateSbc(
    id: string,
    input: z.output<typeof knownSbcInputSchema>,
  ): Promise<z.output<typeof knownSbcViewSchema>>;
  deleteSbc(id: string): Promise<void>;
}

type Row = { partitionKey: string; rowKey: string; document: string; sealed?: string };

/** A stable id from a name: what the API's URLs and the regions' `sbcId` use. */
export const slugOf = (name: string) =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40) || 'sbc';

export function createOnboardingSettingsService(
  options: TablesSource & { readonly secretBox: SecretBox },
): OnboardingSettingsService {
  const table = tablesFrom(options).table<Row>(ONBOARDING_SETTINGS_TABLE);
  const { secretBox } = options;

  async function read<T>(rowKey: string): Promise<{ document: T; sealed?: string; etag: string } | null> {
    const found = await table.get(PARTITION, rowKey);
    if (!found) return null;
    const { document, sealed } = found.value;
    return { document: JSON.parse(document) as T, ...(sealed ? { sealed } : {}), etag: found.etag };
  }

  /**
   * The row's secret, written back sealed with the current key when a retired key sealed it (the DNS secret and
   * the SBC passwords are read by every onboarding and sync, so a rotation reaches them at their next use).
   */
  async function currentSecret(rowKey: string, sealed: string, etag: string, slot: string): Promise<string> {
    const resealed = secretBox.reseal(sealed, slot);
    if (resealed === null) return sealed;
    const found = await table.get(PARTITION, rowKey);
    if (found?.etag !== etag) return resealed;
    try {
      await table.replace({ ...found.value, sealed: resealed }, etag);
    } catch (error) {
      // Saved meanwhile, with the current key.
      if (!(error instanceof VersionConflictError)) throw error;
    }
    return resealed;
  }

  async function list<T>(prefix: string): Promise<Array<{ document: T; sealed?: string }>> {
    const rows: Array<{ document: T; sealed?: string }> = [];
    for await (const { value } of table.list({
      partitionKey: PARTITION,
      rowKey: { ge: prefix, lt: `${prefix}~` },
    })) {
      rows.push({
        document: JSON.parse(value.document) as T,
        ...(value.sealed ? { sealed: value.sealed } : {}),
      });
    }
    return rows;
  }

  async function upsert(rowKey: string, document: unknown, sealed?: string): Promise<void> {
    await table.upsert({
      partitionKey: PARTITION,
      rowKey,
      document: JSON.stringify(document),
      ...(sealed ? { sealed } : {}),
    });
  }

  /** Creates the row, or answers 409 when the id is taken (two simultaneous adds: one wins). */
  async function create(
    rowKey: string,
    document: unknown,
    conflict: DomainError,
    sealed?: string,
  ): Promise<void> {
    try {
      await table.insert({
        partitionKey: PARTITION,
        rowKey,
        document: JSON.stringify(document),
        ...(sealed ? { sealed } : {}),
      });
    } catch (error) {
      if (error instanceof VersionConflictError) throw conflict;
      throw error;
    }
  }

  const remove = (rowKey: string): Promise<boolean> => table.delete(PARTITION, rowKey);

  type DnsInput = z.output<typeof dnsApiInputSchema>;
  /** What is stored in the clear: everything but the secret. */
  type DnsDocument = DnsInput extends infer T ? (T extends unknown ? Omit<T, 'clientSecret'> : never) : never;
  const dnsSlot = 'onboarding-settings/dns-api/clientSecret';
  const sbcSlot = (id: string) => `onboarding-settings/sbc/${id}/gatewayPassword`;
  type SbcDocument = Omit<KnownSbc, 'gatewayPassword'>;

  const sbcView = (sbc: SbcDocument, sealed: string | undefined): z.output<typeof knownSbcViewSchema> => ({
    ...sbc,
    gatewayPasswordSaved: sealed !== undefined,
  });

  async function requireSbc(id: string): Promise<void> {
    if (!(await read(`sbc:${id}`))) {
      throw domainErrors.validation([
        { field: 'sbcId', in: 'body', code: 'unknown_sbc', message: `There is no Known SBC "${id}".` },
      ]);
    }
  }

  const reader: OnboardingSettingsReader = {
    async dnsApi() {
      const found = await read<DnsDocument>('dns-api');
      if (!found) return null;
      const d = found.document;
      return {
        credential:
          d.credential === 'app'
            ? {
                kind: 'app',
                tenantId: d.tenantId,
                clientId: d.clientId,
                clientSecret: found.sealed
                  ? secretBox.open(await currentSecret('dns-api', found.sealed, found.etag, dnsSlot), dnsSlot)
                  : '',
              }
            : { kind: 'managed-identity', ...(d.clientId ? { clientId: d.clientId } : {}) },
        subscriptionId: d.subscriptionId,
        resourceGroupName: d.resourceGroupName,
        dnsZone: d.dnsZone,
      };
    },
    async regions() {
      return (await list<Region>('region:'))
        .map((r) => r.document)
        .sort((a, b) => a.name.localeCompare(b.name));
    },
    async region(id) {
      return (await read<Region>(`region:${id.toLowerCase()}`))?.document ?? null;
    },
    async sbc(id) {
      const found = await read<SbcDocument>(`sbc:${id}`);
      if (!found) return null;
      return {
        ...found.document,
        gatewayPassword: found.sealed
          ? secretBox.open(
              await currentSecret(`sbc:${id}`, found.sealed, found.etag, sbcSlot(id)),
              sbcSlot(id),
            )
          : '',
      };
    },
    async licensePlans() {
      return (await read<{ plans: LicensePlan[] }>('license-plans'))?.document.plans ?? DEFAULT_LICENSE_PLANS;
    },
    async registrarHosts() {
      return (await read<{ hosts: string[] | null }>('registrar-hosts'))?.document.hosts ?? null;
    },
  };

  return {
    ...reader,

    async dnsApiView() {
      const found = await read<DnsDocument>('dns-api');
      const d = found?.document;
      return {
        configured: Boolean(d),
        credential: d?.credential ?? null,
        tenantId: d?.credential === 'app' ? d.tenantId : null,
        clientId: d?.clientId ?? null,
        clientSecretSaved: Boolean(found?.sealed),
        subscriptionId: d?.subscriptionId ?? null,
        resourceGroupName: d?.resourceGroupName ?? null,
        dnsZone: d?.dnsZone ?? null,
      };
    },

    async putDnsApi(input) {
      const saved = await read<DnsDocument>('dns-api');
      let sealed: string | undefined;
      if (input.credential === 'app') {
        const { clientSecret, ...document } = input;
        // The saved secret belongs to the saved app; a new Client Id needs its own secret.
        const keep = saved?.document.credential === 'app' && saved.document.clientId === input.clientId;
        sealed =
          clientSecret !== undefined
            ? secretBox.seal(clientSecret, dnsSlot)
            : keep
              ? saved?.sealed
              : undefined;
        if (!sealed) {
          throw domainErrors.validation([
            {
              field: 'clientSecret',
              in: 'body',
              code: 'required',
              message: 'Client Secret is required for a new Client Id.',
            },
          ]);
        }
        await upsert('dns-api', document, sealed);
      } else {
        await upsert('dns-api', input);
      }
      return this.dnsApiView();
    },

    async putLicensePlans(plans) {
      await upsert('license-plans', { plans });
      return plans;
    },

    async putRegistrarHosts(hosts) {
      const unique = hosts ? [...new Set(hosts.map((h) => h.toLowerCase()))] : null;
      await upsert('registrar-hosts', { hosts: unique });
      return unique;
    },

    async createRegion(input) {
      await requireSbc(input.sbcId);
      const region: Region = { id: input.name.toLowerCase(), ...input };
      await create(
        `region:${region.id}`,
        region,
        domainErrors.conflict(
          'region_exists',
          'Region exists',
          `A region named "${input.name}" already exists.`,
        ),
      );
      return region;
    },

    async updateRegion(id, input) {
      const found = await read<Region>(`region:${id}`);
      if (!found) throw domainErrors.notFound(`There is no region "${id}".`);
      if (input.name.toLowerCase() !== id) {
        throw domainErrors.validation([
          {
            field: 'name',
            in: 'body',
            code: 'immutable',
            message: 'A region cannot be renamed; add a new one.',
          },
        ]);
      }
      await requireSbc(input.sbcId);
      const region: Region = { id, ...input };
      await upsert(`region:${id}`, region);
      return region;
    },

    async deleteRegion(id) {
      if (!(await remove(`region:${id}`))) throw domainErrors.notFound(`There is no region "${id}".`);
    },

    async sbcViews() {
      return (await list<SbcDocument>('sbc:'))
        .map((r) => sbcView(r.document, r.sealed))
        .sort((a, b) => a.name.localeCompare(b.name));
    },

    async createSbc(input) {
      const { gatewayPassword, ...rest } = input;
      if (gatewayPassword === undefined) {
        throw domainErrors.validation([
          {
            field: 'gatewayPassword',
            in: 'body',
            code: 'required',
            message: 'Gateway Password is required.',
          },
        ]);
      }
      const id = slugOf(input.name);
      const document: SbcDocument = { id, ...rest };
      const sealed = secretBox.seal(gatewayPassword, sbcSlot(id));
      await create(
        `sbc:${id}`,
        document,
        domainErrors.conflict(
          'sbc_exists',
          'Known SBC exists',
          `A Known SBC named "${input.name}" already exists.`,
        ),
        sealed,
      );
      return sbcView(document, sealed);
    },

    async updateSbc(id, input) {
      const found = await read<SbcDocument>(`sbc:${id}`);
      if (!found) throw domainErrors.notFound(`There is no Known SBC "${id}".`);
      const { gatewayPassword, ...rest } = input;
      const sealed =
        gatewayPassword !== undefined ? secretBox.seal(gatewayPassword, sbcSlot(id)) : found.sealed;
      const document: SbcDocument = { ...rest, id };
      await upsert(`sbc:${id}`, document, sealed);
      return sbcView(document, sealed);
    },

    async deleteSbc(id) {
      const users = (await reader.regions()).filter((r) => r.sbcId === id);
      if (users.length > 0) {
        throw domainErrors.conflict(
          'sbc_in_use',
          'Known SBC in use',
          `Regions ${users.map((r) => r.name).join(', ')} use this SBC; change or delete them first.`,
        );
      }
      if (!(await remove(`sbc:${id}`))) throw domainErrors.notFound(`There is no Known SBC "${id}".`);
    },
  };
}
