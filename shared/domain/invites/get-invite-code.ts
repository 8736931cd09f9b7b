import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { madeByRequest } from '../../http/idempotency.ts';
import { randomCode } from '../../ids.ts';
import { findInviterCode, insertInviteCode } from '../../store/invites.ts';
import { type DeviceMarks, rememberUserDevices } from '../../store/user-devices.ts';
import { requireActiveCampaign } from '../campaigns/require-active-campaign.ts';
import { InviteCodeTakenError, InviterHasCodeError } from './invite.errors.ts';
import type { InviteCode, InviteCodeView } from './invite.schema.ts';
import { INVITE_CODE_LENGTH, inviteUrl } from './invite-rules.ts';

/** Draws of a fresh code before giving up (a clash among 31^8 codes is already rare). */
const MAX_DRAWS = 5;

const view = (c: InviteCode, h5BaseUrl: string): InviteCodeView => ({
  code: c.code,
  url: inviteUrl(h5BaseUrl, c.code),
  campaignId: c.campaignId,
  inviterId: c.inviterId,
  createdAt: c.createdAt,
});

/**
 * The caller's invite code in an active invite campaign: created on the first call, the same
 * code on every later one. Two first calls racing both get the code whose write won. The
 * caller's device is remembered on every call (rememberUserDevices), for the same-device check
 * on accept in any of their campaigns.
 */
export async function getInviteCode(
  deps: Pick<Deps, 'store' | 'clock' | 'config'>,
  input: {
    campaignId: string;
    inviterId: string;
    inviterName?: string;
    device?: DeviceMarks;
    requestKey?: string;
  },
): Promise<{ invite: InviteCodeView; created: boolean }> {
  await requireActiveCampaign(deps, input.campaignId, 'invite');
  // The inviter's device holds accepts from it in every invite campaign, not only this one.
  if (input.device) await rememberUserDevices(deps.store, input.inviterId, input.device);
  const base = deps.config.h5BaseUrl;
  const existing = await findInviterCode(deps.store, input.campaignId, input.inviterId);
  if (existing) {
    // A retry with the key of the request that made the code (its answer lost) answers as made.
    const made = madeByRequest(existing.requestKey, existing.createdAt, input.requestKey, deps.clock.now());
    return { invite: view(existing, base), created: made };
  }
  for (let draw = 0; draw < MAX_DRAWS; draw++) {
    const code: InviteCode = {
      code: randomCode(INVITE_CODE_LENGTH),
      campaignId: input.campaignId,
      inviterId: input.inviterId,
      ...(input.inviterName ? { inviterName: input.inviterName } : {}),
      createdAt: iso(deps.clock.now()),
      ...(input.requestKey ? { requestKey: input.requestKey } : {}),
    };
    try {
      await insertInviteCode(deps.store, code);
      return { invite: view(code, base), created: true };
    } catch (e) {
      if (e instanceof InviterHasCodeError) return { invite: view(e.existing, base), created: false };
      if (!(e instanceof InviteCodeTakenError)) throw e;
    }
  }
  throw new Error(`no free invite code after ${MAX_DRAWS} draws`);
}
