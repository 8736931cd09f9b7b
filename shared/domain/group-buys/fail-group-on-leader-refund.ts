import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { outboxPut } from '../../events/outbox.ts';
import { closeGroupTx, findGroup, findOrderLink } from '../../store/group-buys.ts';
import type { TxItem } from '../../store/store.ts';
import { isOpenNow, MAX_GROUP_WRITE_ATTEMPTS, refundsOf, StaleGroupError } from './group-rules.ts';
import { isTransientCancel, pause } from './retry.ts';

/**
 * The writes that fail the open group `orderId` leads (`leader_refunded`, `GroupBuyFailed`
 * refunding every other member's order), for a full refund of that order to commit with: none
 * when the order leads no group, or its group has formed, failed or expired. They are
 * conditioned on the group as read, so a join that lands first makes them fail with
 * StaleGroupError (read again: a group that formed meanwhile stays formed), and a group that
 * failed first turns every later join away.
 */
export async function leaderRefundClose(deps: Pick<Deps, 'store' | 'clock'>, orderId: string): Promise<TxItem[]> {
  const link = await findOrderLink(deps.store, orderId);
  if (!link?.isLeader) return [];
  const g = await findGroup(deps.store, link.groupId, true);
  const now = deps.clock.now();
  if (!g || g.leaderOrderId !== orderId || !isOpenNow(g, now)) return [];
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
  return closeGroupTx({
    group: g,
    to: 'failed',
    reason: 'leader_refunded',
    when: 'live',
    atIso: iso(now),
    nowIso: iso(now),
    events: [event],
    onGroupFail: (old) => new StaleGroupError(old),
  });
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
    const items = await leaderRefundClose(deps, input.orderId);
    if (items.length === 0) return 'ignored';
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
