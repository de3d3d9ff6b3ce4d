import type { Agent } from 'node:https';
import type { TableClient, TableServiceClient, TableServiceClientOptions } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import type { QueueServiceClient, StoragePipelineOptions } from '@azure/storage-queue';
import { azureSdkOptions } from '../net/azure-sdk-options.js';
import { defaultAzureCredential, managedIdentityCredential } from '../net/identity-credentials.js';
import { lazy, type LazyCredential } from '../platform/lazy.js';
import type { TrustedTransport } from '../net/trusted-transport.js';

/**
 * The storage SDKs (with core-rest-pipeline and the queue SDK's XML stack under them) are loaded by the first
 * client asked for, a table's or a queue's first use, not at start-up (docs/decisions.md, 75 and 82).
 */
const tablesSdk = lazy(() => import('@azure/data-tables'));
const queuesSdk = lazy(() => import('@azure/storage-queue'));

/**
 * How the product reaches its storage account: the `AzureWebJobsStorage` connection string (Azurite, local runs) or
 * the Functions host's identity-based form (`AzureWebJobsStorage__*`), with which Azure holds no account key.
 */
export type StorageConnection =
  | { readonly kind: 'connectionString'; readonly connectionString: string }
  | {
      readonly kind: 'identity';
      /** Without a trailing slash, e.g. `https://acct.table.core.windows.net`. */
      readonly tableServiceUrl: string;
      readonly queueServiceUrl: string;
      /** `managedidentity` in Azure; `default` (DefaultAzureCredential) for a developer's `az login`. */
      readonly credential: 'managedidentity' | 'default';
      /** A user-assigned identity's client ID; the system-assigned identity when absent. */
      readonly clientId?: string;
    };

/**
 * The one place that builds storage clients: every table, queue and health check of the product goes through it.
 * Each client is made on demand, with its SDK loaded then.
 */
export interface StorageEndpoints {
  readonly kind: StorageConnection['kind'];
  tableClient(table: string, options?: TableServiceClientOptions): Promise<TableClient>;
  tableService(options?: TableServiceClientOptions): Promise<TableServiceClient>;
  queueService(options?: StoragePipelineOptions): Promise<QueueServiceClient>;
}

export interface StorageEndpointsOptions {
  /** Replaces the credential the settings name; tests hand in one that Azurite's OAuth accepts. */
  readonly credential?: TokenCredential;
  /** The product's TLS trust (TRUSTED_CA_CERT_FILE) for https endpoints of the identity form. */
  readonly transport?: TrustedTransport;
}

/** The token credential the identity form names: the app's managed identity, or whatever DefaultAzureCredential finds. */
export function storageCredential(
  connection: Extract<StorageConnection, { kind: 'identity' }>,
): LazyCredential {
  if (connection.credential === 'managedidentity') {
    return managedIdentityCredential(connection.clientId ? { clientId: connection.clientId } : {});
  }
  return defaultAzureCredential();
}

export function storageEndpoints(
  connection: StorageConnection,
  options: StorageEndpointsOptions = {},
): StorageEndpoints {
  if (connection.kind === 'connectionString') return connectionStringEndpoints(connection.connectionString);
  const credential = options.credential ?? storageCredential(connection);
  const { transport } = options;
  const secure = (url: string) => url.startsWith('https://');
  const tableOptions = (extra: TableServiceClientOptions): TableServiceClientOptions => ({
    ...extra,
    ...(transport && secure(connection.tableServiceUrl) ? azureSdkOptions(transport) : {}),
  });
  // The queue SDK's options type lists no `additionalPolicies` (and adding one per client would clash on its shared
  // pipeline); it hands its options to core-client's pipeline, which takes an `agent` once.
  const queueOptions = (extra: StoragePipelineOptions): StoragePipelineOptions & { agent?: Agent } => ({
    ...extra,
    ...(transport && secure(connection.queueServiceUrl) ? { agent: transport.httpsAgent } : {}),
  });
  return {
    kind: 'identity',
    tableClient: async (table, extra = {}) =>
      new (await tablesSdk()).TableClient(connection.tableServiceUrl, table, credential, tableOptions(extra)),
    tableService: async (extra = {}) =>
      new (await tablesSdk()).TableServiceClient(connection.tableServiceUrl, credential, tableOptions(extra)),
    queueService: async (extra = {}) =>
      new (await queuesSdk()).QueueServiceClient(connection.queueServiceUrl, credential, queueOptions(extra)),
  };
}

function connectionStringEndpoints(connectionString: string): StorageEndpoints {
  // Azurite's plain-http endpoint; the table SDK refuses http unless told.
  const allowInsecureConnection =
    connectionString.includes('http://127.0.0.1') || connectionString.includes('UseDevelopmentStorage=true');
  return {
    kind: 'connectionString',
    tableClient: async (table, options = {}) =>
      (await tablesSdk()).TableClient.fromConnectionString(connectionString, table, {
        ...options,
        allowInsecureConnection,
      }),
    tableService: async (options = {}) =>
      (await tablesSdk()).TableServiceClient.fromConnectionString(connectionString, {
        ...options,
        allowInsecureConnection,
      }),
    queueService: async (options = {}) =>
      (await queuesSdk()).QueueServiceClient.fromConnectionString(connectionString, options),
  };
}

/** A connection string (tests, the local tools) or endpoints already built from settings. */
export type StorageSource = string | StorageEndpoints;

export function endpointsOf(source: StorageSource): StorageEndpoints {
  return typeof source === 'string' ? connectionStringEndpoints(source) : source;
}
