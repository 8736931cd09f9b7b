import { findCampaign, type StoredCampaign } from '../../store/campaigns.ts';
import { perStore } from '../../store/per-store.ts';
import type { Store } from '../../store/store.ts';

/**
 * How long a hot path trusts a campaign it read (real time). A viral campaign's item is the
 * hottest key there is, so the help path reads it at most this often per process; a status
 * change made through this process is seen at once (the local server is one process), and
 * one made elsewhere (another Lambda container) within this bound.
 */
export const CAMPAIGN_CACHE_MS = 1000;

type Entry = { readAt: number; campaign: Promise<StoredCampaign | undefined> };
const cacheOf = perStore(() => new Map<string, Entry>());

/** The campaign, read at most once per CAMPAIGN_CACHE_MS per process. */
export function readCampaignCached(store: Store, campaignId: string): Promise<StoredCampaign | undefined> {
  const cache = cacheOf(store);
  const now = performance.now();
  const entry = cache.get(campaignId);
  if (entry && now - entry.readAt <= CAMPAIGN_CACHE_MS) return entry.campaign;
  const fresh: Entry = { readAt: now, campaign: findCampaign(store, campaignId, true) };
  if (cache.size > 10_000) cache.clear();
  cache.set(campaignId, fresh);
  fresh.campaign.catch(() => cache.delete(campaignId));
  return fresh.campaign;
}

/** Drops a cached campaign after its status changed. */
export function forgetCampaign(store: Store, campaignId: string): void {
  cacheOf(store).delete(campaignId);
}
