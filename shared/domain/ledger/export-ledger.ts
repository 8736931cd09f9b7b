import type { Deps } from '../../deps.ts';
import { ValidationError } from '../../errors.ts';
import { listDayEntries, listPayeeEntries } from '../../store/ledger.ts';
import type { Page } from '../../store/store.ts';
import type { LedgerEntry } from './ledger.schema.ts';
import { daysBetween, resolvePeriod } from './rules.ts';

export interface LedgerFilter {
  from?: string;
  to?: string;
  payeeId?: string;
}

interface Cursor {
  /** The UTC day being read, or `payee` when filtered by payee. */
  d: string;
  /** The store's cursor within that day (null: from its start). */
  c: string | null;
}

const badCursor = () =>
  new ValidationError('cursor is not valid for this list', [{ path: 'cursor', message: 'invalid cursor' }]);

function decode(cursor: string): Cursor {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Cursor;
    if (typeof v?.d === 'string' && (v.c === null || typeof v.c === 'string')) return v;
  } catch {
    // fall through
  }
  throw badCursor();
}

const encode = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');

/**
 * One page of ledger entries for finance, in a stable order: by `createdAt`, then `id`.
 * Filtered by payee, the payee's index is read (all time unless `from`/`to` are given);
 * otherwise the period (default: the last 31 days, at most 366) is read day by day from the
 * day index. The CSV export pages through this, so a long period streams instead of loading.
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
      cursor: at?.c,
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
  if (i < 0) throw badCursor();
  let cursor = at?.c ?? null;
  const items: LedgerEntry[] = [];
  while (i < days.length && items.length < page.limit) {
    const r = await listDayEntries(deps.store, days[i]!, {
      limit: page.limit - items.length,
      cursor,
      from: period.from,
      to: period.to,
    });
    items.push(...r.items);
    cursor = r.nextCursor;
    if (!cursor) i++;
  }
  const nextCursor = i < days.length ? encode({ d: days[i]!, c: cursor }) : null;
  return { items, nextCursor };
}
