import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import type { EventDetail } from '../../events/schemas.ts';
import {
  entryAbsentTx,
  findEntry,
  findPendingReversals,
  putPendingReversalsTx,
  recordReversalOnCommissionTx,
} from '../../store/ledger.ts';
import type { LedgerEntry } from './ledger.schema.ts';
import { clampReversal, entryIdFor, reversalPlacement } from './rules.ts';
import { newEntriesTx, settleOnce, withFreshReads } from './settlement.ts';

export type ReversalOutcome =
  | { outcome: 'reversed'; entry: LedgerEntry }
  | { outcome: 'pending' }
  | { outcome: 'nothing' }
  | { outcome: 'already' };

/**
 * Reverses commission for one refund: a negative entry (`commission_reversal`, cause
 * `{ type: 'refund', id: refundId }`), never taking back more than is left of the commission.
 * The reversal follows the commission's state (see `reversalPlacement`): locked with it,
 * available at once otherwise, which may drive available negative (a clawback carried into the
 * next payout). When the commission has not landed yet (the refund event came first) the
 * refund is parked as a pending reversal, conditional on the commission still being absent,
 * and the commission's own transaction applies it.
 */
export async function reverseCommission(
  deps: Pick<Deps, 'store' | 'clock'>,
  d: EventDetail<'OrderRefunded'>,
): Promise<ReversalOutcome> {
  if (!d.kolId || !d.reversal || d.reversal <= 0) return { outcome: 'nothing' };
  const kolId = d.kolId;
  const requested = d.reversal;
  const commissionId = entryIdFor('order', d.orderId, kolId, 'commission');
  const reversalId = entryIdFor('refund', d.refundId, kolId, 'commission_reversal');
  return withFreshReads(async (): Promise<ReversalOutcome> => {
    const commission = await findEntry(deps.store, commissionId);
    if (!commission) {
      const pending = await findPendingReversals(deps.store, commissionId);
      if (pending?.refunds[d.refundId] !== undefined) return { outcome: 'already' };
      await deps.store.transact([
        entryAbsentTx(commissionId),
        putPendingReversalsTx(commissionId, pending, { ...pending?.refunds, [d.refundId]: requested }),
      ]);
      return { outcome: 'pending' };
    }
    if (commission.reversalIds?.includes(reversalId)) return { outcome: 'already' };
    const amount = clampReversal(requested, commission.amount, commission.reversed ?? 0);
    if (amount <= 0) return { outcome: 'nothing' };
    const nowIso = iso(deps.clock.now());
    const entry: LedgerEntry = {
      id: reversalId,
      payeeId: kolId,
      asset: commission.asset,
      amount: -amount,
      kind: 'commission_reversal',
      cause: { type: 'refund', id: d.refundId },
      createdAt: nowIso,
      ...reversalPlacement(commission, nowIso),
      reverses: commission.id,
      ...(commission.campaignId ? { campaignId: commission.campaignId } : {}),
    };
    const written = await settleOnce(deps, [
      ...newEntriesTx([entry]),
      recordReversalOnCommissionTx(commission, reversalId, (commission.reversed ?? 0) + amount),
    ]);
    return written ? { outcome: 'reversed', entry } : { outcome: 'already' };
  });
}
