import type { Deps } from '../../deps.ts';
import { ValidationError } from '../../errors.ts';
import { INDEX_SHARDS } from '../../store/keys.ts';
import { listDayEntries, listPayeeEntries } from '../../store/ledger.ts';
import type { Page } from '../../store/store.ts';
import type { LedgerEntry } from './ledger.schema.ts';
import { daysBetween, mergeShardPages, resolvePeriod } from './rules.ts';

export interface LedgerFilter {
  from?: string;
  to?: string;
  payeeId?: string;
}

/** Where a page resumes: the payee index's own cursor, or a day and each day shard's last `createdAt#id`. */
type Cursor = { d: 'payee'; c: string } | { d: string; s: (string | null | false)[] };

const badCursor = () =>
  new ValidationError('cursor is not valid for this list', [{ path: 'cursor', message: 'invalid cursor' }]);

function decode(cursor: string): Cursor {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (v?.d === 'payee' && typeof v.c === 'string') return v as Cursor;
    if (
      typeof v?.d === 'string' &&
      Array.isArray(v.s) &&
      v.s.length === INDEX_SHARDS &&
      v.s.every((x) => x === null || x === false || typeof x === 'string')
    )
      return v as Cursor;
  } catch {
    // fall through
  }
  throw badCursor();
}

const encode = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');
const fresh = (): (string | null | false)[] => Array(INDEX_SHARDS).fill(null);

/**
 * One page of ledger entries for finance, in a stable order: by `createdAt`, then `id`.
 * Filtered by payee, the payee's index is read (all time unless `from`/`to` are given);
 * otherwise the period (default: the last 31 days, at most 366) is read day by day from the
 * sharded day index, the shards merged in order (the cursor holds where each shard resumes). The CSV export pages through this, so a long period streams instead of loading.
 */
export async function exportLedger(
  deps: Pick<Deps, 'store' | 'clock'>,
  filter: LedgerFilter,
  page: { limit: number; cursor?: string | null },
): Promise<Page<LedgerEntry>> {
  const at = page.cursor ? decode(page.cursor) : undefined;
  if (filter.payeeId) {
    if (filter.from && filter.to && filter.from > filter.to)
      throw new ValidationError('from must not be after to', [{ path: 'from', message: 'after to' }]);
    if (at && at.d !== 'payee') throw badCursor();
    const r = await listPayeeEntries(deps.store, filter.payeeId, {
      limit: page.limit,
      cursor: at && 'c' in at ? at.c : null,
      forward: true,
      from: filter.from,
      to: filter.to,
    });
    return { items: r.items, nextCursor: r.nextCursor ? encode({ d: 'payee', c: r.nextCursor }) : null };
  }
  const period = resolvePeriod(filter, deps.clock.now());
  if ('error' in period) throw new ValidationError(period.error, [{ path: 'from', message: period.error }]);
  const days = daysBetween(period.from, period.to);
  let i = at ? days.indexOf(at.d) : 0;
  if (i < 0 || (at && !('s' in at))) throw badCursor();
  let after = at && 's' in at ? at.s : fresh();
  const items: LedgerEntry[] = [];
  while (i < days.length && items.length < page.limit) {
    const need = page.limit - items.length;
    const day = days[i]!;
    const pages = await Promise.all(
      after.map((a, shard) =>
        a === false
          ? undefined
          : listDayEntries(deps.store, day, shard, { limit: need, after: a, from: period.from, to: period.to }),
      ),
    );
    const merged = mergeShardPages(pages, after, need);
    items.push(...merged.taken);
    after = merged.after;
    if (after.every((a) => a === false)) {
      i++;
      after = fresh();
    }
  }
  return { items, nextCursor: i < days.length ? encode({ d: days[i]!, s: after }) : null };
}
