import { addBufferOf } from './add-buffer.ts';
import { deltaUpdateTx } from './group-commit.ts';
import { CLICK_SHARDS, kolDayKey, kolDayPk } from './keys.ts';
import type { Store, TxItem } from './store.ts';

/** One UTC day of a KOL's figures. */
export interface KolDay {
  date: string;
  clicks: number;
  uniqueVisitors: number;
  conversions: number;
  gmv: number;
  commission: number;
}

export type KolDayDelta = Partial<Omit<KolDay, 'date'>>;

const FIELDS = ['clicks', 'uniqueVisitors', 'conversions', 'gmv', 'commission'] as const;

/** Adds to one shard of a KOL's day: an atomic ADD, coalesced with others on the same shard in the same few ms. */
export async function addKolDay(
  store: Store,
  kolId: string,
  shard: number,
  day: string,
  delta: KolDayDelta,
): Promise<void> {
  await addBufferOf(store).add(kolDayKey(kolId, shard, day), 'kol_day', delta as Record<string, number>, { date: day });
}

/**
 * The same addition as a transaction item (consumers put it beside their consumed marker); a
 * group commit merges those of one shard (deltaUpdateTx).
 */
export function addKolDayTx(kolId: string, shard: number, day: string, delta: KolDayDelta): TxItem {
  const add: Record<string, number> = {};
  for (const f of FIELDS) if (delta[f]) add[f] = delta[f];
  return deltaUpdateTx(kolDayKey(kolId, shard, day), { set: { entity: 'kol_day', date: day }, add });
}

/** A KOL's days in [from, to] (YYYY-MM-DD), summed over the shards: one Query per shard, in parallel. */
export async function queryKolDays(
  store: Store,
  kolId: string,
  from: string,
  to: string,
): Promise<Map<string, KolDay>> {
  const shards = await Promise.all(
    Array.from({ length: CLICK_SHARDS }, (_, s) =>
      store.queryAll<Partial<KolDay> & { sk: string }>({ pk: kolDayPk(kolId, s), sk: { between: [from, to] } }),
    ),
  );
  const out = new Map<string, KolDay>();
  for (const item of shards.flat()) {
    const day = out.get(item.sk) ?? {
      date: item.sk,
      clicks: 0,
      uniqueVisitors: 0,
      conversions: 0,
      gmv: 0,
      commission: 0,
    };
    for (const f of FIELDS) day[f] += item[f] ?? 0;
    out.set(item.sk, day);
  }
  return out;
}
