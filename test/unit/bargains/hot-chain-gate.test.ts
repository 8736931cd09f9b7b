import { describe, expect, it } from 'vitest';
import { HELPS_IN_FLIGHT_PER_CHAIN, withChainTurn } from '#shared/domain/bargains/hot-chain-gate';
import type { Store } from '#shared/store/store';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('Function: withChainTurn', () => {
  it('lets at most a few helps of one chain run at once, in arrival order, and other chains freely', async () => {
    const store = {} as Store;
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const job = (i: number) => async () => {
      running++;
      peak = Math.max(peak, running);
      await tick();
      order.push(i);
      running--;
      return i;
    };
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => withChainTurn(store, 'brg_hot', job(i))));
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(peak).toBe(HELPS_IN_FLIGHT_PER_CHAIN);
    expect(order.slice(HELPS_IN_FLIGHT_PER_CHAIN)).toEqual(
      [...order.slice(HELPS_IN_FLIGHT_PER_CHAIN)].sort((a, b) => a - b),
    );

    running = 0;
    peak = 0;
    await Promise.all(Array.from({ length: 10 }, (_, i) => withChainTurn(store, `brg_${i}`, job(i))));
    expect(peak).toBe(10);
  });

  it('passes the turn on when a help fails', async () => {
    const store = {} as Store;
    const failing = Array.from({ length: 6 }, () =>
      withChainTurn(store, 'brg_x', async () => {
        await tick();
        throw new Error('boom');
      }).catch((e: Error) => e.message),
    );
    expect(await Promise.all(failing)).toEqual(Array(6).fill('boom'));
    expect(await withChainTurn(store, 'brg_x', async () => 'ok')).toBe('ok');
  });
});
