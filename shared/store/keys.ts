import { createHash } from 'node:crypto';
import { digestOf } from '../ids.ts';
import { noteDueItem } from './due-soon.ts';
/**
 * Every key of the single table is built here, one function per item kind, so the whole
 * key design can be read in one place. Conventions: `pk`/`sk` are `KIND#id`; secondary
 * access goes through gsi1/gsi2; gsi3 is the sweeper's due index and gsi4 the outbox.
 */
import type { Key } from './store.ts';

/** Shards of the due and outbox indexes, so no single index partition takes every write. */
export const INDEX_SHARDS = 8;

/** A stable shard in [0, n) for an id. */
export function shardOf(id: string, n = INDEX_SHARDS): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) | 0;
  return Math.abs(h) % n;
}

// ── platform ────────────────────────────────────────────────────────────────

export const campaignKey = (id: string): Key => ({ pk: `CAMPAIGN#${id}`, sk: 'CAMPAIGN' });
/** An ended group-buy campaign whose open groups are still to close (the `campaign-end` sweep). */
export const campaignEndKey = (campaignId: string): Key => ({ pk: `CAMPAIGN_END#${campaignId}`, sk: 'END' });
/** gsi1: campaigns by type, newest first. */
export const campaignByTypeIndex = (type: string, createdAt: string, id: string) => ({
  gsi1pk: `CAMPAIGNS#${type}`,
  gsi1sk: `${createdAt}#${id}`,
});

/** Hashed, so a long path or key can never push the partition key past DynamoDB's 2 KB limit. */
export const idempotencyKey = (scope: string): Key => ({
  pk: `IDEM#${createHash('sha256').update(scope).digest('base64url')}`,
  sk: 'IDEM',
});

export const outboxKey = (eventId: string): Key => ({ pk: `EVENT#${eventId}`, sk: 'EVENT' });
/** gsi4: events not yet delivered by the local bus, in id (time) order per shard. */
export const outboxPendingIndex = (eventId: string) => ({
  gsi4pk: `OUTBOX#${shardOf(eventId)}`,
  gsi4sk: eventId,
});
export const outboxShardPk = (shard: number) => `OUTBOX#${shard}`;

export const deadLetterKey = (id: string): Key => ({ pk: `DEADLETTER#${id}`, sk: 'DEADLETTER' });
/** gsi1: dead letters, newest first. */
export const deadLetterListPk = 'DEADLETTERS';
export const deadLetterListIndex = (id: string) => ({ gsi1pk: deadLetterListPk, gsi1sk: id });
/** The queue message a dead letter was recorded from: a redelivered message finds it and records nothing. */
export const deadLetterMessageKey = (consumer: string, messageId: string): Key => ({
  pk: `DEADLETTERMSG#${consumer}#${messageId}`,
  sk: 'DEADLETTERMSG',
});

/** gsi3: an item the sweeper must visit at `dueAt` for `task`. Remove the attributes once handled. */
export const dueIndex = (task: string, dueAtIso: string, id: string) => {
  noteDueItem(dueAtIso);
  return { gsi3pk: `DUE#${task}#${shardOf(id)}`, gsi3sk: `${dueAtIso}#${id}` };
};
export const dueShardPk = (task: string, shard: number) => `DUE#${task}#${shard}`;

/** Marks a consumer's handling of one event, so a redelivery has no second effect. */
export const consumedKey = (consumer: string, causeId: string): Key => ({
  pk: `CONSUMED#${consumer}#${causeId}`,
  sk: 'CONSUMED',
});

// ── invites ─────────────────────────────────────────────────────────────────

/** An invite code: who invites into which campaign. */
export const inviteCodeKey = (code: string): Key => ({ pk: `INVITE#${code}`, sk: 'INVITE' });
/** A user's one code in a campaign: put with attribute_not_exists, so the first code drawn stays. */
export const inviterCodeKey = (campaignId: string, inviterId: string): Key => ({
  pk: `INVITER#${inviterId}`,
  sk: `CODE#${campaignId}`,
});
/** How many of an inviter's bindings in a campaign earned a reward (capped by `maxRewardedInvitesPerInviter`). */
export const inviteRewardCountKey = (campaignId: string, inviterId: string): Key => ({
  pk: `INVITER#${inviterId}`,
  sk: `REWARDED#${campaignId}`,
});
/**
 * An invitee's binding in a campaign: one item per (campaign, invitee), so the first accept wins.
 * All of an invitee's bindings share the partition, read consistently when their first order is paid.
 */
