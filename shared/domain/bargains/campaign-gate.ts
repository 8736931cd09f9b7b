import type { Deps } from '../../deps.ts';
import { CampaignInactiveError } from '../../errors.ts';
import { readCampaignCached } from '../campaigns/campaign-cache.ts';
import { effectiveStatus } from '../campaigns/effective-status.ts';

/**
 * 409 `campaign_inactive` unless the chain's campaign is active now. The hot help path keeps
 * its one read for the chain: the campaign comes from the per-process campaign cache, while
 * `endsAt`/`startsAt` are checked against the clock on every call.
 */
export async function assertCampaignActive(deps: Pick<Deps, 'store' | 'clock'>, campaignId: string): Promise<void> {
  const campaign = await readCampaignCached(deps.store, campaignId);
  if (!campaign || effectiveStatus(campaign, deps.clock.now()) !== 'active') throw new CampaignInactiveError();
}
