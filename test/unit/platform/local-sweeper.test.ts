import { describe, expect, it } from 'vitest';
import type { Deps } from '#shared/deps';
import { noteDueItem } from '#shared/store/due-soon';
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
      noteDueItem(new Date(Date.now() + 30).toISOString());
      await expect.poll(() => seen.queries, { timeout: 2000 }).toBeGreaterThan(0);
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
