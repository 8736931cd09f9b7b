import type { Deps } from '../../deps.ts';
import { findBalances, listPayeeEntries } from '../../store/ledger.ts';
import type { Page } from '../../store/store.ts';
import { ASSETS, type Buckets, type LedgerEntry } from './ledger.schema.ts';
import { type PublicEntry, publicEntry } from './public-entry.ts';

export interface MyRewards {
  balances: Record<string, Buckets>;
  entries: Page<PublicEntry>;
}

/** The caller's balances per asset (every asset, zeros included) and their entries, newest first. */
export async function getMyRewards(
  deps: Pick<Deps, 'store'>,
  payeeId: string,
  page: { limit: number; cursor?: string | null },
): Promise<MyRewards> {
  const [balances, entries] = await Promise.all([
    findBalances(deps.store, payeeId),
    listPayeeEntries(deps.store, payeeId, { limit: page.limit, cursor: page.cursor, forward: false }),
  ]);
  const zero: Buckets = { locked: 0, available: 0, inPayout: 0, paid: 0, held: 0 };
  return {
    // Every asset, zeros included, so a client reads `balances.cash.available` before any reward.
    balances: Object.fromEntries(
      ASSETS.map((asset) => {
        const b = balances.find((x) => x.asset === asset) ?? zero;
        return [asset, { locked: b.locked, available: b.available, inPayout: b.inPayout, paid: b.paid, held: b.held }];
      }),
    ),
    entries: { items: entries.items.map((e: LedgerEntry) => publicEntry(e)), nextCursor: entries.nextCursor },
  };
}
