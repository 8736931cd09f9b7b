import type { FailReason, GroupBuy, RosterEntry, SimulatedMember } from '../domain/group-buys/group-buy.schema.ts';
import {
  AlreadyMemberError,
  GROUP_EXPIRY_TASK,
  OrderInUseError,
  OrderOfAnotherUserError,
  OrderRefundedError,
  StaleGroupError,
  TooManyOpenGroupsError,
} from '../domain/group-buys/group-rules.ts';
import {
  dueIndex,
  GROUP_BUY_MEMBER_PREFIX,
  groupBuyKey,
  groupBuyLeaderCountKey,
  groupBuyLedIndex,
  groupBuyLedPk,
  groupBuyMemberKey,
  groupBuyOpenIndex,
  groupBuyOpenPk,
  groupBuyOrderKey,
  groupBuyPk,
  groupBuyTimerKey,
  orderKey,
} from './keys.ts';
import type { Item, Page, Store, TxItem } from './store.ts';

type OnGroupFail = (old: GroupBuy | undefined) => Error;

/** A member item: one per real member, in the group's partition. */
export interface GroupMemberItem {
  groupId: string;
  campaignId: string;
  userId: string;
  orderId: string;
  isLeader: boolean;
  joinedAt: string;
  /** Join order within the group. */
  seq: number;
  /** Masked display name; the raw name is never stored. */
  displayName?: string;
  price: number;
  /** The Idempotency-Key (`requestKey`) of the request that made this member, when it had one. */
  requestKey?: string;
  /** With `requestKey`: the member count the join wrote. */
  countAtJoin?: number;
}

/** The order → group link. */
export interface GroupOrderLink {
  orderId: string;
  groupId: string;
  campaignId: string;
  userId: string;
  isLeader: boolean;
}

const memberItem = (m: GroupMemberItem): Item => ({
  ...groupBuyMemberKey(m.groupId, m.userId),
  entity: 'group_buy_member',
  ...m,
});

const orderLinkPut = (link: GroupOrderLink): TxItem => ({
  Put: {
    Item: { ...groupBuyOrderKey(link.orderId), entity: 'group_buy_order', ...link },
    ConditionExpression: 'attribute_not_exists(pk)',
  },
  onFail: (old) =>
    old && String(old.userId) !== link.userId
      ? new OrderOfAnotherUserError()
      : new OrderInUseError(
          old
            ? {
                groupId: String(old.groupId),
                campaignId: String(old.campaignId),
                userId: String(old.userId),
                isLeader: old.isLeader === true,
              }
            : undefined,
        ),
});

const openSortKey = (g: Pick<GroupBuy, 'campaignId' | 'expiresAt' | 'id'>, slots: number) =>
  groupBuyOpenIndex(g.campaignId, slots, g.expiresAt, g.id).gsi1sk;

const leaderCountChange = (g: GroupBuy, delta: number): TxItem => ({
  Update: {
    Key: groupBuyLeaderCountKey(g.campaignId, g.leaderId),
    UpdateExpression: 'SET entity = :e ADD openCount :d',
    ExpressionAttributeValues: { ':e': 'group_buy_leader_count', ':d': delta },
  },
});

const memberOf = (g: GroupBuy, userId: string, e: RosterEntry): GroupMemberItem => ({
  groupId: g.id,
  campaignId: g.campaignId,
  userId,
  orderId: e.orderId,
  isLeader: e.isLeader,
  joinedAt: e.joinedAt,
  seq: e.seq,
  ...(e.displayName ? { displayName: e.displayName } : {}),
  price: e.price,
  ...(e.requestKey ? { requestKey: e.requestKey } : {}),
  ...(e.countAtJoin !== undefined ? { countAtJoin: e.countAtJoin } : {}),
});

/**
 * The order a group is opened or joined with is the caller's, and not refunded in full, when the
 * shop's paid webhook has come (before it, the order is unknown and the check passes): another
 * user's order answers 404 as unknown, a refunded one 409.
 */
const orderOfCallerCheck = (orderId: string, userId: string): TxItem => ({
  ConditionCheck: {
    Key: orderKey(orderId),
    ConditionExpression: 'attribute_not_exists(pk) OR (userId = :buyer AND refundedTotal < amount)',
    ExpressionAttributeValues: { ':buyer': userId },
  },
  onFail: (old) => (old && String(old.userId) !== userId ? new OrderOfAnotherUserError() : new OrderRefundedError()),
});

