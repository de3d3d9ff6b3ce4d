import type { UserChange } from './user-change.js';

/**
 * The seams between day two's parts (issue 11), so that each is built and tested on its own and joined at the
 * composition root: the mirror's number index, the number inventory's guard, and the user-change engine's view
 * of a user's pending and applied changes.
 */

/** A replicated user holding a number (its Line URI). */
export interface NumberHolder {
  readonly userId: string;
  readonly userPrincipalName: string;
  readonly displayName: string | null;
  /** `tel:+<E.164>` with an optional `;ext=…`, as the mirror has it. */
  readonly lineUri: string;
}

/** The mirror's users by number (an index kept with the mirror; never a scan of every user). */
export interface MirrorNumberIndex {
  /** The users whose number (E.164 digits, `+` included, extension ignored) is in [from, to], by number. */
  usersWithNumbersBetween(customerId: string, from: string, to: string): Promise<NumberHolder[]>;
}

/** The number inventory's rules for giving a number to a user. */
export interface NumberGuard {
  /**
   * Refuses, with a DomainError('conflict') and a stable code, a number the user may not get: held by another
   * user (`number_in_use`), reserved (`number_reserved`), or outside every range of the customer
   * (`number_outside_ranges`); the error names the holder or the reservation.
   */
  assertAssignable(customerId: string, userId: string, lineUri: string): Promise<void>;
  /** The lowest number of the range that no user holds and no reservation covers, as a Line URI. */
  nextFree(customerId: string, rangeId: string): Promise<string>;
}

/** What the per-user engine offers the bulk import, templates and rollback. */
export interface UserChangeExecution {
  /**
   * Checks changes against the mirror and the number inventory before anything is queued: throws a DomainError
   * with a stable code (unknown user, number rules, unknown policy, a customer without M365 users …).
   */
  check(customerId: string, userId: string, changes: readonly UserChange[]): Promise<void>;
  /**
   * Applies a user's changes in order through the applier, records each in the user's audit (old value read from
   * the mirror before, new value) and updates the mirror at once. Idempotent: a change already in place is
   * recorded once and not sent again. Throws TransientTaskError / PermanentTaskError as the applier does.
   */
  applyToUser(input: {
    readonly customerId: string;
    readonly userId: string;
    readonly changes: readonly UserChange[];
    readonly initiatedBy: string;
    readonly taskId: string;
    /** The audit entry this change rolls back, when it is a rollback: its own entry names it. */
    readonly rollbackOf?: string | null;
  }): Promise<void>;
}
