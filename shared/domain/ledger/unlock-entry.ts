import type { Deps } from '../../deps.ts';
import {
  findEntries,
  findEntry,
  listPendingReversals,
  moveEntryTx,
  putAvailableTx,
  reversalsAsRead,
} from '../../store/ledger.ts';
import type { TxItem } from '../../store/store.ts';
import type { LedgerEntry } from './ledger.schema.ts';
import { type BalanceChange, bucketOf, chunks, moveDelta } from './rules.ts';
import { balanceTx, withFreshReads } from './settlement.ts';

/** Entries unlocked per transaction: each takes its update and its payable mark, beside two balances. */
const ENTRIES_PER_TX = 40;

/**
 * Unlocks an entry whose `unlockAt` has come (the `ledger-unlock` sweep): locked → available,
 * conditional on it still being locked as read, with the amount moved from `locked` to
 * `available` in the same transaction (a held entry's amount stays in `held`). The entry leaves
 * the due index in that write, so racing sweeps act once. Until the sweep runs, the entry and
 * the balance show it locked: reads never present a locked amount as available.
 *
 * A commission and its reversals become available together, reversals first: a commission
 * unlocks its locked reversals before itself, and a reversal waits while its commission is
 * locked. A commission with refunds still parked for it stays locked (and due) until they are
 * applied. So a commission is never payable while some of what was refunded of it is not.
 * Returns true when this call unlocked the entry.
 */
export async function unlockEntry(deps: Pick<Deps, 'store' | 'clock'>, entryId: string): Promise<boolean> {
  return withFreshReads(async () => {
    const e = await findEntry(deps.store, entryId);
    if (e?.state !== 'locked') return false;
    if (Date.parse(e.unlockAt) > deps.clock.now()) return false;
    if (e.reverses && (await findEntry(deps.store, e.reverses))?.state === 'locked') return false;
    if (e.kind === 'commission') {
      // No refund can park once the commission exists: none found means none will come.
      if ((await listPendingReversals(deps.store, e.id, 1)).length) return false;
      const reversals = e.reversalIds?.length ? await findEntries(deps.store, e.reversalIds) : [];
      const locked = reversals.filter((r) => r.state === 'locked');
      for (const part of chunks(locked, ENTRIES_PER_TX)) await deps.store.transact(unlockTx(part));
    }
    // Pinned to the reversals as read: a refund landing meanwhile makes it read and unlock again.
    await deps.store.transact(unlockTx([e], e.kind === 'commission' ? reversalsAsRead(e) : {}));
    return true;
  });
}

/** Unlocks `entries` in one transaction; `pin` adds a condition to each entry's move. */
function unlockTx(entries: LedgerEntry[], pin: Partial<ReturnType<typeof reversalsAsRead>> = {}): TxItem[] {
  const tx: TxItem[] = [];
  const changes: BalanceChange[] = [];
  for (const e of entries) {
    tx.push(moveEntryTx(e, { set: { state: 'available' }, remove: ['gsi3pk', 'gsi3sk'], ...pin }));
    const from = bucketOf('locked', e.held);
    const to = bucketOf('available', e.held);
    if (to === 'available') tx.push(putAvailableTx(e));
    if (from !== to)
      changes.push({
        payeeId: e.payeeId,
        asset: e.asset,
        delta: moveDelta(e.amount, from, to),
        payable: to === 'available',
      });
  }
  return [...tx, ...balanceTx(changes)];
}
