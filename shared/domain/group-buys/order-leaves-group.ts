import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { outboxPut } from '../../events/outbox.ts';
import {
  closeGroupTx,
  findGroup,
  findOrderLink,
  type GroupOrderLink,
  leaveGroupTx,
  orderInNoGroupCheck,
  orderLinkDelete,
  orderLinkUnchangedCheck,
} from '../../store/group-buys.ts';
import type { TxItem } from '../../store/store.ts';
import type { FailReason, GroupBuy, LeftReason } from './group-buy.schema.ts';
import { isOpenNow, MAX_GROUP_WRITE_ATTEMPTS, refundsOf, StaleGroupError } from './group-rules.ts';
import { isTransientCancel, pause } from './retry.ts';

/** What an order leaving its group does to the group. */
export type OrderLeavesGroup = 'failed' | 'left' | 'none';

/** Why an order leaves its open group: the group's fail reason when it leads, the member's leave reason otherwise. */
interface Cause {
  leader: FailReason;
  member: LeftReason;
  /** Whether the order is free for a group again once its group failed (a refunded one is not). */
  freesOrder: boolean;
}
/** The shop refunded the order in full. */
const REFUNDED: Cause = { leader: 'leader_refunded', member: 'order_refunded', freesOrder: false };
/** The shop reported the order paid by someone other than the user who brought it into the group. */
const ANOTHER_USERS: Cause = {
  leader: 'leader_order_of_another_user',
  member: 'order_of_another_user',
  freesOrder: true,
};

type Writes = { items: TxItem[]; effect: OrderLeavesGroup };
const NOTHING: Writes = { items: [], effect: 'none' };

/**
 * The writes that take `link`'s order out of its group while the group is open: the leader's
 * order fails the group (`GroupBuyFailed` refunding every other member's order), a member's takes
 * the member out (`GroupBuyLeft`: the slot opens again, as if the member had left). A group
 * formed, failed or expired is left as it is. The writes are conditioned on the group as read, so
 * a join that lands first makes them fail with StaleGroupError (read again: a group that formed
 * meanwhile stays formed), and a group that failed first turns every later join away.
 */
async function leaveWrites(deps: Pick<Deps, 'store' | 'clock'>, link: GroupOrderLink, cause: Cause): Promise<Writes> {
  const { orderId } = link;
  const g = await findGroup(deps.store, link.groupId, true);
  const now = deps.clock.now();
  if (!g || !isOpenNow(g, now)) return NOTHING;
  const onGroupFail = (old: GroupBuy | undefined) => new StaleGroupError(old);
  if (link.isLeader) {
    if (g.leaderOrderId !== orderId) return NOTHING;
    const event = outboxPut(
      'GroupBuyFailed',
      {
        groupId: g.id,
        campaignId: g.campaignId,
        leaderId: g.leaderId,
        reason: cause.leader,
        refunds: refundsOf(g, orderId),
      },
      deps.clock,
    );
    const items = closeGroupTx({
      group: g,
      to: 'failed',
      reason: cause.leader,
      when: 'live',
      atIso: iso(now),
      nowIso: iso(now),
      events: [event],
      onGroupFail,
    });
    if (cause.freesOrder) items.push(orderLinkDelete(orderId, g.id));
    return { items, effect: 'failed' };
  }
  if (g.roster[link.userId]?.orderId !== orderId) return NOTHING;
  const event = outboxPut(
    'GroupBuyLeft',
    {
      groupId: g.id,
      campaignId: g.campaignId,
      userId: link.userId,
      orderId,
      memberCount: g.memberCount - 1,
      reason: cause.member,
    },
    deps.clock,
  );
  const items = leaveGroupTx({ group: g, userId: link.userId, nowIso: iso(now), events: [event], onGroupFail });
  return { items, effect: 'left' };
}

/**
 * The writes for `orderId`'s group, to commit with the webhook that decides whether the order
 * leaves it (`leaves`: why, or undefined to keep it). An order in no group gets a check that it
 * still is not, and one kept in its group a check that its link is as read: a group opened or
 * left with it while the webhook was under way makes the webhook read again.
 */
async function groupWrites(
  deps: Pick<Deps, 'store' | 'clock'>,
  orderId: string,
  leaves: (link: GroupOrderLink) => Cause | undefined,
): Promise<Writes> {
  const link = await findOrderLink(deps.store, orderId);
  if (!link) return { items: [orderInNoGroupCheck(orderId)], effect: 'none' };
  const cause = leaves(link);
  const w = cause ? await leaveWrites(deps, link, cause) : NOTHING;
  return w.effect === 'none' ? { items: [orderLinkUnchangedCheck(link)], effect: 'none' } : w;
}

/**
 * What a full refund of `orderId` writes for group buys, to commit with it: in a group still
 * open, the leader's order fails it (`leader_refunded`) and a member's takes the member out
 * (`order_refunded`).
 */
export const groupWritesOnRefund = (deps: Pick<Deps, 'store' | 'clock'>, orderId: string): Promise<Writes> =>
  groupWrites(deps, orderId, () => REFUNDED);

/**
 * What the shop's paid webhook for `orderId`, bought by `buyerId`, writes for group buys, to
 * commit with the order. Until that webhook an order is taken as belonging to whoever opens or
 * joins a group with it; one brought in by another user leaves its group while the group is open
 * (`leader_order_of_another_user` fails the group the order leads; `order_of_another_user` takes
 * out the member), and the buyer can then use it.
 */
export const groupWritesOnPaid = (
  deps: Pick<Deps, 'store' | 'clock'>,
  orderId: string,
  buyerId: string,
): Promise<Writes> => groupWrites(deps, orderId, (link) => (link.userId === buyerId ? undefined : ANOTHER_USERS));

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
): Promise<OrderLeavesGroup> {
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
