import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { ConflictError, NotFoundError } from '../../errors.ts';
import { outboxPut } from '../../events/outbox.ts';
import { findGroup, joinGroupWrite, refreshOpenSortKey } from '../../store/group-buys.ts';
import { maskName } from '../mask.ts';
import type { GroupBuy, GroupStatus, JoinGroupInput, RosterEntry } from './group-buy.schema.ts';
import {
  AlreadyMemberError,
  formedMembers,
  GroupClosedError,
  GroupFullError,
  isOpenNow,
  joinRefusal,
  MAX_GROUP_WRITE_ATTEMPTS,
  memberPrice,
  StaleGroupError,
} from './group-rules.ts';
import { isTransientCancel, pause } from './retry.ts';

/** A group written to within this long is probably being raced: joins go loose from the start. */
const HOT_WINDOW_MS = 2000;
const isHot = (g: GroupBuy, nowMs: number) => nowMs - Date.parse(g.updatedAt) < HOT_WINDOW_MS;

/**
 * Joins a group: one read, then one transaction conditioned on the group as read (`rev`). The
 * join that fills the last slot forms the group in the same write and emits `GroupBuyFormed`
 * with every member's order and price. Losing a race to another join or leave tries again from
 * the failed condition's old item (no extra request) as a loose join (any slot but the last), or,
 * for the last slot, after a short random pause; a bounded number of times. A group that
 * was written in the last moments is joined loose from the start, so a crowd arriving at once does
 * not serialize on exact writes.
 */
export async function joinGroup(
  deps: Deps,
  input: JoinGroupInput & {
    groupId: string;
    userId: string;
    name?: string;
    via?: { visitorId?: string; ref?: string };
  },
): Promise<{ groupId: string; memberCount: number; status: GroupStatus }> {
  let g = await findGroup(deps.store, input.groupId, true);
  if (!g) throw new NotFoundError('group buy');
  const displayName = maskName(input.name);
  for (let attempt = 0; attempt < MAX_GROUP_WRITE_ATTEMPTS; attempt++) {
    if (attempt > 0 && g.memberCount + 1 >= g.groupSize) await pause(attempt);
    const now = deps.clock.now();
    if (g.roster[input.userId]) throw new AlreadyMemberError();
    if (!isOpenNow(g, now)) throw attempt > 0 && g.status === 'formed' ? new GroupFullError() : new GroupClosedError();
    if (g.memberCount >= g.groupSize) throw new GroupFullError();
    const nowIso = iso(now);
    const entry: RosterEntry = {
      orderId: input.orderId,
      ...(displayName ? { displayName } : {}),
      joinedAt: nowIso,
      seq: g.rev + 1,
      isLeader: false,
      price: memberPrice(g, false),
    };
    const mode = attempt === 0 && !isHot(g, now) ? 'exact' : 'loose';
    const memberCount = g.memberCount + 1;
    const fills = memberCount >= g.groupSize;
    const after: GroupBuy = { ...g, memberCount, roster: { ...g.roster, [input.userId]: entry } };
    const events = [
      outboxPut(
        'GroupBuyJoined',
        {
          groupId: g.id,
          campaignId: g.campaignId,
          userId: input.userId,
          orderId: input.orderId,
          memberCount,
          ...(input.via ? { via: input.via } : {}),
        },
        deps.clock,
      ),
    ];
    if (fills)
      events.push(
        outboxPut(
          'GroupBuyFormed',
          {
            groupId: g.id,
            campaignId: g.campaignId,
            sku: g.sku,
            leaderId: g.leaderId,
            members: formedMembers(after, []),
          },
          deps.clock,
        ),
      );
    try {
      await joinGroupWrite(deps.store, {
        group: g,
        userId: input.userId,
        entry,
        nowIso,
        mode,
        events,
        onGroupFail: (old) => joinRefusal(old, input.userId, now),
      });
      if (mode === 'exact' || fills) return { groupId: g.id, memberCount, status: fills ? 'formed' : 'open' };
      const actual = await refreshOpenSortKey(deps.store, g, memberCount);
      return { groupId: g.id, memberCount: actual, status: actual >= g.groupSize ? 'formed' : 'open' };
    } catch (e) {
      if (e instanceof StaleGroupError && e.group) g = e.group;
      else if (isTransientCancel(e) || (e instanceof StaleGroupError && !e.group)) {
        await pause(attempt);
        g = (await findGroup(deps.store, input.groupId, true)) ?? g;
      } else throw e;
    }
  }
  throw new ConflictError('conflict', 'The group is changing too fast; try again.');
}
