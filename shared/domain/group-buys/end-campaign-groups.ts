import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { mapLimit } from '../../map-limit.ts';
import { listOpenGroupIds } from '../../store/group-buys.ts';
import { campaignEndKey, dueIndex } from '../../store/keys.ts';
import type { Item, Store } from '../../store/store.ts';
import type { Campaign } from '../campaigns/campaign.schema.ts';
import { expireGroup } from './expire-group.ts';

/** Name of the sweep task that closes the open groups of a group-buy campaign an admin ended. */
export const CAMPAIGN_END_TASK = 'campaign-end';

/**
 * How long after a campaign ends its open groups are closed: past the second in which another
 * instance may still take the campaign as active (its campaign cache), so no group opens after.
 */
export const CAMPAIGN_END_DELAY_MS = 2000;

/** Groups closed per round of the sweep; a campaign with more takes the next rounds. */
const PAGE = 50;

/**
 * Has the open groups of a group-buy campaign that was ended (by PATCH, at `endedAt`) closed by
 * the sweeper within seconds, as they would have at their own expiry, rather than each at its own
 * timer: a put of the campaign's due item, so doing it again (a repeated PATCH) changes nothing.
 */
export async function scheduleCampaignEnd(
  deps: Pick<Deps, 'store'>,
  campaign: Pick<Campaign, 'id' | 'type'>,
  endedAt: string,
) {
  if (campaign.type !== 'group_buy') return;
  await putCampaignEnd(deps.store, campaign.id, endedAt, iso(Date.parse(endedAt) + CAMPAIGN_END_DELAY_MS), false);
}

/** The campaign's due item: the sweep visits it at `dueAt`, and removes it after a `lastPass`. */
async function putCampaignEnd(store: Store, campaignId: string, endedAt: string, dueAt: string, lastPass: boolean) {
  await store.put({
    ...campaignEndKey(campaignId),
    entity: 'campaign_end',
    campaignId,
    endedAt,
    lastPass,
    ...dueIndex(CAMPAIGN_END_TASK, dueAt, campaignId),
  });
}

/**
 * One more pass this long after the end: for a group whose open passed its campaign check just
 * before the end but landed after the first pass (or reached the open-groups index after it).
 */
const LAST_PASS_AFTER_MS = 60_000;

/**
 * One round of the `campaign-end` sweep: closes a page of the campaign's open groups as of its
 * end (expireGroup with `endedAt`: failed `campaign_ended`, or formed by auto-fill). When a page
 * comes back short, the item is due again for the last pass, after which it goes. A failure
 * leaves the item for the next sweep.
 */
export async function closeEndedCampaignGroups(deps: Deps, item: Item): Promise<void> {
  const campaignId = String(item.campaignId);
  const endedAt = String(item.endedAt);
  const ids = await listOpenGroupIds(deps.store, campaignId, PAGE);
  await mapLimit(ids, (id) => expireGroup(deps, id, undefined, endedAt), 8);
  if (ids.length === PAGE) return; // more in the next round
  if (item.lastPass === true) {
    await deps.store.delete(campaignEndKey(campaignId));
    return;
  }
  const dueAt = iso(Math.max(deps.clock.now(), Date.parse(endedAt) + LAST_PASS_AFTER_MS));
  await putCampaignEnd(deps.store, campaignId, endedAt, dueAt, true);
}
