import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import type { EventDetail } from '../../events/schemas.ts';
import { consumePendingReversalsTx, findEntry, findPendingReversals, putPayeeCampaignTx } from '../../store/ledger.ts';
import type { LedgerEntry } from './ledger.schema.ts';
import { clampReversal, entryIdFor, initialState, reversalPlacement } from './rules.ts';
import { newEntriesTx, settleOnce, withFreshReads } from './settlement.ts';

/**
 * Accrues a KOL's commission on an attributed order: one entry, locked for the campaign's
 * `lockSeconds` (available at once when 0), held when KOL and buyer share a device. Refunds
 * that arrived first (parked as pending reversals) are applied in the same transaction, so a
 * reordered refund is never lost. Also remembers the campaign's `minPayout` for the KOL's payouts.
 * Returns the entries written (none when the order had been settled already).
 */
export async function accrueCommission(
  deps: Pick<Deps, 'store' | 'clock'>,
  d: EventDetail<'OrderAttributed'>,
): Promise<LedgerEntry[]> {
  if (d.commission <= 0) return [];
  const id = entryIdFor('order', d.orderId, d.kolId, 'commission');
  // A redelivery usually finds its entry already there: one read instead of a failing transaction.
  if (await findEntry(deps.store, id, false)) return [];
  let firstTry = true;
  return withFreshReads(async () => {
    const now = deps.clock.now();
    const nowIso = iso(now);
    const { state, unlockAt } = initialState(now, d.lockSeconds);
    // Refunds rarely come first: the first try assumes none are parked (the transaction checks it).
    const pending = firstTry ? undefined : await findPendingReversals(deps.store, id);
    firstTry = false;
    const commission: LedgerEntry = {
      id,
      payeeId: d.kolId,
      asset: 'cash',
      amount: d.commission,
      kind: 'commission',
      cause: { type: 'order', id: d.orderId },
      state,
      createdAt: nowIso,
      unlockAt,
      held: d.held,
      campaignId: d.campaignId,
      minPayout: d.minPayout,
    };
    const reversals: LedgerEntry[] = [];
    let reversed = 0;
    for (const refundId of Object.keys(pending?.refunds ?? {}).sort()) {
      const amount = clampReversal(pending!.refunds[refundId]!, d.commission, reversed);
      if (amount <= 0) continue;
      reversed += amount;
      const placement = reversalPlacement(commission, nowIso);
      reversals.push({
        id: entryIdFor('refund', refundId, d.kolId, 'commission_reversal'),
        payeeId: d.kolId,
        asset: 'cash',
        amount: -amount,
        kind: 'commission_reversal',
        cause: { type: 'refund', id: refundId },
        createdAt: nowIso,
        ...placement,
        reverses: id,
        campaignId: d.campaignId,
      });
    }
    if (reversals.length) {
      commission.reversed = reversed;
      commission.reversalIds = reversals.map((r) => r.id);
    }
    const written = await settleOnce(deps, [
      ...newEntriesTx([commission, ...reversals]),
      consumePendingReversalsTx(id, pending),
      putPayeeCampaignTx(d.kolId, d.campaignId, d.minPayout),
    ]);
    return written ? [commission, ...reversals] : [];
  });
}
