import { z } from 'zod';
import { ValidationError } from '../../errors.ts';
import { currencySchema, positiveAmountSchema } from '../money.ts';
import { userIdSchema } from '../text.ts';
import { utcTimeSchema } from '../time.ts';

/** An id the shop gives (order, refund): 1–128 printable ASCII characters, no spaces. */
export const externalId = (what: string) =>
  z
    .string()
    .min(1)
    .max(128)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
    .describe(what);

/** How far the shop's clock may run ahead of ours: a `paidAt` or `refundedAt` later than this is refused. */
export const SHOP_CLOCK_SKEW_MS = 5 * 60_000;

/** 400 unless `at` is no later than now plus the shop's clock skew. */
export function notInFuture(field: string, at: string, nowMs: number): void {
  if (Date.parse(at) > nowMs + SHOP_CLOCK_SKEW_MS)
    throw new ValidationError(`${field} is in the future.`, [{ path: field, message: 'must not be in the future' }]);
}

/** `POST /v1/orders/paid` (shop webhook). */
export const paidOrderSchema = z.strictObject({
  orderId: externalId("The shop's order id: the idempotency key of this webhook"),
  userId: userIdSchema.describe('The buyer: the user id their tokens carry as `sub`'),
  amount: positiveAmountSchema,
  currency: currencySchema,
  paidAt: utcTimeSchema,
  attributionToken: z
    .string()
    .min(1)
    .max(1024)
    .optional()
    .describe('The `fission_ref` the buyer arrived with; ignored unless validly signed and inside its window'),
  visitorId: z.string().min(1).max(128).optional().describe('The buyer’s `fission_vid` cookie, for click history'),
});
export type PaidOrderInput = z.output<typeof paidOrderSchema>;

/** `POST /v1/orders/refunded` (shop webhook). */
export const refundSchema = z.strictObject({
  orderId: externalId('The refunded order'),
  refundId: externalId('This refund: the idempotency key of this webhook'),
  amount: positiveAmountSchema,
  refundedAt: utcTimeSchema,
});
export type RefundInput = z.output<typeof refundSchema>;

/** The answer to a paid-order webhook (the same on every repeat). */
export interface PaidOrderAnswer {
  orderId: string;
  attributed: boolean;
  linkCode?: string;
  kolId?: string;
  commission?: number;
}

/** The answer to a refund webhook (the same on every repeat). */
export interface RefundAnswer {
  orderId: string;
  refundId: string;
  amount: number;
  refundedTotal: number;
  /** Commission reversed by this refund (attributed orders only). */
  reversal?: number;
}

/** An order as stored. */
/**
 * Refunds one order takes at most: each reversal of its commission is listed on the commission's
 * ledger entry, which must stay well inside DynamoDB's 400 KB item (1,000 ids ≈ 40 KB).
 */
export const MAX_REFUNDS_PER_ORDER = 1000;

export interface Order {
  orderId: string;
  userId: string;
  amount: number;
  currency: string;
  paidAt: string;
  refundedTotal: number;
  /** Refunds recorded (absent: none), at most MAX_REFUNDS_PER_ORDER. */
  refundCount?: number;
  firstOrder: boolean;
  attributed: boolean;
  linkCode?: string;
  kolId?: string;
  campaignId?: string;
  rateBps?: number;
  commission?: number;
  held?: boolean;
  createdAt: string;
}

/** The paid-order answer of a stored order, fields always in the same order. */
export function paidAnswer(o: Order): PaidOrderAnswer {
  return o.attributed
    ? { orderId: o.orderId, attributed: true, linkCode: o.linkCode, kolId: o.kolId, commission: o.commission }
    : { orderId: o.orderId, attributed: false };
}
