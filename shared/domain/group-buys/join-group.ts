import { setBounded } from '../../bounded-map.ts';
import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { BusyError, CampaignInactiveError, NotFoundError } from '../../errors.ts';
import { outboxPut } from '../../events/outbox.ts';
import { madeByRequest } from '../../http/idempotency.ts';
import { findGroup, joinGroupWrite, refreshOpenSortKey } from '../../store/group-buys.ts';
import { perStore } from '../../store/per-store.ts';
import type { Store } from '../../store/store.ts';
import { readCampaignCached } from '../campaigns/campaign-cache.ts';
import { effectiveStatus as campaignStatus } from '../campaigns/effective-status.ts';
import { maskName } from '../mask.ts';
import { withTurn } from '../turns.ts';
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
  viewOf,
} from './group-rules.ts';
import { isTransientCancel, pause } from './retry.ts';

/** Joins of one group in flight at once in one process (see withTurn); the rest wait their turn in order. */
export const JOINS_IN_FLIGHT_PER_GROUP = 1;
/** Groups handed from one join to the next in turn (see handOver), at most this many, for at most this long. */
const HANDOVER_MAX = 10_000;
const HANDOVER_MS = 1000;
const handoversOf = perStore(() => new Map<string, { g: GroupBuy; atMs: number }>());

/**
 * Leaves the group as an exact join of this process just wrote it (its `rev` is known), so the
 * next join in turn starts from it instead of reading it again. A copy of an open group that went
 * stale meanwhile (another instance joined, a member left) only fails that join's `rev`
 * condition, which then goes on from the item as it is; such a copy never refuses a join by
 * itself (see tryJoin). A copy of the group the join formed is final (a formed group never
 * changes again, and its roster was read whole for the filling join), so it answers the joins
 * that arrive after it, `already_member` or `group_closed`, without a read, and stays until it
 * ages out.
 */
function handOver(store: Store, g: GroupBuy, atMs: number): void {
  setBounded(handoversOf(store), g.id, { g, atMs }, HANDOVER_MAX);
}

/** The group handed over by an earlier join of this process, if recent: an open one is taken once. */
function takeOver(store: Store, id: string, nowMs: number): GroupBuy | undefined {
  const byId = handoversOf(store);
  const h = byId.get(id);
  if (!h) return undefined;
  const fresh = nowMs - h.atMs >= 0 && nowMs - h.atMs < HANDOVER_MS;
  if (!fresh || h.g.status === 'open') byId.delete(id);
  return fresh ? h.g : undefined;
}

/** After a join lost a race, the group counts as contended this long: joins go loose from the start. */
const HOT_WINDOW_MS = 2000;
const isHot = (g: GroupBuy, nowMs: number) => Boolean(g.contendedUntil && Date.parse(g.contendedUntil) > nowMs);

/**
 * Joins a group in an active campaign (checked against the per-process campaign cache: a pause
 * is seen at once on this process, within CAMPAIGN_CACHE_MS elsewhere): one read, then one
 * transaction conditioned on the group as read (`rev`). The join that fills the last slot forms
 * the group in the same write and emits `GroupBuyFormed` with every member's order and price.
 * Losing a race to another join or leave tries again from the failed condition's old item (no
 * extra request) as a loose join (any slot but the last), or, for the last slot, after a short
 * random pause and a re-read of the members; a bounded number of times. A group where a join
 * lost a race moments ago is joined loose from the start, so a crowd does not serialize on
 * exact writes, while an uncontended join stays one read + one transaction. Within one process
 * the joins of a group take turns, each starting from the group the previous one wrote, so they
 * neither race each other nor read it again.
 */
export async function joinGroup(deps: Deps, input: JoinInput): Promise<JoinResult> {
  const arrivedMs = input.arrivedMs ?? deps.clock.now();
  return withTurn(deps.store, input.groupId, JOINS_IN_FLIGHT_PER_GROUP, () => tryJoin(deps, input, arrivedMs));
}

type JoinInput = JoinGroupInput & {
  groupId: string;
  userId: string;
  name?: string;
  via?: { visitorId?: string; ref?: string };
  /** From the request's Idempotency-Key: a retry of a join that landed (its answer lost) answers it again. */
  requestKey?: string;
  /** When the request arrived (default: now): a group formed after then took the last slot from this join. */
  arrivedMs?: number;
};
type JoinResult = { groupId: string; memberCount: number; status: GroupStatus };

/**
 * When this process saw the join that formed a group commit, by group: later than the `formedAt`
 * that join stamped before writing, by the time the write took. Bounded like the handovers.
 */
const formedHereOf = perStore(() => new Map<string, number>());

/**
 * The group formed after `arrivedMs`: a join that arrived before then lost the last slot to
 * another (409 `group_full`), also when it arrived while the filling join's write was under way.
 */
