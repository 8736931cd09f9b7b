import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import type { EventDetail } from '../../events/schemas.ts';
import { dropPendingReversalTx, findEntry, listPendingReversals, putPayeeCampaignTx } from '../../store/ledger.ts';
import { applyParkedReversals, buildReversals, commissionIdFor, REVERSALS_PER_TX } from './apply-reversals.ts';
import type { LedgerEntry } from './ledger.schema.ts';
import { initialState } from './rules.ts';
import { newEntriesTx, settleOnce } from './settlement.ts';
import { unlockEntry } from './unlock-entry.ts';

/**
 * Accrues a KOL's commission on an attributed order: one entry, locked for the campaign's
 * `lockSeconds`, held when KOL and buyer share a device; also remembers the campaign's
 * `minPayout` for the KOL's payouts. Refunds that arrived first (parked) are applied in the same
 * transaction, up to `REVERSALS_PER_TX` of them, then the rest; a redelivery applies whatever a
 * stopped consumer left parked. The commission always starts locked, even with `lockSeconds` 0:
 * a refund may park until the very moment it lands, and `unlockEntry` unlocks a commission only
 * once nothing is parked for it. With `lockSeconds` 0 this consumer unlocks it itself, so it is
 * available as soon as its refunds are off it, and never payable before. Returns the entries written.
 */
export async function accrueCommission(
  deps: Pick<Deps, 'store' | 'clock'>,
  d: EventDetail<'OrderAttributed'>,
): Promise<LedgerEntry[]> {
  if (d.commission <= 0) return [];
  const id = commissionIdFor(d.orderId, d.kolId);
  const written: LedgerEntry[] = [];
  // A redelivery usually finds its entry already there: one read instead of a failing transaction.
  if (!(await findEntry(deps.store, id, false))) {
    const now = deps.clock.now();
    const parked = await listPendingReversals(deps.store, id, REVERSALS_PER_TX);
    const { unlockAt } = initialState(now, d.lockSeconds);
    const commission: LedgerEntry = {
      id,
      payeeId: d.kolId,
      asset: 'cash',
      amount: d.commission,
      kind: 'commission',
      cause: { type: 'order', id: d.orderId },
      state: 'locked',
      createdAt: iso(now),
      unlockAt,
      held: d.held,
      campaignId: d.campaignId,
      minPayout: d.minPayout,
    };
    const { entries: reversals, added } = buildReversals(commission, parked, iso(now));
    if (reversals.length) {
      commission.reversed = added;
      commission.reversalIds = reversals.map((r) => r.id);
    }
    const tx = [
      ...newEntriesTx([commission, ...reversals]),
      ...parked.map((p) => dropPendingReversalTx(id, p.refundId)),
      putPayeeCampaignTx(d.kolId, d.campaignId, d.minPayout),
    ];
    if (await settleOnce(deps, tx)) written.push(commission, ...reversals);
  }
  // A refund parks only while the commission is absent, so once it has landed this sees them all.
  written.push(...(await applyParkedReversals(deps, id)));
  if (d.lockSeconds <= 0) await unlockEntry(deps, id);
  return written;
}
