import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { outboxPut } from '../../events/outbox.ts';
import { closeGroupTx, findGroup, findOrderLink, orderInNoGroupCheck } from '../../store/group-buys.ts';
import type { TxItem } from '../../store/store.ts';
import { isOpenNow, MAX_GROUP_WRITE_ATTEMPTS, refundsOf, StaleGroupError } from './group-rules.ts';
import { isTransientCancel, pause } from './retry.ts';

/**
 * What a full refund of `orderId` writes for group buys, to commit with it: when the order leads
 * a group still open, the writes that fail it (`leader_refunded`, `GroupBuyFailed` refunding every
 * other member's order; `closes`); when the order is in no group, a check that it still is not
 * (a group opened on it meanwhile makes the refund read again and fail that group instead);
 * otherwise nothing. The close is conditioned on the group as read, so a join that lands first
 * makes it fail with StaleGroupError (read again: a group that formed meanwhile stays formed),
 * and a group that failed first turns every later join away.
 */
export async function leaderRefundClose(
  deps: Pick<Deps, 'store' | 'clock'>,
  orderId: string,
): Promise<{ items: TxItem[]; closes: boolean }> {
  const link = await findOrderLink(deps.store, orderId);
  if (!link) return { items: [orderInNoGroupCheck(orderId)], closes: false };
  if (!link.isLeader) return { items: [], closes: false };
  const g = await findGroup(deps.store, link.groupId, true);
  const now = deps.clock.now();
  if (!g || g.leaderOrderId !== orderId || !isOpenNow(g, now)) return { items: [], closes: false };
  const event = outboxPut(
    'GroupBuyFailed',
    {
      groupId: g.id,
      campaignId: g.campaignId,
      leaderId: g.leaderId,
      reason: 'leader_refunded',
      refunds: refundsOf(g, orderId),
    },
    deps.clock,
  );
  const items = closeGroupTx({
    group: g,
    to: 'failed',
    reason: 'leader_refunded',
    when: 'live',
    atIso: iso(now),
    nowIso: iso(now),
    events: [event],
    onGroupFail: (old) => new StaleGroupError(old),
  });
  return { items, closes: true };
}

/**
 * A group whose leader's order is fully refunded before the group formed fails at once
 * (`leader_refunded`). The refund webhook does this in the refund's own transaction; this
 * consumer of `OrderRefunded` is the fallback (a refund recorded before the webhook did so), and
 * finds the group already failed otherwise. Partial refunds, refunds of a non-leader's order, and
 * refunds after the group formed, failed or expired change nothing. Idempotent: the open → failed
 * transition is conditional, so a redelivered event does nothing.
 */
export async function failGroupOnLeaderRefund(
  deps: Deps,
  input: { orderId: string; orderAmount: number; refundedTotal: number },
): Promise<'failed' | 'ignored'> {
  if (input.refundedTotal < input.orderAmount) return 'ignored';
  for (let attempt = 0; attempt < MAX_GROUP_WRITE_ATTEMPTS; attempt++) {
    const { items, closes } = await leaderRefundClose(deps, input.orderId);
    if (!closes) return 'ignored';
    try {
      await deps.store.transact(items);
      return 'failed';
    } catch (e) {
      // The group moved on: read it again, members included.
      if (e instanceof StaleGroupError) continue;
      if (isTransientCancel(e)) await pause(attempt);
      else throw e;
    }
  }
  throw new Error(`the group of order ${input.orderId} kept changing; will retry`);
}
