import { AlreadySettledError, StaleReadError } from '../domain/ledger/errors.ts';
import type {
  Asset,
  Balance,
  Buckets,
  LedgerEntry,
  Payout,
  PayoutItem,
  PayoutItemPage,
  PayoutStatus,
} from '../domain/ledger/ledger.schema.ts';
import { BUCKETS } from '../domain/ledger/rules.ts';
import { deltaUpdateTx, sameItemPutTx } from './group-commit.ts';
import {
  dueIndex,
  financeActivityByDayIndex,
  financeActivityDayPk,
  financeActivityKey,
  INDEX_SHARDS,
  ledgerAvailableKey,
  ledgerAvailablePk,
  ledgerBalanceKey,
  ledgerBalanceListIndex,
  ledgerBalanceListPk,
  ledgerBalancePk,
  ledgerByDayIndex,
  ledgerByDayPk,
  ledgerByPayeeIndex,
  ledgerByPayeePk,
  ledgerEntryKey,
  ledgerPayableIndex,
  ledgerPayablePk,
  ledgerPayeeCampaignKey,
  ledgerPayeeCampaignPk,
  ledgerPendingReversalKey,
  ledgerPendingReversalPk,
  PAYOUTS_PK,
  payoutItemKey,
  payoutItemPageKey,
  payoutKey,
  payoutListIndex,
  payoutPk,
  reversalDueKey,
  reversalDuePk,
} from './keys.ts';
import { encodeCursor, type Item, type Page, type Store, type TxItem } from './store.ts';

/** The sweep task that unlocks entries at `unlockAt`. */
export const UNLOCK_TASK = 'ledger-unlock';
/** Sweeper task: ends the creation of a payout whose creator stopped before ending it. */
export const PAYOUT_FINISH_TASK = 'payout-finish';

const ENTRY_FIELDS = [
  'id',
  'payeeId',
  'asset',
  'amount',
  'kind',
  'cause',
  'state',
  'createdAt',
  'unlockAt',
  'held',
  'holdDecision',
  'deciding',
  'payoutId',
  'campaignId',
  'minPayout',
  'reversed',
  'reverses',
  'reversalIds',
] as const;

/** A stored entry item as the domain sees it (keys and index attributes dropped). */
export function toEntry(item: Item): LedgerEntry {
  const out: Record<string, unknown> = {};
  for (const f of ENTRY_FIELDS) if (item[f] !== undefined) out[f] = item[f];
  return out as unknown as LedgerEntry;
}

// ── entries ──────────────────────────────────────────────────────────────────

