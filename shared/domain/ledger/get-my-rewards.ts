import type { Deps } from '../../deps.ts';
import { findBalances, listPayeeEntries } from '../../store/ledger.ts';
import type { Page } from '../../store/store.ts';
import type { Buckets, LedgerEntry } from './ledger.schema.ts';
import { type PublicEntry, publicEntry } from './public-entry.ts';

export interface MyRewards {
  balances: Record<string, Buckets>;
  entries: Page<PublicEntry>;
}

/** The caller's balances per asset and their entries, newest first. */
export async function getMyRewards(
  deps: Pick<Deps, 'store'>,
  payeeId: string,
  page: { limit: number; cursor?: string | null },
): Promise<MyRewards> {
  const [balances, entries] = await Promise.all([
    findBalances(deps.store, payeeId),
    listPayeeEntries(deps.store, payeeId, { limit: page.limit, cursor: page.cursor, forward: false }),
  ]);
  return {
    balances: Object.fromEntries(
      balances.map((b) => [
        b.asset,
        { locked: b.locked, available: b.available, inPayout: b.inPayout, paid: b.paid, held: b.held },
      ]),
    ),
    entries: { items: entries.items.map((e: LedgerEntry) => publicEntry(e)), nextCursor: entries.nextCursor },
  };
}