/** The group item as stored: its members live in their own items, not in it. */
const groupItem = ({ roster: _roster, ...g }: GroupBuy) => g;

/** A closed group leaves the due and led-groups indexes: its timer item goes in the closing transaction. */
const timerDelete = (id: string): TxItem => ({ Delete: { Key: groupBuyTimerKey(id) } });

/** Opens a group: the group (listed), its timer (due at expiry, led by the leader), its leader's membership, the order link, a check that the leader's order is not refunded in full, the leader's open-group count (≤ `maxOpen`), and the event: one transaction. */
export async function insertGroup(store: Store, g: GroupBuy, maxOpen: number, events: TxItem[]): Promise<void> {
  const leader = g.roster[g.leaderId]!;
  await store.transact([
    {
      Put: {
        Item: {
          ...groupBuyKey(g.id),
          entity: 'group_buy',
          ...groupItem(g),
          ...groupBuyOpenIndex(g.campaignId, g.groupSize - g.memberCount, g.expiresAt, g.id),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    {
      Put: {
        Item: {
          ...groupBuyTimerKey(g.id),
          entity: 'group_buy_timer',
          id: g.id,
          campaignId: g.campaignId,
          leaderId: g.leaderId,
          expiresAt: g.expiresAt,
          ...dueIndex(GROUP_EXPIRY_TASK, g.expiresAt, g.id),
          ...groupBuyLedIndex(g.campaignId, g.leaderId, g.expiresAt, g.id),
        },
      },
    },
    {
      Put: {
        Item: memberItem(memberOf(g, g.leaderId, leader)),
      },
    },
    orderLinkPut({
      orderId: leader.orderId,
      groupId: g.id,
      campaignId: g.campaignId,
      userId: g.leaderId,
      isLeader: true,
    }),
    // A refund in full of the leader's order fails its group; one that came first forbids the group.
    orderOfCallerCheck(leader.orderId, g.leaderId),
    {
      Update: {
        Key: groupBuyLeaderCountKey(g.campaignId, g.leaderId),
        UpdateExpression: 'SET entity = :e ADD openCount :one',
        ConditionExpression: 'attribute_not_exists(openCount) OR openCount < :max',
        ExpressionAttributeValues: { ':e': 'group_buy_leader_count', ':one': 1, ':max': maxOpen },
      },
      onFail: () => new TooManyOpenGroupsError(maxOpen),
    },
    ...events,
  ]);
}

/** Get a group with its members: one Query of the group's partition (at most groupSize + 1 items). */
/** Whether a group exists (its head item, read consistently). */
export async function groupExists(store: Store, id: string): Promise<boolean> {
  return (await store.get(groupBuyKey(id), true)) !== undefined;
}

export async function findGroup(store: Store, id: string, consistent = false): Promise<GroupBuy | undefined> {
  const items = await store.queryAll<Item>({ pk: groupBuyPk(id), consistent });
  const head = items.find((i) => i.sk === groupBuyKey(id).sk);
  if (!head) return undefined;
  const roster: GroupBuy['roster'] = {};
  for (const m of items.filter((i) => String(i.sk).startsWith(GROUP_BUY_MEMBER_PREFIX)) as unknown as GroupMemberItem[])
    roster[m.userId] = {
      orderId: m.orderId,
      ...(m.displayName ? { displayName: m.displayName } : {}),
      joinedAt: m.joinedAt,
      seq: m.seq,
      isLeader: m.isLeader,
      price: m.price,
      ...(m.requestKey ? { requestKey: m.requestKey } : {}),
      ...(m.countAtJoin !== undefined ? { countAtJoin: m.countAtJoin } : {}),
    };
  return { ...toGroup(head)!, roster };
}

/**
 * One join, one transaction: the group gains the member only if it is still open and unexpired,
 * so it can never overfill, and the join that fills it forms it in the same write (leaving the
 * open list and the due index, and freeing the leader's open-group slot). The member item
 * (`already_member`), the order link and the events ride along.
 *
 * `exact` joins are conditioned on the group as read (`rev`), so the open-list sort key and, for
 * the filling join, `GroupBuyFormed`'s member list are exact. A `loose` join (used after losing a
 * race) only needs a slot that is not the last one: it cannot fill the group, so concurrent joins
 * stop colliding with each other; its list key is a guess that `refreshOpenSortKey` then corrects.
 */
export async function joinGroupWrite(
  store: Store,
  input: {
    group: GroupBuy;
    userId: string;
    entry: RosterEntry;
    nowIso: string;
    mode: 'exact' | 'loose';
    /** Loose joins mark the group contended until then, so joins arriving meanwhile go loose at once. */
    contendedUntil: string;
    events: TxItem[];
    onGroupFail: OnGroupFail;
  },
): Promise<void> {
  const { group: g, userId, entry, nowIso } = input;
  const count = g.memberCount + 1;
  const fills = count >= g.groupSize;
  const values: Record<string, unknown> = { ':open': 'open', ':now': nowIso };
  let update: string;
  let condition: string;
  if (input.mode === 'loose' && !fills) {
    update = 'SET updatedAt = :now, gsi1sk = :lsk, contendedUntil = :cu ADD memberCount :one, rev :one';
    condition = '#status = :open AND memberCount < :last AND expiresAt > :now';
    values[':one'] = 1;
    values[':cu'] = input.contendedUntil;
    values[':last'] = g.groupSize - 1;
    values[':lsk'] = openSortKey(g, g.groupSize - count);
  } else {
    update = 'SET memberCount = :n, rev = :rev1, updatedAt = :now';
    condition = '#status = :open AND rev = :rev AND expiresAt > :now';
    values[':rev'] = g.rev;
    values[':rev1'] = g.rev + 1;
    values[':n'] = count;
    if (fills) {
      update += ', #status = :formed, formedAt = :now REMOVE gsi1pk, gsi1sk';
      values[':formed'] = 'formed';
    } else {
      update += ', gsi1sk = :lsk';
      values[':lsk'] = openSortKey(g, g.groupSize - count);
    }
  }
  await store.transact([
    {
      Put: { Item: memberItem(memberOf(g, userId, entry)), ConditionExpression: 'attribute_not_exists(pk)' },
      onFail: () => new AlreadyMemberError(),
    },
    {
      Update: {
        Key: groupBuyKey(g.id),
        UpdateExpression: update,
        ConditionExpression: condition,
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: values,
      },
      onFail: (old) => input.onGroupFail(toGroup(old)),
    },
    orderLinkPut({ orderId: entry.orderId, groupId: g.id, campaignId: g.campaignId, userId, isLeader: false }),
    orderOfCallerCheck(entry.orderId, userId),
    ...(fills ? [leaderCountChange(g, -1), timerDelete(g.id)] : []),
    ...input.events,
  ]);
}

/**
 * Sets an open group's list sort key from its actual member count, after a loose join: each try
 * is conditioned on the count it writes for, and a failed try learns the count from the old item.
 * Whoever writes last writes the right key. Returns the member count the key was written for.
 * A plain update colliding with a join's transaction gets TransactionConflictException: retried.
 */
export async function refreshOpenSortKey(store: Store, g: GroupBuy, count: number): Promise<number> {
  let expected = count;
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      await store.update({
        key: groupBuyKey(g.id),
        update: 'SET gsi1sk = :lsk',
        condition: '#status = :open AND memberCount = :c AND attribute_exists(gsi1pk)',
        names: { '#status': 'status' },
        values: { ':open': 'open', ':c': expected, ':lsk': openSortKey(g, g.groupSize - expected) },
        onFail: (old) => new CountMoved(toGroup(old)),
      });
      return expected;
    } catch (e) {
      if ((e as Error).name === 'TransactionConflictException') {
        // A join's transaction holds the item: wait a moment and try again.
        await new Promise((r) => setTimeout(r, Math.random() * 20 * (attempt + 1)));
        continue;
      }
      if (!(e instanceof CountMoved)) throw e;
      const seen = e.group;
      if (seen?.status !== 'open' || seen.memberCount === expected) return seen?.memberCount ?? expected;
      expected = seen.memberCount;
    }
  }
  return expected;
}

class CountMoved extends Error {
  constructor(readonly group: GroupBuy | undefined) {
    super('member count moved');
  }
}

export interface LeaveGroupInput {
  group: GroupBuy;
  userId: string;
  nowIso: string;
  events: TxItem[];
  onGroupFail: OnGroupFail;
}

/** One leave, one transaction: the member item, the order link and one count go together, only while the group is open and as read. */
export async function leaveGroupWrite(store: Store, input: LeaveGroupInput): Promise<void> {
  await store.transact(leaveGroupTx(input));
}

/** The transaction items of `leaveGroupWrite`, for a caller that takes a member out in a write of its own. */
export function leaveGroupTx(input: LeaveGroupInput): TxItem[] {
  const { group: g, userId, nowIso } = input;
  const entry = g.roster[userId]!;
  const count = g.memberCount - 1;
  return [
    {
      Update: {
        Key: groupBuyKey(g.id),
        UpdateExpression: 'SET memberCount = :n, rev = :rev1, updatedAt = :now, gsi1sk = :lsk',
        ConditionExpression: '#status = :open AND rev = :rev AND expiresAt > :now',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':open': 'open',
          ':rev': g.rev,
          ':rev1': g.rev + 1,
          ':now': nowIso,
          ':n': count,
          ':lsk': openSortKey(g, g.groupSize - count),
        },
      },
      onFail: (old) => input.onGroupFail(toGroup(old)),
    },
    {
      Delete: { Key: groupBuyMemberKey(g.id, userId), ConditionExpression: 'attribute_exists(pk)' },
      onFail: () => input.onGroupFail(undefined),
    },
    orderLinkDelete(entry.orderId, g.id),
    ...input.events,
  ];
}