export const inviteBindingKey = (campaignId: string, inviteeId: string): Key => ({
  pk: `INVITEE#${inviteeId}`,
  sk: `BINDING#${campaignId}`,
});
export const inviteBindingPrefix = 'BINDING#';
/** gsi1: an inviter's bindings in a campaign, newest first. */
export const invitesByInviterIndex = (
  campaignId: string,
  inviterId: string,
  acceptedAt: string,
  inviteeId: string,
) => ({
  gsi1pk: invitesByInviterPk(campaignId, inviterId),
  gsi1sk: `${acceptedAt}#${inviteeId}`,
});
export const invitesByInviterPk = (campaignId: string, inviterId: string) => `INVITES#${campaignId}#${inviterId}`;
/**
 * gsi2: bindings that qualified with a reward, by the UTC day they qualified, sharded like the
 * ledger's day index (reconciliation checks each one reached the ledger).
 */
export const rewardedInviteDayIndex = (qualifiedAt: string, inviteId: string) => ({
  gsi2pk: rewardedInviteDayPk(qualifiedAt.slice(0, 10), shardOf(inviteId)),
  gsi2sk: `${qualifiedAt}#${inviteId}`,
});
export const rewardedInviteDayPk = (day: string, shard: number) => `INVITEDAY#${day}#${shard}`;
/** Marks that a user's first order was paid (written by the order webhook). */
export const firstOrderKey = (userId: string): Key => ({ pk: `USER#${userId}`, sk: 'FIRST_ORDER' });
/** The devices (hashed `X-Device-Id`s) and `fission_vid` visitors a user has sent, for same-device holds. */
export const userDevicesKey = (userId: string): Key => ({ pk: `USER#${userId}`, sk: 'DEVICES' });

// ── ledger ──────────────────────────────────────────────────────────────────

/** A ledger entry (id derived from its cause, see shared/domain/ledger/rules.ts). */
export const ledgerEntryKey = (id: string): Key => ({ pk: `LEDGER#${id}`, sk: 'ENTRY' });
/** gsi1: a payee's entries in time order. */
export const ledgerByPayeeIndex = (payeeId: string, createdAt: string, id: string) => ({
  gsi1pk: ledgerByPayeePk(payeeId),
  gsi1sk: `${createdAt}#${id}`,
});
export const ledgerByPayeePk = (payeeId: string) => `LEDPAYEE#${payeeId}`;
/**
 * gsi2: every entry of one UTC day in time order (exports and reconciliation by period), sharded
 * so a busy day's writes spread over several index partitions; readers merge the shards.
 */
export const ledgerByDayIndex = (createdAt: string, id: string) => ({
  gsi2pk: ledgerByDayPk(createdAt.slice(0, 10), shardOf(id)),
  gsi2sk: `${createdAt}#${id}`,
});
export const ledgerByDayPk = (day: string, shard: number) => `LEDDAY#${day}#${shard}`;
/** A payee's balance of one asset; all assets of a payee share the partition. */
export const ledgerBalanceKey = (payeeId: string, asset: string): Key => ({
  pk: `LEDBAL#${payeeId}`,
  sk: `ASSET#${asset}`,
});
export const ledgerBalancePk = (payeeId: string) => `LEDBAL#${payeeId}`;
/** gsi1 (sparse): balances with a non-zero available amount, the payees a payout looks at; sharded. */
export const ledgerPayableIndex = (asset: string, payeeId: string) => ({
  gsi1pk: `LEDPAYABLE#${asset}#${shardOf(payeeId)}`,
  gsi1sk: payeeId,
});
export const ledgerPayablePk = (asset: string, shard: number) => `LEDPAYABLE#${asset}#${shard}`;
/** gsi2: every balance, for reconciliation over all time; sharded. */
export const ledgerBalanceListIndex = (asset: string, payeeId: string) => ({
  gsi2pk: `LEDBALS#${shardOf(payeeId)}`,
  gsi2sk: `${payeeId}#${asset}`,
});
export const ledgerBalanceListPk = (shard: number) => `LEDBALS#${shard}`;
/** The payee's entries that are available and not held: what the next payout takes. */
export const ledgerAvailableKey = (payeeId: string, asset: string, entryId: string): Key => ({
  pk: `LEDAVAIL#${payeeId}#${asset}`,
  sk: entryId,
});
export const ledgerAvailablePk = (payeeId: string, asset: string) => `LEDAVAIL#${payeeId}#${asset}`;
/** The minimum payout of a commission campaign a payee earned in (one item per campaign). */
export const ledgerPayeeCampaignKey = (payeeId: string, campaignId: string): Key => ({
  pk: `LEDMINPAY#${payeeId}`,
  sk: campaignId,
});
export const ledgerPayeeCampaignPk = (payeeId: string) => `LEDMINPAY#${payeeId}`;
/**
 * A refund that arrived before the commission it reverses: one item per refund under the
 * commission entry id, so refunds parking at once never contend for one item.
 */
