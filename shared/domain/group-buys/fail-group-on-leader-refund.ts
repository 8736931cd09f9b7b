import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { outboxPut } from '../../events/outbox.ts';
import { closeGroupWrite, findGroup, findOrderLink } from '../../store/group-buys.ts';
import { isOpenNow, MAX_GROUP_WRITE_ATTEMPTS, refundsOf, StaleGroupError } from './group-rules.ts';
import { isTransientCancel, pause } from './retry.ts';

/**
 * A group whose leader's order is fully refunded before the group formed fails at once
 * (`leader_refunded`), refunding every other member's order. Partial refunds, refunds of a
 * non-leader's order, and refunds after the group formed, failed or expired change nothing.
 * Idempotent: the open → failed transition is conditional, so a redelivered event does nothing.
 */
export async function failGroupOnLeaderRefund(
  deps: Deps,
  input: { orderId: string; orderAmount: number; refundedTotal: number },
): Promise<'failed' | 'ignored'> {
  if (input.refundedTotal < input.orderAmount) return 'ignored';
  const link = await findOrderLink(deps.store, input.orderId);
  if (!link?.isLeader) return 'ignored';
  let g = await findGroup(deps.store, link.groupId, true);
  for (let attempt = 0; attempt < MAX_GROUP_WRITE_ATTEMPTS; attempt++) {
    const now = deps.clock.now();
    if (!g || g.leaderOrderId !== input.orderId || !isOpenNow(g, now)) return 'ignored';
    const event = outboxPut(
      'GroupBuyFailed',
      {
        groupId: g.id,
        campaignId: g.campaignId,
        leaderId: g.leaderId,
        reason: 'leader_refunded',
        refunds: refundsOf(g, input.orderId),
      },
      deps.clock,
    );
    try {
      await closeGroupWrite(deps.store, {
        group: g,
        to: 'failed',
        reason: 'leader_refunded',
        when: 'live',
        atIso: iso(now),
        nowIso: iso(now),
        events: [event],
        onGroupFail: (old) => new StaleGroupError(old),
      });
      return 'failed';
    } catch (e) {
      // The group moved on: read it again, members included.
      if (e instanceof StaleGroupError) g = await findGroup(deps.store, link.groupId, true);
      else if (isTransientCancel(e)) {
        await pause(attempt);
        g = await findGroup(deps.store, link.groupId, true);
      } else throw e;
    }
  }
  throw new Error(`group ${g?.id ?? ''} kept changing; will retry`);
}
