import { epochSeconds } from '../clock.ts';
import type { BargainChain, BargainHelp } from '../domain/bargains/bargain.schema.ts';
import { AlreadyHelpedError, ChainMovedError, DailyHelpLimitError, OutOfStockError } from '../domain/bargains/rules.ts';
import { ConflictError } from '../errors.ts';
import {
  bargainDailyHelpsKey,
  bargainHelpKey,
  bargainKey,
  bargainLockKey,
  bargainScheduleKey,
  bargainStockKey,
  bargainUserKey,
  dueIndex,
} from './keys.ts';
import type { Item, Store, TxItem } from './store.ts';

/** The sweeper task that expires chains (gsi3 due index). */
export const BARGAIN_EXPIRY_TASK = 'bargain-expiry';
/** Locks and daily counters outlive what they guard by a day, then TTL removes them. */
const DAY_SECONDS = 24 * 3600;

const CHAIN_FIELDS = [
  'id',
  'campaignId',
  'initiatorId',
  'status',
  'sku',
  'originalPrice',
  'floorPrice',
  'price',
  'helpersRequired',
  'helperCount',
  'maxHelpsPerUserPerDay',
  'allowBuyAtCurrentPrice',
  'newUserBonus',
  'stock',
  'entitlementId',
  'expiresAt',
  'createdAt',
  'updatedAt',
  'completedAt',
  'purchasedAt',
  'expiredAt',
] as const;

/** The chain out of its stored item (key and index attributes dropped). */
export function toChain(item: Item): BargainChain {
  const out: Record<string, unknown> = {};
  for (const f of CHAIN_FIELDS) if (item[f] !== undefined) out[f] = item[f];
  return out as unknown as BargainChain;
}

function toHelp(item: Item): BargainHelp {
  const { chainId, helperId, displayName, cut, price, position, newUser, helpedAt } = item as unknown as BargainHelp;
  return { chainId, helperId, ...(displayName ? { displayName } : {}), cut, price, position, newUser, helpedAt };
}

const moved = (old: Item | undefined) => new ChainMovedError(old ? toChain(old) : undefined);

/** Get a chain by id. */
export async function findChain(store: Store, id: string, consistent = false): Promise<BargainChain | undefined> {
  const item = await store.get(bargainKey(id), consistent);
  return item ? toChain(item) : undefined;
}

/** A chain and all its helps: one Query over the chain's partition. */
export async function findChainWithHelps(
  store: Store,
  id: string,
): Promise<{ chain: BargainChain; helps: BargainHelp[] } | undefined> {
  const items = await store.queryAll({ pk: bargainKey(id).pk, consistent: true });
  const chainItem = items.find((i) => i.entity === 'bargain');
  if (!chainItem) return undefined;
  return { chain: toChain(chainItem), helps: items.filter((i) => i.entity === 'bargain_help').map(toHelp) };
}

/** The one read of a help: the chain, its cut schedule and whether the helper was seen before, in one BatchGetItem. */
export async function readForHelp(
  store: Store,
  chainId: string,
  helperId: string,
): Promise<{ chain: BargainChain | undefined; schedule: number[]; seen: boolean }> {
  const items = await store.batchGet([bargainKey(chainId), bargainScheduleKey(chainId), bargainUserKey(helperId)]);
  const chainItem = items.find((i) => i.entity === 'bargain');
  const scheduleItem = items.find((i) => i.entity === 'bargain_schedule');
  return {
    chain: chainItem ? toChain(chainItem) : undefined,
    schedule: (scheduleItem?.schedule as number[] | undefined) ?? [],
    seen: items.some((i) => i.entity === 'bargain_user'),
  };
}

/** The lock naming a user's active chain in a campaign, if any. */
export async function findLock(
  store: Store,
  campaignId: string,
  userId: string,
): Promise<{ chainId: string; expiresAt: string } | undefined> {
  return store.get<{ chainId: string; expiresAt: string }>(bargainLockKey(campaignId, userId), true);
}

const stockUse = (campaignId: string, stock: number): TxItem => ({
  Update: {
    Key: bargainStockKey(campaignId),
    UpdateExpression: 'ADD used :one SET entity = :entity',
    ConditionExpression: 'attribute_not_exists(used) OR used < :stock',
    ExpressionAttributeValues: { ':one': 1, ':stock': stock, ':entity': 'bargain_stock' },
  },
  onFail: () => new OutOfStockError(),
});