const formedSince = (store: Store, g: GroupBuy, arrivedMs: number) =>
  g.status === 'formed' &&
  ((g.formedAt !== undefined && Date.parse(g.formedAt) > arrivedMs) ||
    (formedHereOf(store).get(g.id) ?? Number.NEGATIVE_INFINITY) > arrivedMs);

async function tryJoin(deps: Deps, input: JoinInput, arrivedMs: number): Promise<JoinResult> {
  const handedOver = takeOver(deps.store, input.groupId, deps.clock.now());
  // A member of an open group's copy may have left since: only a read, or a formed copy, refuses `already_member`.
  let g =
    handedOver && (handedOver.status === 'formed' || !handedOver.roster[input.userId])
      ? handedOver
      : await findGroup(deps.store, input.groupId, true);
  if (!g) throw new NotFoundError('group buy');
  /** Whether `g` carries its members (a read), or is only the group item from a failed condition. */
  let withMembers = true;
  const displayName = maskName(input.name);
  for (let attempt = 0; attempt < MAX_GROUP_WRITE_ATTEMPTS; attempt++) {
    if (!withMembers && g.memberCount + 1 >= g.groupSize) {
      // The last slot: GroupBuyFormed needs every member, so re-read them (after a short pause, so a crowd spreads out).
      await pause(attempt);
      g = (await findGroup(deps.store, input.groupId, true)) ?? g;
      withMembers = true;
    }
    const now = deps.clock.now();
    const mine = withMembers ? g.roster[input.userId] : undefined;
    if (mine) {
      // A retry of the join that made this member, its answer lost: that join's answer again.
      if (madeByRequest(mine.requestKey, mine.joinedAt, input.requestKey, now)) {
        const memberCount = mine.countAtJoin ?? viewOf(g, now, deps.config.h5BaseUrl).memberCount;
        return { groupId: g.id, memberCount, status: memberCount >= g.groupSize ? 'formed' : 'open' };
      }
      throw new AlreadyMemberError();
    }
    // The campaign before the group: one that ended (by PATCH or at its `endsAt`, which also ends
    // its groups) or is paused answers 409 `campaign_inactive`, however its group stands.
    if (attempt === 0) {
      const campaign = await readCampaignCached(deps.store, g.campaignId);
      if (!campaign || campaignStatus(campaign, now) !== 'active') throw new CampaignInactiveError();
    }
    if (!isOpenNow(g, now))
      throw (attempt > 0 && g.status === 'formed') || formedSince(deps.store, g, arrivedMs)
        ? new GroupFullError()
        : new GroupClosedError();
    if (g.memberCount >= g.groupSize) throw new GroupFullError();
    const nowIso = iso(now);
    const memberCount = g.memberCount + 1;
    const entry: RosterEntry = {
      orderId: input.orderId,
      ...(displayName ? { displayName } : {}),
      joinedAt: nowIso,
      seq: g.rev + 1,
      isLeader: false,
      price: memberPrice(g, false),
      ...(input.requestKey ? { requestKey: input.requestKey, countAtJoin: memberCount } : {}),
    };
    const mode = attempt === 0 && !isHot(g, now) ? 'exact' : 'loose';
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
        contendedUntil: iso(now + HOT_WINDOW_MS),
        events,
        onGroupFail: (old) => joinRefusal(old, input.userId, now),
      });
      if (fills) setBounded(formedHereOf(deps.store), g.id, deps.clock.now(), HANDOVER_MAX);
      if (mode === 'exact' || fills) {
        // Written on `rev` (a filling join always is): the group as it now stands.
        const status: GroupStatus = fills ? 'formed' : 'open';
        handOver(
          deps.store,
          { ...after, status, rev: g.rev + 1, updatedAt: nowIso, ...(fills ? { formedAt: nowIso } : {}) },
          now,
        );
        return { groupId: g.id, memberCount, status };
      }
      // The join is committed: fixing the list order is best effort and never fails the answer.
      const actual = await refreshOpenSortKey(deps.store, g, memberCount).catch((err: Error) => {
        deps.log.warn('open-list sort key not refreshed', { groupId: input.groupId, error: err });
        return memberCount;
      });
      return { groupId: g.id, memberCount: actual, status: actual >= g.groupSize ? 'formed' : 'open' };
    } catch (e) {
      if (e instanceof StaleGroupError && e.group) {
        g = e.group;
        withMembers = false;
      } else if (isTransientCancel(e) || (e instanceof StaleGroupError && !e.group)) {
        await pause(attempt);
        g = (await findGroup(deps.store, input.groupId, true)) ?? g;
      } else throw e;
    }
  }
  throw new BusyError('The group is changing too fast; try again.');
}
