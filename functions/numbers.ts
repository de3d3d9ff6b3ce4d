import { z } from 'zod';
import type { AccessScope } from '../shared/access/access-policy.js';
import type { Principal } from '../shared/auth/authenticator.js';
import { type ApiEdge, type ApiResult, defineApiRoute } from '../shared/http/api-route.js';
import { customerIdParam, customerParams, ifMatchOf, versioned } from '../shared/http/route-kit.js';
import type { CustomerVisibility, StoredRange } from '../shared/numbers/number-inventory.js';
import {
  availableNumbersSchema,
  nextFreeSchema,
  rangeIdSchema,
  rangeInputSchema,
  rangeListSchema,
  rangeViewSchema,
  reservationIdSchema,
  reservationInputSchema,
  reservationListSchema,
  reservationUpdateSchema,
  reservationViewSchema,
} from '../shared/numbers/number-views.js';
import { numberKey } from '../shared/numbers/tel.js';
import { listPage, nextLinkOf, pageOf, pagingQuery } from '../shared/paging/paging.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import type { AppServices } from './app-services.js';

const TAGS = ['Numbers'];
/** Channel admins are added for their customers by the edge; customer admins may change their own numbers. */
const ROLES = ['provider-admin', 'customer-admin'] as const;
const RANGES = 'api/v1/customers/{customerId}/number-ranges';
const RANGE = `${RANGES}/{rangeId}`;
const RESERVED = 'api/v1/customers/{customerId}/reserved-numbers';
const RESERVATION = `${RESERVED}/{reservationId}`;

const rangeParams = z.strictObject({ customerId: customerIdParam, rangeId: rangeIdSchema });
const reservationParams = z.strictObject({ customerId: customerIdParam, reservationId: reservationIdSchema });

const actor = (principal: Principal | null) => principal?.name ?? principal?.subject ?? 'unknown';

/** Another customer's range is named in a refusal only to a caller who may see that customer. */
function visibilityOf(scope: AccessScope): CustomerVisibility {
  if (scope.kind === 'all') return () => true;
  return (customerId) => scope.customerIds.has(customerId) || scope.customerIds.has(customerId.toLowerCase());
}

const DIGITS_KEY = /^[1-9]\d{0,16}$/;

export type NumberFunctionsDeps = ApiEdge & Pick<AppServices, 'numbers'>;

