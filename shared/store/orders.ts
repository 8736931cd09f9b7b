import { MAX_REFUNDS_PER_ORDER, type Order, type RefundAnswer } from '../domain/orders/order.schema.ts';
import {
  commissionOrderDayIndex,
  commissionOrderDayPk,
  firstOrderKey,
  orderKey,
  refundKey,
  reversalDueKey,
  reversingRefundDayIndex,
  reversingRefundDayPk,
} from './keys.ts';
import type { Store, TxItem } from './store.ts';

/** The order id was already recorded. */
export class OrderExistsError extends Error {}
/** Another order of the same user took the first-order marker meanwhile. */
export class FirstOrderTakenError extends Error {}
/** The refund id was already recorded for this order. */
export class RefundExistsError extends Error {}
/** The order's refunded total moved since it was read. */
export class OrderChangedError extends Error {}

/** A stored refund. */
export interface Refund extends RefundAnswer {
  refundedAt: string;
  createdAt: string;
  /** The KOL whose commission it reverses, when it reverses some. */
  kolId?: string;
}

const strip = <T>(item: Record<string, unknown> | undefined): T | undefined => {
  if (!item) return undefined;
  const { pk: _pk, sk: _sk, entity: _e, gsi2pk: _g, gsi2sk: _gs, ...rest } = item;
  return rest as T;
};

/** Get an order. */
export async function findOrder(store: Store, orderId: string): Promise<Order | undefined> {
  return strip<Order>(await store.get(orderKey(orderId), true));
}

/** Whether the user already has a paid order (the first-order marker exists). */
export async function hasPaidOrder(store: Store, userId: string): Promise<boolean> {
  return (await store.get(firstOrderKey(userId), true)) !== undefined;
}

/**
 * Records a paid order with its events in one transaction: the order item (attribute_not_exists:
 * one per order id; in the day index of orders with commission when it earned one), the user's
 * first-order marker when this is their first (attribute_not_exists: one per user), and the outbox items.
 */
export async function insertPaidOrder(
  store: Store,
  order: Order,
  events: TxItem[],
  alongside: TxItem[] = [],
): Promise<void> {
  const items: TxItem[] = [
    {
      Put: {
        Item: {
          ...orderKey(order.orderId),
          entity: 'order',
          ...order,
          ...(order.commission ? commissionOrderDayIndex(order.createdAt, order.orderId) : {}),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
      onFail: () => new OrderExistsError(),
    },
  ];
  if (order.firstOrder)
    items.push({
      Put: {
        Item: {
          ...firstOrderKey(order.userId),
          entity: 'first_order',
          userId: order.userId,
          orderId: order.orderId,
          paidAt: order.paidAt,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
      onFail: () => new FirstOrderTakenError(),
    });
  await store.transact([...items, ...events, ...alongside]);
}

/** The orders with commission recorded on `day` within [from, to], in one shard of the day index. */
export async function listCommissionOrders(
  store: Store,
  day: string,
  shard: number,
  period: { from: string; to: string },
): Promise<Order[]> {
  return (await store.queryDay(commissionOrderDayPk(day, shard), period)).map((i) => strip<Order>(i)!);
}

/** The refunds that reverse commission recorded on `day` within [from, to], in one shard of the day index. */
export async function listReversingRefunds(
  store: Store,
  day: string,
  shard: number,
  period: { from: string; to: string },
): Promise<Refund[]> {
  return (await store.queryDay(reversingRefundDayPk(day, shard), period)).map((i) => strip<Refund>(i)!);
}

/** Get a refund of an order. */
export async function findRefund(store: Store, orderId: string, refundId: string): Promise<Refund | undefined> {
  return strip<Refund>(await store.get(refundKey(orderId, refundId), true));
}

/**
 * Records a refund in one transaction: the refund item (attribute_not_exists: once per refund
 * id; in the day index of refunds that reverse commission when it reverses some), the order's
 * refunded total moved from exactly `before` to `refund.refundedTotal` (so the over-refund check
 * made against `before` holds) and its refund count under MAX_REFUNDS_PER_ORDER, the outbox item,
 * for a refund that reverses commission the mark that its reversal is due (until its event is
 * handled, payouts leave the commission out), and the writes that must commit with it
 * (`alongside`: failing the group a fully refunded leader's order opened).
 */
export async function insertRefund(
  store: Store,
  refund: Refund,
  before: number,
  event: TxItem,
  alongside: TxItem[] = [],
): Promise<void> {
  await store.transact([
    {
      Put: {
        Item: {
          ...refundKey(refund.orderId, refund.refundId),
          entity: 'refund',
          ...refund,
          ...(refund.reversal && refund.kolId
            ? reversingRefundDayIndex(refund.createdAt, refund.orderId, refund.refundId)
            : {}),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
      onFail: () => new RefundExistsError(),
    },
    {
      Update: {
        Key: orderKey(refund.orderId),
        UpdateExpression: 'SET refundedTotal = :after ADD refundCount :one',
        ConditionExpression: 'refundedTotal = :before AND (attribute_not_exists(refundCount) OR refundCount < :max)',
        ExpressionAttributeValues: {
          ':after': refund.refundedTotal,
          ':before': before,
          ':one': 1,
          ':max': MAX_REFUNDS_PER_ORDER,
        },
      },
      onFail: () => new OrderChangedError(),
    },
    ...(refund.reversal && refund.kolId
      ? [
          {
            Put: {
              Item: {
                ...reversalDueKey(refund.kolId, refund.orderId, refund.refundId),
                entity: 'reversal_due',
                orderId: refund.orderId,
                refundId: refund.refundId,
                createdAt: refund.createdAt,
              },
            },
          },
        ]
      : []),
    event,
    ...alongside,
  ]);
}
