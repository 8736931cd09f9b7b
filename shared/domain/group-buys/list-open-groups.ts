import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { NotFoundError } from '../../errors.ts';
import { findCampaign } from '../../store/campaigns.ts';
import { listOpenGroups as queryOpenGroups } from '../../store/group-buys.ts';
import type { Page } from '../../store/store.ts';
import { effectiveStatus as campaignStatus } from '../campaigns/effective-status.ts';
import type { GroupView } from './group-buy.schema.ts';
import { viewOf } from './group-rules.ts';

/**
 * Joinable groups of a campaign, fewest open slots first, then soonest expiry, then oldest id;
 * expired groups are left out. A campaign that is not active has none (empty list); an unknown
 * one is 404.
 */
export async function listOpenGroups(
  deps: Deps,
  input: { campaignId: string; limit: number; cursor?: string },
): Promise<Page<GroupView>> {
  const campaign = await findCampaign(deps.store, input.campaignId);
  if (campaign?.type !== 'group_buy') throw new NotFoundError('group_buy campaign');
  const now = deps.clock.now();
  if (campaignStatus(campaign, now) !== 'active') return { items: [], nextCursor: null };
  const page = await queryOpenGroups(deps.store, {
    campaignId: input.campaignId,
    nowIso: iso(now),
    limit: input.limit,
    cursor: input.cursor ?? null,
  });
  return { items: page.items.map((g) => viewOf(g, now, deps.config.h5BaseUrl)), nextCursor: page.nextCursor };
}