export const ledgerPendingReversalKey = (commissionEntryId: string, refundId: string): Key => ({
  pk: ledgerPendingReversalPk(commissionEntryId),
  sk: `REFUND#${refundId}`,
});
export const ledgerPendingReversalPk = (commissionEntryId: string) => `LEDPENDING#${commissionEntryId}`;
/** A payout's header. */
export const payoutKey = (id: string): Key => ({ pk: `PAYOUT#${id}`, sk: 'PAYOUT' });
/** One payee's line of a payout. */
export const payoutItemKey = (id: string, payeeId: string): Key => ({ pk: `PAYOUT#${id}`, sk: `ITEM#${payeeId}` });
/**
 * A page of a payout line's entry ids (one per move of up to 45 entries, named by its first entry),
 * so a line of any size stays within DynamoDB's 400 KB item limit. `ITEM` begins both kinds of sk.
 */
export const payoutItemPageKey = (id: string, payeeId: string, firstEntryId: string): Key => ({
  pk: `PAYOUT#${id}`,
  sk: `ITEMPAGE#${payeeId}#${firstEntryId}`,
});
export const payoutPk = (id: string) => `PAYOUT#${id}`;
/** gsi1: payouts in creation order. */
export const payoutListIndex = (createdAt: string, id: string) => ({ gsi1pk: 'PAYOUTS', gsi1sk: `${createdAt}#${id}` });
export const PAYOUTS_PK = 'PAYOUTS';
/** A group-buy or bargain outcome recorded for finance's view (one per event). */
export const financeActivityKey = (eventId: string): Key => ({ pk: `FINACT#${eventId}`, sk: 'ACTIVITY' });
/** gsi2: finance activity by UTC day. */
export const financeActivityByDayIndex = (occurredAt: string, eventId: string) => ({
  gsi2pk: financeActivityDayPk(occurredAt.slice(0, 10)),
  gsi2sk: `${occurredAt}#${eventId}`,
});
export const financeActivityDayPk = (day: string) => `FINACT#${day}`;

// ── group-buys ──────────────────────────────────────────────────────────────

/** A group buy; its members live in the same partition (`MEMBER#<userId>`). */
export const groupBuyKey = (id: string): Key => ({ pk: `GROUPBUY#${id}`, sk: 'GROUPBUY' });
/** One member of a group buy (the leader included). */
export const groupBuyMemberKey = (id: string, userId: string): Key => ({
  pk: `GROUPBUY#${id}`,
  sk: `GBMEMBER#${userId}`,
});
export const groupBuyPk = (id: string) => `GROUPBUY#${id}`;
/**
 * An open group's timer: one small item in the sweeper's due index (gsi3) and in the led-groups
 * index (gsi2), kept off the group item so that its many writes stay out of those indexes.
 * Written when the group opens, deleted when it closes.
 */
