import { randomBytes } from 'node:crypto';
import { DomainError, domainErrors } from '../errors/domain-errors.js';
import type { CustomerSiteStore } from '../onboarding/customer-site-store.js';
import type { OnboardingSettingsReader } from '../onboarding/onboarding-settings-service.js';
import { prefixOverlapsRange, type SbcPrefix } from '../onboarding/shared-resources.js';
import type { Tables, TableRow, Stored, TransactionAction } from '../storage/versioned-table.js';
import { deleteListed, withOptimisticRetry } from '../storage/versioned-table.js';
import type { MirrorNumberIndex, NumberGuard, NumberHolder } from '../users/ports.js';
import {
  MAX_RANGE_NUMBERS,
  type RangeInput,
  type RangeView,
  type ReservationInput,
  type ReservationUpdate,
  type ReservationView,
} from './number-views.js';
import { type SiteClaimLock, sbcClaimKey } from '../onboarding/site-claim-lock.js';
import { dayOf, e164Of, lineUriOf, numberKey, parseTel, type Tel, TEL_MESSAGE } from './tel.js';

/**
 * The number inventory (manual-part-D §1.4 Unassigned Number Range, §1.17 Reserved Number): a customer's ranges
 * and reserved numbers, what is free in a range, and the rules for giving a user a number (the `NumberGuard`).
 *
 * Numbers are shared: no two ranges on one SBC, of any customer, share a number. The ranges of an SBC are one
 * partition keyed by their first number, so the overlap check is a bounded key range (a range holds at most
 * MAX_RANGE_NUMBERS); every write to the partition also bumps its lock row in the same transaction, so two
 * overlapping creates cannot both pass their check — the loser's transaction fails and its retry sees the winner.
 */
export const NUMBER_RANGES_TABLE = 'numberranges';
export const RESERVED_NUMBERS_TABLE = 'reservednumbers';

const LOCK_ROW = 'lock';
const NAMED_USERS = 5;

interface RangeEntity extends TableRow {
  readonly kind: 'range';
  readonly rangeId: string;
  /** Lower-case: what the per-customer listing filters on. */
  readonly owner: string;
  readonly customerId: string;
  readonly name: string;
  readonly start: string;
  readonly end: string;
  readonly siteName: string;
  readonly sbcId: string;
  readonly description: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly createdBy: string;
}
interface LockEntity extends TableRow {
  readonly kind: 'lock';
  readonly version: number;
}
/** "This customer has (or had) ranges on this SBC": where its listing looks. Never removed; a stale one costs a query. */
interface PointerEntity extends TableRow {
  readonly kind: 'pointer';
  readonly sbcId: string;
}
type RangeTableRow = RangeEntity | LockEntity | PointerEntity;

interface ReservationEntity extends TableRow {
  readonly customerId: string;
  readonly digits: string;
  /** '' when the reserved Line URI has no extension (Table storage keeps no nulls). */
  readonly ext: string;
  readonly addedDate: string;
  /** '' when it holds until deleted. */
  readonly expireDate: string;
  readonly reason: string;
  readonly comments: string;
  readonly createdAt: string;
  readonly createdBy: string;
}

export interface StoredRange {
  readonly range: RangeEntity;
  readonly etag: string;
}
export interface StoredReservation {
  readonly view: ReservationView;
  readonly etag: string;
}

/** Whether the caller may see this customer: a refusal names another customer's range only then. */
export type CustomerVisibility = (customerId: string) => boolean;

export interface NumberInventoryDeps {
  readonly tables: Tables;
  readonly sites: Pick<CustomerSiteStore, 'get'>;
  readonly regions: Pick<OnboardingSettingsReader, 'region'>;
  readonly numberIndex: MirrorNumberIndex;
  /** The customer's user templates that take numbers from each range, by range id (the manual's "Used in"). */
  readonly templatesByRange?: (customerId: string) => Promise<ReadonlyMap<string, readonly string[]>>;
  /** Every customer's dial-plan prefixes on an SBC: a range may not hold a number another customer routes there. */
  readonly prefixesOnSbc?: (sbcId: string) => Promise<readonly SbcPrefix[]>;
  /**
   * The SBC's lease that a site's prefixes are saved under: a range and an overlapping prefix saved at the same
   * instant would otherwise each pass its check before the other wrote, each side holding only its own lock.
   */
  readonly claims?: Pick<SiteClaimLock, 'hold'>;
  readonly now?: () => Date;
}

