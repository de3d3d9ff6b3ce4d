import { z } from 'zod';
import { nextLinkSchema, pageSchema } from '../paging/paging.js';
import { SHORT_NAME_PATTERN } from '../customers/short-name.js';
import { lineUriSchema, rangeNumberSchema } from './tel.js';

/** The most numbers one range holds: it bounds the overlap check's key range and a range's listing. */
export const MAX_RANGE_NUMBERS = 100_000;

const day = z.iso.date({ error: 'Use a date as YYYY-MM-DD.' }).meta({ format: 'date' });

export const rangeIdSchema = z
  .string()
  .regex(/^r-[0-9a-f]{16}$/, 'rangeId is not one this API returned.')
  .meta({ description: "The range's id, as its creation returned it." });

export const rangeInputSchema = z
  .strictObject({
    name: z
      .string()
      .trim()
      .min(1)
      .max(64)
      .meta({ description: 'The manual\'s "Identity": the range\'s name, e.g. "New Branch".' }),
    start: rangeNumberSchema.meta({ description: 'The manual\'s "NumberRangeStart".' }),
    end: rangeNumberSchema.meta({ description: 'The manual\'s "NumberRangeEnd".' }),
    siteName: z
      .string()
      .max(64)
      .regex(SHORT_NAME_PATTERN)
      .meta({ description: "One of the customer's sites: the range lives on its SBC." }),
    description: z.string().trim().max(256).default(''),
  })
  .meta({ id: 'NumberRangeInput' });
export type RangeInput = z.output<typeof rangeInputSchema>;

export const rangeViewSchema = z
  .object({
    id: rangeIdSchema,
    customerId: z.string(),
    name: z.string(),
    start: z.string().meta({ description: '`+<digits>`.' }),
    end: z.string(),
    siteName: z.string(),
    sbcId: z.string().meta({ description: "The site's SBC: no two ranges on it share a number." }),
    description: z.string(),
    size: z.number().int().meta({ description: 'End − Start + 1.' }),
    availableNumbers: z.number().int().meta({
      description:
        'The manual\'s "Available Numbers": the numbers no replicated user holds and no reservation active today covers.',
    }),
    usedIn: z
      .array(z.string())
      .meta({ description: 'The manual\'s "Used in": the user templates that take numbers from the range.' }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'NumberRange' });
export type RangeView = z.output<typeof rangeViewSchema>;
export const rangeListSchema = pageSchema(rangeViewSchema, 'NumberRangePage');

export const availableNumbersSchema = z
  .object({
    value: z.array(z.object({ lineUri: z.string() })),
    nextLink: nextLinkSchema,
  })
  .meta({ id: 'AvailableNumberPage' });

export const nextFreeSchema = z
  .object({ rangeId: rangeIdSchema, lineUri: z.string() })
  .meta({ id: 'NextFreeNumber' });

export const reservationIdSchema = z
  .string()
  .regex(/^[1-9]\d{0,16}(x[1-9]\d{0,9})?$/, 'reservationId is not one this API returned.')
  .meta({ description: 'The reserved Line URI as an id: its digits, and `x<extension>` when it has one.' });

const reservationFields = {
  addedDate: day
    .optional()
    .meta({ description: 'The manual\'s "Added Date": from when; today when omitted.' }),
  expireDate: day.nullable().default(null).meta({
    description: 'The manual\'s "Expire Date": the last day it holds; null keeps it until deleted.',
  }),
  reason: z.string().trim().max(256).default('').meta({ description: 'e.g. "Temporary employee".' }),
  comments: z.string().trim().max(1024).default('').meta({ description: 'e.g. "VP approval".' }),
};

export const reservationInputSchema = z
  .strictObject({ lineUri: lineUriSchema, ...reservationFields })
  .meta({ id: 'ReservedNumberInput' });
export type ReservationInput = z.output<typeof reservationInputSchema>;

export const reservationUpdateSchema = z.strictObject(reservationFields).meta({ id: 'ReservedNumberUpdate' });
export type ReservationUpdate = z.output<typeof reservationUpdateSchema>;

export const reservationViewSchema = z
  .object({
    id: reservationIdSchema,
    customerId: z.string(),
    lineUri: z.string(),
    addedDate: z.string().meta({ format: 'date' }),
    expireDate: z.string().meta({ format: 'date' }).nullable(),
    reason: z.string(),
    comments: z.string(),
    activeToday: z.boolean(),
    createdAt: z.iso.datetime(),
    createdBy: z.string(),
  })
  .meta({ id: 'ReservedNumber' });
export type ReservationView = z.output<typeof reservationViewSchema>;
export const reservationListSchema = pageSchema(reservationViewSchema, 'ReservedNumberPage');
