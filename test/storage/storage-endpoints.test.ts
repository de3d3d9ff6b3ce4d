import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { describe, expect, it } from 'vitest';
import { storageCredential, storageEndpoints } from '../../shared/storage/storage-endpoints.js';

const identity = {
  kind: 'identity',
  tableServiceUrl: 'https://acct.table.core.windows.net',
  queueServiceUrl: 'https://acct.queue.core.windows.net',
  credential: 'managedidentity',
} as const;

describe('storage endpoints', () => {
  it("use the app's managed identity, a user-assigned one by its client ID, or DefaultAzureCredential", async () => {
    // Each is made when its first token is asked for (the SDK loads then); load() makes it now.
    expect(await storageCredential(identity).load()).toBeInstanceOf(ManagedIdentityCredential);
    expect(
      await storageCredential({ ...identity, clientId: '11111111-2222-3333-4444-555555555555' }).load(),
    ).toBeInstanceOf(ManagedIdentityCredential);
    expect(await storageCredential({ ...identity, credential: 'default' }).load()).toBeInstanceOf(
      DefaultAzureCredential,
    );
  });

  it('address the service URIs, a table and a queue under them', async () => {
    const credential: TokenCredential = { getToken: () => Promise.resolve(null) };
    const endpoints = storageEndpoints(identity, { credential });
    expect(endpoints.kind).toBe('identity');
    const table = await endpoints.tableClient('alarms');
    expect(table.url).toBe('https://acct.table.core.windows.net');
    expect(table.tableName).toBe('alarms');
    expect((await endpoints.queueService()).getQueueClient('tasks').url).toBe(
      'https://acct.queue.core.windows.net/tasks',
    );
  });

  it('keep the connection string for Azurite', async () => {
    const endpoints = storageEndpoints({
      kind: 'connectionString',
      connectionString: 'UseDevelopmentStorage=true',
    });
    expect(endpoints.kind).toBe('connectionString');
    expect((await endpoints.queueService()).getQueueClient('tasks').url).toBe(
      'http://127.0.0.1:10001/devstoreaccount1/tasks',
    );
    expect((await endpoints.tableClient('alarms')).url).toBe('http://127.0.0.1:10002/devstoreaccount1');
  });
});
