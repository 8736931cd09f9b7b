import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { outboxPut } from '../../events/outbox.ts';
import { madeByRequest } from '../../http/idempotency.ts';
import { newId } from '../../ids.ts';
import { findGroup, insertGroup, listOverdueLedGroups } from '../../store/group-buys.ts';
import { expiresWithinCampaign } from '../campaigns/effective-status.ts';
import { requireActiveCampaign } from '../campaigns/require-active-campaign.ts';
import { maskName } from '../mask.ts';
import { expireGroup } from './expire-group.ts';
import type { GroupBuy, GroupView, OpenGroupInput } from './group-buy.schema.ts';
import { effectiveStatus, memberPrice, OrderInUseError, TooManyOpenGroupsError, viewOf } from './group-rules.ts';

/**
 * Opens a group with the caller as leader and first member. Its timer is the campaign's
 * `durationSeconds` from now, cut short by the campaign's `endsAt` (after which nobody can join). At most `maxOpenGroupsPerUser` open groups
 * led per user and campaign, held by a counter in the same transaction; groups of the caller's
 * that are past expiry but not yet swept are closed first, so they never block a new one.
 */
export async function openGroup(
  deps: Deps,
  input: OpenGroupInput & { userId: string; name?: string; requestKey?: string },
): Promise<GroupView> {
  const campaign = await requireActiveCampaign(deps, input.campaignId, 'group_buy');
  const r = campaign.rules;
  const now = deps.clock.now();
  const nowIso = iso(now);
  const expiresAt = expiresWithinCampaign(now, r.durationSeconds, campaign.endsAt);
  const id = newId('grp', deps.clock);
  const displayName = maskName(input.name);
  const group: GroupBuy = {
    id,
    campaignId: campaign.id,
    leaderId: input.userId,
    leaderOrderId: input.orderId,
    sku: r.sku,
    originalPrice: r.originalPrice,
    groupPrice: r.groupPrice,
    ...(r.leaderPrice !== undefined ? { leaderPrice: r.leaderPrice } : {}),
    groupSize: r.groupSize,
    autoFillOnExpiry: r.autoFillOnExpiry,
    status: 'open',
    memberCount: 1,
    roster: {
      [input.userId]: {
        orderId: input.orderId,
        ...(displayName ? { displayName } : {}),
        joinedAt: nowIso,
        seq: 1,
        isLeader: true,
        price: memberPrice(r, true),
        ...(input.requestKey ? { requestKey: input.requestKey } : {}),
      },
    },
    expiresAt,
    createdAt: nowIso,
    updatedAt: nowIso,
    rev: 1,
  };
  const opened = outboxPut(
    'GroupBuyOpened',
    {
      groupId: id,
      campaignId: campaign.id,
      leaderId: input.userId,
      orderId: input.orderId,
      groupSize: r.groupSize,
      expiresAt,
    },
    deps.clock,
  );
  try {
    await insertGroup(deps.store, group, r.maxOpenGroupsPerUser, [opened]);
  } catch (e) {
    if (!(e instanceof TooManyOpenGroupsError)) throw e;
    const overdue = await listOverdueLedGroups(deps.store, {
      campaignId: campaign.id,
      leaderId: input.userId,
      nowIso,
    });
    if (overdue.length === 0) throw e;
    await Promise.all(overdue.map((g) => expireGroup(deps, g)));
    await insertGroup(deps.store, group, r.maxOpenGroupsPerUser, [opened]);
  }
  return viewOf(group, now, deps.config.h5BaseUrl);
}

/**
 * Opens a group, or, when the caller already opened one in this campaign on this order (a
 * retry after a lost answer, a double tap), answers that group instead of 409: as made now
 * (`created`) for a retry with the Idempotency-Key of the open that made it, else as a repeat.
 */
export async function openGroupOnce(
  deps: Deps,
  input: OpenGroupInput & { userId: string; name?: string; requestKey?: string },
): Promise<{ group: GroupView; created: boolean }> {
  try {
    return { group: await openGroup(deps, input), created: true };
  } catch (e) {
    const inUse = e instanceof OrderInUseError ? e.inUse : undefined;
    if (!inUse?.isLeader || inUse.userId !== input.userId || inUse.campaignId !== input.campaignId) throw e;
    // Only a group that still stands: one that failed (expired, its leader refunded) is no answer to an open.
    const group = await findGroup(deps.store, inUse.groupId, true);
    const now = deps.clock.now();
    if (!group) throw e;
    const status = effectiveStatus(group, now); // expired but not yet swept: failed
    if (status !== 'open' && status !== 'formed') throw e;
    const made = madeByRequest(group.roster[input.userId]?.requestKey, group.createdAt, input.requestKey, now);
    return { group: viewOf(group, now, deps.config.h5BaseUrl), created: made };
  }
}
