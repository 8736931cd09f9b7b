import type { Deps } from '../../deps.ts';
import { putAvailableTx } from '../../store/ledger.ts';
import { decideHold } from './hold-group.ts';
import type { LedgerEntry } from './ledger.schema.ts';
import { bucketOf, moveDelta } from './rules.ts';

/**
 * Finance releases a held entry (and its reversals): it leaves `held` for the bucket of its
 * state (locked until unlockAt, or available and payable at once). A repeat is a no-op.
 */
export async function releaseHold(deps: Pick<Deps, 'store'>, entryId: string): Promise<LedgerEntry> {
  return decideHold(deps, entryId, 'released', (x) => {
    const to = bucketOf(x.state, false);
    return {
      set: { held: false, holdDecision: 'released' },
      also: to === 'available' ? [putAvailableTx(x)] : [],
      change: {
        payeeId: x.payeeId,
        asset: x.asset,
        delta: moveDelta(x.amount, 'held', to),
        payable: to === 'available',
      },
    };
  });
}
