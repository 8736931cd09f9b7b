import { z } from 'zod';
import type { InviteRules } from '../campaigns/campaign.schema.ts';

/** `POST /v1/invites`: the invite campaign to get the caller's code for. */
export const createInviteSchema = z.strictObject({
  campaignId: z.string().min(1).max(64).describe('An invite campaign'),
});
export type CreateInviteInput = z.output<typeof createInviteSchema>;

/**
 * Where a binding stands: `pending` waits for the invitee's first paid order (`first_order`
 * campaigns), `qualified` has emitted `InviteQualified`, `ineligible` is recorded without reward
 * (the invitee had paid an order before accepting: not a new user).
 */
export const BINDING_STATUSES = ['pending', 'qualified', 'ineligible'] as const;
export type BindingStatus = (typeof BINDING_STATUSES)[number];

type Reward = InviteRules['inviterReward'];

/**
 * A user's code in a campaign, as stored: the inviter's name is kept for the public page. Devices
 * are not kept here: the caller's device goes, hashed, to the devices remembered per user.
 */
export interface InviteCode {
  code: string;
  campaignId: string;
  inviterId: string;
  /** The inviter's display name (JWT `name`) at creation; only ever shown masked. */
  inviterName?: string;
  /** The inviter's `X-Device-Id` at creation, on codes made before devices were remembered per user (hashed) and no longer written. */
  inviterDeviceId?: string;
  /** Other `X-Device-Id`s the inviter sent asking for this code later, on such codes. */
  inviterDeviceIds?: string[];
  createdAt: string;
  /** The Idempotency-Key (`requestKey`) of the request that made the code, when it had one: its retry answers 201. */
  requestKey?: string;
}

/** An invitee bound to an inviter in a campaign; the rules it settles under are copied at accept time. */
export interface InviteBinding {
  inviteId: string;
  campaignId: string;
  code: string;
  inviterId: string;
  inviteeId: string;
  status: BindingStatus;
  acceptedAt: string;
  qualifiedAt?: string;
  /** True once it qualified within `maxRewardedInvitesPerInviter`. */
  rewarded: boolean;
  /** Any reward is held for review: both sides sent the same `X-Device-Id`, or they invited each other. */
  held: boolean;
  /** Why the reward is held, when it is. */
  heldFor?: ('same_device' | 'mutual_invite')[];
  /** Why a binding earns nothing, when it does not. */
  reason?: 'existing_customer' | 'reward_cap_reached' | 'campaign_inactive';
  inviterReward: Reward;
  inviteeReward: Reward;
  lockSeconds: number;
  maxRewardedInvitesPerInviter?: number;
  /** The accept request's Idempotency-Key (`requestKey`), when it had one: its retry answers this binding. */
  requestKey?: string;
}

/** `POST /v1/invites` answer. */
export interface InviteCodeView {
  code: string;
  url: string;
  campaignId: string;
  inviterId: string;
  createdAt: string;
}

/** `GET /v1/invites/{code}` answer: no user ids, only a masked name. */
export interface InviteDescription {
  code: string;
  campaignId: string;
  inviter: { displayName?: string };
}

/** `POST /v1/invites/{code}/accept` answer. */
export interface AcceptedInvite {
  inviteId: string;
  campaignId: string;
  inviterId: string;
  inviteeId: string;
  status: 'accepted';
  acceptedAt: string;
}

/** One row of `GET /v1/invites/mine`. */
export interface MyInvite {
  inviteId: string;
  inviteeId: string;
  status: BindingStatus;
  acceptedAt: string;
  qualifiedAt?: string;
  rewarded: boolean;
  held: boolean;
  heldFor?: ('same_device' | 'mutual_invite')[];
}
