import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import {
  dropPendingReversalTx,
  findEntry,
  listPendingReversals,
  type PendingReversal,
  recordReversalsOnCommissionTx,
} from '../../store/ledger.ts';
import type { TxItem } from '../../store/store.ts';
import type { LedgerEntry } from './ledger.schema.ts';
import { clampReversal, entryIdFor, reversalPlacement } from './rules.ts';
import { newEntriesTx, settleOnce, withFreshReads } from './settlement.ts';

/**
 * Parked refunds applied per transaction. Each costs up to three items (its entry, its payable
 * mark, the parked item's delete) beside the commission and its balance: 25 stay well inside
 * DynamoDB's 100 items per transaction.
 */
export const REVERSALS_PER_TX = 25;

/**
 * The cause id of a refund's reversal: the order and the refund, since a refund id is unique only
 * within its order (ids are printable ASCII without spaces, so the space cannot be ambiguous).
 */
export const refundCauseId = (orderId: string, refundId: string) => `${orderId} ${refundId}`;

/** The id of the commission entry an order attributed to `kolId` earned. */
export const commissionIdFor = (orderId: string, kolId: string) => entryIdFor('order', orderId, kolId, 'commission');

/** The id of the reversal entry of a refund of an order attributed to `kolId`. */
export const reversalIdFor = (orderId: string, refundId: string, kolId: string) =>
  entryIdFor('refund', refundCauseId(orderId, refundId), kolId, 'commission_reversal');

/**
 * The reversal entries of `refunds` against `commission`, in order: one negative entry per refund
 * the commission does not record yet (`commission_reversal`), never taking back more than is left
 * of it, placed as `reversalPlacement` says. `clamped` says some refund was cut to what was left.
 */
export function buildReversals(
  commission: LedgerEntry,
  refunds: PendingReversal[],
  nowIso: string,
): { entries: LedgerEntry[]; added: number; clamped: boolean } {
  const entries: LedgerEntry[] = [];
  let added = 0;
  let clamped = false;
  for (const r of refunds) {
    const id = reversalIdFor(commission.cause.id, r.refundId, commission.payeeId);
    if (commission.reversalIds?.includes(id)) continue;
    const amount = clampReversal(r.amount, commission.amount, (commission.reversed ?? 0) + added);
    if (amount < r.amount) clamped = true;
    if (amount <= 0) continue;
    added += amount;
    entries.push({
      id,
      payeeId: commission.payeeId,
      asset: commission.asset,
      amount: -amount,
      kind: 'commission_reversal',
      cause: { type: 'refund', id: refundCauseId(commission.cause.id, r.refundId) },
      createdAt: nowIso,
      ...reversalPlacement(commission, nowIso),
      reverses: commission.id,
      ...(commission.campaignId ? { campaignId: commission.campaignId } : {}),
    });
  }
  return { entries, added, clamped };
}

/**
 * Reverses a landed commission for `refunds` in one transaction (see `buildReversals`), with the
 * commission's running total; with `unpark`, the refunds are parked ones and leave the parking in
 * the same transaction (one the commission already records is only unparked). Throws
 * StaleReadError when the commission changed since it was read. Returns the entries written.
 */
export async function applyReversals(
  deps: Pick<Deps, 'store' | 'clock'>,
  commission: LedgerEntry,
  refunds: PendingReversal[],
  opts: { unpark?: boolean } = {},
): Promise<LedgerEntry[]> {
  const { entries, added, clamped } = buildReversals(commission, refunds, iso(deps.clock.now()));
  const tx: TxItem[] = [];
  if (entries.length)
    tx.push(
      ...newEntriesTx(entries),
      recordReversalsOnCommissionTx(
        commission,
        entries.map((e) => e.id),
        added,
        clamped,
      ),
    );
  if (opts.unpark) for (const r of refunds) tx.push(dropPendingReversalTx(commission.id, r.refundId));
  if (!tx.length) return [];
  return (await settleOnce(deps, tx)) ? entries : [];
}

/**
 * Applies every refund parked for a commission that has landed, a transaction per
 * `REVERSALS_PER_TX` of them, until none is left. Each transaction stands alone: a consumer
 * stopped part-way leaves the rest parked, and the redelivery of its event applies them.
 */
export async function applyParkedReversals(
  deps: Pick<Deps, 'store' | 'clock'>,
  commissionId: string,
): Promise<LedgerEntry[]> {
  const written: LedgerEntry[] = [];
  let last = '';
  for (let same = 0; ; ) {
    const parked = await listPendingReversals(deps.store, commissionId, REVERSALS_PER_TX);
    if (!parked.length) return written;
    // A pass may find the same refunds again after losing a race; never spin on them.
    const key = parked.map((p) => p.refundId).join(' ');
    same = key === last ? same + 1 : 0;
    last = key;
    if (same >= 5) throw new Error(`the refunds parked for ${commissionId} make no progress`);
    const entries = await withFreshReads(async () => {
      const commission = await findEntry(deps.store, commissionId);
      if (!commission) throw new Error(`refunds are parked for ${commissionId}, which has not landed`);
      return applyReversals(deps, commission, parked, { unpark: true });
    });
    written.push(...entries);
  }
}
