import type { Deps } from '../../deps.ts';
import { type KolDay, queryKolDays } from '../../store/kol.ts';
import { daysInRange } from './kol-stats.schema.ts';

/** `GET /v1/kol/stats`. */
export interface KolStats {
  days: KolDay[];
  totals: Omit<KolDay, 'date'>;
}

/**
 * A KOL's figures per UTC day over [from, to] (every day listed, zeros included) and their totals,
 * read from the pre-aggregated day items (one Query per shard), never from the clicks.
 */
export async function getKolStats(
  deps: Pick<Deps, 'store'>,
  input: { kolId: string; from: string; to: string },
): Promise<KolStats> {
  const found = await queryKolDays(deps.store, input.kolId, input.from, input.to);
  const totals = { clicks: 0, uniqueVisitors: 0, conversions: 0, gmv: 0, commission: 0 };
  const days = daysInRange(input.from, input.to).map((date) => {
    const d = found.get(date) ?? { date, clicks: 0, uniqueVisitors: 0, conversions: 0, gmv: 0, commission: 0 };
    totals.clicks += d.clicks;
    totals.uniqueVisitors += d.uniqueVisitors;
    totals.conversions += d.conversions;
    totals.gmv += d.gmv;
    totals.commission += d.commission;
    return d;
  });
  return { days, totals };
}
