import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { setCampaignStatus as writeStatus } from '../../store/campaigns.ts';
import type { Campaign } from './campaign.schema.ts';
import { forgetCampaign } from './campaign-cache.ts';
import { withEffectiveStatus } from './effective-status.ts';

/** Pauses, resumes or ends a campaign. Ending is final. */
export async function setCampaignStatus(
  deps: Pick<Deps, 'store' | 'clock'>,
  id: string,
  status: 'active' | 'paused' | 'ended',
): Promise<Campaign> {
  const c = await writeStatus(deps.store, id, status, iso(deps.clock.now()));
  forgetCampaign(deps.store, id);
  return withEffectiveStatus(c, deps.clock.now());
}
