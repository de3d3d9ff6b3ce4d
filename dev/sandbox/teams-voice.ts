/**
 * The telephony side of each tenant's Teams users as Graph's number management and the Teams admin API change it:
 * assigned numbers, Enterprise Voice, the tenant's Direct Routing numbers, and the long-running operations that
 * `assignNumber` / `unassignNumber` start. An operation settles when it is due (on the next read), so nothing
 * runs in the background and a test controls the pace through `TeamsTimings`.
 */

import { randomUUID } from 'node:crypto';
import type { TeamsVoiceSnapshot } from './snapshot-schema.js';

/** How long the service takes; `startSandbox({ timeScale })` scales the real figures. */
export interface TeamsTimings {
  /** From an accepted assign/unassign to its operation's end (not started for the first fifth, then running). */
  numberOperationMs: number;
  /** From a policy grant to its showing in the user's `effectivePolicyAssignments` (tens of seconds for real). */
  grantVisibleMs: number;
}

/** What the real service takes, roughly: a few seconds for a number, half a minute for a grant. */
export const REAL_TEAMS_TIMINGS: Readonly<TeamsTimings> = {
  numberOperationMs: 3_000,
  grantVisibleMs: 30_000,
};

export interface AssignedNumber {
  /** `+<digits>` with an optional `;ext=<digits>`, as the assignment named it. */
  readonly telephoneNumber: string;
  readonly assignmentCategory: 'primary' | 'private' | 'alternate';
}

interface VoiceUser {
  numbers: AssignedNumber[];
  enterpriseVoiceEnabled: boolean;
  /** Epoch ms of the last change, for `modifiedDateTime`. */
  modified: number;
}

/** An inclusive range of Direct Routing numbers the tenant holds, `+<digits>` of the same length. */
export interface DirectRoutingRange {
  readonly from: string;
  readonly to: string;
}

export type OperationStatus = 'notStarted' | 'running' | 'succeeded' | 'failed';

/** `microsoft.graph.teamsAdministration.telephoneNumberLongRunningOperation`. */
export interface NumberOperationView {
  readonly id: string;
  readonly createdDateTime: string;
  readonly status: OperationStatus;
  readonly numbers: ReadonlyArray<{
    readonly resourceLocation: string | null;
    readonly status: OperationStatus;
    readonly statusDetail: string | null;
  }>;
}

export type NumberRequest = (
  | {
      readonly kind: 'assign';
      readonly telephoneNumber: string;
      readonly userId: string;
      readonly assignmentCategory: AssignedNumber['assignmentCategory'];
      /** Whether the user holds Phone System (MCOEV) when the operation runs; checked at its end. */
      readonly phoneSystem: () => boolean;
    }
  | { readonly kind: 'unassign'; readonly telephoneNumber: string }
) & {
  /**
   * Told the holder's numbers once the operation succeeded: a generated (scale) tenant keeps its users' Teams
   * side in its own overlay, which its reads show.
   */
  readonly committed?: (userId: string, numbers: readonly AssignedNumber[]) => void;
};

interface NumberOperation {
  readonly id: string;
  readonly created: number;
  readonly due: number;
  readonly request: NumberRequest;
  outcome?: { status: 'succeeded' | 'failed'; detail: string | null; userId: string | null };
}

interface TenantVoice {
  readonly users: Map<string, VoiceUser>;
  /** Number key → holder, kept with `users`, so that a bulk run of assignments is not quadratic. */
  readonly holders: Map<string, string>;
  ranges: DirectRoutingRange[];
  readonly operations: Map<string, NumberOperation>;
  /** Operations not yet ended, in the order they were accepted. */
  readonly unsettled: Set<NumberOperation>;
}

/** The number part compared for holders: the E.164 digits and the extension, without `tel:` or case. */
export function numberKey(telephoneNumber: string): string {
  return telephoneNumber.replace(/^tel:/i, '').toLowerCase();
}

function baseDigits(telephoneNumber: string): string {
  return numberKey(telephoneNumber).split(';')[0] ?? '';
}

export class TeamsVoiceState {
  private readonly tenants = new Map<string, TenantVoice>();

  constructor(
    readonly timings: TeamsTimings,
    private readonly now: () => number = Date.now,
  ) {}

  clear(): void {
    this.tenants.clear();
  }

  snapshot(tenantId: string): TeamsVoiceSnapshot | undefined {
    const tenant = this.tenants.get(tenantId.toLowerCase());
    if (!tenant) return undefined;
    this.settle(tenant);
    return {
      directRoutingNumbers: tenant.ranges.map((r) => ({ ...r })),
      users: [...tenant.users].map(([userId, user]) => ({
        userId,
        numbers: user.numbers.map((n) => ({ ...n })),
        enterpriseVoiceEnabled: user.enterpriseVoiceEnabled,
        modified: new Date(user.modified).toISOString(),
      })),
    };
  }

