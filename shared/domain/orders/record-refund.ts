import type { Deps } from '../../deps.ts';
import { BusyError, ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import { outboxPut } from '../../events/outbox.ts';
import {
  findOrder,
  findRefund,
  insertRefund,
  OrderChangedError,
  type Refund,
  RefundExistsError,
} from '../../store/orders.ts';
import { backoff } from '../../store/store.ts';
import { StaleGroupError } from '../group-buys/group-rules.ts';
import { groupWritesOnRefund } from '../group-buys/order-leaves-group.ts';
import { isTransientCancel } from '../group-buys/retry.ts';
import { withTurn } from '../turns.ts';
import {
  MAX_REFUNDS_PER_ORDER,
  notInFuture,
  type RefundAnswer,
  type RefundInput,
  SHOP_CLOCK_SKEW_MS,
} from './order.schema.ts';
import type { Answered } from './record-paid-order.ts';
import { reversalFor } from './reversal.ts';

/** Tries of a refund whose order's refunded total others keep moving first (with growing random pauses, up to about 20 s). */
const REFUND_TRIES = 30;

/** 409 `refund_exceeds_order`. */
export class RefundExceedsOrderError extends ConflictError {
  constructor() {
    super('refund_exceeds_order', 'Refunds would add up to more than the order amount.');
  }
}

function answerOf(r: Refund): RefundAnswer {
  return {
    orderId: r.orderId,
    refundId: r.refundId,
    amount: r.amount,
    refundedTotal: r.refundedTotal,
    ...(r.reversal !== undefined ? { reversal: r.reversal } : {}),
  };
}

function repeatOf(r: Refund, input: RefundInput): Answered<RefundAnswer> {
  if (r.amount !== input.amount)
    throw new ConflictError('conflict', 'This refundId was already recorded with another amount.');
  return { status: 200, body: answerOf(r) };
}

/**
 * `POST /v1/orders/refunded`: one effect per `refundId`. The order's refunded total moves with a
 * condition on its previous value (refunds of one order take turns within a process, and one
 * that another process moved first is retried after a random pause), so refunds never
 * add up past the order (409 `refund_exceeds_order`). An attributed order reverses commission in
 * proportion; `OrderRefunded` goes out in the same transaction, and so does what a full refund does to
 * an open group buy (its leader's order fails it, a member's order takes the member out).
 */
export async function recordRefund(deps: Deps, input: RefundInput): Promise<Answered<RefundAnswer>> {
  notInFuture('refundedAt', input.refundedAt, deps.clock.now());
  // Refunds of one order take turns within a process; across processes the condition decides.
  return withTurn(deps.store, `refund#${input.orderId}`, 1, () => recordRefundOnce(deps, input));
}

async function recordRefundOnce(deps: Deps, input: RefundInput): Promise<Answered<RefundAnswer>> {
  for (let attempt = 0; ; attempt++) {
    const order = await findOrder(deps.store, input.orderId);
    if (!order) throw new NotFoundError('order');
    const existing = await findRefund(deps.store, input.orderId, input.refundId);
    if (existing) return repeatOf(existing, input);
    if (Date.parse(input.refundedAt) < Date.parse(order.paidAt) - SHOP_CLOCK_SKEW_MS)
      throw new ValidationError('refundedAt is before the order was paid.', [
        { path: 'refundedAt', message: 'must not be before the order’s paidAt' },
      ]);
    const before = order.refundedTotal;
    const after = before + input.amount;
    if (after > order.amount) throw new RefundExceedsOrderError();
    if ((order.refundCount ?? 0) >= MAX_REFUNDS_PER_ORDER)
      throw new ConflictError('conflict', `An order takes at most ${MAX_REFUNDS_PER_ORDER} refunds.`);
    const attributed = order.attributed && order.commission !== undefined && order.kolId && order.campaignId;
    const reversal = attributed ? reversalFor(order.commission!, order.amount, before, after) : undefined;
    const refund: Refund = {
      orderId: input.orderId,
      refundId: input.refundId,
      amount: input.amount,
      refundedTotal: after,
      ...(reversal !== undefined ? { reversal } : {}),
      ...(reversal ? { kolId: order.kolId! } : {}),
      refundedAt: input.refundedAt,
      createdAt: new Date(deps.clock.now()).toISOString(),
    };
    const event = outboxPut(
      'OrderRefunded',
      {
        orderId: input.orderId,
        refundId: input.refundId,
        amount: input.amount,
        orderAmount: order.amount,
        refundedTotal: after,
        refundedAt: input.refundedAt,
        ...(attributed
          ? { kolId: order.kolId!, campaignId: order.campaignId!, commission: order.commission!, reversal: reversal! }
          : {}),
      },
      deps.clock,
    );
    // A full refund fails the open group its order leads, or takes its member out, in the same
    // write: whether the refund or the join that fills the group came first decides, not when the
    // event arrives.
    const closing = after === order.amount ? (await groupWritesOnRefund(deps, input.orderId)).items : [];
    try {
      await insertRefund(deps.store, refund, before, event, closing);
      return { status: 201, body: answerOf(refund) };
    } catch (e) {
      if (e instanceof RefundExistsError) {
        const stored = await findRefund(deps.store, input.orderId, input.refundId);
        if (stored) return repeatOf(stored, input);
      }
      if (!(e instanceof OrderChangedError || e instanceof StaleGroupError || isTransientCancel(e))) throw e;
      if (attempt >= REFUND_TRIES)
        throw new BusyError('Other refunds of this order, or joins of its group, kept landing first; retry.');
      // Refunds of one order sent at once take turns: a random pause lets one land per round.
      await backoff(attempt);
    }
  }
}
