import type { Deps } from '../../deps.ts';
import { findEntry, putAvailableTx } from '../../store/ledger.ts';
import type { TxItem } from '../../store/store.ts';
import { decideTx, loadHoldGroup } from './hold-group.ts';
import type { LedgerEntry } from './ledger.schema.ts';
import { type BalanceChange, bucketOf, moveDelta } from './rules.ts';
import { balanceTx, withFreshReads } from './settlement.ts';

/**
 * Finance releases a held entry (and its reversals): it leaves `held` for the bucket of its
 * state (locked until unlockAt, or available and payable at once). A repeat is a no-op.
 */
export async function releaseHold(deps: Pick<Deps, 'store'>, entryId: string): Promise<LedgerEntry> {
  return withFreshReads(async () => {
    const { entry, group } = await loadHoldGroup(deps, entryId, 'released');
    if (!group) return entry;
    const tx: TxItem[] = [];
    const changes: BalanceChange[] = [];
    for (const x of group) {
      tx.push(decideTx(x, entry, { held: false, holdDecision: 'released' }));
      const to = bucketOf(x.state, false);
      if (to === 'available') tx.push(putAvailableTx(x));
      changes.push({
        payeeId: x.payeeId,
        asset: x.asset,
        delta: moveDelta(x.amount, 'held', to),
        payable: to === 'available',
      });
    }
    await deps.store.transact([...tx, ...balanceTx(changes)]);
    return (await findEntry(deps.store, entryId))!;
  });
}