  /** Operations still running are not kept: a restart ends them, as pending device codes end. */
  restore(tenantId: string, snapshot: TeamsVoiceSnapshot): void {
    const tenant = this.tenant(tenantId);
    tenant.ranges = snapshot.directRoutingNumbers.map((r) => ({ ...r }));
    for (const user of snapshot.users) {
      tenant.users.set(user.userId, {
        numbers: user.numbers.map((n) => ({ ...n })),
        enterpriseVoiceEnabled: user.enterpriseVoiceEnabled,
        modified: Date.parse(user.modified),
      });
      for (const n of user.numbers) tenant.holders.set(numberKey(n.telephoneNumber), user.userId);
    }
  }

  tenantIds(): string[] {
    return [...this.tenants.keys()];
  }

  setDirectRoutingNumbers(tenantId: string, ranges: readonly DirectRoutingRange[]): void {
    for (const range of ranges) {
      if (
        !/^\+\d{7,15}$/.test(range.from) ||
        range.to.length !== range.from.length ||
        range.to < range.from
      ) {
        throw new Error(`'${range.from}'–'${range.to}' is not a range of E.164 numbers of one length.`);
      }
    }
    this.tenant(tenantId).ranges = ranges.map((r) => ({ ...r }));
  }

  directRoutingNumbers(tenantId: string): DirectRoutingRange[] {
    return this.tenant(tenantId).ranges.map((r) => ({ ...r }));
  }

  /** The user's numbers and Enterprise Voice after every operation due by now; undefined before any change. */
  user(
    tenantId: string,
    userId: string,
  ): { numbers: AssignedNumber[]; enterpriseVoiceEnabled: boolean; modified: number } | undefined {
    const tenant = this.tenant(tenantId);
    this.settle(tenant);
    const user = tenant.users.get(userId.toLowerCase());
    return user
      ? {
          numbers: user.numbers.map((n) => ({ ...n })),
          enterpriseVoiceEnabled: user.enterpriseVoiceEnabled,
          modified: user.modified,
        }
      : undefined;
  }

  /**
   * Ends the operations due by now. A generated (scale) tenant's reads show its users from its own overlay, which
   * an operation's end writes: they call this first, as reads of the state here do.
   */
  settleDue(tenantId: string): void {
    this.settle(this.tenant(tenantId));
  }

  /** Who holds a number (extension included), after every operation due by now. */
  holderOf(tenantId: string, telephoneNumber: string): string | undefined {
    const tenant = this.tenant(tenantId);
    this.settle(tenant);
    return this.holder(tenant, telephoneNumber);
  }

  /** Every assigned number of the tenant, for `GET …/numberAssignments`. */
  assignments(tenantId: string): Array<AssignedNumber & { userId: string }> {
    const tenant = this.tenant(tenantId);
    this.settle(tenant);
    return [...tenant.users].flatMap(([userId, user]) => user.numbers.map((n) => ({ ...n, userId })));
  }

  /** Accepts an assignment or unassignment; its outcome is decided when it is due. */
  start(tenantId: string, request: NumberRequest): NumberOperationView {
    const tenant = this.tenant(tenantId);
    const created = this.now();
    const operation: NumberOperation = {
      id: randomUUID(),
      created,
      due: created + this.timings.numberOperationMs,
      request,
    };
    tenant.operations.set(operation.id, operation);
    tenant.unsettled.add(operation);
    this.settle(tenant);
    return this.view(operation);
  }

  operation(tenantId: string, id: string): NumberOperationView | undefined {
    const tenant = this.tenant(tenantId);
    this.settle(tenant);
    const operation = tenant.operations.get(id.toLowerCase());
    return operation ? this.view(operation) : undefined;
  }

  /** Milliseconds until the operation ends; 0 once it has. */
  remainingMs(tenantId: string, id: string): number {
    const operation = this.tenant(tenantId).operations.get(id.toLowerCase());
    return operation ? Math.max(0, operation.due - this.now()) : 0;
  }

  setEnterpriseVoice(tenantId: string, userId: string, enabled: boolean): void {
    const tenant = this.tenant(tenantId);
    this.settle(tenant);
    const user = this.voiceUser(tenant, userId);
    if (user.enterpriseVoiceEnabled === enabled) return;
    user.enterpriseVoiceEnabled = enabled;
    user.modified = this.now();
  }

