import type { MirrorUser } from '../replication/mirror-user.js';
import type { AccessStore } from './access-store.js';

export interface PendingAdminDeps {
  readonly access: Pick<
    AccessStore,
    'pendingCustomerAdmins' | 'grantCustomerAdmin' | 'dropPendingCustomerAdmin'
  >;
  /** The customer's replicated users by lower-case user principal name. */
  readonly directory: {
    findUsers(customerId: string, keys: ReadonlySet<string>): Promise<ReadonlyMap<string, MirrorUser>>;
  };
  readonly now?: () => Date;
}

/**
 * The wizard's "Grant Admin Access to" (manual: "multi-tier support for third-party administrators such as Channel
 * or Customer administrators … Single Sign-on support with the customer Azure AD"): the user it names becomes the
 * customer's admin as soon as replication has found them in the customer's directory — a grant is by the user's
 * object id, which only the directory knows. Runs after every replication cycle; a user not found yet stays pending.
 */
export async function resolvePendingAdmins(deps: PendingAdminDeps, customerId: string): Promise<number> {
  const pending = await deps.access.pendingCustomerAdmins(customerId);
  if (pending.length === 0) return 0;
  const found = await deps.directory.findUsers(
    customerId,
    new Set(pending.map((p) => p.userPrincipalName.toLowerCase())),
  );
  let granted = 0;
  for (const request of pending) {
    const user = found.get(request.userPrincipalName.toLowerCase());
    if (!user) continue;
    await deps.access.grantCustomerAdmin({
      customerId,
      userId: user.id,
      userPrincipalName: user.userPrincipalName,
      displayName: user.displayName,
      grantedAt: (deps.now ?? (() => new Date()))().toISOString(),
      grantedBy: request.requestedBy,
    });
    // After the grant: a crash in between grants again (an upsert) and drops it then.
    await deps.access.dropPendingCustomerAdmin(customerId, request.userPrincipalName);
    granted++;
  }
  return granted;
}
