import type { Deps } from '../../deps.ts';
import { ValidationError } from '../../errors.ts';
import { INDEX_SHARDS } from '../../store/keys.ts';
import {
  findBalances,
  findPayouts,
  listAllBalances,
  listAllPayeeEntries,
  listDayActivity,
  listDayEntries,
  listPayoutItems,
  listPayoutsCreated,
} from '../../store/ledger.ts';
import type { Balance, LedgerEntry, Payout, PayoutItem } from './ledger.schema.ts';
import { reconcile as check, daysBetween, entryOrderKey, type Reconciliation, resolvePeriod } from './rules.ts';

/**
 * Reconciles the ledger from the entries themselves. Without a period: every balance (from the
 * balance list) against every entry of its payee. With `from`/`to`: the period's entries (day
 * index) for the cause and payout checks, and, for each payee seen in the period, all of that
 * payee's entries against its balances (a balance sums all time). Payouts checked: those the
 * entries name and those created in the period. With a period, `totals.activity` also counts the
 * group-buy and bargain outcomes recorded for finance (by event type). A finance batch job, not a hot path.
 */
export async function reconcileLedger(
  deps: Pick<Deps, 'store' | 'clock'>,
  q: { from?: string; to?: string },
): Promise<Reconciliation & { period: { from: string; to: string } | null }> {
  let entries: LedgerEntry[];
  let balances: Balance[];
  let balanceEntries: LedgerEntry[];
  let period: { from: string; to: string } | null = null;
  if (q.from || q.to) {
    const p = resolvePeriod(q, deps.clock.now());
    if ('error' in p) throw new ValidationError(p.error, [{ path: 'from', message: p.error }]);
    period = p;
    entries = [];
    for (const day of daysBetween(p.from, p.to))
      for (let shard = 0; shard < INDEX_SHARDS; shard++) {
        let after: string | null = null;
        for (;;) {
          const r = await listDayEntries(deps.store, day, shard, { limit: 500, after, from: p.from, to: p.to });
          entries.push(...r.items);
          if (!r.more || r.items.length === 0) break;
          after = entryOrderKey(r.items[r.items.length - 1]!);
        }
      }
    const payees = [...new Set(entries.map((e) => e.payeeId))];
    balances = (await mapLimit(payees, (id) => findBalances(deps.store, id))).flat();
    balanceEntries = (await mapLimit(payees, (id) => listAllPayeeEntries(deps.store, id))).flat();
  } else {
    balances = await listAllBalances(deps.store);
    const payees = [...new Set(balances.map((b) => b.payeeId))];
    balanceEntries = (await mapLimit(payees, (id) => listAllPayeeEntries(deps.store, id))).flat();
    entries = balanceEntries;
  }
  const payoutIds = new Set(entries.map((e) => e.payoutId).filter((id): id is string => Boolean(id)));
  const created = await listPayoutsCreated(deps.store, period?.from ?? '0', period?.to ?? '9999');
  for (const p of created) payoutIds.add(p.id);
  const payouts: Payout[] = await findPayouts(deps.store, [...payoutIds]);
  const payoutItems: PayoutItem[] = (await mapLimit(payouts, (p) => listPayoutItems(deps.store, p.id))).flat();
  const result = check({ entries, balances, balanceEntries, payouts, payoutItems });
  if (period) {
    const activity: Record<string, number> = {};
    for (const day of daysBetween(period.from, period.to))
      for (const a of await listDayActivity(deps.store, day, period.from, period.to))
        activity[a.type] = (activity[a.type] ?? 0) + 1;
    result.totals.activity = activity;
  }
  return { ...result, period };
}

async function mapLimit<T, R>(list: T[], fn: (x: T) => Promise<R>, limit = 8): Promise<R[]> {
  const out: R[] = new Array(list.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, list.length) }, async () => {
      while (next < list.length) {
        const i = next++;
        out[i] = await fn(list[i]!);
      }
    }),
  );
  return out;
}
