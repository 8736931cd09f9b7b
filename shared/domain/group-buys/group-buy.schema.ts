import { z } from 'zod';
import { externalId } from '../orders/order.schema.ts';

/** The same ids the order webhooks take, so this member's refund can reach the group. */
const orderIdSchema = externalId("The shop's order id for this member's purchase");

/** `POST /v1/group-buys`: open a group as its leader. */
export const openGroupSchema = z.strictObject({
  campaignId: z.string().min(1).max(64).describe('A group_buy campaign'),
  orderId: orderIdSchema,
});
export type OpenGroupInput = z.input<typeof openGroupSchema>;

/** `POST /v1/group-buys/{id}/members`: join a group. */
export const joinGroupSchema = z.strictObject({ orderId: orderIdSchema });
export type JoinGroupInput = z.input<typeof joinGroupSchema>;

export const GROUP_STATUSES = ['open', 'formed', 'failed'] as const;
export type GroupStatus = (typeof GROUP_STATUSES)[number];
/** Why a group failed. */
export const FAIL_REASONS = ['expired', 'leader_refunded', 'campaign_ended', 'leader_order_of_another_user'] as const;
export type FailReason = (typeof FAIL_REASONS)[number];
/** Why a member left a group (`GroupBuyLeft.reason`). */
export const LEFT_REASONS = ['left', 'order_refunded', 'order_of_another_user'] as const;
export type LeftReason = (typeof LEFT_REASONS)[number];

/** A real member, from its member item (keyed by user id in `roster`). */
export interface RosterEntry {
  orderId: string;
  /** Masked display name (`张*`); the raw name is never stored. */
  displayName?: string;
  joinedAt: string;
  /** Join order within the group (the group's `rev` the join wrote). */
  seq: number;
  isLeader: boolean;
  /** What this member pays: `leaderPrice` for the leader where set, else `groupPrice`. */
  price: number;
  /** The join request's Idempotency-Key (`requestKey`), when it had one: its retry answers this join. */
  requestKey?: string;
  /**
   * With `requestKey`: the member count this join wrote, which a retry of it answers again (what
   * the join answered, but for a loose join in a crowd, which answered the count read after it).
   */
  countAtJoin?: number;
}

/** A simulated member added by `autoFillOnExpiry`: no user, no order, never counted as a real user. */
export interface SimulatedMember {
  joinedAt: string;
  displayName: string;
}

/** A group buy with its members (`roster`, from the member items). `rev` grows with every write: joins, leaves and closes are conditioned on it. */
export interface GroupBuy {
  id: string;
  campaignId: string;
  leaderId: string;
  leaderOrderId: string;
  sku: string;
  originalPrice: number;
  groupPrice: number;
  leaderPrice?: number;
  groupSize: number;
  autoFillOnExpiry: boolean;
  status: GroupStatus;
  /** Members including simulated ones; always equals roster size + simulated length. */
  memberCount: number;
  roster: Record<string, RosterEntry>;
  simulated?: SimulatedMember[];
  expiresAt: string;
  createdAt: string;
  updatedAt: string;
  formedAt?: string;
  failedAt?: string;
  failReason?: FailReason;
  rev: number;
  /** Set by a join that lost a race: until then, joins skip the exact (revision) condition. */
  contendedUntil?: string;
}

/** A group as the API answers it (no user ids but the leader's, which the contract names). */
export interface GroupView {
  id: string;
  campaignId: string;
  leaderId: string;
  status: GroupStatus;
  groupSize: number;
  memberCount: number;
  slotsLeft: number;
  simulatedCount: number;
  expiresAt: string;
  shareUrl: string;
  sku: string;
  originalPrice: number;
  groupPrice: number;
  leaderPrice?: number;
  createdAt: string;
  formedAt?: string;
  failedAt?: string;
  failReason?: FailReason;
}

export interface MemberView {
  displayName?: string;
  joinedAt: string;
  isLeader: boolean;
  simulated: boolean;
}

/** `GET /v1/group-buys/{id}`: the group, its members (masked) and what the caller is to it. */
export interface GroupPage extends GroupView {
  members: MemberView[];
  viewer: { isMember: boolean; isLeader: boolean };
}