/** Put a new entry, only if no entry of that id exists (its cause was not settled yet). */
export function putEntryTx(e: LedgerEntry): TxItem {
  return {
    Put: {
      Item: {
        ...ledgerEntryKey(e.id),
        ...ledgerByPayeeIndex(e.payeeId, e.createdAt, e.id),
        ...ledgerByDayIndex(e.createdAt, e.id),
        ...(e.state === 'locked' ? dueIndex(UNLOCK_TASK, e.unlockAt, e.id) : {}),
        entity: 'ledger_entry',
        ...e,
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
    onFail: () => new AlreadySettledError(e.id),
  };
}

/** Get an entry. */
export async function findEntry(store: Store, id: string, consistent = true): Promise<LedgerEntry | undefined> {
  const item = await store.get(ledgerEntryKey(id), consistent);
  return item ? toEntry(item) : undefined;
}

/** Get many entries by id (missing ones are left out). */
export async function findEntries(store: Store, ids: string[], consistent = true): Promise<LedgerEntry[]> {
  const items = await store.batchGet(
    ids.map((id) => ledgerEntryKey(id)),
    consistent,
  );
  return items.map(toEntry);
}

/**
 * Moves an entry from `from` state to another, conditional on the state (and hold flag) it was
 * read with, so two actors racing on one entry act once; `set` holds the attributes to change.
 */
export function moveEntryTx(
  e: Pick<LedgerEntry, 'id' | 'state' | 'held'>,
  change: {
    set?: Record<string, unknown>;
    remove?: string[];
    payoutId?: string;
    extraCondition?: string;
    extraValues?: Record<string, unknown>;
  },
  onFail: () => Error = () => new StaleReadError(`entry ${e.id}`),
): TxItem {
  const names: Record<string, string> = { '#state': 'state', '#held': 'held' };
  const values: Record<string, unknown> = { ':fromState': e.state, ':fromHeld': e.held };
  const sets: string[] = [];
  for (const [k, v] of Object.entries(change.set ?? {})) {
    names[`#s_${k}`] = k;
    values[`:s_${k}`] = v;
    sets.push(`#s_${k} = :s_${k}`);
  }
  let condition = '#state = :fromState AND #held = :fromHeld';
  if (change.payoutId) {
    names['#payoutId'] = 'payoutId';
    values[':payoutId'] = change.payoutId;
    condition += ' AND #payoutId = :payoutId';
  }
  if (change.extraCondition) {
    condition += ` AND ${change.extraCondition}`;
    Object.assign(values, change.extraValues);
  }
  const update = [
    sets.length ? `SET ${sets.join(', ')}` : '',
    change.remove?.length ? `REMOVE ${change.remove.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return {
    Update: {
      Key: ledgerEntryKey(e.id),
      UpdateExpression: update,
      ConditionExpression: condition,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
    onFail,
  };
}

/** The condition that no reversal landed on a commission since it was read (`reversed` as read). */
const REVERSED_AS_READ = '(reversed = :rev OR (attribute_not_exists(reversed) AND :rev = :zero))';

/** `moveEntryTx`'s extra condition pinning a commission's reversals as read. */
export function reversalsAsRead(commission: Pick<LedgerEntry, 'reversed'>): {
  extraCondition: string;
  extraValues: Record<string, unknown>;
} {
  return { extraCondition: REVERSED_AS_READ, extraValues: { ':rev': commission.reversed ?? 0, ':zero': 0 } };
}

/**
 * Adds reversals to their commission's running total, conditional on its state and hold as read.
 * An unclamped batch (every refund taken in full) only needs room left under the commission, so
 * refunds applied at once do not invalidate each other; a clamped one needs `reversed` exactly
 * as read, since its amounts were computed from it.
 */
export function recordReversalsOnCommissionTx(
  commission: LedgerEntry,
  reversalIds: string[],
  added: number,
  clamped: boolean,
): TxItem {
  const total = clamped ? REVERSED_AS_READ : '(attribute_not_exists(reversed) OR reversed <= :room)';
  return {
    Update: {
      Key: ledgerEntryKey(commission.id),
      UpdateExpression: 'ADD reversed :added SET reversalIds = list_append(if_not_exists(reversalIds, :empty), :ids)',
      ConditionExpression: `#state = :state AND #held = :held AND ${total}`,
      ExpressionAttributeNames: { '#state': 'state', '#held': 'held' },
      ExpressionAttributeValues: {
        ':added': added,
        ':empty': [],
        ':ids': reversalIds,
        ':state': commission.state,
        ':held': commission.held,
        ...(clamped ? reversalsAsRead(commission).extraValues : { ':room': commission.amount - added }),
      },
    },
    onFail: () => new StaleReadError(`commission ${commission.id}`),
  };
}

/** A payee's entries, newest first (or oldest first), optionally within [from, to]. */
export async function listPayeeEntries(
  store: Store,
  payeeId: string,
  page: { limit: number; cursor?: string | null; forward?: boolean; from?: string; to?: string },
): Promise<Page<LedgerEntry>> {
  const r = await store.query({
    index: 'gsi1',
    pk: ledgerByPayeePk(payeeId),
    sk: page.from || page.to ? { between: [page.from ?? '0', `${page.to ?? '9999'}~`] } : undefined,
    limit: page.limit,
    cursor: page.cursor,
    forward: page.forward ?? false,
  });
  return { items: r.items.map(toEntry), nextCursor: r.nextCursor };
}

/** Every entry of a payee (reconciliation). */
export async function listAllPayeeEntries(store: Store, payeeId: string): Promise<LedgerEntry[]> {
  const items = await store.queryAll({ index: 'gsi1', pk: ledgerByPayeePk(payeeId) });
  return items.map(toEntry);
}

/**
 * Entries of one shard of one UTC day in (createdAt, id) order, within [from, to], resuming
 * after the entry whose `createdAt#id` is `after`; `more` says whether the shard may hold more.
 */
export async function listDayEntries(
  store: Store,
  day: string,
  shard: number,
  page: { limit: number; after?: string | null; from: string; to: string },
): Promise<{ items: LedgerEntry[]; more: boolean }> {
  const gsi2pk = ledgerByDayPk(day, shard);
  const id = page.after?.slice(page.after.lastIndexOf('#') + 1);
  const r = await store.query({
    index: 'gsi2',
    pk: gsi2pk,
    sk: { between: [page.from, `${page.to}~`] },
    limit: page.limit,
    cursor: page.after && id ? encodeCursor({ ...ledgerEntryKey(id), gsi2pk, gsi2sk: page.after }) : null,
  });
  return { items: r.items.map(toEntry), more: r.nextCursor !== null };
}

// ── balances ─────────────────────────────────────────────────────────────────

/**
 * Adds `delta` to a payee's balance buckets (creating the balance on first use) and 1 to its
 * `version`, so every change of the balance shows (reconciliation reads a payee's entries between
 * two reads of an unchanged version; several changes merged by a group commit raise it by their
 * number, so it still never repeats). `payable` puts the balance in the sparse payable index
 * (whenever available may have become non-zero).
 */
export function balanceDeltaTx(
  payeeId: string,
  asset: Asset,
  delta: Partial<Buckets>,
  opts: {
    payable?: boolean;
    condition?: { expression: string; values: Record<string, unknown> };
    /** Other attributes of the balance item to set, or to remove, in the same write. */
    set?: Record<string, unknown>;
    remove?: string[];
  } = {},
): TxItem {
  const list = ledgerBalanceListIndex(asset, payeeId);
  const set: Record<string, unknown> = { entity: 'ledger_balance', payeeId, asset, ...list };
  if (opts.payable) Object.assign(set, ledgerPayableIndex(asset, payeeId));
  Object.assign(set, opts.set);
  const add: Record<string, number> = { version: 1 };
  for (const b of BUCKETS) add[b] = delta[b] ?? 0;
  // Without a condition or a removal, a group commit may merge it with other changes of this balance.
  const write = deltaUpdateTx(ledgerBalanceKey(payeeId, asset), { set, add });
  if (!opts.condition && !opts.remove?.length) return write;
  const { Update } = write as Extract<TxItem, { Update: unknown }>;
  const taken = Object.keys(opts.condition?.values ?? {}).filter((k) => k in (Update.ExpressionAttributeValues ?? {}));
  if (taken.length) throw new Error(`balance condition values ${taken.join(', ')} are the update's own`);
  return {
    Update: {
      ...Update,
      UpdateExpression: `${Update.UpdateExpression}${opts.remove?.length ? ` REMOVE ${opts.remove.join(', ')}` : ''}`,
      ConditionExpression: opts.condition?.expression,
      ExpressionAttributeValues: { ...Update.ExpressionAttributeValues, ...opts.condition?.values },
    },
    onFail: () => new StaleReadError(`balance ${payeeId} ${asset}`),
  };
}

function toBalance(item: Item): Balance {
  const b = { payeeId: item.payeeId, asset: item.asset } as Balance;
  for (const k of BUCKETS) b[k] = Number(item[k] ?? 0);
  return b;
}

/** Every balance of a payee (one per asset). */
export async function findBalances(store: Store, payeeId: string): Promise<Balance[]> {
  return (await findVersionedBalances(store, payeeId)).map((b) => b.balance);
}

/**
 * Every balance of a payee with its version (which every change of the balance raises; 0 for a
 * balance not changed since versions were kept), read consistently.
 */
export async function findVersionedBalances(
  store: Store,
  payeeId: string,
): Promise<{ balance: Balance; version: number }[]> {
  const items = await store.queryAll({ pk: ledgerBalancePk(payeeId), consistent: true });
  return items.map((i) => ({ balance: toBalance(i), version: Number(i.version ?? 0) }));
}

/** Balances with a non-zero available amount of `asset` (the payable index, all shards). */
export async function listPayableBalances(store: Store, asset: Asset): Promise<Balance[]> {
  const out: Balance[] = [];
  for (let shard = 0; shard < INDEX_SHARDS; shard++)
    out.push(...(await store.queryAll({ index: 'gsi1', pk: ledgerPayablePk(asset, shard) })).map(toBalance));
  return out;
}

/** Takes a balance out of the payable index, only if its available amount is zero by then. */
export async function dropFromPayableIfEmpty(store: Store, payeeId: string, asset: Asset): Promise<void> {
  try {
    await store.update({
      key: ledgerBalanceKey(payeeId, asset),
      update: 'REMOVE gsi1pk, gsi1sk',
      condition: 'available = :zero',
      values: { ':zero': 0 },
      onFail: () => new StaleReadError('balance'),
    });
  } catch (e) {
    if (!(e instanceof StaleReadError)) throw e;
  }
}

/** Every balance (reconciliation over all time), via the sharded balance list. */
export async function listAllBalances(store: Store): Promise<Balance[]> {
  const out: Balance[] = [];
  for (let shard = 0; shard < INDEX_SHARDS; shard++)
    out.push(...(await store.queryAll({ index: 'gsi2', pk: ledgerBalanceListPk(shard) })).map(toBalance));
  return out;
}

// ── available markers (what the next payout takes) ───────────────────────────

export interface AvailableMarker {
  entryId: string;
  amount: number;
}

/** Marks an available, not-held entry as payable. */
export function putAvailableTx(e: Pick<LedgerEntry, 'id' | 'payeeId' | 'asset' | 'amount'>): TxItem {
  return {
    Put: {
      Item: {
        ...ledgerAvailableKey(e.payeeId, e.asset, e.id),
        entity: 'ledger_available',
        entryId: e.id,
        amount: e.amount,
      },
    },
  };
}

/** Removes an entry's payable mark. */
export function deleteAvailableTx(e: Pick<LedgerEntry, 'id' | 'payeeId' | 'asset'>): TxItem {
  return { Delete: { Key: ledgerAvailableKey(e.payeeId, e.asset, e.id) } };
}

/** A payee's available, not-held entries of `asset`. */
export async function listAvailable(store: Store, payeeId: string, asset: Asset): Promise<AvailableMarker[]> {
  const items = await store.queryAll({ pk: ledgerAvailablePk(payeeId, asset), consistent: true });
  return items.map((i) => ({ entryId: String(i.entryId), amount: Number(i.amount) }));
}

// ── refunds whose commission reversal is due ─────────────────────────────────

/** A refund of a KOL's order whose commission reversal was not written when last looked at. */
export interface ReversalDue {
  orderId: string;
  refundId: string;
}

/** A KOL's refunds whose commission reversal is marked due. */
export async function listReversalsDue(store: Store, kolId: string): Promise<ReversalDue[]> {
  const items = await store.queryAll({ pk: reversalDuePk(kolId), consistent: true });
  return items.map((i) => ({ orderId: String(i.orderId), refundId: String(i.refundId) }));
}

/** The reversal of a refund is written (or parked, or nothing was left to reverse): its due mark goes. */
export async function clearReversalDue(store: Store, kolId: string, orderId: string, refundId: string): Promise<void> {
  await store.delete(reversalDueKey(kolId, orderId, refundId));
}

// ── commission campaigns a payee earned in ───────────────────────────────────

/** Remembers that a payee earned in a commission campaign, with its minimum payout. */
export function putPayeeCampaignTx(payeeId: string, campaignId: string, minPayout: number): TxItem {
  // The same item for every commission of the payee in the campaign: those of a group go as one.
  return sameItemPutTx({
    ...ledgerPayeeCampaignKey(payeeId, campaignId),
    entity: 'ledger_payee_campaign',
    campaignId,
    minPayout,
  });
}

/** The minPayout of every commission campaign a payee earned in. */
export async function listPayeeMinPayouts(store: Store, payeeId: string): Promise<number[]> {
  const items = await store.queryAll({ pk: ledgerPayeeCampaignPk(payeeId), consistent: true });
  return items.map((i) => Number(i.minPayout ?? 0));
}

// ── refunds that arrived before their commission ─────────────────────────────

/** A refund waiting for its commission entry to land. */
export interface PendingReversal {
  refundId: string;
  /** The reversal amount requested. */
  amount: number;
}

/** Up to `limit` refunds waiting for a commission entry, in refund id order. */
export async function listPendingReversals(
  store: Store,
  commissionId: string,
  limit: number,
): Promise<PendingReversal[]> {
  const page = await store.query({ pk: ledgerPendingReversalPk(commissionId), limit, consistent: true });
  return page.items.map((i) => ({ refundId: String(i.refundId), amount: Number(i.amount) }));
}

/** Parks a refund for a commission that has not landed; fails (AlreadySettled) when it is parked already. */
export function parkReversalTx(commissionId: string, p: PendingReversal): TxItem {
  return {
    Put: {
      Item: {
        ...ledgerPendingReversalKey(commissionId, p.refundId),
        entity: 'ledger_pending_reversal',
        commissionId,
        refundId: p.refundId,
        amount: p.amount,
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
    onFail: () => new AlreadySettledError(`pending reversal ${p.refundId}`),
  };
}

/** Removes a parked refund once it is applied (or found applied); nothing when none is parked. */
export function dropPendingReversalTx(commissionId: string, refundId: string): TxItem {
  return { Delete: { Key: ledgerPendingReversalKey(commissionId, refundId) } };
}

/** Checks the commission entry does not exist yet (a refund parks itself only then). */
export function entryAbsentTx(id: string): TxItem {
  return {
    ConditionCheck: { Key: ledgerEntryKey(id), ConditionExpression: 'attribute_not_exists(pk)' },
    onFail: () => new StaleReadError(`commission ${id} landed`),
  };
}

// ── payouts ──────────────────────────────────────────────────────────────────

const PAYOUT_FIELDS = ['id', 'asset', 'status', 'total', 'minAmount', 'createdAt', 'confirmedAt', 'reference'] as const;

function toPayout(item: Item): Payout {
  const out: Record<string, unknown> = {};
  for (const f of PAYOUT_FIELDS) if (item[f] !== undefined) out[f] = item[f];
  return out as unknown as Payout;
}

/**
 * Payout lines from the items of their payout: the line items (`ITEM#`) with the entry ids of
 * their pages (`ITEMPAGE#`). Lines written before pages existed keep their ids on the line itself.
 */
function toPayoutItems(items: Item[]): PayoutItem[] {
  const pages = new Map<string, PayoutItemPage[]>();
  for (const i of items)
    if (i.entity === 'payout_item_page') {
      const mine = pages.get(String(i.payeeId)) ?? [];
      pages.set(String(i.payeeId), mine);
      mine.push({ entryIds: i.entryIds as string[], amount: i.amount === undefined ? Number.NaN : Number(i.amount) });
    }
  return items
    .filter((i) => i.entity === 'payout_item')
    .map((item) => {
      const mine = pages.get(String(item.payeeId)) ?? [];
      return {
        payoutId: String(item.payoutId),
        payeeId: String(item.payeeId),
        amount: Number(item.amount ?? 0),
        status: item.status as PayoutItem['status'],
        entryIds: [...((item.entryIds as string[] | undefined) ?? []), ...mine.flatMap((p) => p.entryIds)],
        // Pages written before they carried amounts are checked as one line.
        ...(mine.length && mine.every((p) => !Number.isNaN(p.amount)) ? { pages: mine } : {}),
        ...(item.reason ? { reason: String(item.reason) } : {}),
      };
    });
}

/**
 * Put a new payout header, `creating`, due for the sweeper at `finishBy` in case its creator
 * stops before `finishPayout` (a crash, a timeout).
 */
export async function insertPayout(store: Store, p: Payout, finishBy: string): Promise<void> {
  await store.put(
    {
      ...payoutKey(p.id),
      ...payoutListIndex(p.createdAt, p.id),
      ...dueIndex(PAYOUT_FINISH_TASK, finishBy, p.id),
      entity: 'payout',
      ...p,
    },
    {
      condition: 'attribute_not_exists(pk)',
      onFail: (old) => new PayoutExistsError(old ? toPayout(old) : undefined),
    },
  );
}

/** A payout with that id is already there (a request repeated with its Idempotency-Key): the one found. */
export class PayoutExistsError extends Error {
  constructor(readonly existing: Payout | undefined) {
    super('payout exists');
  }
}

/**
 * Ends a payout's creation once: its total becomes the sum of the lines written, and it turns
 * `pending` (confirmable). Answers the total, or undefined when it was no longer `creating`.
 */
export async function finishPayout(store: Store, payoutId: string): Promise<number | undefined> {
  try {
    // First close it to movers (each move checks it is open: payoutOpenTx), so the lines read next are all it gets.
    await store.update({
      key: payoutKey(payoutId),
      update: 'SET closing = :yes',
      condition: '#status = :creating',
      names: { '#status': 'status' },
      values: { ':yes': true, ':creating': 'creating' },
      onFail: () => new StaleReadError(`payout ${payoutId} is no longer being created`),
    });
    const lines = await listPayoutItems(store, payoutId);
    const total = lines.filter((l) => l.status !== 'failed').reduce((s, l) => s + l.amount, 0);
    await store.update({
      key: payoutKey(payoutId),
      update: 'SET #total = :total, #status = :pending REMOVE gsi3pk, gsi3sk, closing',
      condition: '#status = :creating',
      names: { '#total': 'total', '#status': 'status' },
      values: { ':total': total, ':pending': 'pending', ':creating': 'creating' },
      onFail: () => new StaleReadError(`payout ${payoutId} is no longer being created`),
    });
    return total;
  } catch (e) {
    if (!(e instanceof StaleReadError)) throw e;
    // Already ended (or gone): nothing is due for it any more.
    await store
      .update({
        key: payoutKey(payoutId),
        update: 'REMOVE gsi3pk, gsi3sk',
        condition: 'attribute_exists(pk)',
        onFail: () => new StaleReadError(`payout ${payoutId} is gone`),
      })
      .catch((err) => {
        if (!(err instanceof StaleReadError)) throw err;
      });
    return undefined;
  }
}

/** The payout that claims the payee's balance (see payPayee), if any. */
export async function findPayeeClaim(store: Store, payeeId: string, asset: Asset): Promise<string | undefined> {
  const item = await store.get(ledgerBalanceKey(payeeId, asset), true);
  return typeof item?.payingOut === 'string' ? item.payingOut : undefined;
}

/** Ends a payout's claim on a payee (see payPayee) that it will not finish. */
export async function releasePayee(store: Store, payeeId: string, asset: Asset, payoutId: string): Promise<void> {
  await store
    .update({
      key: ledgerBalanceKey(payeeId, asset),
      update: 'REMOVE payingOut, payingOutUntil',
      condition: 'payingOut = :payout',
      values: { ':payout': payoutId },
      onFail: () => new StaleReadError(`balance ${payeeId} ${asset} is not claimed by ${payoutId}`),
    })
    .catch((e) => {
      if (!(e instanceof StaleReadError)) throw e;
    });
}

/** Get a payout header. */
export async function findPayout(store: Store, id: string): Promise<Payout | undefined> {
  const item = await store.get(payoutKey(id), true);
  return item ? toPayout(item) : undefined;
}

/** Payout headers by id. */
export async function findPayouts(store: Store, ids: string[]): Promise<Payout[]> {
  return (await store.batchGet(ids.map(payoutKey), true)).map(toPayout);
}

/** Payouts created within [from, to]. */
export async function listPayoutsCreated(store: Store, from: string, to: string): Promise<Payout[]> {
  const items = await store.queryAll({ index: 'gsi1', pk: PAYOUTS_PK, sk: { between: [from, `${to}~`] } });
  return items.map(toPayout);
}

/** Every line of a payout, with its entry ids. */
export async function listPayoutItems(store: Store, payoutId: string): Promise<PayoutItem[]> {
  return toPayoutItems(await store.queryAll({ pk: payoutPk(payoutId), sk: { beginsWith: 'ITEM' }, consistent: true }));
}

/** One payee's line of a payout, with its entry ids. */
export async function findPayoutItem(store: Store, payoutId: string, payeeId: string): Promise<PayoutItem | undefined> {
  const [line, pages] = await Promise.all([
    store.get(payoutItemKey(payoutId, payeeId), true),
    store.queryAll({ pk: payoutPk(payoutId), sk: { beginsWith: `ITEMPAGE#${payeeId}#` }, consistent: true }),
  ]);
  // A page of payee `a#b` also begins `ITEMPAGE#a#`: pages are matched by their payeeId.
  return line ? toPayoutItems([line, ...pages.filter((p) => p.payeeId === payeeId)])[0] : undefined;
}

/**
 * The condition of every move into a payout: it is still being created and not yet closing (see
 * finishPayout). A check, not a write, so payees moved in parallel do not contend on the header.
 */
export function payoutOpenTx(payoutId: string): TxItem {
  return {
    ConditionCheck: {
      Key: payoutKey(payoutId),
      ConditionExpression: '#status = :creating AND attribute_not_exists(closing)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':creating': 'creating' },
    },
    onFail: () => new StaleReadError(`payout ${payoutId} is no longer open to new lines`),
  };
}

/**
 * Adds entries to a payee's payout line (creating it): their amount onto the line, their ids as a
 * page of their own (a line of thousands of entries would outgrow one item). The payout's total is
 * set from the lines when its creation ends (`finishPayout`), so payees settled in parallel do not
 * contend on the header.
 */
export function addToPayoutTx(payoutId: string, payeeId: string, entryIds: string[], amount: number): TxItem[] {
  return [
    {
      Update: {
        Key: payoutItemKey(payoutId, payeeId),
        UpdateExpression:
          'SET entity = :entity, payoutId = :payout, payeeId = :payee, #status = if_not_exists(#status, :inPayout) ' +
          'ADD amount :amount',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':entity': 'payout_item',
          ':payout': payoutId,
          ':payee': payeeId,
          ':inPayout': 'in_payout',
          ':amount': amount,
        },
      },
    },
    {
      Put: {
        Item: {
          ...payoutItemPageKey(payoutId, payeeId, entryIds[0]!),
          entity: 'payout_item_page',
          payoutId,
          payeeId,
          entryIds,
          amount,
        },
      },
    },
  ];
}

/** Sets a payout line's status, conditional on the status it was read with. */
export function setPayoutItemStatusTx(
  item: Pick<PayoutItem, 'payoutId' | 'payeeId' | 'status'>,
  status: PayoutItem['status'],
  extra: { reason?: string; totalDelta?: number } = {},
): TxItem[] {
  const out: TxItem[] = [
    {
      Update: {
        Key: payoutItemKey(item.payoutId, item.payeeId),
        UpdateExpression: extra.reason ? 'SET #status = :to, reason = :reason' : 'SET #status = :to',
        ConditionExpression: '#status = :from',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':to': status,
          ':from': item.status,
          ...(extra.reason ? { ':reason': extra.reason } : {}),
        },
      },
      onFail: () => new StaleReadError(`payout line ${item.payoutId}/${item.payeeId}`),
    },
  ];
  if (extra.totalDelta)
    out.push({
      Update: {
        Key: payoutKey(item.payoutId),
        UpdateExpression: 'ADD #total :d',
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#total': 'total', '#status': 'status' },
        ExpressionAttributeValues: { ':d': extra.totalDelta, ':pending': 'pending' },
      },
      onFail: () => new StaleReadError(`payout ${item.payoutId} is no longer pending`),
    });
  return out;
}

/** Checks a payout line still has `status`. */
export function payoutItemStatusIsTx(
  item: Pick<PayoutItem, 'payoutId' | 'payeeId'>,
  status: PayoutItem['status'],
): TxItem {
  return {
    ConditionCheck: {
      Key: payoutItemKey(item.payoutId, item.payeeId),
      ConditionExpression: '#status = :s',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':s': status },
    },
    onFail: () => new StaleReadError(`payout line ${item.payoutId}/${item.payeeId} is no longer ${status}`),
  };
}

