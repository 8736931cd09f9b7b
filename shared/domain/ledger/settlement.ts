import type { Deps } from '../../deps.ts';
import { balanceDeltaTx, putAvailableTx, putEntryTx } from '../../store/ledger.ts';
import type { TxItem } from '../../store/store.ts';
import { AlreadySettledError, StaleReadError } from './errors.ts';
import type { LedgerEntry } from './ledger.schema.ts';
import { type BalanceChange, bucketOf, mergeBalanceChanges } from './rules.ts';

/** The writes that record new entries: each entry, its payable mark when available, and the balance changes. */
export function newEntriesTx(entries: LedgerEntry[]): TxItem[] {
  const tx: TxItem[] = [];
  const changes: BalanceChange[] = [];
  for (const e of entries) {
    tx.push(putEntryTx(e));
    const bucket = bucketOf(e.state, e.held);
    if (bucket === 'available') tx.push(putAvailableTx(e));
    if (bucket)
      changes.push({
        payeeId: e.payeeId,
        asset: e.asset,
        delta: { [bucket]: e.amount },
        payable: bucket === 'available',
      });
  }
  return [...tx, ...balanceTx(changes)];
}

/** Balance updates for a set of changes, one per balance. */
export function balanceTx(changes: BalanceChange[]): TxItem[] {
  return mergeBalanceChanges(changes).map((c) => balanceDeltaTx(c.payeeId, c.asset, c.delta, { payable: c.payable }));
}

/**
 * Runs a settlement transaction: true when it took effect, false when its cause had been settled
 * already (a redelivered or replayed event: quiet success).
 */
export async function settleOnce(deps: Pick<Deps, 'store'>, tx: TxItem[]): Promise<boolean> {
  try {
    await deps.store.transact(tx);
    return true;
  } catch (e) {
    if (e instanceof AlreadySettledError) return false;
    throw e;
  }
}

/** Re-reads and retries while what a transaction was built on keeps changing underneath it. */
export async function withFreshReads<T>(attempt: () => Promise<T>, tries = 10): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (e) {
      if (!(e instanceof StaleReadError) || i >= tries) throw e;
      await new Promise((r) => setTimeout(r, Math.random() * 5 * i));
    }
  }
}
