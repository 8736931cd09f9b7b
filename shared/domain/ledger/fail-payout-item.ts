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
 * Marks one payee's line of a pending payout failed: its entries go back to `available` (and
 * payable again), the amount moves inPayout → available, and the payout's total drops by the
 * line. Only while the payout is pending (each write checks it); a repeat is a no-op;
 * a line already paid → 409 conflict.
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
    if (line.status === 'failed') return;
    if (line.status === 'paid' || payout.status !== 'pending')
      throw new ConflictError('conflict', `The payout is ${payout.status}; its lines can no longer fail.`);
    const entries = (await findEntries(deps.store, line.entryIds)).filter(
      (e) => e.state === 'in_payout' && e.payoutId === payoutId,
    );
    const parts = chunks(entries, ENTRIES_PER_TX);
    if (parts.length === 0) parts.push([]);
    for (const [i, part] of parts.entries()) {
      const sum = part.reduce((s, e) => s + e.amount, 0);
      const last = i === parts.length - 1;
      await deps.store.transact([
        ...(last && line.amount !== 0 ? [] : [payoutStatusIsTx(payoutId, 'pending')]),
        ...part.flatMap((e) => [
          moveEntryTx(e, { set: { state: 'available' }, remove: ['payoutId'], payoutId }),
          putAvailableTx(e),
        ]),
        ...(part.length
          ? [balanceDeltaTx(payeeId, payout.asset, { inPayout: -sum, available: sum }, { payable: true })]
          : []),
        ...(last ? setPayoutItemStatusTx(line, 'failed', { reason, totalDelta: -line.amount }) : []),
      ]);
    }
  });
  return loadPayout(deps, payoutId);
}
