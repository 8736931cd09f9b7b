import { ConflictError, GoneError, NotFoundError } from '../../errors.ts';
import type {
  GroupBuy,
  GroupPage,
  GroupStatus,
  GroupView,
  MemberView,
  RosterEntry,
  SimulatedMember,
} from './group-buy.schema.ts';

/** Name of the sweep task that closes groups at `expiresAt`. */
export const GROUP_EXPIRY_TASK = 'group-expiry';

/** How often a join, leave or close re-reads and tries again after losing a race (each loss means another write won). */
export const MAX_GROUP_WRITE_ATTEMPTS = 120;

export class AlreadyMemberError extends ConflictError {
  constructor() {
    super('already_member', 'You are already a member of this group.');
  }
}
export class GroupFullError extends ConflictError {
  constructor() {
    super('group_full', 'The last open slot was taken by another member while this join was in flight.');
  }
}
export class GroupClosedError extends GoneError {
  constructor() {
    super('group_closed', 'The group is formed, failed or past its expiry.');
  }
}
export class TooManyOpenGroupsError extends ConflictError {
  constructor(max: number) {
    super('too_many_open_groups', `You already lead ${max} open group(s) in this campaign.`);
  }
}
export class OrderInUseError extends ConflictError {
  /** `inUse`: the group the order is in, and how (when the store could say). */
  constructor(readonly inUse?: { groupId: string; campaignId: string; userId: string; isLeader: boolean }) {
    super('conflict', 'This order already belongs to a group buy.');
  }
}
/** 409 `conflict`: a group cannot be opened or joined with an order the shop has refunded in full. */
export class OrderRefundedError extends ConflictError {
  constructor() {
    super('conflict', 'This order was refunded in full: it cannot open or join a group.');
  }
}
/**
 * 404: the order is another user's (the shop's paid webhook names its buyer, or another user's
 * group holds it). Answered as an unknown order, so no one learns of another user's order.
 */
export class OrderOfAnotherUserError extends NotFoundError {
  constructor() {
    super('order');
  }
}
/** The group changed between our read and our write: try again from `group`, the item as it now is. */
export class StaleGroupError extends Error {
  constructor(readonly group: GroupBuy | undefined) {
    super('group changed concurrently');
  }
}

/** The status a reader sees: an open group past `expiresAt` is already failed (or formed, with `autoFillOnExpiry`). */
export function effectiveStatus(g: Pick<GroupBuy, 'status' | 'expiresAt' | 'autoFillOnExpiry'>, nowMs: number) {
  if (g.status !== 'open') return g.status;
  if (Date.parse(g.expiresAt) <= nowMs) return g.autoFillOnExpiry ? 'formed' : 'failed';
  return 'open' as GroupStatus;
}

/** Whether a join or leave may still change the group now. */
export const isOpenNow = (g: GroupBuy, nowMs: number): boolean => effectiveStatus(g, nowMs) === 'open';

/** What a member pays: the leader pays `leaderPrice` where the campaign sets one, everyone else `groupPrice`. */
export const memberPrice = (g: Pick<GroupBuy, 'groupPrice' | 'leaderPrice'>, isLeader: boolean): number =>
  isLeader && g.leaderPrice !== undefined ? g.leaderPrice : g.groupPrice;

/** Open slots left (never negative). */
export const slotsLeft = (g: Pick<GroupBuy, 'groupSize' | 'memberCount'>): number =>
  Math.max(0, g.groupSize - g.memberCount);

/** Simulated members that complete `g` at `atIso` (`autoFillOnExpiry`). */
export function simulatedFill(g: GroupBuy, atIso: string): SimulatedMember[] {
  const n = slotsLeft(g);
  return Array.from({ length: n }, (_, i) => ({
    joinedAt: atIso,
    displayName: `${SIM_INITIALS[i % SIM_INITIALS.length]}**`,
  }));
}
const SIM_INITIALS = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵'];

/** Real members, leader first, then in join order. */
export function rosterInOrder(g: GroupBuy): [string, RosterEntry][] {
  return Object.entries(g.roster ?? {}).sort(
    ([, a], [, b]) =>
      Number(b.isLeader) - Number(a.isLeader) || a.joinedAt.localeCompare(b.joinedAt) || (a.seq ?? 0) - (b.seq ?? 0),
  );
}