/** Checks a payout still has `status`. */
export function payoutStatusIsTx(payoutId: string, status: PayoutStatus): TxItem {
  return {
    ConditionCheck: {
      Key: payoutKey(payoutId),
      ConditionExpression: '#status = :s',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':s': status },
    },
    onFail: () => new StaleReadError(`payout ${payoutId} is no longer ${status}`),
  };
}

/** Moves a payout's status from one of `from` to `to`; returns the payout after, or the old one when the condition failed. */
export async function setPayoutStatus(
  store: Store,
  id: string,
  from: PayoutStatus[],
  to: PayoutStatus,
  opts: { set?: Record<string, string>; guard?: { expression: string; values: Record<string, unknown> } } = {},
): Promise<{ ok: true; payout: Payout } | { ok: false; old: Payout | undefined }> {
  const names: Record<string, string> = { '#status': 'status' };
  const values: Record<string, unknown> = { ':to': to };
  const sets = ['#status = :to'];
  for (const [k, v] of Object.entries(opts.set ?? {})) {
    names[`#${k}`] = k;
    values[`:${k}`] = v;
    sets.push(`#${k} = :${k}`);
  }
  const fromNames = from.map((f, i) => {
    values[`:from${i}`] = f;
    return `:from${i}`;
  });
  let old: Item | undefined;
  try {
    const item = await store.update({
      key: payoutKey(id),
      update: `SET ${sets.join(', ')}`,
      condition: `#status IN (${fromNames.join(', ')})${opts.guard ? ` AND ${opts.guard.expression}` : ''}`,
      names,
      values: { ...values, ...opts.guard?.values },
      onFail: (o) => {
        old = o;
        return new StaleReadError(`payout ${id}`);
      },
    });
    return { ok: true, payout: toPayout(item) };
  } catch (e) {
    if (!(e instanceof StaleReadError)) throw e;
    return { ok: false, old: old ? toPayout(old) : undefined };
  }
}

// ── finance activity ─────────────────────────────────────────────────────────

/** Records one group-buy or bargain outcome, once per event. Returns false when it was recorded already. */
export async function insertFinanceActivity(
  store: Store,
  a: { eventId: string; type: string; occurredAt: string; recordedAt: string; detail: Record<string, unknown> },
): Promise<boolean> {
  try {
    await store.put(
      {
        ...financeActivityKey(a.eventId),
        ...financeActivityByDayIndex(a.occurredAt, a.eventId),
        entity: 'finance_activity',
        ...a,
      },
      { condition: 'attribute_not_exists(pk)', onFail: () => new AlreadySettledError() },
    );
    return true;
  } catch (e) {
    if (e instanceof AlreadySettledError) return false;
    throw e;
  }
}

/** Finance activity of one UTC day within [from, to]: type and occurredAt of each. */
export async function listDayActivity(
  store: Store,
  day: string,
  from: string,
  to: string,
): Promise<{ type: string; eventId: string; occurredAt: string }[]> {
  const items = await store.queryDay(financeActivityDayPk(day), { from, to });
  return items.map((i) => ({ type: String(i.type), eventId: String(i.eventId), occurredAt: String(i.occurredAt) }));
}
