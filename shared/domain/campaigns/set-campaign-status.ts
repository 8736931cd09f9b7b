import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { type StoredCampaign, setCampaignStatus as writeStatus } from '../../store/campaigns.ts';
import { scheduleCampaignEnd } from '../group-buys/end-campaign-groups.ts';
import type { Campaign } from './campaign.schema.ts';
import { forgetCampaign } from './campaign-cache.ts';
import { withEffectiveStatus } from './effective-status.ts';

/** When a campaign ended by PATCH was ended: its last status change to `ended`. */
const endedAt = (c: StoredCampaign): string =>
  c.statusChanges?.findLast((s) => s.status === 'ended')?.at ?? c.updatedAt;

/**
 * Pauses, resumes or ends a campaign. Ending is final; ending a group-buy campaign also has its
 * open groups closed within seconds (scheduleCampaignEnd), again on a repeat, which a retry of an
 * end cut off between its two writes needs.
 */
export async function setCampaignStatus(
  deps: Pick<Deps, 'store' | 'clock'>,
  id: string,
  status: 'active' | 'paused' | 'ended',
): Promise<Campaign> {
  const c = await writeStatus(deps.store, id, status, iso(deps.clock.now()));
  forgetCampaign(deps.store, id);
  if (status === 'ended') await scheduleCampaignEnd(deps, c, endedAt(c));
  return withEffectiveStatus(c, deps.clock.now());
}