/** `GroupBuyFormed.members`: every real member's order and price, then the simulated ones (no order). */
export function formedMembers(g: GroupBuy, simulated: SimulatedMember[] = g.simulated ?? []) {
  return [
    ...rosterInOrder(g).map(([userId, m]) => ({
      userId,
      orderId: m.orderId,
      price: m.price,
      isLeader: m.isLeader,
      simulated: false,
    })),
    ...simulated.map((_, i) => ({
      userId: `simulated:${g.id}:${i + 1}`,
      orderId: null,
      price: g.groupPrice,
      isLeader: false,
      simulated: true,
    })),
  ];
}

/** `GroupBuyFailed.refunds`: every real member's order, except one already refunded (the leader's on `leader_refunded`). */
export function refundsOf(g: GroupBuy, alreadyRefundedOrderId?: string) {
  return rosterInOrder(g)
    .filter(([, m]) => m.orderId !== alreadyRefundedOrderId)
    .map(([userId, m]) => ({ userId, orderId: m.orderId }));
}

/**
 * Why a join's conditional write failed, from the group as it now is: already a member, closed
 * (formed before we saw it, failed, expired), full (the last slot went to a concurrent join while
 * ours was in flight), or merely changed (stale: retry).
 */
export function joinRefusal(
  old: GroupBuy | undefined,
  userId: string,
  nowMs: number,
): AlreadyMemberError | GroupFullError | GroupClosedError | StaleGroupError {
  if (!old) return new StaleGroupError(undefined);
  if (old.roster?.[userId]) return new AlreadyMemberError();
  if (old.status === 'formed' || (old.status === 'open' && old.memberCount >= old.groupSize))
    return new GroupFullError();
  if (!isOpenNow(old, nowMs)) return new GroupClosedError();
  return new StaleGroupError(old);
}

/** The group as the API answers it, with the status a reader sees now. */
export function viewOf(g: GroupBuy, nowMs: number, h5BaseUrl: string): GroupView {
  const status = effectiveStatus(g, nowMs);
  const pendingFill = g.status === 'open' && status === 'formed' ? slotsLeft(g) : 0;
  const simulatedCount = (g.simulated?.length ?? 0) + pendingFill;
  const memberCount = g.memberCount + pendingFill;
  return {
    id: g.id,
    campaignId: g.campaignId,
    leaderId: g.leaderId,
    status,
    groupSize: g.groupSize,
    memberCount,
    slotsLeft: status === 'open' ? g.groupSize - memberCount : 0,
    simulatedCount,
    expiresAt: g.expiresAt,
    shareUrl: `${h5BaseUrl.replace(/\/$/, '')}/group-buys/${g.id}`,
    sku: g.sku,
    originalPrice: g.originalPrice,
    groupPrice: g.groupPrice,
    ...(g.leaderPrice !== undefined ? { leaderPrice: g.leaderPrice } : {}),
    createdAt: g.createdAt,
    ...(g.formedAt ? { formedAt: g.formedAt } : status === 'formed' ? { formedAt: g.expiresAt } : {}),
    ...(g.failedAt ? { failedAt: g.failedAt } : status === 'failed' ? { failedAt: g.expiresAt } : {}),
    ...(g.failReason ? { failReason: g.failReason } : status === 'failed' ? { failReason: 'expired' as const } : {}),
  };
}

/** The group page: members with masked names only (never another member's user id), and the caller's part in it. */
export function pageOf(g: GroupBuy, nowMs: number, h5BaseUrl: string, viewerId: string): GroupPage {
  const view = viewOf(g, nowMs, h5BaseUrl);
  const real: MemberView[] = rosterInOrder(g).map(([, m]) => ({
    ...(m.displayName ? { displayName: m.displayName } : {}),
    joinedAt: m.joinedAt,
    isLeader: m.isLeader,
    simulated: false,
  }));
  const simulated = g.simulated ?? (view.simulatedCount > 0 ? simulatedFill(g, g.expiresAt) : []);
  return {
    ...view,
    members: [
      ...real,
      ...simulated.map((s) => ({ displayName: s.displayName, joinedAt: s.joinedAt, isLeader: false, simulated: true })),
    ],
    viewer: { isMember: Boolean(g.roster?.[viewerId]), isLeader: g.leaderId === viewerId },
  };
}
