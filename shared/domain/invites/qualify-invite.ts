import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { outboxPut } from '../../events/outbox.ts';
import { findCampaign } from '../../store/campaigns.ts';
import { listPendingBindings, settleBinding } from '../../store/invites.ts';
import { effectiveStatus } from '../campaigns/effective-status.ts';
import { BindingNotPendingError, RewardCapReachedError } from './invite.errors.ts';
import type { InviteBinding } from './invite.schema.ts';
import { firstOrderOutcome } from './invite-rules.ts';

/**
 * Qualifies every pending (`first_order`) binding of a user whose first order was paid, each
 * exactly once: the move pending → qualified and its `InviteQualified` are one transaction
 * conditioned on the binding still being pending, so a redelivered `OrderPaid` changes nothing.
 * An order paid before the accept (a late webhook) makes the binding ineligible instead; one paid
 * while the campaign was not active (paused, ended, outside its dates) qualifies it without reward.
 * Returns how many bindings this call settled.
 */
export async function qualifyInvites(
  deps: Pick<Deps, 'store' | 'clock'>,
  input: { inviteeId: string; paidAt: string },
): Promise<number> {
  const pending = await listPendingBindings(deps.store, input.inviteeId);
  const paidAtMs = Date.parse(input.paidAt);
  let settled = 0;
  for (const b of pending) {
    const campaign = await findCampaign(deps.store, b.campaignId);
    const campaignActive = campaign !== undefined && effectiveStatus(campaign, paidAtMs) === 'active';
    if (await settle(deps, b, input.paidAt, campaignActive)) settled++;
  }
  return settled;
}

async function settle(
  deps: Pick<Deps, 'store' | 'clock'>,
  b: InviteBinding,
  paidAt: string,
  campaignActive: boolean,
): Promise<boolean> {
  const cap = b.maxRewardedInvitesPerInviter;
  let capReached = cap === 0;
  for (;;) {
    const outcome = firstOrderOutcome({ paidAt, acceptedAt: b.acceptedAt, capReached, campaignActive });
    const now = iso(deps.clock.now());
    const qualified = outcome.status === 'qualified';
    try {
      await settleBinding(deps.store, b, {
        status: outcome.status,
        rewarded: outcome.rewarded,
        ...(qualified ? { qualifiedAt: now } : {}),
        ...(outcome.reason ? { reason: outcome.reason } : {}),
        ...(outcome.takesSlot && cap !== undefined ? { rewardCap: cap } : {}),
        events: qualified
          ? [
              outboxPut(
                'InviteQualified',
                {
                  inviteId: b.inviteId,
                  campaignId: b.campaignId,
                  inviterId: b.inviterId,
                  inviteeId: b.inviteeId,
                  rewarded: outcome.rewarded,
                  held: b.held,
                  inviterReward: b.inviterReward,
                  inviteeReward: b.inviteeReward,
                  lockSeconds: b.lockSeconds,
                },
                deps.clock,
              ),
            ]
          : [],
      });
      return true;
    } catch (e) {
      if (e instanceof BindingNotPendingError) return false;
      if (e instanceof RewardCapReachedError && !capReached) capReached = true;
      else throw e;
    }
  }
}
