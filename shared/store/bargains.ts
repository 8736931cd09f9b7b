import { epochSeconds } from '../clock.ts';
import type { BargainChain, BargainHelp } from '../domain/bargains/bargain.schema.ts';
import { AlreadyHelpedError, ChainMovedError, DailyHelpLimitError, OutOfStockError } from '../domain/bargains/rules.ts';
import { ConflictError } from '../errors.ts';
import {
  bargainDueKey,
  bargainHelpKey,
  bargainKey,
  bargainLockKey,
  bargainScheduleKey,
  bargainStockKey,
  bargainUserKey,
  dueIndex,
} from './keys.ts';
import type { Item, Store, TxItem } from './store.ts';

/** The sweeper task that expires chains (gsi3 due index, on the chain's small due item). */
export const BARGAIN_EXPIRY_TASK = 'bargain-expiry';
/** Locks outlive the chain they guard by a day, then TTL removes them. */
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
  'purchaseKey',
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

/** A user's bargain record: exists once seen (started or helped), and counts helps per UTC day. */
export interface BargainUser {
  firstSeenAt?: string;
  [helpsOnDay: string]: unknown;
}

/** The attribute counting a user's helps on one UTC day. */
export const helpsOnDay = (day: string): string => `helps-${day}`;

/** The one read of a help: the chain, its cut schedule and the helper's record, in one BatchGetItem. */
export async function readForHelp(
  store: Store,
  chainId: string,
  helperId: string,
): Promise<{
  chain: BargainChain | undefined;
  schedule: number[];
  helper: BargainUser | undefined;
  help: BargainHelp | undefined;
}> {
  const items = await store.batchGet([
    bargainKey(chainId),
    bargainScheduleKey(chainId),
    bargainUserKey(helperId),
    bargainHelpKey(chainId, helperId),
  ]);
  const chainItem = items.find((i) => i.entity === 'bargain');
  const scheduleItem = items.find((i) => i.entity === 'bargain_schedule');
  return {
    chain: chainItem ? toChain(chainItem) : undefined,
    schedule: (scheduleItem?.schedule as number[] | undefined) ?? [],
    helper: items.find((i) => i.entity === 'bargain_user') as BargainUser | undefined,
    help: items.find((i) => i.entity === 'bargain_help') as BargainHelp | undefined,
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

/** One more unit of `stock` is left: `used` is below it, or nothing is used yet of a stock above 0. */
const stockLeft = (stock: number) => (stock > 0 ? 'attribute_not_exists(used) OR used < :stock' : 'used < :stock');

const stockUse = (campaignId: string, stock: number): TxItem => ({
  Update: {
    Key: bargainStockKey(campaignId),
    UpdateExpression: 'ADD used :one SET entity = :entity',
    ConditionExpression: stockLeft(stock),
    ExpressionAttributeValues: { ':one': 1, ':stock': stock, ':entity': 'bargain_stock' },
  },
  onFail: () => new OutOfStockError(),
});

/** The chain leaves the expiry due index with the write that ends it. */
const leaveDue = (chainId: string): TxItem => ({ Delete: { Key: bargainDueKey(chainId) } });

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
        Item: { ...bargainKey(chain.id), entity: 'bargain', ...chain },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    {
      Put: {
        Item: {
          ...bargainDueKey(chain.id),
          ...dueIndex(BARGAIN_EXPIRY_TASK, chain.expiresAt, chain.id),
          entity: 'bargain_due',
          id: chain.id,
          expiresAt: chain.expiresAt,
        },
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
        ConditionExpression: stockLeft(chain.stock),
        ExpressionAttributeValues: { ':stock': chain.stock },
      },
      onFail: () => new OutOfStockError(),
    });
  await store.transact([...items, ...events]);
}

interface HelpWrite {
  chain: BargainChain;
  help: BargainHelp;
  /** The helper's record as read (undefined: never seen). */
  helper: BargainUser | undefined;
  day: string;
  nowIso: string;
  retryAfterSeconds: number;
  events: TxItem[];
}

/**
 * The helper's record in the help transaction: the UTC day's count goes up by one only while below
 * `maxHelpsPerUserPerDay` (an atomic ADD under a condition, so helps on many chains at once cannot
 * pass the limit), older days' counts are dropped, and a new user's help only lands while the user
 * is still unseen (else the help is computed again without the bonus).
 */
