import { iso } from '../../clock.ts';
import { CampaignInactiveError } from '../../errors.ts';
import type { ManualStatus, StoredCampaign } from '../../store/campaigns.ts';
import type { Campaign, CampaignStatus } from './campaign.schema.ts';

/**
 * The status a campaign has at `atMs` (now, or an order's `paidAt`): ended after `endsAt` (paused
 * or not), scheduled before `startsAt`, else as an admin had set it by then.
 */
export function effectiveStatus(c: StoredCampaign, atMs: number): CampaignStatus {
  const manual = manualStatusAt(c, atMs);
  if (manual === 'ended' || (c.endsAt && Date.parse(c.endsAt) <= atMs)) return 'ended';
  if (manual !== 'active') return manual;
  if (c.startsAt && Date.parse(c.startsAt) > atMs) return 'scheduled';
  return 'active';
}

/**
 * What an admin had set at `atMs`: the last recorded change by then (a campaign is created
 * active), or the status as it is when no change was recorded.
 */
function manualStatusAt(c: StoredCampaign, atMs: number): ManualStatus {
  if (!c.statusChanges?.length) return c.status;
  // The latest change by then, wherever it stands in the log (instances' clocks differ a little).
  let latest: { status: ManualStatus; at: number } = { status: 'active', at: Number.NEGATIVE_INFINITY };
  for (const change of c.statusChanges) {
    const at = Date.parse(change.at);
    if (at <= atMs && at >= latest.at) latest = { status: change.status, at };
  }
  return latest.status;
}

/** The campaign as the API shows it, with its status at `nowMs` (its change log left out). */
export function withEffectiveStatus(c: StoredCampaign, nowMs: number): Campaign {
  const { statusChanges: _, ...campaign } = c;
  return { ...campaign, status: effectiveStatus(c, nowMs) } as Campaign;
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
