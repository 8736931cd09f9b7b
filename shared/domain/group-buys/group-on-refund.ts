import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { outboxPut } from '../../events/outbox.ts';
import { closeGroupTx, findGroup, findOrderLink, leaveGroupTx, orderInNoGroupCheck } from '../../store/group-buys.ts';
import type { TxItem } from '../../store/store.ts';
import type { GroupBuy } from './group-buy.schema.ts';
import { isOpenNow, MAX_GROUP_WRITE_ATTEMPTS, refundsOf, StaleGroupError } from './group-rules.ts';
import { isTransientCancel, pause } from './retry.ts';

/** What a full refund of an order does to the group buy it is in. */
export type GroupOnRefund = 'failed' | 'left' | 'none';

/**
 * What a full refund of `orderId` writes for group buys, to commit with it. In a group still open,
 * the leader's order fails the group (`leader_refunded`, `GroupBuyFailed` refunding every other
 * member's order) and a member's order takes the member out (`GroupBuyLeft` with reason
 * `order_refunded`: the slot opens again, as if the member had left). An order in no group gets a
 * check that it still is not (a group opened on it meanwhile makes the refund read again); a
 * group formed, failed or expired is left as it is. The writes are conditioned on the group as
 * read, so a join that lands first makes them fail with StaleGroupError (read again: a group
 * that formed meanwhile stays formed), and a group that failed first turns every later join away.
 */
export async function groupWritesOnRefund(
  deps: Pick<Deps, 'store' | 'clock'>,
  orderId: string,
): Promise<{ items: TxItem[]; effect: GroupOnRefund }> {
  const link = await findOrderLink(deps.store, orderId);
  if (!link) return { items: [orderInNoGroupCheck(orderId)], effect: 'none' };
  const g = await findGroup(deps.store, link.groupId, true);
  const now = deps.clock.now();
  if (!g || !isOpenNow(g, now)) return { items: [], effect: 'none' };
  const onGroupFail = (old: GroupBuy | undefined) => new StaleGroupError(old);
  if (link.isLeader) {
    if (g.leaderOrderId !== orderId) return { items: [], effect: 'none' };
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
      onGroupFail,
    });
    return { items, effect: 'failed' };
  }
  if (g.roster[link.userId]?.orderId !== orderId) return { items: [], effect: 'none' };
  const event = outboxPut(
    'GroupBuyLeft',
    {
      groupId: g.id,
      campaignId: g.campaignId,
      userId: link.userId,
      orderId,
      memberCount: g.memberCount - 1,
      reason: 'order_refunded',
    },
    deps.clock,
  );
  const items = leaveGroupTx({ group: g, userId: link.userId, nowIso: iso(now), events: [event], onGroupFail });
  return { items, effect: 'left' };
}

/**
 * The `OrderRefunded` consumer's side of a full refund: the refund webhook already wrote the
 * group's change in its own transaction, so this is the fallback (a refund recorded before the
 * webhook did so) and finds the group failed or the member gone otherwise. Partial refunds, and
 * refunds after the group formed, failed or expired, change nothing. Idempotent: the writes are
 * conditional on the group as read, so a redelivered event does nothing.
 */
export async function applyRefundToGroup(
  deps: Deps,
  input: { orderId: string; orderAmount: number; refundedTotal: number },
): Promise<GroupOnRefund> {
  if (input.refundedTotal < input.orderAmount) return 'none';
  for (let attempt = 0; attempt < MAX_GROUP_WRITE_ATTEMPTS; attempt++) {
    const { items, effect } = await groupWritesOnRefund(deps, input.orderId);
    if (effect === 'none') return effect;
    try {
      await deps.store.transact(items);
      return effect;
    } catch (e) {
      // The group moved on: read it again, members included.
      if (e instanceof StaleGroupError) continue;
      if (isTransientCancel(e)) await pause(attempt);
      else throw e;
    }
  }
  throw new Error(`the group of order ${input.orderId} kept changing; will retry`);
}
