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
 * mark, the parked item's delete) beside the commission and two balances: 25 stay well inside
 * DynamoDB's 100 items per transaction.
 */
export const REVERSALS_PER_TX = 25;

/**
 * Reverses a landed commission for `refunds`, in order, in one transaction: a negative entry
 * per refund (`commission_reversal`, cause `{ type: 'refund', id }`), never taking back more
 * than is left of the commission, and the commission's running total; with `unpark`, the refunds
 * are parked ones and leave the parking in the same transaction (one the commission already
 * records is only unparked). Throws StaleReadError when the commission changed since it was read.
 * Returns the entries written.
 */
export async function applyReversals(
  deps: Pick<Deps, 'store' | 'clock'>,
  commission: LedgerEntry,
  refunds: PendingReversal[],
  opts: { unpark?: boolean } = {},
): Promise<LedgerEntry[]> {
  const nowIso = iso(deps.clock.now());
  const entries: LedgerEntry[] = [];
  let reversed = commission.reversed ?? 0;
  let clamped = false;
  for (const r of refunds) {
    const id = entryIdFor('refund', r.refundId, commission.payeeId, 'commission_reversal');
    if (commission.reversalIds?.includes(id)) continue;
    const amount = clampReversal(r.amount, commission.amount, reversed);
    if (amount < r.amount) clamped = true;
    if (amount <= 0) continue;
    reversed += amount;
    entries.push({
      id,
      payeeId: commission.payeeId,
      asset: commission.asset,
      amount: -amount,
      kind: 'commission_reversal',
      cause: { type: 'refund', id: r.refundId },
      createdAt: nowIso,
      ...reversalPlacement(commission, nowIso),
      reverses: commission.id,
      ...(commission.campaignId ? { campaignId: commission.campaignId } : {}),
    });
  }
  const tx: TxItem[] = [];
  if (entries.length) {
    tx.push(...newEntriesTx(entries));
    tx.push(
      recordReversalsOnCommissionTx(
        commission,
        entries.map((e) => e.id),
        reversed - (commission.reversed ?? 0),
        clamped,
      ),
    );
  }
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
  for (;;) {
    const parked = await listPendingReversals(deps.store, commissionId, REVERSALS_PER_TX);
    if (!parked.length) return written;
    const entries = await withFreshReads(async () => {
      const commission = await findEntry(deps.store, commissionId);
      if (!commission) throw new Error(`refunds are parked for ${commissionId}, which has not landed`);
      return applyReversals(deps, commission, parked, { unpark: true });
    });
    written.push(...entries);
  }
}
