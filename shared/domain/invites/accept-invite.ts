import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { CampaignInactiveError, ForbiddenError, NotFoundError } from '../../errors.ts';
import { outboxPut } from '../../events/outbox.ts';
import { madeByRequest } from '../../http/idempotency.ts';
import { CODE_PATTERN, newId } from '../../ids.ts';
import { findBinding, findInviteCode, insertBinding } from '../../store/invites.ts';
import type { TxItem } from '../../store/store.ts';
import { type DeviceMarks, NO_DEVICE, rememberUserDevices, shareDevice } from '../../store/user-devices.ts';
import { requireActiveCampaign } from '../campaigns/require-active-campaign.ts';
import {
  AlreadyInvitedError,
  ExistingCustomerError,
  MutualInviteError,
  RewardCapReachedError,
} from './invite.errors.ts';
import type { AcceptedInvite, InviteBinding } from './invite.schema.ts';
import { acceptOutcome, inviterDevice, normalCode } from './invite-rules.ts';

/** The answer an accept gave. */
const acceptedView = (b: InviteBinding): AcceptedInvite => ({
  inviteId: b.inviteId,
  campaignId: b.campaignId,
  inviterId: b.inviterId,
  inviteeId: b.inviteeId,
  status: 'accepted',
  acceptedAt: b.acceptedAt,
});

/**
 * Binds the caller to the inviter of `code`, first binding per (campaign, invitee) wins.
 * The binding, its `InviteAccepted` and (for `signup` campaigns) its `InviteQualified` are one
 * transaction. Whether it is rewarded is decided by the same transaction: the first-order
 * marker must be absent (else: existing customer, no reward) and the inviter's rewarded count
 * is incremented only while under `maxRewardedInvitesPerInviter` (else: recorded, not rewarded).
 * Each of those refusals re-runs the transaction once with the weaker outcome. A mutual invite
 * (the inviter is bound as the invitee's own invitee) is recorded too, its reward held for
 * review like a shared device; the same transaction decides, so two crossing accepts cannot
 * both pass as ordinary.
 */
export async function acceptInvite(
  deps: Pick<Deps, 'store' | 'clock' | 'log'>,
  input: {
    code: string;
    inviteeId: string;
    /** The caller's raw `X-Device-Id`, compared with what codes made before devices were remembered per user kept; never stored. */
    deviceId?: string;
    /** The caller's device and visitor cookie (callerDevice), remembered for later checks. */
    device?: DeviceMarks;
    via?: { visitorId?: string; ref?: string };
    /** From the request's Idempotency-Key: a retry of an accept that landed (its answer lost) answers it again. */
    requestKey?: string;
  },
): Promise<AcceptedInvite> {
  const code = normalCode(input.code);
  const invite = CODE_PATTERN.test(code) ? await findInviteCode(deps.store, code) : undefined;
  if (!invite) throw new NotFoundError('invite code');
  /** A retry of the accept that made `b`, its answer lost: that accept's answer. */
  const madeByThisRequest = (b: InviteBinding | undefined): b is InviteBinding =>
    b !== undefined && madeByRequest(b.requestKey, b.acceptedAt, input.requestKey, deps.clock.now());
  let campaign: Awaited<ReturnType<typeof requireActiveCampaign<'invite'>>>;
  try {
    campaign = await requireActiveCampaign(deps, invite.campaignId, 'invite');
  } catch (e) {
    // The campaign paused or ended since the accept that landed.
    const earlier =
      e instanceof CampaignInactiveError && input.requestKey
        ? await findBinding(deps.store, invite.campaignId, input.inviteeId)
        : undefined;
    if (madeByThisRequest(earlier)) return acceptedView(earlier);
    throw e;
  }
  if (invite.inviterId === input.inviteeId)
    throw new ForbiddenError('You cannot accept your own invite.', 'self_invite_forbidden');

  const { rules } = campaign;
  const cap = rules.maxRewardedInvitesPerInviter;
  const acceptedAt = iso(deps.clock.now());
  const inviteId = newId('inv', deps.clock);
  let existingCustomer = false;
  let capReached = cap === 0;
  let mutual = false;
  // A device or visitor the invitee and inviter have each sent, here or in any other request
  // remembered for them (links, invite codes, accepts), is a shared device too.
  const sameDevice =
    inviterDevice(invite, input.deviceId) ||
    (await shareDevice(deps.store, invite.inviterId, input.inviteeId, input.device ?? NO_DEVICE));

  for (;;) {
    const heldFor = [
      ...(sameDevice ? (['same_device'] as const) : []),
      ...(mutual ? (['mutual_invite'] as const) : []),
    ];
    const held = heldFor.length > 0;
    const outcome = acceptOutcome({ qualifyingAction: rules.qualifyingAction, existingCustomer, capReached });
    const binding: InviteBinding = {
      inviteId,
      campaignId: invite.campaignId,
      code: invite.code,
      inviterId: invite.inviterId,
      inviteeId: input.inviteeId,
      status: outcome.status,
      acceptedAt,
      ...(outcome.status === 'qualified' ? { qualifiedAt: acceptedAt } : {}),
      rewarded: outcome.rewarded,
      held,
      ...(held ? { heldFor } : {}),
      ...(outcome.reason ? { reason: outcome.reason } : {}),
      inviterReward: rules.inviterReward,
      inviteeReward: rules.inviteeReward,
      lockSeconds: rules.lockSeconds,
      ...(cap !== undefined ? { maxRewardedInvitesPerInviter: cap } : {}),
      ...(input.requestKey ? { requestKey: input.requestKey } : {}),
    };
    const events: TxItem[] = [
      outboxPut(
        'InviteAccepted',
        {
          inviteId,
          campaignId: invite.campaignId,
          code: invite.code,
          inviterId: invite.inviterId,
          inviteeId: input.inviteeId,
          ...(input.via ? { via: input.via } : {}),
        },
        deps.clock,
      ),
    ];
    if (outcome.status === 'qualified')
      events.push(
        outboxPut(
          'InviteQualified',
          {
            inviteId,
            campaignId: invite.campaignId,
            inviterId: invite.inviterId,
            inviteeId: input.inviteeId,
            rewarded: outcome.rewarded,
            held,
            inviterReward: rules.inviterReward,
            inviteeReward: rules.inviteeReward,
            lockSeconds: rules.lockSeconds,
          },
          deps.clock,
        ),
      );
    try {
      await insertBinding(deps.store, binding, {
        newCustomerOnly: !existingCustomer,
        notMutual: !mutual,
        ...(outcome.takesSlot && cap !== undefined ? { rewardCap: cap } : {}),
        events,
      });
      // Remembered once the accept is made (a refused one changes nothing), for later checks; the
      // accept stands when this write fails.
      if (input.device)
        await rememberUserDevices(deps.store, input.inviteeId, input.device).catch((e: Error) =>
          deps.log.warn('invitee device not remembered', { inviteeId: input.inviteeId, error: e }),
        );
      return acceptedView(binding);
    } catch (e) {
      const bound = e instanceof AlreadyInvitedError ? e.binding : undefined;
      if (madeByThisRequest(bound)) return acceptedView(bound);
      if (e instanceof ExistingCustomerError && !existingCustomer) existingCustomer = true;
      else if (e instanceof RewardCapReachedError && !capReached) capReached = true;
      else if (e instanceof MutualInviteError && !mutual) mutual = true;
      else throw e;
    }
  }
}
