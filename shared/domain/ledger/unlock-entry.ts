import type { Deps } from '../../deps.ts';
import { findEntry, moveEntryTx, putAvailableTx } from '../../store/ledger.ts';
import type { TxItem } from '../../store/store.ts';
import type { LedgerEntry } from './ledger.schema.ts';
import { bucketOf, moveDelta } from './rules.ts';
import { balanceTx, withFreshReads } from './settlement.ts';

/**
 * Unlocks an entry whose `unlockAt` has come (the `ledger-unlock` sweep): locked → available,
 * conditional on it still being locked as read, with the amount moved from `locked` to
 * `available` in the same transaction (a held entry's amount stays in `held`). The entry leaves
 * the due index in that write, so racing sweeps act once. Until the sweep runs, the entry and
 * the balance show it locked: reads never present a locked amount as available.
 * Returns true when this call unlocked it.
 */
export async function unlockEntry(deps: Pick<Deps, 'store' | 'clock'>, entryId: string): Promise<boolean> {
  return withFreshReads(async () => {
    const e = await findEntry(deps.store, entryId);
    if (e?.state !== 'locked') return false;
    if (Date.parse(e.unlockAt) > deps.clock.now()) return false;
    await deps.store.transact(unlockTx(e));
    return true;
  });
}

function unlockTx(e: LedgerEntry): TxItem[] {
  const tx: TxItem[] = [moveEntryTx(e, { set: { state: 'available' }, remove: ['gsi3pk', 'gsi3sk'] })];
  const from = bucketOf('locked', e.held);
  const to = bucketOf('available', e.held);
  if (to === 'available') tx.push(putAvailableTx(e));
  if (from !== to)
    tx.push(
      ...balanceTx([
        { payeeId: e.payeeId, asset: e.asset, delta: moveDelta(e.amount, from, to), payable: to === 'available' },
      ]),
    );
  return tx;
}