export const groupBuyTimerKey = (id: string): Key => ({ pk: `GROUPBUY#${id}`, sk: 'TIMER' });
export const GROUP_BUY_MEMBER_PREFIX = 'GBMEMBER#';
/** Order → group, so an `OrderRefunded` finds its group with one GetItem (and an order serves one group). */
export const groupBuyOrderKey = (orderId: string): Key => ({ pk: `GBORDER#${orderId}`, sk: 'GBORDER' });
/** How many open groups a user leads in a campaign (`maxOpenGroupsPerUser`). */
export const groupBuyLeaderCountKey = (campaignId: string, userId: string): Key => ({
  pk: `GBLEADER#${campaignId}#${userId}`,
  sk: 'OPEN',
});
/**
 * gsi1: a campaign's open groups, fewest open slots first, then soonest expiry. Rewritten by
 * every join and leave, removed when the group closes (sparse).
 */
export const groupBuyOpenIndex = (campaignId: string, slotsLeft: number, expiresAt: string, id: string) => ({
  gsi1pk: groupBuyOpenPk(campaignId),
  gsi1sk: `${String(slotsLeft).padStart(2, '0')}#${expiresAt}#${id}`,
});
export const groupBuyOpenPk = (campaignId: string) => `GBOPEN#${campaignId}`;
/** gsi2 (on the `groupBuyTimerKey` item): the open groups a user leads in a campaign, by expiry; deleted on close. */
export const groupBuyLedIndex = (campaignId: string, leaderId: string, expiresAt: string, id: string) => ({
  gsi2pk: groupBuyLedPk(campaignId, leaderId),
  gsi2sk: `${expiresAt}#${id}`,
});
export const groupBuyLedPk = (campaignId: string, leaderId: string) => `GBLED#${campaignId}#${leaderId}`;

// ── links, shares, orders, KOL stats ───────────────────────────────────────

/** Shards of a link's click counters and of a KOL's daily stats: a hot link spreads its writes over these. */
export const CLICK_SHARDS = 16;

export const linkKey = (code: string): Key => ({ pk: `LINK#${code}`, sk: 'LINK' });
/** gsi1: a KOL's links, newest first. */
export const linksByOwnerIndex = (ownerId: string, createdAt: string, code: string) => ({
  gsi1pk: linksByOwnerPk(ownerId),
  gsi1sk: `${createdAt}#${code}`,
});
export const linksByOwnerPk = (ownerId: string) => `LINKS#${ownerId}`;
/** One of a link's click counter shards (each its own partition); the totals are their sum. */
export const linkCounterKey = (code: string, shard: number): Key => ({ pk: `LINKCOUNT#${code}#${shard}`, sk: 'COUNT' });
/** The last click of one visitor on one link: decides whether a click is unique (30-minute rule). */
export const linkVisitorKey = (code: string, visitorId: string): Key => ({
  pk: `LINKVISIT#${code}#${visitorId}`,
  sk: 'VISIT',
});
/** A visitor seen in a scope (a KOL's UTC day, or an owner's shares of one object): counts each visitor once there. */
export const visitorSeenKey = (scope: string, visitorId: string): Key => ({
  pk: `SEEN#${scope}#${visitorId}`,
  sk: 'SEEN',
});
/** A visitor's (`v:<id>`) or user's (`u:<id>`) click history, queried by time for attribution. */
export const clickHistoryPk = (subject: string) => `VCLICKS#${subject}`;
export const clickHistoryKey = (subject: string, clickedAt: string, code: string): Key => ({
  pk: clickHistoryPk(subject),
  sk: `${clickedAt}#${code}`,
});

/** A user's shares of one object and its stats item (sk `STATS`). */
export const shareObjectPk = (ownerId: string, objectType: string, objectId: string) =>
  `SHAREOBJ#${ownerId}#${objectType}#${objectId}`;
export const shareKey = (ownerId: string, objectType: string, objectId: string, shareId: string): Key => ({
  pk: shareObjectPk(ownerId, objectType, objectId),
  sk: `SHARE#${shareId}`,
});
export const shareStatsKey = (ownerId: string, objectType: string, objectId: string): Key => ({
  pk: shareObjectPk(ownerId, objectType, objectId),
  sk: 'STATS',
});
/**
 * Marks that one acting user converted on an owner's shares of one object, so each user counts
 * once in the object's stats whichever of the owner's shares they came through.
 */
