import { describe, expect, it } from 'vitest';
import { within } from '#shared/within';

describe('Function: within', () => {
  it('answers what the promise resolves to when it settles in time', async () => {
    expect(await within(Promise.resolve('done'), 1000)).toBe('done');
  });

  it('answers undefined when the time passes first, and the value when the promise is first', async () => {
    const never = new Promise<string>(() => {});
    expect(await within(never, 20)).toBeUndefined();
    expect(await within(new Promise((r) => setTimeout(() => r(1), 5)), 60_000)).toBe(1);
  });

  it('answers undefined at once for no time at all, and waits for the promise for an infinite time', async () => {
    expect(await within(Promise.resolve('done'), 0)).toBeUndefined();
    expect(await within(new Promise((r) => setTimeout(() => r('late'), 30)), Number.POSITIVE_INFINITY)).toBe('late');
  });

  it('passes a rejection on', async () => {
    await expect(within(Promise.reject(new Error('failed')), 1000)).rejects.toThrow('failed');
  });
});
