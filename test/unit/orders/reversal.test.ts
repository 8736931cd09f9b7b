import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyBps } from '#shared/domain/money';
import { reversalFor } from '#shared/domain/orders/reversal';

describe('Commission reversal', () => {
  it('never reverses more than the commission in total, and all of it on a full refund (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.array(fc.integer({ min: 1, max: 1_000_000_000 }), { minLength: 1, maxLength: 12 }),
        (amount, bps, parts) => {
          const commission = applyBps(amount, bps);
          let total = 0;
          let reversed = 0;
          for (const p of parts) {
            if (total + p > amount) continue;
            const r = reversalFor(commission, amount, total, total + p);
            expect(r).toBeGreaterThanOrEqual(0);
            total += p;
            reversed += r;
            expect(reversed).toBeLessThanOrEqual(commission);
          }
          if (total < amount) reversed += reversalFor(commission, amount, total, amount);
          expect(reversed).toBe(commission);
        },
      ),
    );
  });

  it('rounds each step toward the payer (floor of the cumulative share)', () => {
    expect(reversalFor(777, 10001, 0, 3333)).toBe(258);
    expect(reversalFor(777, 10001, 3333, 6666)).toBe(259);
    expect(reversalFor(777, 10001, 6666, 10001)).toBe(260);
  });
});