/**
 * Closes an open group as read (`rev`): formed (with simulated members) or failed. The status
 * change, leaving every index, freeing the leader's slot and the event are one transaction, so
 * each group is formed or failed once. `when` says whether this close needs the group expired
 * (the sweeper) or still live (a leader refund).
 */
export async function closeGroupWrite(store: Store, input: CloseGroupInput): Promise<void> {
  await store.transact(closeGroupTx(input));
}

export interface CloseGroupInput {
  group: GroupBuy;
  to: 'formed' | 'failed';
  reason?: FailReason;
  simulated?: SimulatedMember[];
  when: 'expired' | 'live';
  /** When it formed or failed: `expiresAt` for an expiry, now for a refund, its campaign's end for a close at that end. */
  atIso: string;
  nowIso: string;
  events: TxItem[];
  onGroupFail: OnGroupFail;
}

/** The transaction items of `closeGroupWrite`, for a caller that closes a group in a write of its own. */
export function closeGroupTx(input: CloseGroupInput): TxItem[] {
  const { group: g, nowIso } = input;
  const values: Record<string, unknown> = {
    ':open': 'open',
    ':rev': g.rev,
    ':rev1': g.rev + 1,
    ':now': nowIso,
    ':to': input.to,
    ':at': input.atIso,
  };
  let set = 'SET #status = :to, rev = :rev1, updatedAt = :now';
  if (input.to === 'formed') {
    const sim = input.simulated ?? [];
    set += ', formedAt = :at, simulated = :sim, memberCount = :n';
    values[':sim'] = sim;
    values[':n'] = g.memberCount + sim.length;
  } else {
    set += ', failedAt = :at, failReason = :reason';
    values[':reason'] = input.reason ?? 'expired';
  }
  return [
    {
      Update: {
        Key: groupBuyKey(g.id),
        UpdateExpression: `${set} REMOVE gsi1pk, gsi1sk`,
        ConditionExpression: `#status = :open AND rev = :rev AND expiresAt ${input.when === 'expired' ? '<=' : '>'} :now`,
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: values,
      },
      onFail: (old) => input.onGroupFail(toGroup(old)),
    },
    leaderCountChange(g, -1),
    timerDelete(g.id),
    ...input.events,
  ];
}

