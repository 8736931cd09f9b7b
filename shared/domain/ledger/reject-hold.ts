import type { Deps } from '../../deps.ts';
import { decideHold } from './hold-group.ts';
import type { LedgerEntry } from './ledger.schema.ts';
import { moveDelta } from './rules.ts';

/**
 * Finance rejects a held entry (and its reversals): the entry becomes `rejected` (void, never
 * paid, kept for the record) and its amount leaves the balance. A repeat is a no-op.
 */
export async function rejectHold(deps: Pick<Deps, 'store'>, entryId: string): Promise<LedgerEntry> {
  return decideHold(deps, entryId, 'rejected', (x) => ({
    set: { state: 'rejected', holdDecision: 'rejected' },
    remove: ['gsi3pk', 'gsi3sk'],
    change: { payeeId: x.payeeId, asset: x.asset, delta: moveDelta(x.amount, 'held', null), payable: false },
  }));
}
