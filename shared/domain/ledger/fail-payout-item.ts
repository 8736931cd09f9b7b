import type { Deps } from '../../deps.ts';
import { ConflictError, NotFoundError } from '../../errors.ts';
import {
  balanceDeltaTx,
  findEntries,
  findPayout,
  findPayoutItem,
  moveEntryTx,
  payoutStatusIsTx,
  putAvailableTx,
  setPayoutItemStatusTx,
} from '../../store/ledger.ts';
import { loadPayout, type PayoutDetail } from './payout-view.ts';
import { chunks } from './rules.ts';
import { withFreshReads } from './settlement.ts';

const ENTRIES_PER_TX = 45;

/**
 * Marks one payee's line of a pending payout failed, then returns its entries to `available`
 * (payable again), the amount moving inPayout → available. The line flips to `failed` first, in
 * one write conditional on the payout still being pending (and the payout's total drops by the
 * line), so a confirmation can no longer pay any of it; a confirmation that began first makes
 * the failure a 409 conflict. A repeat finishes returning any entries left and answers the same.
 */
export async function failPayoutItem(
  deps: Pick<Deps, 'store'>,
  input: { payoutId: string; payeeId: string; reason: string },
): Promise<PayoutDetail> {
  const { payoutId, payeeId, reason } = input;
  await withFreshReads(async () => {
    const payout = await findPayout(deps.store, payoutId);
    const line = payout && (await findPayoutItem(deps.store, payoutId, payeeId));
    if (!payout || !line) throw new NotFoundError('payout line');
    if (line.status === 'paid') throw new ConflictError('conflict', 'This payout line was paid already.');
    if (line.status === 'in_payout') {
      if (payout.status === 'creating') throw new ConflictError('conflict', 'This payout is still being created.');
      if (payout.status !== 'pending')
        throw new ConflictError('conflict', `The payout is ${payout.status}; its lines can no longer fail.`);
      await deps.store.transact([
        ...setPayoutItemStatusTx(line, 'failed', { reason, totalDelta: -line.amount }),
        ...(line.amount === 0 ? [payoutStatusIsTx(payoutId, 'pending')] : []),
      ]);
    }
    const entries = (await findEntries(deps.store, line.entryIds)).filter(
      (e) => e.state === 'in_payout' && e.payoutId === payoutId,
    );
    for (const part of chunks(entries, ENTRIES_PER_TX)) {
      const sum = part.reduce((s, e) => s + e.amount, 0);
      await deps.store.transact([
        ...part.flatMap((e) => [
          moveEntryTx(e, { set: { state: 'available' }, remove: ['payoutId'], payoutId }),
          putAvailableTx(e),
        ]),
        balanceDeltaTx(payeeId, payout.asset, { inPayout: -sum, available: sum }, { payable: true }),
      ]);
    }
  });
  return loadPayout(deps, payoutId);
}