export function createNumberFunctions(services: NumberFunctionsDeps): FunctionDefinition[] {
  const inventory = services.numbers;
  const rangeResult = async (status: number, stored: StoredRange, headers: Record<string, string> = {}) =>
    versioned(stored.etag, { status, body: await inventory.rangeView(stored), headers }) satisfies ApiResult;
  return [
    defineApiRoute(services, {
      name: 'number-ranges-list',
      method: 'GET',
      route: RANGES,
      summary: 'List the customer\'s number ranges (Unassigned Number Range), with their "Available Numbers"',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: pagingQuery(),
      responses: { 200: { description: 'A page of ranges, by first number.', schema: rangeListSchema } },
      handler: async ({ params, query, request }) => {
        const page = pageOf(
          await inventory.listRanges(params.customerId),
          (r) => `${r.range.rowKey}\n${r.range.rangeId}`,
          query,
        );
        return {
          status: 200,
          body: {
            value: await Promise.all(page.items.map(inventory.rangeView)),
            nextLink: nextLinkOf(new URL(request.url).pathname, { top: query.top }, page.nextKey),
          },
        };
      },
    }),
    defineApiRoute(services, {
      name: 'number-ranges-create',
      method: 'POST',
      route: RANGES,
      summary: "Add a number range on one of the customer's sites (its SBC)",
      description:
        'No two ranges on one SBC, of any customer, share a number: an overlap is refused with `range_overlap`, ' +
        'which names the other range only to a caller who may see its customer.',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      body: rangeInputSchema,
      responses: {
        201: { description: 'Created.', schema: rangeViewSchema, headers: ['etag', 'location'] },
      },
      errors: {
        validation:
          '`validation_failed`: a bad number, End before Start, more than 100,000 numbers, an unknown site.',
        conflict: '`range_overlap` or `site_without_sbc`.',
      },
      handler: async ({ params, body, principal, scope, request }) => {
        const stored = await inventory.createRange(
          params.customerId,
          body,
          actor(principal),
          visibilityOf(await scope()),
        );
        return rangeResult(201, stored, {
          location: `${new URL(request.url).pathname}/${stored.range.rangeId}`,
        });
      },
    }),
    defineApiRoute(services, {
      name: 'number-ranges-get',
      method: 'GET',
      route: RANGE,
      summary: 'Get a number range',
      tags: TAGS,
      roles: ROLES,
      params: rangeParams,
      responses: {
        200: { description: 'The range; its ETag versions it.', schema: rangeViewSchema, headers: ['etag'] },
      },
      handler: async ({ params }) =>
        rangeResult(200, await inventory.getRange(params.customerId, params.rangeId)),
    }),
    defineApiRoute(services, {
      name: 'number-ranges-update',
      method: 'PUT',
      route: RANGE,
      summary: 'Change a number range (Edit number range): name, numbers, site on the same SBC, description',
      tags: TAGS,
      roles: ROLES,
      params: rangeParams,
      body: rangeInputSchema,
      ifMatch: true,
      responses: { 200: { description: 'Saved.', schema: rangeViewSchema, headers: ['etag'] } },
      errors: {
        validation: '`validation_failed`.',
        conflict:
          '`range_overlap`, `range_in_use` (users hold numbers the change leaves out), `range_sbc_fixed` or `site_without_sbc`.',
      },
      handler: async ({ params, body, request, scope }) =>
        rangeResult(
          200,
          await inventory.updateRange(
            params.customerId,
            params.rangeId,
            body,
            ifMatchOf(request),
            visibilityOf(await scope()),
          ),
        ),
    }),
    defineApiRoute(services, {
      name: 'number-ranges-delete',
      method: 'DELETE',
      route: RANGE,
      summary: 'Delete a number range no user holds a number of',
      tags: TAGS,
      roles: ROLES,
      params: rangeParams,
      ifMatch: true,
      responses: { 204: { description: 'Deleted.' } },
      errors: {
        conflict:
          '`range_in_use`, naming the first users who hold its numbers and how many do; `range_used_by_template`, naming the user templates that take numbers from it.',
      },
      handler: async ({ params, request }) => {
        await inventory.deleteRange(params.customerId, params.rangeId, ifMatchOf(request));
        return { status: 204 };
      },
    }),
    defineApiRoute(services, {
      name: 'number-ranges-available',
      method: 'GET',
      route: `${RANGE}/available-numbers`,
      summary: 'The numbers of a range no replicated user holds and no reservation active today covers',
      tags: TAGS,
      roles: ROLES,
      params: rangeParams,
      query: pagingQuery((key) => DIGITS_KEY.test(key)),
      responses: {
        200: { description: 'A page of free numbers, lowest first.', schema: availableNumbersSchema },
      },
      handler: async ({ params, query, request }) => {
        const page = await inventory.availableNumbers(params.customerId, params.rangeId, {
          top: query.top,
          after: query.cursor,
        });
        return {
          status: 200,
          body: {
            value: page.lineUris.map((lineUri) => ({ lineUri })),
            nextLink: nextLinkOf(new URL(request.url).pathname, { top: query.top }, page.nextKey),
          },
        };
      },
    }),
    defineApiRoute(services, {
      name: 'number-ranges-next-free',
      method: 'GET',
      route: `${RANGE}/next-free-number`,
      summary: 'The lowest free number of a range, for an assignment',
      tags: TAGS,
      roles: ROLES,
      params: rangeParams,
      responses: { 200: { description: 'The number, as a Line URI.', schema: nextFreeSchema } },
      errors: { conflict: '`range_exhausted`: every number is assigned or reserved.' },
      handler: async ({ params }) => ({
        status: 200,
        body: {
          rangeId: params.rangeId,
          lineUri: await inventory.guard.nextFree(params.customerId, params.rangeId),
        },
      }),
    }),
    defineApiRoute(services, {
      name: 'reserved-numbers-list',
      method: 'GET',
      route: RESERVED,
      summary: "List the customer's reserved numbers (Reserved Numbers)",
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: pagingQuery(),
      responses: {
        200: { description: 'A page of reserved numbers, by number.', schema: reservationListSchema },
      },
      handler: async ({ params, query, request }) => ({
        status: 200,
        body: listPage(
          (await inventory.listReservations(params.customerId)).map((r) => r.view),
          (r) => `${numberKey(r.id.split('x')[0] ?? '')}\n${r.id}`,
          query,
          request.url,
        ),
      }),
    }),
    defineApiRoute(services, {
      name: 'reserved-numbers-create',
      method: 'POST',
      route: RESERVED,
      summary: 'Reserve a number of one of the customer\'s ranges ("+ Add new record")',
      description:
        'While active (Added Date to Expire Date), a reserved number is neither free nor assignable.',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      body: reservationInputSchema,
      responses: {
        201: { description: 'Reserved.', schema: reservationViewSchema, headers: ['etag', 'location'] },
      },
      errors: {
        validation: '`validation_failed`: a bad Line URI or dates.',
        conflict: '`number_outside_ranges` or `reservation_exists`.',
      },
      handler: async ({ params, body, principal, request }) => {
        const stored = await inventory.createReservation(params.customerId, body, actor(principal));
        return versioned(stored.etag, {
          status: 201,
          body: stored.view,
          headers: { location: `${new URL(request.url).pathname}/${stored.view.id}` },
        });
      },
    }),
    defineApiRoute(services, {
      name: 'reserved-numbers-get',
      method: 'GET',
      route: RESERVATION,
      summary: 'Get a reserved number',
      tags: TAGS,
      roles: ROLES,
      params: reservationParams,
      responses: {
        200: {
          description: 'The reservation; its ETag versions it.',
          schema: reservationViewSchema,
          headers: ['etag'],
        },
      },
      handler: async ({ params }) => {
        const stored = await inventory.getReservation(params.customerId, params.reservationId);
        return versioned(stored.etag, { status: 200, body: stored.view });
      },
    }),
    defineApiRoute(services, {
      name: 'reserved-numbers-update',
      method: 'PUT',
      route: RESERVATION,
      summary: "Change a reservation's dates, reason or comments",
      tags: TAGS,
      roles: ROLES,
      params: reservationParams,
      body: reservationUpdateSchema,
      ifMatch: true,
      responses: { 200: { description: 'Saved.', schema: reservationViewSchema, headers: ['etag'] } },
      errors: { validation: '`validation_failed`: Expire Date before Added Date.' },
      handler: async ({ params, body, request }) => {
        const stored = await inventory.updateReservation(
          params.customerId,
          params.reservationId,
          body,
          ifMatchOf(request),
        );
        return versioned(stored.etag, { status: 200, body: stored.view });
      },
    }),
    defineApiRoute(services, {
      name: 'reserved-numbers-delete',
      method: 'DELETE',
      route: RESERVATION,
      summary: 'Delete a reservation no user holds the number of',
      tags: TAGS,
      roles: ROLES,
      params: reservationParams,
      ifMatch: true,
      responses: { 204: { description: 'Deleted.' } },
      errors: { conflict: '`reservation_in_use`, naming the users who hold the number.' },
      handler: async ({ params, request }) => {
        await inventory.deleteReservation(params.customerId, params.reservationId, ifMatchOf(request));
        return { status: 204 };
      },
    }),
  ];
}