const lockRelease = (chain: BargainChain): TxItem => ({
  Delete: {
    Key: bargainLockKey(chain.campaignId, chain.initiatorId),
    ConditionExpression: 'attribute_not_exists(pk) OR chainId = :id',
    ExpressionAttributeValues: { ':id': chain.id },
  },
  onFail: () => new ConflictError('conflict', 'The chain lock is held by another chain.'),
});

/**
 * Starts a chain in one transaction: takes the user's lock for the campaign (free, or held by a
 * chain past its expiry), puts the chain (in the expiry due index) and its schedule, checks the stock is not used
 * up, marks the user seen, and records the events. A held lock throws `ChainMovedError`.
 */
export async function insertChain(
  store: Store,
  chain: BargainChain,
  schedule: number[],
  nowIso: string,
  events: TxItem[],
  /** A lock still naming a chain that is no longer active may be taken over too. */
  staleChainId?: string,
): Promise<void> {
  const items: TxItem[] = [
    {
      Put: {
        Item: {
          ...bargainLockKey(chain.campaignId, chain.initiatorId),
          entity: 'bargain_lock',
          chainId: chain.id,
          campaignId: chain.campaignId,
          userId: chain.initiatorId,
          expiresAt: chain.expiresAt,
          ttl: epochSeconds(Date.parse(chain.expiresAt)) + DAY_SECONDS,
        },
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now OR chainId = :stale',
        ExpressionAttributeValues: { ':now': nowIso, ':stale': staleChainId ?? '-' },
      },
      onFail: () => new ChainMovedError(undefined),
    },
    {
      Put: {
        Item: {
          ...bargainKey(chain.id),
          ...dueIndex(BARGAIN_EXPIRY_TASK, chain.expiresAt, chain.id),
          entity: 'bargain',
          ...chain,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    {
      Put: {
        Item: { ...bargainScheduleKey(chain.id), entity: 'bargain_schedule', chainId: chain.id, schedule },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    {
      Update: {
        Key: bargainUserKey(chain.initiatorId),
        UpdateExpression: 'SET entity = :entity, firstSeenAt = if_not_exists(firstSeenAt, :now)',
        ExpressionAttributeValues: { ':entity': 'bargain_user', ':now': nowIso },
      },
    },
  ];
  if (chain.stock !== undefined)
    items.push({
      ConditionCheck: {
        Key: bargainStockKey(chain.campaignId),
        ConditionExpression: 'attribute_not_exists(used) OR used < :stock',
        ExpressionAttributeValues: { ':stock': chain.stock },
      },
      onFail: () => new OutOfStockError(),
    });
  await store.transact([...items, ...events]);
}

/**
 * A help, as ONE TransactWriteItems: the chain moves from the state that was read (optimistic on
 * `helperCount`), the help item is new (one help per user per chain), the helper's UTC-day counter
 * stays within the limit, and the events are recorded. The completing help also uses one unit of
 * stock and releases the initiator's lock; a new user's help marks them seen.
 */
export async function recordHelp(
  store: Store,
  p: {
    chain: BargainChain;
    help: BargainHelp;
    day: string;
    nowIso: string;
    retryAfterSeconds: number;
    events: TxItem[];
  },
): Promise<void> {
  const { chain, help, nowIso } = p;
  const completes = help.position === chain.helpersRequired;
  const items: TxItem[] = [
    {
      Update: {
        Key: bargainKey(chain.id),
        UpdateExpression: completes
          ? 'SET price = :price, helperCount = :next, updatedAt = :now, #status = :completed, completedAt = :now REMOVE gsi3pk, gsi3sk'
          : 'SET price = :price, helperCount = :next, updatedAt = :now',
        ConditionExpression:
          '#status = :active AND helperCount = :count AND helperCount < helpersRequired AND expiresAt > :now',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':price': help.price,
          ':next': help.position,
          ':count': chain.helperCount,
          ':now': nowIso,
          ':active': 'active',
          ...(completes ? { ':completed': 'completed' } : {}),
        },
      },
      onFail: moved,
    },
    {
      Put: {
        Item: { ...bargainHelpKey(chain.id, help.helperId), entity: 'bargain_help', ...help },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
      onFail: () => new AlreadyHelpedError(),
    },
    {
      Update: {
        Key: bargainDailyHelpsKey(help.helperId, p.day),
        UpdateExpression: 'ADD #n :one SET entity = :entity, #ttl = :ttl',
        ConditionExpression: 'attribute_not_exists(#n) OR #n < :max',
        ExpressionAttributeNames: { '#n': 'count', '#ttl': 'ttl' },
        ExpressionAttributeValues: {
          ':one': 1,
          ':max': chain.maxHelpsPerUserPerDay,
          ':entity': 'bargain_daily_helps',
          ':ttl': epochSeconds(Date.parse(`${p.day}T00:00:00.000Z`)) + 2 * DAY_SECONDS,
        },
      },
      onFail: () => new DailyHelpLimitError(p.retryAfterSeconds),
    },
  ];
  if (help.newUser)
    items.push({
      Put: {
        Item: { ...bargainUserKey(help.helperId), entity: 'bargain_user', firstSeenAt: nowIso },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
      onFail: () => new ChainMovedError(undefined),
    });
  if (completes) {
    if (chain.stock !== undefined) items.push(stockUse(chain.campaignId, chain.stock));
    items.push(lockRelease(chain));
  }
  await store.transact([...items, ...p.events]);
}

/** Marks a completed chain purchased (its stock was used at completion). */
export async function purchaseCompleted(
  store: Store,
  chain: BargainChain,
  nowIso: string,
  events: TxItem[],
): Promise<void> {
  await store.transact([
    {
      Update: {
        Key: bargainKey(chain.id),
        UpdateExpression: 'SET #status = :purchased, purchasedAt = :now, updatedAt = :now',
        ConditionExpression: '#status = :completed',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':purchased': 'purchased', ':completed': 'completed', ':now': nowIso },
      },
      onFail: moved,
    },
    ...events,
  ]);
}

/**
 * Buys an active chain at its current price (`allowBuyAtCurrentPrice`): only from the state that
 * was read and before expiry; uses one unit of stock, releases the lock, leaves the due index.
 */
export async function purchaseActive(
  store: Store,
  chain: BargainChain,
  nowIso: string,
  events: TxItem[],
): Promise<void> {
  const items: TxItem[] = [
    {
      Update: {
        Key: bargainKey(chain.id),
        UpdateExpression: 'SET #status = :purchased, purchasedAt = :now, updatedAt = :now REMOVE gsi3pk, gsi3sk',
        ConditionExpression: '#status = :active AND helperCount = :count AND expiresAt > :now',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':purchased': 'purchased',
          ':active': 'active',
          ':count': chain.helperCount,
          ':now': nowIso,
        },
      },
      onFail: moved,
    },
  ];
  if (chain.stock !== undefined) items.push(stockUse(chain.campaignId, chain.stock));
  items.push(lockRelease(chain));
  await store.transact([...items, ...events]);
}

/**
 * Expires an active chain past its `expiresAt`, from the state that was read (so the event's price
 * and helper count are the final ones), and takes it out of the due index.
 */
export async function expireChain(store: Store, chain: BargainChain, nowIso: string, events: TxItem[]): Promise<void> {
  await store.transact([
    {
      Update: {
        Key: bargainKey(chain.id),
        UpdateExpression: 'SET #status = :expired, expiredAt = :now, updatedAt = :now REMOVE gsi3pk, gsi3sk',
        ConditionExpression: '#status = :active AND helperCount = :count AND expiresAt <= :now',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':expired': 'expired',
          ':active': 'active',
          ':count': chain.helperCount,
          ':now': nowIso,
        },
      },
      onFail: moved,
    },
    ...events,
  ]);
}

/** Takes a chain that is no longer active out of the due index (a no-op when already out). */
export async function leaveDueIndex(store: Store, chainId: string): Promise<void> {
  await store
    .update({
      key: bargainKey(chainId),
      update: 'REMOVE gsi3pk, gsi3sk',
      condition: 'attribute_exists(gsi3pk) AND #status <> :active',
      names: { '#status': 'status' },
      values: { ':active': 'active' },
      onFail: () => new ChainMovedError(undefined),
    })
    .catch((e) => {
      if (!(e instanceof ChainMovedError)) throw e;
    });
}

/** Releases the initiator's lock if this chain still holds it (a newer chain's lock is left alone). */
export async function releaseLock(store: Store, chain: BargainChain): Promise<void> {
  await store
    .delete(bargainLockKey(chain.campaignId, chain.initiatorId), {
      expression: 'chainId = :id',
      values: { ':id': chain.id },
    })
    .catch((e: { name?: string }) => {
      if (e?.name !== 'ConditionalCheckFailedException') throw e;
    });
}
