import { iso } from '../../clock.ts';
import { CampaignInactiveError } from '../../errors.ts';
import type { StoredCampaign } from '../../store/campaigns.ts';
import type { Campaign, CampaignStatus } from './campaign.schema.ts';

/** The status a campaign has now: ended after `endsAt` (paused or not), scheduled before `startsAt`, else as set. */
export function effectiveStatus(c: StoredCampaign, nowMs: number): CampaignStatus {
  if (c.status === 'ended' || (c.endsAt && Date.parse(c.endsAt) <= nowMs)) return 'ended';
  if (c.status !== 'active') return c.status;
  if (c.startsAt && Date.parse(c.startsAt) > nowMs) return 'scheduled';
  return 'active';
}

export function withEffectiveStatus(c: StoredCampaign, nowMs: number): Campaign {
  return { ...c, status: effectiveStatus(c, nowMs) } as Campaign;
}

/**
 * When something a campaign runs (a bargain chain, a group) ends: `durationSeconds` from now, but
 * never after the campaign's `endsAt`. A campaign that ended by `nowMs` (after the caller found it
 * active) starts nothing: 409 `campaign_inactive`.
 */
export function expiresWithinCampaign(nowMs: number, durationSeconds: number, campaignEndsAt?: string): string {
  const end = nowMs + durationSeconds * 1000;
  const at = campaignEndsAt ? Math.min(end, Date.parse(campaignEndsAt)) : end;
  if (at <= nowMs) throw new CampaignInactiveError();
  return iso(at);
}
