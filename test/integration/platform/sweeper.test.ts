import { describe, expect, it, vi } from 'vitest';
import { iso } from '#shared/clock';
import { StaleReadError } from '#shared/domain/ledger/errors';
import { dueIndex } from '#shared/store/keys';
import { sweepOnce } from '#shared/sweeper';
import { createHarness } from '../../support/harness.ts';

describe('Function: sweepOnce', () => {
  it('handles what came due, logs a transient failure as a warning and any other as an error', async () => {
    const h = await createHarness();
    const due = iso(h.clock.now() - 1000);
    for (const id of ['ok', 'stale', 'broken'])
      await h.deps.store.put({
        pk: `SWEEPTEST#${id}`,
        sk: 'X',
        entity: 'test',
        id,
        ...dueIndex('sweep-test', due, id),
      });
    const warn = vi.spyOn(h.deps.log, 'warn');
    const error = vi.spyOn(h.deps.log, 'error');
    const seen: string[] = [];
    const task = {
      name: 'sweep-test',
      async handle(item: Record<string, unknown>) {
        seen.push(String(item.id));
        if (item.id === 'stale') throw new StaleReadError('entry x');
        if (item.id === 'broken') throw new Error('a real failure');
      },
    };
    expect(await sweepOnce(h.deps, [task])).toBe(1);
    expect(seen.sort()).toEqual(['broken', 'ok', 'stale']);
    expect(warn).toHaveBeenCalledWith(
      'sweep task retried next sweep',
      expect.objectContaining({ pk: 'SWEEPTEST#stale' }),
    );
    expect(error).toHaveBeenCalledWith('sweep task failed', expect.objectContaining({ pk: 'SWEEPTEST#broken' }));
    expect(error).toHaveBeenCalledTimes(1);
  });
});
