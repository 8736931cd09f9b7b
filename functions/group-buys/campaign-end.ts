import { CAMPAIGN_END_TASK, closeEndedCampaignGroups } from '#shared/domain/group-buys/end-campaign-groups';
import type { SweepTask } from '#shared/sweeper';

/** Closes the open groups of a group-buy campaign an admin ended, a page per round. */
export const campaignEndTask: SweepTask = {
  name: CAMPAIGN_END_TASK,
  handle: (item, deps) => closeEndedCampaignGroups(deps, item),
};
