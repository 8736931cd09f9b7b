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

/** Visits every item due by now, for every task; returns how many were handled. Failures are logged and retried next sweep. */
export async function sweepOnce(deps: Deps, tasks: SweepTask[], batch = 100): Promise<number> {
  const upTo = `${iso(deps.clock.now())}~`;
  let handled = 0;
  for (const task of tasks) {
    for (let shard = 0; shard < INDEX_SHARDS; shard++) {
      const page = await deps.store.query({
        index: 'gsi3',
        pk: dueShardPk(task.name, shard),
        sk: { lt: upTo },
        limit: batch,
      });
      const results = await Promise.allSettled(page.items.map((item) => task.handle(item, deps)));
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') {
          handled++;
          return;
        }
        const fields = { task: task.name, pk: page.items[i]?.pk, error: r.reason as Error };
        // An error that says it is transient (an item changed under it) is retried next sweep as a matter of course.
        if ((r.reason as { transient?: unknown } | undefined)?.transient === true)
          deps.log.warn('sweep task retried next sweep', fields);
        else deps.log.error('sweep task failed', fields);
      });
    }
  }
  return handled;
}
