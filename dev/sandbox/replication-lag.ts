import { profileDelayMs, type SandboxProfile } from './profile.js';

/**
 * How long a just-created user stays unknown to the replica that answers the next request, as played by the reality
 * profile. Entra ID accepts a write on one replica and copies it to the others asynchronously, so a GET or PATCH of
 * the new object's id can answer 404 for a few seconds ("Designing for Eventual Consistency for Microsoft Entra",
 * devblogs.microsoft.com/identity, 2026-03-24: "A newly created object to return a 'Not Found'"; "Why do I sometimes
 * get a 404 when trying to update an Azure directory object after I just created it?", blogs.aaddevsup.xyz,
 * 2021-08). Five seconds is the order of magnitude those posts describe, not a measured bound.
 */
export const USER_REPLICATION_LAG_MS = 5000;

/** Users created through Graph and when, so that lookups by another "replica" can miss them for a while. */
export class ReplicationLag {
  private readonly createdAt = new Map<string, number>();

  constructor(private readonly profile: () => SandboxProfile) {}

  created(tenantId: string, userId: string): void {
    if (profileDelayMs(this.profile(), USER_REPLICATION_LAG_MS) > 0) {
      this.createdAt.set(`${tenantId}/${userId}`, Date.now());
    }
  }

  /** Whether a lookup of the user still misses it (reality profile, within the scaled lag). */
  hides(tenantId: string, userId: string): boolean {
    const key = `${tenantId}/${userId}`;
    const at = this.createdAt.get(key);
    if (at === undefined) return false;
    if (Date.now() - at < profileDelayMs(this.profile(), USER_REPLICATION_LAG_MS)) return true;
    this.createdAt.delete(key);
    return false;
  }
}