const sbcPartition = (sbcId: string) => `sbc|${sbcId.toLowerCase()}`;
const customerPartition = (customerId: string) => `customer|${customerId.toLowerCase()}`;
const sizeOf = (r: { start: string; end: string }) => Number(BigInt(r.end) - BigInt(r.start) + 1n);
const reservationRow = (tel: Tel) => `${numberKey(tel.digits)}${tel.ext ? `x${tel.ext}` : ''}`;
const reservationIdOf = (tel: Tel) => `${tel.digits}${tel.ext ? `x${tel.ext}` : ''}`;

/** "Ann Lee (ann@contoso.com), … and 3 more": the first few users, then how many others. */
export function namedUsers(holders: readonly NumberHolder[]): string {
  const names = holders
    .slice(0, NAMED_USERS)
    .map((h) => (h.displayName ? `${h.displayName} (${h.userPrincipalName})` : h.userPrincipalName));
  const more = holders.length - names.length;
  return `${names.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

const countOf = (n: number) => `${n} user${n === 1 ? '' : 's'}`;

/** Teams keeps Line URIs unique: the same number with another extension is another Line URI. */
const sameLineUri = (holder: NumberHolder, tel: Tel) => {
  const held = parseTel(holder.lineUri);
  return held !== null && held.digits === tel.digits && held.ext === tel.ext;
};

export function createNumberInventory(deps: NumberInventoryDeps) {
  const ranges = deps.tables.table<RangeTableRow>(NUMBER_RANGES_TABLE);
  const reserved = deps.tables.table<ReservationEntity>(RESERVED_NUMBERS_TABLE);
  const now = deps.now ?? (() => new Date());
  const index = deps.numberIndex;

  const underClaim = <R>(sbcId: string, work: () => Promise<R>): Promise<R> =>
    deps.claims ? deps.claims.hold([sbcClaimKey(sbcId)], work) : work();

  async function sbcOfSite(customerId: string, siteName: string): Promise<string> {
    const site = await deps.sites.get(customerId, siteName);
    if (!site) {
      throw domainErrors.validation([
        {
          field: 'siteName',
          in: 'body',
          code: 'unknown_site',
          message: `Customer "${customerId}" has no site "${siteName}".`,
        },
      ]);
    }
    const region = site.site.sbc ? await deps.regions.region(site.site.sbc.regionId) : null;
    if (!region) {
      throw domainErrors.conflict(
        'site_without_sbc',
        'The site has no SBC',
        `Site "${siteName}" has no SBC (region) yet: a number range lives on the site's SBC.`,
      );
    }
    return region.sbcId;
  }

  async function rangesOf(customerId: string): Promise<StoredRange[]> {
    const owner = customerId.toLowerCase();
    const found: StoredRange[] = [];
    for await (const pointer of ranges.list({ partitionKey: customerPartition(customerId) })) {
      if (pointer.value.kind !== 'pointer') continue;
      for await (const row of ranges.list({
        partitionKey: sbcPartition(pointer.value.sbcId),
        where: [['owner', 'eq', owner]],
      })) {
        if (row.value.kind === 'range') found.push({ range: row.value, etag: row.etag });
      }
    }
    return found.sort((a, b) => (a.range.rowKey < b.range.rowKey ? -1 : 1));
  }

  async function rangeOf(customerId: string, rangeId: string): Promise<StoredRange> {
    const found = (await rangesOf(customerId)).find((r) => r.range.rangeId === rangeId);
    if (!found) throw domainErrors.notFound(`Customer "${customerId}" has no number range "${rangeId}".`);
    return found;
  }

  async function lockOf(sbcId: string): Promise<Stored<RangeTableRow>> {
    const existing = await ranges.get(sbcPartition(sbcId), LOCK_ROW);
    if (existing) return existing;
    const row: LockEntity = { partitionKey: sbcPartition(sbcId), rowKey: LOCK_ROW, kind: 'lock', version: 0 };
    // Two first writers on a new SBC: the second insert is a VersionConflictError, and its retry reads the row.
    return { value: row, etag: await ranges.insert(row) };
  }

  const bumped = (lock: Stored<RangeTableRow>): TransactionAction<RangeTableRow> => ({
    kind: 'replace',
    row: { ...(lock.value as LockEntity), version: (lock.value as LockEntity).version + 1 },
    etag: lock.etag,
  });

  /** Refuses a range that shares a number with another range on the SBC, saying whose only to who may see it. */
  async function assertNoOverlap(
    sbcId: string,
    candidate: { start: string; end: string; rangeId: string | null },
    visible: CustomerVisibility,
  ): Promise<void> {
    const lowest = BigInt(candidate.start) - BigInt(MAX_RANGE_NUMBERS) + 1n;
    for await (const row of ranges.list({
      partitionKey: sbcPartition(sbcId),
      rowKey: { ge: numberKey(lowest > 0n ? lowest : 0n), le: numberKey(candidate.end) },
    })) {
      const other = row.value;
      if (other.kind !== 'range' || other.rangeId === candidate.rangeId) continue;
      if (BigInt(other.end) < BigInt(candidate.start)) continue;
      const detail = visible(other.customerId)
        ? `It shares numbers with range "${other.name}" (${e164Of(other.start)}–${e164Of(other.end)}, ` +
          `id ${other.rangeId}) of customer "${other.customerId}" on SBC "${sbcId}".`
        : `It shares numbers with a range of another customer on the same SBC; numbers on an SBC belong to one range.`;
      throw domainErrors.conflict('range_overlap', 'The range overlaps another range', detail);
    }
  }

  /** Refuses a range holding a number another customer's dial-plan prefixes match on the SBC, naming no one. */
  async function assertNoForeignPrefix(
    sbcId: string,
    customerId: string,
    bounds: { start: string; end: string },
  ): Promise<void> {
    const prefixes = (await deps.prefixesOnSbc?.(sbcId)) ?? [];
    const foreign = prefixes.find(
      (p) => p.customerId.toLowerCase() !== customerId.toLowerCase() && prefixOverlapsRange(p.prefix, bounds),
    );
    if (foreign) {
      throw domainErrors.conflict(
        'range_overlap',
        'The range overlaps another range',
        "It holds numbers another customer's dial-plan prefixes match on the same SBC; numbers on an SBC belong to one customer.",
      );
    }
  }

  function validateBounds(input: RangeInput): { start: string; end: string } {
    const start = input.start.slice(1);
    const end = input.end.slice(1);
    const size = BigInt(end) - BigInt(start) + 1n;
    if (size < 1n || size > BigInt(MAX_RANGE_NUMBERS)) {
      throw domainErrors.validation([
        {
          field: 'end',
          in: 'body',
          code: size < 1n ? 'range_end_before_start' : 'range_too_large',
          message:
            size < 1n
              ? 'NumberRangeEnd must not be below NumberRangeStart.'
              : `A range holds at most ${MAX_RANGE_NUMBERS} numbers.`,
        },
      ]);
    }
    return { start, end };
  }

  async function holdersIn(customerId: string, start: string, end: string): Promise<NumberHolder[]> {
    return index.usersWithNumbersBetween(customerId, e164Of(start), e164Of(end));
  }

  /** The reservations of [start, end] active on `day`, by digits (an extension's reservation blocks its number). */
  async function reservedIn(
    customerId: string,
    start: string,
    end: string,
    day: string,
  ): Promise<Set<string>> {
    const digits = new Set<string>();
    for await (const row of reserved.list({
      partitionKey: customerId.toLowerCase(),
      rowKey: { ge: numberKey(start), lt: numberKey(BigInt(end) + 1n) },
    })) {
      if (isActive(row.value, day)) digits.add(row.value.digits);
    }
    return digits;
  }

  const isActive = (r: ReservationEntity, day: string) =>
    r.addedDate <= day && (r.expireDate === '' || day <= r.expireDate);

  /** The free numbers of a range after `after` (digits), at most `top`; whether more follow. */
  async function freeNumbers(
    customerId: string,
    range: RangeEntity,
    top: number,
    after?: string,
  ): Promise<{ numbers: string[]; more: boolean }> {
    const from = after === undefined ? BigInt(range.start) : BigInt(after) + 1n;
    const end = BigInt(range.end);
    if (from > end) return { numbers: [], more: false };
    const [holders, reservations] = await Promise.all([
      holdersIn(customerId, String(from), range.end),
      reservedIn(customerId, String(from), range.end, dayOf(now())),
    ]);
    const taken = new Set([...reservations, ...holders.flatMap((h) => parseTel(h.lineUri)?.digits ?? [])]);
    const numbers: string[] = [];
    for (let n = from; n <= end && numbers.length <= top; n++) {
      const digits = String(n);
      if (!taken.has(digits)) numbers.push(digits);
    }
    return { numbers: numbers.slice(0, top), more: numbers.length > top };
  }

  async function availableCount(customerId: string, range: RangeEntity): Promise<number> {
    const [holders, reservations] = await Promise.all([
      holdersIn(customerId, range.start, range.end),
      reservedIn(customerId, range.start, range.end, dayOf(now())),
    ]);
    const taken = new Set([...reservations, ...holders.flatMap((h) => parseTel(h.lineUri)?.digits ?? [])]);
    return sizeOf(range) - taken.size;
  }

  async function rangeView(stored: StoredRange): Promise<RangeView> {
    const r = stored.range;
    return {
      id: r.rangeId,
      customerId: r.customerId,
      name: r.name,
      start: e164Of(r.start),
      end: e164Of(r.end),
      siteName: r.siteName,
      sbcId: r.sbcId,
      description: r.description,
      size: sizeOf(r),
      availableNumbers: await availableCount(r.customerId, r),
      usedIn: [...((await deps.templatesByRange?.(r.customerId))?.get(r.rangeId) ?? [])],
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
    };
  }

  function assertVersion(etag: string, ifMatch: string | undefined, what: string) {
    if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== etag) {
      throw domainErrors.versionMismatch(`${what} changed since you read it; reload it and try again.`);
    }
  }

  function inUse(code: 'range_in_use' | 'reservation_in_use', what: string, holders: NumberHolder[]) {
    return domainErrors.conflict(
      code,
      `The ${code === 'range_in_use' ? 'range' : 'reserved number'} is in use`,
      `${what} is in use by ${countOf(holders.length)}: ${namedUsers(holders)}. Unassign their numbers first.`,
    );
  }

  function reservationView(r: ReservationEntity): ReservationView {
    const tel: Tel = { digits: r.digits, ext: r.ext || null };
    return {
      id: reservationIdOf(tel),
      customerId: r.customerId,
      lineUri: lineUriOf(tel),
      addedDate: r.addedDate,
      expireDate: r.expireDate || null,
      reason: r.reason,
      comments: r.comments,
      activeToday: isActive(r, dayOf(now())),
      createdAt: r.createdAt,
      createdBy: r.createdBy,
    };
  }

  function telOfReservationId(reservationId: string): Tel {
    const [digits = '', ext] = reservationId.split('x');
    return { digits, ext: ext ?? null };
  }

  async function reservationOf(customerId: string, reservationId: string) {
    const row = await reserved.get(
      customerId.toLowerCase(),
      reservationRow(telOfReservationId(reservationId)),
    );
    if (!row)
      throw domainErrors.notFound(`Customer "${customerId}" has no reserved number "${reservationId}".`);
    return row;
  }

  function datesOf(update: ReservationUpdate, fallbackAdded: string) {
    const addedDate = update.addedDate ?? fallbackAdded;
    if (update.expireDate !== null && update.expireDate < addedDate) {
      throw domainErrors.validation([
        {
          field: 'expireDate',
          in: 'body',
          code: 'expire_before_added',
          message: 'Expire Date must not be before Added Date.',
        },
      ]);
    }
    return { addedDate, expireDate: update.expireDate ?? '' };
  }

  async function assertInRanges(customerId: string, tel: Tel): Promise<StoredRange> {
    const n = BigInt(tel.digits);
    const range = (await rangesOf(customerId)).find(
      (r) => BigInt(r.range.start) <= n && n <= BigInt(r.range.end),
    );
    if (!range) {
      throw domainErrors.conflict(
        'number_outside_ranges',
        'The number is outside every range',
        `${lineUriOf(tel)} is in none of customer "${customerId}"'s number ranges.`,
      );
    }
    return range;
  }

  const guard: NumberGuard = {
    async assertAssignable(customerId, userId, lineUri) {
      const tel = parseTel(lineUri);
      if (!tel) {
        throw domainErrors.validation([
          {
            field: 'lineUri',
            in: 'body',
            code: 'invalid_line_uri',
            message: `"${lineUri}" - ${TEL_MESSAGE}`,
          },
        ]);
      }
      await assertInRanges(customerId, tel);
      const holders = await holdersIn(customerId, tel.digits, tel.digits);
      if (holders.some((h) => h.userId === userId && sameLineUri(h, tel))) return;
      const holder = holders.find((h) => sameLineUri(h, tel));
      if (holder) {
        throw domainErrors.conflict(
          'number_in_use',
          'The number is assigned to another user',
          `${lineUriOf(tel)} is assigned to ${namedUsers([holder])}.`,
        );
      }
      const day = dayOf(now());
      for await (const row of reserved.list({
        partitionKey: customerId.toLowerCase(),
        rowKey: { prefix: numberKey(tel.digits) },
      })) {
        const r = row.value;
        if (r.digits !== tel.digits || (r.ext !== '' && r.ext !== tel.ext) || !isActive(r, day)) continue;
        throw domainErrors.conflict(
          'number_reserved',
          'The number is reserved',
          `${lineUriOf({ digits: r.digits, ext: r.ext || null })} is reserved` +
            `${r.expireDate ? ` until ${r.expireDate}` : ''}${r.reason ? ` (${r.reason})` : ''}.`,
        );
      }
    },
    async nextFree(customerId, rangeId) {
      const { range } = await rangeOf(customerId, rangeId);
      const [first] = (await freeNumbers(customerId, range, 1)).numbers;
      if (first === undefined) {
        throw domainErrors.conflict(
          'range_exhausted',
          'The range has no free number',
          `Every number of range "${range.name}" (${e164Of(range.start)}–${e164Of(range.end)}) is assigned or reserved.`,
        );
      }
      return lineUriOf({ digits: first, ext: null });
    },
  };

  return {
    guard,
    rangeView,

    async listRanges(customerId: string): Promise<StoredRange[]> {
      return rangesOf(customerId);
    },

    getRange: rangeOf,

    /** Every customer's ranges on an SBC: what a dial-plan prefix of another customer must not match. */
    async rangesOnSbc(sbcId: string): Promise<Array<{ customerId: string; start: string; end: string }>> {
      const found: Array<{ customerId: string; start: string; end: string }> = [];
      for await (const row of ranges.list({ partitionKey: sbcPartition(sbcId) })) {
        const r = row.value;
        if (r.kind === 'range') found.push({ customerId: r.customerId, start: r.start, end: r.end });
      }
      return found;
    },

    async createRange(
      customerId: string,
      input: RangeInput,
      actor: string,
      visible: CustomerVisibility,
    ): Promise<StoredRange> {
      const bounds = validateBounds(input);
      const sbcId = await sbcOfSite(customerId, input.siteName);
      const rangeId = `r-${randomBytes(8).toString('hex')}`;
      const pointer: PointerEntity = {
        partitionKey: customerPartition(customerId),
        rowKey: `sbc|${sbcId.toLowerCase()}`,
        kind: 'pointer',
        sbcId,
      };
      // Checked once without the lease, so that a refusal writes nothing, not even a lease; then again under it.
      await assertNoOverlap(sbcId, { ...bounds, rangeId: null }, visible);
      await assertNoForeignPrefix(sbcId, customerId, bounds);
      return underClaim(sbcId, () =>
        withOptimisticRetry(async () => {
          const lock = await lockOf(sbcId);
          await assertNoOverlap(sbcId, { ...bounds, rangeId: null }, visible);
          await assertNoForeignPrefix(sbcId, customerId, bounds);
          // After the checks, so that a refused range writes nothing; before the range, which it makes findable.
          if (!(await ranges.get(pointer.partitionKey, pointer.rowKey))) await ranges.upsert(pointer);
          const at = now().toISOString();
          const row: RangeEntity = {
            partitionKey: sbcPartition(sbcId),
            rowKey: numberKey(bounds.start),
            kind: 'range',
            rangeId,
            owner: customerId.toLowerCase(),
            customerId,
            name: input.name,
            ...bounds,
            siteName: input.siteName,
            sbcId,
            description: input.description,
            createdAt: at,
            updatedAt: at,
            createdBy: actor,
          };
          const [, etag = ''] = await ranges.transaction([bumped(lock), { kind: 'insert', row }]);
          return { range: row, etag };
        }),
      );
    },

    async updateRange(
      customerId: string,
      rangeId: string,
      input: RangeInput,
      ifMatch: string | undefined,
      visible: CustomerVisibility,
    ): Promise<StoredRange> {
      const bounds = validateBounds(input);
      // A first pass refuses without writing (not even the lease); the write repeats every check under the SBC's lease.
      const attempt = (write: boolean) =>
        withOptimisticRetry(async (): Promise<StoredRange | null> => {
          const current = await rangeOf(customerId, rangeId);
          assertVersion(current.etag, ifMatch, `Range "${current.range.name}"`);
          const old = current.range;
          const sbcId = await sbcOfSite(customerId, input.siteName);
          if (sbcId.toLowerCase() !== old.sbcId.toLowerCase()) {
            throw domainErrors.conflict(
              'range_sbc_fixed',
              'A range stays on its SBC',
              `Site "${input.siteName}" is on SBC "${sbcId}", range "${old.name}" on "${old.sbcId}": delete the range and add it on the other site.`,
            );
          }
          const lock = await lockOf(old.sbcId);
          await assertNoOverlap(old.sbcId, { ...bounds, rangeId }, visible);
          await assertNoForeignPrefix(old.sbcId, customerId, bounds);
          const dropped = (await holdersIn(customerId, old.start, old.end)).filter((h) => {
            const digits = BigInt(parseTel(h.lineUri)?.digits ?? '0');
            return digits < BigInt(bounds.start) || digits > BigInt(bounds.end);
          });
          if (dropped.length > 0) {
            throw inUse('range_in_use', `The part of range "${old.name}" the change leaves out`, dropped);
          }
          if (!write) return null;
          const row: RangeEntity = {
            ...old,
            rowKey: numberKey(bounds.start),
            name: input.name,
            ...bounds,
            siteName: input.siteName,
            description: input.description,
            updatedAt: now().toISOString(),
          };
          const actions: TransactionAction<RangeTableRow>[] =
            row.rowKey === old.rowKey
              ? [bumped(lock), { kind: 'replace', row, etag: current.etag }]
              : [
                  bumped(lock),
                  { kind: 'delete', partitionKey: old.partitionKey, rowKey: old.rowKey },
                  { kind: 'insert', row },
                ];
          const etags = await ranges.transaction(actions);
          return { range: row, etag: etags.at(-1) ?? '' };
        });
      await attempt(false);
      // The first pass found the site on the range's SBC.
      const sbcId = await sbcOfSite(customerId, input.siteName);
      return underClaim(sbcId, async () => {
        const updated = await attempt(true);
        if (!updated) throw new Error('A range write returned nothing.');
        return updated;
      });
    },

    async deleteRange(customerId: string, rangeId: string, ifMatch: string | undefined): Promise<void> {
      await withOptimisticRetry(async () => {
        const current = await rangeOf(customerId, rangeId);
        assertVersion(current.etag, ifMatch, `Range "${current.range.name}"`);
        const r = current.range;
        const holders = await holdersIn(customerId, r.start, r.end);
        if (holders.length > 0) throw inUse('range_in_use', `Range "${r.name}"`, holders);
        const templates = (await deps.templatesByRange?.(customerId))?.get(r.rangeId) ?? [];
        if (templates.length > 0) {
          throw domainErrors.conflict(
            'range_used_by_template',
            'The range is used by a template',
            `Range "${r.name}" is the number source of user template(s) ${templates.map((t) => `"${t}"`).join(', ')}; change or delete them first.`,
          );
        }
        const lock = await lockOf(r.sbcId);
        await ranges.transaction([
          bumped(lock),
          { kind: 'delete', partitionKey: r.partitionKey, rowKey: r.rowKey },
        ]);
      });
    },

    async availableNumbers(
      customerId: string,
      rangeId: string,
      page: { top: number; after?: string | undefined },
    ): Promise<{ lineUris: string[]; nextKey: string | null }> {
      const { range } = await rangeOf(customerId, rangeId);
      const { numbers, more } = await freeNumbers(customerId, range, page.top, page.after);
      return {
        lineUris: numbers.map((digits) => lineUriOf({ digits, ext: null })),
        nextKey: more ? (numbers.at(-1) ?? null) : null,
      };
    },

    /**
     * Releases the customer's ranges and reserved numbers, for its removal: its users are gone with its tenant, so
     * no number is held (unlike deleteRange, which refuses a range in use), and a later customer of the Short Name
     * starts with none. Each range goes with its SBC's lock bumped, as deleteRange does; returns the rows deleted.
     */
    async forgetCustomer(customerId: string): Promise<number> {
      let deleted = 0;
      for (const { range } of await rangesOf(customerId)) {
        await withOptimisticRetry(async () => {
          if (!(await ranges.get(range.partitionKey, range.rowKey))) return;
          await ranges.transaction([
            bumped(await lockOf(range.sbcId)),
            { kind: 'delete', partitionKey: range.partitionKey, rowKey: range.rowKey },
          ]);
          deleted++;
        });
      }
      // The pointers after the ranges they lead to: a crash between leaves ranges to find again.
      deleted += await deleteListed(ranges, { partitionKey: customerPartition(customerId) });
      return deleted + (await deleteListed(reserved, { partitionKey: customerId.toLowerCase() }));
    },

    async listReservations(customerId: string): Promise<StoredReservation[]> {
      const found: StoredReservation[] = [];
      for await (const row of reserved.list({ partitionKey: customerId.toLowerCase() })) {
        found.push({ view: reservationView(row.value), etag: row.etag });
      }
      return found;
    },

    async getReservation(customerId: string, reservationId: string): Promise<StoredReservation> {
      const row = await reservationOf(customerId, reservationId);
      return { view: reservationView(row.value), etag: row.etag };
    },

    async createReservation(
      customerId: string,
      input: ReservationInput,
      actor: string,
    ): Promise<StoredReservation> {
      const tel = parseTel(input.lineUri);
      if (!tel)
        throw domainErrors.validation([
          { field: 'lineUri', in: 'body', code: 'invalid_line_uri', message: TEL_MESSAGE },
        ]);
      await assertInRanges(customerId, tel);
      const row: ReservationEntity = {
        partitionKey: customerId.toLowerCase(),
        rowKey: reservationRow(tel),
        customerId,
        digits: tel.digits,
        ext: tel.ext ?? '',
        ...datesOf(input, dayOf(now())),
        reason: input.reason,
        comments: input.comments,
        createdAt: now().toISOString(),
        createdBy: actor,
      };
      try {
        const etag = await reserved.insert(row);
        return { view: reservationView(row), etag };
      } catch (error) {
        if (error instanceof DomainError && error.kind === 'version_mismatch') {
          throw domainErrors.conflict(
            'reservation_exists',
            'The number is reserved already',
            `${lineUriOf(tel)} is reserved already; change that reservation instead.`,
          );
        }
        throw error;
      }
    },

    async updateReservation(
      customerId: string,
      reservationId: string,
      update: ReservationUpdate,
      ifMatch: string | undefined,
    ): Promise<StoredReservation> {
      const current = await reservationOf(customerId, reservationId);
      assertVersion(current.etag, ifMatch, `Reserved number ${reservationId}`);
      const row: ReservationEntity = {
        ...current.value,
        ...datesOf(update, current.value.addedDate),
        reason: update.reason,
        comments: update.comments,
      };
      const etag = await reserved.replace(row, current.etag);
      return { view: reservationView(row), etag };
    },

    async deleteReservation(customerId: string, reservationId: string, ifMatch: string | undefined) {
      const current = await reservationOf(customerId, reservationId);
      assertVersion(current.etag, ifMatch, `Reserved number ${reservationId}`);
      const tel: Tel = { digits: current.value.digits, ext: current.value.ext || null };
      const holders = (await holdersIn(customerId, tel.digits, tel.digits)).filter(
        (h) => tel.ext === null || sameLineUri(h, tel),
      );
      if (holders.length > 0) throw inUse('reservation_in_use', `Reserved number ${lineUriOf(tel)}`, holders);
      await reserved.delete(current.value.partitionKey, current.value.rowKey, current.etag);
    },
  };
}

export type NumberInventory = ReturnType<typeof createNumberInventory>;
