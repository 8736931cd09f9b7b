import type { Deps } from '../../deps.ts';
import { findEntry } from '../../store/ledger.ts';
import { decideTx, loadHoldGroup } from './hold-group.ts';
import type { LedgerEntry } from './ledger.schema.ts';
import { moveDelta } from './rules.ts';
import { balanceTx, withFreshReads } from './settlement.ts';

/**
 * Finance rejects a held entry (and its reversals): the entry becomes `rejected` (void, never
 * paid, kept for the record) and its amount leaves the balance. A repeat is a no-op.
 */
export async function rejectHold(deps: Pick<Deps, 'store'>, entryId: string): Promise<LedgerEntry> {
  return withFreshReads(async () => {
    const { entry, group } = await loadHoldGroup(deps, entryId, 'rejected');
    if (!group) return entry;
    const tx = group.map((x) =>
      decideTx(x, entry, { state: 'rejected', holdDecision: 'rejected' }, ['gsi3pk', 'gsi3sk']),
    );
    const changes = group.map((x) => ({
      payeeId: x.payeeId,
      asset: x.asset,
      delta: moveDelta(x.amount, 'held', null),
      payable: false,
    }));
    await deps.store.transact([...tx, ...balanceTx(changes)]);
    return (await findEntry(deps.store, entryId))!;
  });
}
