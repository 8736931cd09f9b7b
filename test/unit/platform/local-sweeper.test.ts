import { describe, expect, it } from 'vitest';
import type { Deps } from '#shared/deps';
import { noteDueItem } from '#shared/store/due-soon';
import { INDEX_SHARDS } from '#shared/store/keys';
import { LocalSweeper } from '../../../infra/local/sweeper.ts';
import { deferred } from '../../support/deferred.ts';

/** Deps whose store counts the sweeper's queries and holds each until `gate` opens. */
function countingDeps(gate: Promise<void>) {
  const seen = { queries: 0 };
  const deps = {
    clock: { now: () => Date.now() },
    log: { error: () => {}, warn: () => {} },
    store: {
      query: async () => {
        seen.queries++;
        await gate;
        return { items: [], nextCursor: null };
      },
    },
  } as unknown as Deps;
  return { deps, seen };
}

describe('Class: LocalSweeper', () => {
  it('runs a round when a noted item falls due, long before its interval', async () => {
    const { deps, seen } = countingDeps(Promise.resolve());
    const sweeper = new LocalSweeper(deps, [{ name: 't', handle: async () => {} }], 3_600_000);
    sweeper.start();
    try {
      await sweeper.caughtUp(); // the round at start
      const before = seen.queries;
      noteDueItem(new Date(Date.now() + 30).toISOString());
      await expect.poll(() => seen.queries, { timeout: 2000 }).toBeGreaterThan(before);
    } finally {
      await sweeper.stop();
    }
  });

  it('has a read wait for the first round after a start: what an earlier run wrote may be due', async () => {
    const { deps, seen } = countingDeps(Promise.resolve());
    const sweeper = new LocalSweeper(deps, [{ name: 't', handle: async () => {} }], 3_600_000);
    sweeper.start();
    try {
      await sweeper.caughtUp();
      expect(seen.queries).toBe(INDEX_SHARDS);
    } finally {
      await sweeper.stop();
    }
  });

  it('visits an item at its due time that no write of this process noted, having read it as the next due', async () => {
    const dueAt = Date.now() + 300;
    const handled: string[] = [];
    const deps = {
      clock: { now: () => Date.now() },
      log: { error: () => {}, warn: () => {} },
      store: {
        // One shard holds an item written before this run (or due beyond the horizon when written).
        query: async (q: { pk: string }) => ({
          items:
            q.pk.endsWith('#0') && handled.length === 0
              ? [{ pk: 'x', gsi3sk: `${new Date(dueAt).toISOString()}#x` }]
              : [],
          nextCursor: null,
        }),
      },
    } as unknown as Deps;
    const sweeper = new LocalSweeper(
      deps,
      [{ name: 't', handle: async (i) => void handled.push(String(i.pk)) }],
      3_600_000,
    );
    sweeper.start();
    try {
      await sweeper.caughtUp();
      expect(handled).toEqual([]); // read as upcoming, not yet due
      await new Promise((r) => setTimeout(r, dueAt - Date.now() + 5));
      await sweeper.caughtUp(); // a read right after it fell due finds it visited
      expect(handled).toEqual(['x']);
    } finally {
      await sweeper.stop();
    }
  });

  it('runs no round after stop() has resolved, even when stopped during a wake-up round', async () => {
    const gate = deferred();
    const { deps, seen } = countingDeps(gate.promise);
    const sweeper = new LocalSweeper(deps, [{ name: 't', handle: async () => {} }], 3_600_000);
    sweeper.start();
    noteDueItem(new Date(Date.now() + 20).toISOString());
    noteDueItem(new Date(Date.now() + 400).toISOString());
    await expect.poll(() => seen.queries).toBeGreaterThan(0);
    const stopping = sweeper.stop();
    gate.resolve();
    await stopping;
    const atStop = seen.queries;
    await new Promise((r) => setTimeout(r, 800));
    expect(seen.queries - atStop).toBe(0);
    await sweeper.caughtUp(); // a request still in flight after the stop starts nothing either
    expect(seen.queries - atStop).toBe(0);
  });
});
