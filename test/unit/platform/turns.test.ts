import { describe, expect, it } from 'vitest';
import { withTurn } from '#shared/domain/turns';
import type { Store } from '#shared/store/store';

const tick = () => new Promise((r) => setTimeout(r, 1));

const IN_FLIGHT = 4;
const turn = <T>(store: Store, key: string, run: () => Promise<T>) => withTurn(store, key, IN_FLIGHT, run);

describe('Function: withTurn', () => {
  it('lets at most a few operations on one key run at once, in arrival order, and other keys freely', async () => {
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
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => turn(store, 'brg_hot', job(i))));
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(peak).toBe(IN_FLIGHT);
    expect(order.slice(IN_FLIGHT)).toEqual([...order.slice(IN_FLIGHT)].sort((a, b) => a - b));

    running = 0;
    peak = 0;
    await Promise.all(Array.from({ length: 10 }, (_, i) => turn(store, `brg_${i}`, job(i))));
    expect(peak).toBe(10);
  });

  it('passes the turn on when an operation fails', async () => {
    const store = {} as Store;
    const failing = Array.from({ length: 6 }, () =>
      turn(store, 'brg_x', async () => {
        await tick();
        throw new Error('boom');
      }).catch((e: Error) => e.message),
    );
    expect(await Promise.all(failing)).toEqual(Array(6).fill('boom'));
    expect(await turn(store, 'brg_x', async () => 'ok')).toBe('ok');
  });
});