function helperCount(p: HelpWrite): TxItem {
  const day = helpsOnDay(p.day);
  const stale = Object.keys(p.helper ?? {}).filter((k) => k.startsWith('helps-') && k !== day);
  const names: Record<string, string> = { '#day': day };
  stale.forEach((k, i) => {
    names[`#old${i}`] = k;
  });
  const remove = stale.length ? ` REMOVE ${stale.map((_, i) => `#old${i}`).join(', ')}` : '';
  return {
    Update: {
      Key: bargainUserKey(p.help.helperId),
      UpdateExpression: `SET entity = :entity, firstSeenAt = if_not_exists(firstSeenAt, :now) ADD #day :one${remove}`,
      ConditionExpression: p.help.newUser
        ? 'attribute_not_exists(firstSeenAt)'
        : 'attribute_not_exists(#day) OR #day < :max',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: {
        ':entity': 'bargain_user',
        ':now': p.nowIso,
        ':one': 1,
        ...(p.help.newUser ? {} : { ':max': p.chain.maxHelpsPerUserPerDay }),
      },
    },
    onFail: (old) =>
      p.help.newUser && old?.firstSeenAt
        ? new ChainMovedError(undefined)
        : new DailyHelpLimitError(p.retryAfterSeconds),
  };
}

/**
 * A help, as ONE TransactWriteItems: the chain moves from the state that was read (optimistic on
 * `helperCount`), the help item is new (one help per user per chain), the helper's UTC-day count
 * stays within the limit (and a new user is marked seen), and the events are recorded. The
 * completing help also uses one unit of stock and releases the initiator's lock.
 */
export async function recordHelp(store: Store, p: HelpWrite): Promise<void> {
  const { chain, help, nowIso } = p;
  const completes = help.position === chain.helpersRequired;
  const items: TxItem[] = [
    {
      Update: {
        Key: bargainKey(chain.id),
        UpdateExpression: completes
          ? 'SET price = :price, helperCount = :next, updatedAt = :now, #status = :completed, completedAt = :now'
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
    helperCount(p),
  ];
  if (completes) {
    if (chain.stock !== undefined) items.push(stockUse(chain.campaignId, chain.stock));
    items.push(lockRelease(chain), leaveDue(chain.id));
  }
  await store.transact([...items, ...p.events]);
}

/** Marks a completed chain purchased (its stock was used at completion). */
export async function purchaseCompleted(
  store: Store,
  chain: BargainChain,
  nowIso: string,
  events: TxItem[],
  requestKey?: string,
): Promise<void> {
  await store.transact([
    {
      Update: {
        Key: bargainKey(chain.id),
        UpdateExpression: `SET #status = :purchased, purchasedAt = :now, updatedAt = :now${requestKey ? ', purchaseKey = :key' : ''}`,
        ConditionExpression: '#status = :completed',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':purchased': 'purchased',
          ':completed': 'completed',
          ':now': nowIso,
          ...(requestKey ? { ':key': requestKey } : {}),
        },
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
  requestKey?: string,
): Promise<void> {
  const items: TxItem[] = [
    {
      Update: {
        Key: bargainKey(chain.id),
        UpdateExpression: `SET #status = :purchased, purchasedAt = :now, updatedAt = :now${requestKey ? ', purchaseKey = :key' : ''}`,
        ConditionExpression: '#status = :active AND helperCount = :count AND expiresAt > :now',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':purchased': 'purchased',
          ':active': 'active',
          ':count': chain.helperCount,
          ':now': nowIso,
          ...(requestKey ? { ':key': requestKey } : {}),
        },
      },
      onFail: moved,
    },
  ];
  if (chain.stock !== undefined) items.push(stockUse(chain.campaignId, chain.stock));
  items.push(lockRelease(chain), leaveDue(chain.id));
  await store.transact([...items, ...events]);
}

/**
 * Expires an active chain past its `expiresAt`, from the state that was read (so the event's price
 * and helper count are the final ones), and takes it out of the due index in the same transaction.
 */
export async function expireChain(store: Store, chain: BargainChain, nowIso: string, events: TxItem[]): Promise<void> {
  await store.transact([
    {
      Update: {
        Key: bargainKey(chain.id),
        UpdateExpression: 'SET #status = :expired, expiredAt = :now, updatedAt = :now',
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
    leaveDue(chain.id),
    ...events,
  ]);
}

/** Takes a chain that is no longer active out of the due index (a no-op when already out). */
export async function leaveDueIndex(store: Store, chainId: string): Promise<void> {
  await store.delete(bargainDueKey(chainId));
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
