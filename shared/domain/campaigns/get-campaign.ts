import type { Deps } from '../../deps.ts';
import { NotFoundError } from '../../errors.ts';
import { findCampaign } from '../../store/campaigns.ts';
import type { Campaign } from './campaign.schema.ts';
import { withEffectiveStatus } from './effective-status.ts';

/** A campaign with its effective status, or 404. */
export async function getCampaign(deps: Pick<Deps, 'store' | 'clock'>, id: string): Promise<Campaign> {
  const c = await findCampaign(deps.store, id, true);
  if (!c) throw new NotFoundError('campaign');
  return withEffectiveStatus(c, deps.clock.now());
}
