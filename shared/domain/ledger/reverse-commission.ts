import type { Deps } from '../../deps.ts';
import type { EventDetail } from '../../events/schemas.ts';
import { clearReversalDue, entryAbsentTx, findEntry, parkReversalTx } from '../../store/ledger.ts';
import { applyReversals, commissionIdFor, reversalIdFor } from './apply-reversals.ts';
import type { LedgerEntry } from './ledger.schema.ts';
import { settleOnce, withFreshReads } from './settlement.ts';

export type ReversalOutcome =
  | { outcome: 'reversed'; entry: LedgerEntry }
  | { outcome: 'pending' }
  | { outcome: 'nothing' }
  | { outcome: 'already' };

/**
 * Reverses commission for one refund (see `applyReversals`). The reversal follows the
 * commission's state (see `reversalPlacement`): locked with it, available at once otherwise,
 * which may drive available negative (a clawback carried into the next payout). When the
 * commission has not landed yet (the refund event came first) the refund is parked, conditional
 * on the commission still being absent, and the commission's consumer applies it (a parked
 * commission is written locked until then). Then the refund's due mark goes, so payouts take the
 * commission again: a delivery cut off before that is retried, and finds the work done.
 */
export async function reverseCommission(
  deps: Pick<Deps, 'store' | 'clock'>,
  d: EventDetail<'OrderRefunded'>,
): Promise<ReversalOutcome> {
  if (!d.kolId || !d.reversal || d.reversal <= 0) return { outcome: 'nothing' };
  const outcome = await reverseOnce(deps, d, d.kolId, d.reversal);
  await clearReversalDue(deps.store, d.kolId, d.orderId, d.refundId);
  return outcome;
}

async function reverseOnce(
  deps: Pick<Deps, 'store' | 'clock'>,
  d: EventDetail<'OrderRefunded'>,
  kolId: string,
  reversal: number,
): Promise<ReversalOutcome> {
  const commissionId = commissionIdFor(d.orderId, kolId);
  const reversalId = reversalIdFor(d.orderId, d.refundId, kolId);
  const refund = { refundId: d.refundId, amount: reversal };
  return withFreshReads(async (): Promise<ReversalOutcome> => {
    const commission = await findEntry(deps.store, commissionId);
    if (!commission) {
      const parked = await settleOnce(deps, [entryAbsentTx(commissionId), parkReversalTx(commissionId, refund)]);
      return parked ? { outcome: 'pending' } : { outcome: 'already' };
    }
    if (commission.reversalIds?.includes(reversalId)) return { outcome: 'already' };
    const [entry] = await applyReversals(deps, commission, [refund]);
    if (entry) return { outcome: 'reversed', entry };
    // Nothing left of the commission to take back, or another delivery wrote it first.
    return (commission.reversed ?? 0) >= commission.amount ? { outcome: 'nothing' } : { outcome: 'already' };
  });
}
