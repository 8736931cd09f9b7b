import { SHOP_CLOCK_SKEW_MS } from '../orders/order.schema.ts';
import type { BindingStatus, InviteCode } from './invite.schema.ts';

/** Length of invite codes: 8 characters of a 31-letter alphabet ≈ 40 bits, never sequential. */
export const INVITE_CODE_LENGTH = 8;

/** The public H5 page of an invite code. */
export function inviteUrl(h5BaseUrl: string, code: string): string {
  return `${h5BaseUrl.replace(/\/+$/, '')}/invites/${code}`;
}

/** Inviter and invitee share a device when both sent the same `X-Device-Id`; a missing id on either side never matches. */
export function sameDevice(a: string | undefined, b: string | undefined): boolean {
  return Boolean(a && b && a === b);
}

/**
 * Whether the invitee's device is one the inviter sent asking for this code, as codes stored it
 * before devices were remembered per user (shareDevice covers every later one).
 */
export function inviterDevice(
  code: Pick<InviteCode, 'inviterDeviceId' | 'inviterDeviceIds'>,
  deviceId?: string,
): boolean {
  return sameDevice(code.inviterDeviceId, deviceId) || Boolean(deviceId && code.inviterDeviceIds?.includes(deviceId));
}

/** What a new binding becomes, and whether it takes one of the inviter's rewarded slots. */
export interface BindingOutcome {
  status: BindingStatus;
  rewarded: boolean;
  /** The binding qualifies now and wants a rewarded slot (the counter is incremented conditionally). */
  takesSlot: boolean;
  reason?: 'existing_customer' | 'reward_cap_reached' | 'campaign_inactive';
}

/** An outcome that settles a binding for good. */
export type SettledOutcome = BindingOutcome & { status: 'qualified' | 'ineligible' };

/**
 * The outcome of an accept: an existing customer (first order paid before accepting) is recorded
 * without reward; a `first_order` binding waits; a `signup` binding qualifies at once and is
 * rewarded while the inviter is under `maxRewardedInvitesPerInviter`.
 */
export function acceptOutcome(input: {
  qualifyingAction: 'signup' | 'first_order';
  existingCustomer: boolean;
  capReached: boolean;
}): BindingOutcome {
  if (input.existingCustomer)
    return { status: 'ineligible', rewarded: false, takesSlot: false, reason: 'existing_customer' };
  if (input.qualifyingAction === 'first_order') return { status: 'pending', rewarded: false, takesSlot: false };
  return qualifiedOutcome(input.capReached);
}

/**
 * The outcome of a pending binding on the invitee's first paid order: an order paid before the
 * accept (a late webhook) means the invitee was not a new user; otherwise it qualifies. The
 * shop's clock may run up to SHOP_CLOCK_SKEW_MS behind this one, so only a `paidAt` earlier
 * than that before the accept counts as before it. An order paid while the campaign was not active
 * qualifies the invitee without reward, as a commission campaign then attributes nothing.
 */
export function firstOrderOutcome(input: {
  paidAt: string;
  acceptedAt: string;
  capReached: boolean;
  /** Whether the campaign was active when the order was paid (its dates and its recorded pauses, at `paidAt`). */
  campaignActive: boolean;
}): SettledOutcome {
  if (Date.parse(input.paidAt) < Date.parse(input.acceptedAt) - SHOP_CLOCK_SKEW_MS)
    return { status: 'ineligible', rewarded: false, takesSlot: false, reason: 'existing_customer' };
  if (!input.campaignActive)
    return { status: 'qualified', rewarded: false, takesSlot: false, reason: 'campaign_inactive' };
  return qualifiedOutcome(input.capReached);
}

function qualifiedOutcome(capReached: boolean): SettledOutcome {
  return capReached
    ? { status: 'qualified', rewarded: false, takesSlot: false, reason: 'reward_cap_reached' }
    : { status: 'qualified', rewarded: true, takesSlot: true };
}

/** The code a user typed or pasted: codes are lowercase, so ` AB3DEF9G ` is `ab3def9g`. */
export const normalCode = (code: string): string => code.trim().toLowerCase();