/** Takes a group that is no longer open out of the due and led-groups indexes (a no-op if already out). */
export async function clearGroupTimer(store: Store, id: string): Promise<void> {
  await store.delete(groupBuyTimerKey(id));
}

/** Frees an order from group `groupId` (a no-op when it is in no group; never touches another group's link). */
export const orderLinkDelete = (orderId: string, groupId: string): TxItem => ({
  Delete: {
    Key: groupBuyOrderKey(orderId),
    ConditionExpression: 'attribute_not_exists(pk) OR groupId = :gid',
    ExpressionAttributeValues: { ':gid': groupId },
  },
});

/** A condition that an order's link is still as read (the same group and user). */
export const orderLinkUnchangedCheck = (link: GroupOrderLink): TxItem => ({
  ConditionCheck: {
    Key: groupBuyOrderKey(link.orderId),
    ConditionExpression: 'groupId = :gid AND userId = :uid',
    ExpressionAttributeValues: { ':gid': link.groupId, ':uid': link.userId },
  },
  onFail: () => new StaleGroupError(undefined),
});

/** A condition that `orderId` belongs to no group yet: a refund read it so, and a group opened on it since must be read again. */
export const orderInNoGroupCheck = (orderId: string): TxItem => ({
  ConditionCheck: { Key: groupBuyOrderKey(orderId), ConditionExpression: 'attribute_not_exists(pk)' },
  onFail: () => new StaleGroupError(undefined),
});

