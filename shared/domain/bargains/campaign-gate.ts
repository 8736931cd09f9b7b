import type { Deps } from '../../deps.ts';
import { CampaignInactiveError } from '../../errors.ts';
import { findCampaign, type StoredCampaign } from '../../store/campaigns.ts';
import type { Store } from '../../store/store.ts';
import { effectiveStatus } from '../campaigns/effective-status.ts';

/** How long a help trusts a campaign it read (real time): pausing a campaign stops helps within this. */
export const CAMPAIGN_CACHE_MS = 1000;

type Entry = { readAt: number; campaign: Promise<StoredCampaign | undefined> };
const caches = new WeakMap<Store, Map<string, Entry>>();

/**
 * 409 `campaign_inactive` unless the chain's campaign is active now. The hot help path keeps
 * its one read for the chain: the campaign item is read at most once a second per process
 * (a viral campaign's item is the hottest key there is), while `endsAt`/`startsAt` are
 * checked against the clock on every call.
 */
export async function assertCampaignActive(deps: Pick<Deps, 'store' | 'clock'>, campaignId: string): Promise<void> {
  let cache = caches.get(deps.store);
  if (!cache) {
    cache = new Map();
    caches.set(deps.store, cache);
  }
  const now = performance.now();
  let entry = cache.get(campaignId);
  if (!entry || now - entry.readAt > CAMPAIGN_CACHE_MS) {
    const fresh: Entry = { readAt: now, campaign: findCampaign(deps.store, campaignId) };
    if (cache.size > 10_000) cache.clear();
    cache.set(campaignId, fresh);
    fresh.campaign.catch(() => cache.delete(campaignId));
    entry = fresh;
  }
  const campaign = await entry.campaign;
  if (!campaign || effectiveStatus(campaign, deps.clock.now()) !== 'active') throw new CampaignInactiveError();
}
