import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCredentialStore } from '../../shared/credentials/credential-store.js';
import { waitFor } from '../consent/consent-fixture.js';
import { mirrorUser } from '../support/mirror-user.js';
import { apiClient } from '../support/api-client.js';
import { connectedCredential } from '../support/connected-credential.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';

const ADMIN_USER = '66666666-6666-4666-8666-666666666666';
const STRANGER = '77777777-7777-4777-8777-777777777777';

let stack: MemoryStack;
let provider: ReturnType<typeof apiClient>;
let customerAdmin: ReturnType<typeof apiClient>;

beforeAll(async () => {
  stack = await startMemoryStack();
  provider = apiClient(stack.api, () => stack.token());
  customerAdmin = apiClient(stack.api, () => stack.token({ roles: ['customer-admin'], subject: ADMIN_USER }));
  for (const shortName of ['Alpha', 'Beta']) {
    const created = await provider('POST', '/api/v1/customers', {
      json: { fullName: `${shortName} Ltd`, shortName, licenseType: 'hosted-essentials' },
    });
    expect(created.status).toBe(201);
  }
  // The user as replication left it in Alpha's mirror (only replicated users can be made admins).
  await stack.services.mirror.putUsers(
    'Alpha',
    [
      mirrorUser({
        id: ADMIN_USER,
        userPrincipalName: 'it.admin@alpha.example',
        displayName: 'Alpha IT',
        department: 'IT',
      }),
    ],
    'test',
  );
}, 60_000);
afterAll(async () => stack?.close());

describe('Customer Admins', () => {
  it('grants admin rights only to a user of the replicated directory', async () => {
    const stranger = await provider('PUT', `/api/v1/customers/Alpha/admins/${STRANGER}`);
    expect(stranger.status).toBe(404);
    expect(JSON.stringify(stranger.body)).toContain('replicated directory');
    const granted = await provider('PUT', `/api/v1/customers/Alpha/admins/${ADMIN_USER}`);
    expect(granted.status, JSON.stringify(granted.body)).toBe(200);
    expect(granted.body).toMatchObject({
      userPrincipalName: 'it.admin@alpha.example',
      displayName: 'Alpha IT',
    });
    const listed = await provider('GET', '/api/v1/customers/Alpha/admins');
    expect((listed.body as { value: Array<{ userId: string }> }).value.map((a) => a.userId)).toEqual([
      ADMIN_USER,
    ]);
  });

  it('lets the admin read its customer and nothing else, and not change it', async () => {
    expect((await customerAdmin('GET', '/api/v1/customers/Alpha')).status).toBe(200);
    expect((await customerAdmin('GET', '/api/v1/customers/Beta')).status).toBe(403);
    expect(
      (await customerAdmin('PATCH', '/api/v1/customers/Alpha', { json: { fullName: 'x' } })).status,
    ).toBe(403);
    expect((await customerAdmin('GET', '/api/v1/script-templates')).status).toBe(403);
  });

  it('revokes, and a removed customer forgets its admins and its Microsoft 365 credential', async () => {
    // Alpha's tenant connected, as consent leaves it.
    const credentials = createCredentialStore(stack.tables);
    await credentials.put(connectedCredential('Alpha', 'a1a1a1a1-0000-4000-8000-0000000000a1'));
    expect((await provider('DELETE', `/api/v1/customers/Alpha/admins/${ADMIN_USER}`)).status).toBe(204);
    expect((await customerAdmin('GET', '/api/v1/customers/Alpha')).status).toBe(403);
    expect((await provider('PUT', `/api/v1/customers/Alpha/admins/${ADMIN_USER}`)).status).toBe(200);
    const removal = await provider('DELETE', '/api/v1/customers/Alpha');
    expect(removal.status, JSON.stringify(removal.body)).toBe(202);
    await waitFor('the removal', async () =>
      (await provider('GET', '/api/v1/customers/Alpha')).status === 404 ? true : undefined,
    );
    // No verification refreshes a removed customer's token; the task tells the operator what the customer revokes.
    expect(await credentials.get('Alpha')).toBeNull();
    const task = await provider('GET', removal.headers.get('location') ?? '');
    expect(JSON.stringify(task.body)).toContain('were removed with the customer');
    const again = await provider('POST', '/api/v1/customers', {
      json: { fullName: 'New Alpha', shortName: 'Alpha', licenseType: 'hosted-essentials' },
    });
    expect(again.status).toBe(201);
    expect((await customerAdmin('GET', '/api/v1/customers/Alpha')).status).toBe(403);
    expect((await provider('GET', '/api/v1/customers/Alpha/admins')).body).toEqual({
      value: [],
      nextLink: null,
    });
  }, 60_000);
});
