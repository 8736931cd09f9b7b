import { iso } from './clock.ts';
import type { Deps } from './deps.ts';
import { dueShardPk, INDEX_SHARDS } from './store/keys.ts';
import type { Item } from './store/store.ts';

/**
 * A job the sweeper runs for items that came due: items put themselves in the due index
 * (`dueIndex(task, dueAt, id)` in keys.ts) and `handle` must take them out again, with a
 * conditional write, so that two sweeps racing do the work once.
 */
export interface SweepTask {
  name: string;
  handle(item: Item, deps: Deps): Promise<void>;
}

/** How a sweep goes: items per task and shard, and what it tells of the items due next. */
export interface SweepOptions {
  /** Items visited per task and shard at most (100). */
  batch?: number;
  /**
   * Also read the items falling due within this long (0): each shard's first one is told to
   * `onUpcoming` (its due time), for a sweeper that wakes when it falls due.
   */
  lookAheadMs?: number;
  onUpcoming?: (dueAtMs: number) => void;
}

/** Visits every item due by now, for every task; returns how many were handled. Failures are logged and retried next sweep. */
export async function sweepOnce(deps: Deps, tasks: SweepTask[], opts: SweepOptions = {}): Promise<number> {
  const now = deps.clock.now();
  const upTo = iso(now);
  const readUpTo = `${iso(now + (opts.lookAheadMs ?? 0))}~`;
  let handled = 0;
  for (const task of tasks) {
    for (let shard = 0; shard < INDEX_SHARDS; shard++) {
      const page = await deps.store.query({
        index: 'gsi3',
        pk: dueShardPk(task.name, shard),
        sk: { lt: readUpTo },
        limit: opts.batch ?? 100,
      });
      // In due order: those due by now, then (looking ahead) the ones due next.
      const dueNow = page.items.filter((item) => dueAtOf(item) <= upTo);
      const upcoming = page.items[dueNow.length];
      if (upcoming) opts.onUpcoming?.(Date.parse(dueAtOf(upcoming)));
      const results = await Promise.allSettled(dueNow.map((item) => task.handle(item, deps)));
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') {
          handled++;
          return;
        }
        const fields = { task: task.name, pk: dueNow[i]?.pk, error: r.reason as Error };
        // An error that says it is transient (an item changed under it) is retried next sweep as a matter of course.
        if ((r.reason as { transient?: unknown } | undefined)?.transient === true)
          deps.log.warn('sweep task retried next sweep', fields);
        else deps.log.error('sweep task failed', fields);
      });
    }
  }
  return handled;
}

/** When an item of the due index falls due (its `gsi3sk` is `<due time>#<id>`). */
const dueAtOf = (item: Item): string => String(item.gsi3sk).split('#')[0]!;