/** The group an order belongs to (one GetItem). */
export async function findOrderLink(store: Store, orderId: string): Promise<GroupOrderLink | undefined> {
  const item = await store.get<Item>(groupBuyOrderKey(orderId), true);
  return item ? (item as unknown as GroupOrderLink) : undefined;
}

/**
 * A page of a campaign's open groups from gsi1: fewest open slots first, then soonest expiry.
 * Groups past `expiresAt` (not yet swept) are filtered out; short pages are topped up.
 */
export async function listOpenGroups(
  store: Store,
  input: { campaignId: string; nowIso: string; limit: number; cursor?: string | null },
): Promise<Page<GroupBuy>> {
  const items: GroupBuy[] = [];
  let cursor = input.cursor ?? null;
  for (let round = 0; round < 10; round++) {
    const page = await store.query<Item>({
      index: 'gsi1',
      pk: groupBuyOpenPk(input.campaignId),
      limit: input.limit - items.length,
      cursor,
      filter: {
        expression: 'expiresAt > :now AND #status = :open',
        names: { '#status': 'status' },
        values: { ':now': input.nowIso, ':open': 'open' },
      },
    });
    items.push(...page.items.map((i) => toGroup(i)!));
    cursor = page.nextCursor;
    if (!cursor || items.length >= input.limit) break;
  }
  return { items, nextCursor: cursor };
}

/** Ids of up to `limit` of a campaign's open groups, any expiry (gsi1, so one opened a moment ago may be missing). */
export async function listOpenGroupIds(store: Store, campaignId: string, limit: number): Promise<string[]> {
  const page = await store.query<Item>({ index: 'gsi1', pk: groupBuyOpenPk(campaignId), limit });
  return page.items.map((i) => String(i.id));
}

/** Ids of the open groups a user leads in a campaign that are past `expiresAt` (not yet swept). */
export async function listOverdueLedGroups(
  store: Store,
  input: { campaignId: string; leaderId: string; nowIso: string },
): Promise<string[]> {
  const items = await store.queryAll<Item>({
    index: 'gsi2',
    pk: groupBuyLedPk(input.campaignId, input.leaderId),
    sk: { lt: `${input.nowIso}~` },
  });
  return items.map((i) => i.id as string);
}

/** Every member item of a group (bounded: at most `groupSize`). */
export async function listMemberItems(store: Store, id: string): Promise<GroupMemberItem[]> {
  return store.queryAll<GroupMemberItem>({
    pk: groupBuyPk(id),
    sk: { beginsWith: GROUP_BUY_MEMBER_PREFIX },
    consistent: true,
  });
}

function toGroup(item: Item | undefined): GroupBuy | undefined {
  if (!item) return undefined;
  const {
    pk: _pk,
    sk: _sk,
    entity: _e,
    gsi1pk: _a,
    gsi1sk: _b,
    gsi2pk: _c,
    gsi2sk: _d,
    gsi3pk: _f,
    gsi3sk: _g,
    ...rest
  } = item;
  return { roster: {}, ...rest } as unknown as GroupBuy;
}