export const shareConversionKey = (ownerId: string, objectType: string, objectId: string, userId: string): Key => ({
  pk: `SHARECONV#${digestOf(ownerId, objectType, objectId, userId)}`,
  sk: 'SHARECONV',
});

/** A KOL's stats for one UTC day in one shard; a day's figures are the sum over the shards. */
export const kolDayPk = (kolId: string, shard: number) => `KOLDAY#${kolId}#${shard}`;
export const kolDayKey = (kolId: string, shard: number, day: string): Key => ({ pk: kolDayPk(kolId, shard), sk: day });

export const orderKey = (orderId: string): Key => ({ pk: `ORDER#${orderId}`, sk: 'ORDER' });
/**
 * gsi2: orders that earned a commission, by the UTC day they were recorded, sharded like the
 * ledger's day index (reconciliation checks each one reached the ledger).
 */
export const commissionOrderDayIndex = (createdAt: string, orderId: string) => ({
  gsi2pk: commissionOrderDayPk(createdAt.slice(0, 10), shardOf(orderId)),
  gsi2sk: `${createdAt}#${orderId}`,
});
export const commissionOrderDayPk = (day: string, shard: number) => `ORDERDAY#${day}#${shard}`;
/** gsi2: refunds that reverse some commission, by the UTC day they were recorded (as the orders). */
export const reversingRefundDayIndex = (createdAt: string, orderId: string, refundId: string) => ({
  gsi2pk: reversingRefundDayPk(createdAt.slice(0, 10), shardOf(orderId)),
  gsi2sk: `${createdAt}#${orderId}#${refundId}`,
});
export const reversingRefundDayPk = (day: string, shard: number) => `REFUNDDAY#${day}#${shard}`;
/**
 * A refund of an order attributed to `kolId` whose commission reversal is not written yet (put
 * with the refund, removed once its event is handled): payouts leave that commission out meanwhile.
 */
export const reversalDueKey = (kolId: string, orderId: string, refundId: string): Key => ({
  pk: reversalDuePk(kolId),
  sk: digestOf('refund', orderId, refundId),
});
export const reversalDuePk = (kolId: string) => `REVERSALDUE#${kolId}`;
export const refundKey = (orderId: string, refundId: string): Key => ({
  pk: `ORDER#${orderId}`,
  sk: `REFUND#${refundId}`,
});

// ── bargains ────────────────────────────────────────────────────────────────

/** A bargain chain; its help items share the partition, so one Query reads the chain and its helpers. */
export const bargainKey = (chainId: string): Key => ({ pk: `BARGAIN#${chainId}`, sk: 'BARGAIN' });
/** One user's help on one chain: `attribute_not_exists` makes a second help by the same user fail. */
export const bargainHelpKey = (chainId: string, helperId: string): Key => ({
  pk: `BARGAIN#${chainId}`,
  sk: `HELP#${helperId}`,
});
export const bargainHelpPrefix = 'HELP#';
/** A chain's cut schedule: written once at start beside the chain, so each help rewrites only the small chain item. */
export const bargainScheduleKey = (chainId: string): Key => ({ pk: `BARGAIN#${chainId}`, sk: 'SCHEDULE' });
/** A small item carrying an active chain's place in the sweeper's due index, so helps never rewrite an index entry. */
export const bargainDueKey = (chainId: string): Key => ({ pk: `BARGAIN#${chainId}`, sk: 'DUE' });
/** The one-active-chain-per-user-per-campaign lock; names the chain holding it. */
export const bargainLockKey = (campaignId: string, userId: string): Key => ({
  pk: `BARGAIN_LOCK#${campaignId}#${userId}`,
  sk: 'LOCK',
});
/**
 * A user as the bargain service knows them: absent = a new user (never started or helped a chain);
 * also counts their helps per UTC day across all chains (`maxHelpsPerUserPerDay`).
 */
export const bargainUserKey = (userId: string): Key => ({ pk: `BARGAIN_USER#${userId}`, sk: 'SEEN' });
/** How much of a campaign's `stock` completed or purchased chains have used. */
export const bargainStockKey = (campaignId: string): Key => ({ pk: `BARGAIN_STOCK#${campaignId}`, sk: 'STOCK' });
