import type { Deps } from '../../deps.ts';
import { BusyError, ConflictError } from '../../errors.ts';
import { outboxPut } from '../../events/outbox.ts';
import {
  FirstOrderTakenError,
  findOrder,
  hasPaidOrder,
  insertPaidOrder,
  OrderExistsError,
} from '../../store/orders.ts';
import { backoff, type TxItem } from '../../store/store.ts';
import { StaleGroupError } from '../group-buys/group-rules.ts';
import { groupWritesOnPaid } from '../group-buys/order-leaves-group.ts';
import { isTransientCancel } from '../group-buys/retry.ts';
import { attributeOrder } from './attribute-order.ts';
import { notInFuture, type Order, type PaidOrderAnswer, type PaidOrderInput, paidAnswer } from './order.schema.ts';

/** Tries of a paid order whose first-order marker, or the group its order was brought into, others keep moving first. */
const PAID_TRIES = 10;

/** The first answer (201) or a repeat's (200). */
export interface Answered<T> {
  status: 200 | 201;
  body: T;
}

function repeatOf(existing: Order, input: PaidOrderInput): Answered<PaidOrderAnswer> {
  if (existing.userId !== input.userId || existing.amount !== input.amount || existing.currency !== input.currency)
    throw new ConflictError('conflict', 'This orderId was already recorded with another user, amount or currency.');
  return { status: 200, body: paidAnswer(existing) };
}

/**
 * `POST /v1/orders/paid`: records the order once per `orderId` with `OrderPaid` (and
 * `OrderAttributed` when a KOL link earns it) in the same transaction. A repeat, even
 * concurrent, answers 200 with the stored answer and writes nothing. An order that another user
 * opened or joined a group buy with before this webhook leaves that group, if still open, in the
 * same transaction (see groupWritesOnPaid).
 */
export async function recordPaidOrder(
  deps: Deps,
  input: PaidOrderInput,
  opts: { beforeAttribution?: () => Promise<void> } = {},
): Promise<Answered<PaidOrderAnswer>> {
  notInFuture('paidAt', input.paidAt, deps.clock.now());
  const existing = await findOrder(deps.store, input.orderId);
  if (existing) return repeatOf(existing, input);
  await opts.beforeAttribution?.();
  const attribution = await attributeOrder(deps, input);
  for (let attempt = 0; ; attempt++) {
    const firstOrder = !(await hasPaidOrder(deps.store, input.userId));
    const order: Order = {
      orderId: input.orderId,
      userId: input.userId,
      amount: input.amount,
      currency: input.currency,
      paidAt: input.paidAt,
      refundedTotal: 0,
      firstOrder,
      attributed: attribution !== undefined,
      ...(attribution
        ? {
            linkCode: attribution.linkCode,
            kolId: attribution.kolId,
            campaignId: attribution.campaignId,
            rateBps: attribution.rateBps,
            commission: attribution.commission,
            held: attribution.held,
          }
        : {}),
      createdAt: new Date(deps.clock.now()).toISOString(),
    };
    const base = {
      orderId: input.orderId,
      userId: input.userId,
      amount: input.amount,
      currency: input.currency,
      paidAt: input.paidAt,
    };
    const events: TxItem[] = [outboxPut('OrderPaid', { ...base, firstOrder }, deps.clock)];
    if (attribution)
      events.push(
        outboxPut(
          'OrderAttributed',
          {
            ...base,
            campaignId: attribution.campaignId,
            linkCode: attribution.linkCode,
            kolId: attribution.kolId,
            rateBps: attribution.rateBps,
            commission: attribution.commission,
            lockSeconds: attribution.lockSeconds,
            minPayout: attribution.minPayout,
            held: attribution.held,
          },
          deps.clock,
        ),
      );
    // An order another user brought into a group buy before this webhook leaves the group in the same write.
    const group = await groupWritesOnPaid(deps, input.orderId, input.userId);
    try {
      await insertPaidOrder(deps.store, order, events, group.items);
      return { status: 201, body: paidAnswer(order) };
    } catch (e) {
      if (e instanceof OrderExistsError) {
        const stored = await findOrder(deps.store, input.orderId);
        if (stored) return repeatOf(stored, input);
      }
      const groupMoved = e instanceof StaleGroupError || isTransientCancel(e);
      if (!(groupMoved || e instanceof FirstOrderTakenError)) throw e;
      if (attempt >= PAID_TRIES)
        throw new BusyError('Other writes for this order’s buyer or group kept landing first; retry.');
      if (groupMoved) await backoff(attempt);
    }
  }
}
