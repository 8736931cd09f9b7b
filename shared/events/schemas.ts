import { z } from 'zod';
import { FAIL_REASONS, LEFT_REASONS } from '../domain/group-buys/group-buy.schema.ts';
import { utcTimeSchema } from '../domain/time.ts';

/** EventBridge `source` of every Fission event. */
export const EVENT_SOURCE = 'fission.growth';

const money = z.number().int();
const asset = z.enum(['cash', 'points']);
/** How the acting user reached the action (share link clicks), for share conversions. */
const via = z.object({ visitorId: z.string().optional(), ref: z.string().optional() }).optional();

const envelope = { eventId: z.string(), occurredAt: utcTimeSchema, version: z.literal(1) };

/** Every event's own fields, by `detail-type`. `detail` = envelope + these. */
export const eventFields = {
  BargainStarted: z.object({
    chainId: z.string(),
    campaignId: z.string(),
    initiatorId: z.string(),
    sku: z.string(),
    originalPrice: money,
    floorPrice: money,
    helpersRequired: z.number().int(),
    expiresAt: utcTimeSchema,
  }),
  BargainHelped: z.object({
    chainId: z.string(),
    campaignId: z.string(),
    helperId: z.string(),
    cut: money,
    price: money,
    helperCount: z.number().int(),
    via,
  }),
  BargainCompleted: z.object({
    chainId: z.string(),
    campaignId: z.string(),
    initiatorId: z.string(),
    sku: z.string(),
    price: money,
    entitlementId: z.string(),
  }),
  BargainExpired: z.object({
    chainId: z.string(),
    campaignId: z.string(),
    initiatorId: z.string(),
    price: money,
    helperCount: z.number().int(),
  }),
  BargainPurchased: z.object({
    chainId: z.string(),
    campaignId: z.string(),
    initiatorId: z.string(),
    sku: z.string(),
    price: money,
    entitlementId: z.string(),
  }),
  GroupBuyOpened: z.object({
    groupId: z.string(),
    campaignId: z.string(),
    leaderId: z.string(),
    orderId: z.string(),
    groupSize: z.number().int(),
    expiresAt: utcTimeSchema,
  }),
  GroupBuyJoined: z.object({
    groupId: z.string(),
    campaignId: z.string(),
    userId: z.string(),
    orderId: z.string(),
    memberCount: z.number().int(),
    via,
  }),
  GroupBuyLeft: z.object({
    groupId: z.string(),
    campaignId: z.string(),
    userId: z.string(),
    orderId: z.string(),
    memberCount: z.number().int(),
    /**
     * `left`: the member left (DELETE …/members/me); `order_refunded`: the member's order was
     * refunded in full; `order_of_another_user`: the shop reported the order paid by another user.
     * Absent on events from before it was added.
     */
    reason: z.enum(LEFT_REASONS).optional(),
  }),
  GroupBuyFormed: z.object({
    groupId: z.string(),
    campaignId: z.string(),
    sku: z.string(),
    leaderId: z.string(),
    members: z.array(
      z.object({
        userId: z.string(),
        orderId: z.string().nullable(),
        price: money,
        isLeader: z.boolean(),
        simulated: z.boolean(),
      }),
    ),
  }),
  GroupBuyFailed: z.object({
    groupId: z.string(),
    campaignId: z.string(),
    leaderId: z.string(),
    reason: z.enum(FAIL_REASONS),
    refunds: z.array(z.object({ userId: z.string(), orderId: z.string() })),
  }),
  InviteAccepted: z.object({
    inviteId: z.string(),
    campaignId: z.string(),
    code: z.string(),
    inviterId: z.string(),
    inviteeId: z.string(),
    via,
  }),
  InviteQualified: z.object({
    inviteId: z.string(),
    campaignId: z.string(),
    inviterId: z.string(),
    inviteeId: z.string(),
    /** False when the inviter is over `maxRewardedInvitesPerInviter`: recorded, not rewarded. */
    rewarded: z.boolean(),
    /** True when both sides share a device: rewards are recorded but held for review. */
    held: z.boolean(),
    inviterReward: z.object({ asset, amount: money }),
    inviteeReward: z.object({ asset, amount: money }),
    lockSeconds: z.number().int().nonnegative(),
  }),
  OrderPaid: z.object({
    orderId: z.string(),
    userId: z.string(),
    amount: money,
    currency: z.string(),
    paidAt: utcTimeSchema,
    /** True when this is the first paid order the system has seen from this user. */
    firstOrder: z.boolean(),
  }),
  OrderAttributed: z.object({
    orderId: z.string(),
    userId: z.string(),
    amount: money,
    currency: z.string(),
    paidAt: utcTimeSchema,
    campaignId: z.string(),
    linkCode: z.string(),
    kolId: z.string(),
    rateBps: z.number().int(),
    /** floor(amount * rateBps / 10000), rounded toward the payer. */
    commission: money,
    lockSeconds: z.number().int().nonnegative(),
    minPayout: money,
    held: z.boolean(),
  }),
  OrderRefunded: z.object({
    orderId: z.string(),
    refundId: z.string(),
    amount: money,
    orderAmount: money,
    refundedTotal: money,
    refundedAt: utcTimeSchema,
    /** Present when the order was attributed: the commission to reverse for this refund (≥ 0). */
    kolId: z.string().optional(),
    campaignId: z.string().optional(),
    commission: money.optional(),
    reversal: money.optional(),
  }),
} as const;

export type EventName = keyof typeof eventFields;
export const EVENT_NAMES = Object.keys(eventFields) as EventName[];
export type EventFields<N extends EventName> = z.infer<(typeof eventFields)[N]>;
export type EventDetail<N extends EventName> = EventFields<N> & { eventId: string; occurredAt: string; version: 1 };

/** The full `detail` schema of an event: envelope plus its own fields. Consumers validate with it. */
export function detailSchema<N extends EventName>(name: N) {
  return eventFields[name].extend(envelope);
}

/** An event as carried between the outbox, the bus and consumers (EventBridge's shape). */
export interface BusEvent<N extends EventName = EventName> {
  id: string;
  source: typeof EVENT_SOURCE;
  'detail-type': N;
  time: string;
  detail: EventDetail<N>;
}