  /** A user removed from the directory gives its numbers back. */
  removeUser(tenantId: string, userId: string): void {
    const tenant = this.tenant(tenantId);
    const user = tenant.users.get(userId.toLowerCase());
    for (const n of user?.numbers ?? []) tenant.holders.delete(numberKey(n.telephoneNumber));
    tenant.users.delete(userId.toLowerCase());
  }

  private view(operation: NumberOperation): NumberOperationView {
    const elapsed = this.now() - operation.created;
    const status: OperationStatus =
      operation.outcome?.status ?? (elapsed < this.timings.numberOperationMs / 5 ? 'notStarted' : 'running');
    return {
      id: operation.id,
      createdDateTime: new Date(operation.created).toISOString(),
      status,
      numbers: [
        {
          resourceLocation: operation.outcome?.userId ?? null,
          status,
          statusDetail: operation.outcome?.detail ?? null,
        },
      ],
    };
  }

  /** Ends, in the order they were accepted, the operations due by now. */
  private settle(tenant: TenantVoice): void {
    const now = this.now();
    for (const operation of tenant.unsettled) {
      if (operation.due > now) continue;
      operation.outcome = this.run(tenant, operation.request, operation.due);
      tenant.unsettled.delete(operation);
    }
  }

  private run(
    tenant: TenantVoice,
    request: NumberRequest,
    at: number,
  ): NonNullable<NumberOperation['outcome']> {
    const failed = (detail: string) => ({ status: 'failed' as const, detail, userId: null });
    const number = request.telephoneNumber;
    if (request.kind === 'unassign') {
      const holder = this.holder(tenant, number);
      if (!holder)
        return failed(`The telephone number ${number} is not assigned to a user or resource account.`);
      const user = this.voiceUser(tenant, holder);
      user.numbers = user.numbers.filter((n) => numberKey(n.telephoneNumber) !== numberKey(number));
      tenant.holders.delete(numberKey(number));
      user.modified = at;
      request.committed?.(holder, user.numbers);
      return { status: 'succeeded', detail: null, userId: holder };
    }
    const holder = this.holder(tenant, number);
    if (holder && holder !== request.userId.toLowerCase()) {
      return failed(`The telephone number ${number} has already been assigned to another user.`);
    }
    if (!this.inDirectRouting(tenant, number)) {
      return failed(
        `The telephone number ${number} is not a Direct Routing number of this tenant; upload it to the tenant's Direct Routing numbers first.`,
      );
    }
    if (!request.phoneSystem()) {
      return failed(
        'The user is not licensed for Teams Phone (Phone System, MCOEV); assign a license that includes it first.',
      );
    }
    const user = this.voiceUser(tenant, request.userId);
    // The new number takes the category's place; assigning a number also enables Enterprise Voice.
    const kept = (n: AssignedNumber) =>
      n.assignmentCategory !== request.assignmentCategory &&
      numberKey(n.telephoneNumber) !== numberKey(number);
    for (const n of user.numbers) if (!kept(n)) tenant.holders.delete(numberKey(n.telephoneNumber));
    user.numbers = [
      ...user.numbers.filter(kept),
      { telephoneNumber: number, assignmentCategory: request.assignmentCategory },
    ];
    tenant.holders.set(numberKey(number), request.userId.toLowerCase());
    user.enterpriseVoiceEnabled = true;
    user.modified = at;
    request.committed?.(request.userId.toLowerCase(), user.numbers);
    return { status: 'succeeded', detail: null, userId: request.userId.toLowerCase() };
  }

  private holder(tenant: TenantVoice, telephoneNumber: string): string | undefined {
    return tenant.holders.get(numberKey(telephoneNumber));
  }

  private inDirectRouting(tenant: TenantVoice, telephoneNumber: string): boolean {
    const digits = baseDigits(telephoneNumber);
    return tenant.ranges.some((r) => digits.length === r.from.length && digits >= r.from && digits <= r.to);
  }

  private voiceUser(tenant: TenantVoice, userId: string): VoiceUser {
    const key = userId.toLowerCase();
    let user = tenant.users.get(key);
    if (!user) {
      user = { numbers: [], enterpriseVoiceEnabled: false, modified: this.now() };
      tenant.users.set(key, user);
    }
    return user;
  }

  private tenant(tenantId: string): TenantVoice {
    const key = tenantId.toLowerCase();
    let tenant = this.tenants.get(key);
    if (!tenant) {
      tenant = {
        users: new Map(),
        holders: new Map(),
        ranges: [],
        operations: new Map(),
        unsettled: new Set(),
      };
      this.tenants.set(key, tenant);
    }
    return tenant;
  }
}
