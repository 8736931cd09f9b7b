import type { Deps } from '../../deps.ts';
import { CampaignInactiveError, NotFoundError } from '../../errors.ts';
import { findCampaign } from '../../store/campaigns.ts';
import type { Campaign, CampaignType } from './campaign.schema.ts';
import { effectiveStatus } from './effective-status.ts';

/**
 * The campaign an action runs in: 404 when there is no campaign of that type with this id,
 * 409 `campaign_inactive` when it is not active now.
 */
export async function requireActiveCampaign<T extends CampaignType>(
  deps: Pick<Deps, 'store' | 'clock'>,
  id: string,
  type: T,
): Promise<Campaign<T>> {
  const c = await findCampaign(deps.store, id, true);
  if (!c || c.type !== type) throw new NotFoundError(`${type} campaign`);
  const status = effectiveStatus(c, deps.clock.now());
  if (status !== 'active') throw new CampaignInactiveError();
  return { ...c, status } as Campaign<T>;
}
