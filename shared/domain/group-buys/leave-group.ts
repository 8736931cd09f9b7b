import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { BusyError, ForbiddenError, NotFoundError } from '../../errors.ts';
import { outboxPut } from '../../events/outbox.ts';
import { findGroup, leaveGroupWrite } from '../../store/group-buys.ts';
import { GroupClosedError, isOpenNow, MAX_GROUP_WRITE_ATTEMPTS, StaleGroupError } from './group-rules.ts';
import { isTransientCancel, pause } from './retry.ts';

/**
 * A member leaves an open group (their order was cancelled): the member item, the order link and
 * one count go in one transaction with `GroupBuyLeft`. The leader may not leave (403); a caller
 * who is not a member gets 404; a formed, failed or expired group answers 410 `group_closed`.
 */
export async function leaveGroup(deps: Deps, input: { groupId: string; userId: string }): Promise<void> {
  let g = await findGroup(deps.store, input.groupId, true);
  for (let attempt = 0; attempt < MAX_GROUP_WRITE_ATTEMPTS; attempt++) {
    if (!g) throw new NotFoundError('group buy');
    const entry = g.roster[input.userId];
    if (!entry) throw new NotFoundError('membership');
    if (g.leaderId === input.userId)
      throw new ForbiddenError('The leader cannot leave their own group; it fails if the leader order is refunded.');
    const now = deps.clock.now();
    if (!isOpenNow(g, now)) throw new GroupClosedError();
    const event = outboxPut(
      'GroupBuyLeft',
      {
        groupId: g.id,
        campaignId: g.campaignId,
        userId: input.userId,
        orderId: entry.orderId,
        memberCount: g.memberCount - 1,
        reason: 'left',
      },
      deps.clock,
    );
    try {
      await leaveGroupWrite(deps.store, {
        group: g,
        userId: input.userId,
        nowIso: iso(now),
        events: [event],
        onGroupFail: (old) => new StaleGroupError(old),
      });
      return;
    } catch (e) {
      // The group moved on: read it again, members included.
      if (e instanceof StaleGroupError) g = await findGroup(deps.store, input.groupId, true);
      else if (isTransientCancel(e)) {
        await pause(attempt);
        g = await findGroup(deps.store, input.groupId, true);
      } else throw e;
    }
  }
  throw new BusyError('The group is changing too fast; try again.');
}
