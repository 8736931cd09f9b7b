import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cutSchedule, NEW_USER_BONUS_FACTOR, nextCut } from '#shared/domain/bargains/cut-schedule';

const harmonic = (n: number) => {
  let h = 0;
  for (let k = 1; k <= n; k++) h += 1 / k;
  return h;
};

/** Random bargain rules within the campaign schema's bounds: floor < original, spread ≥ helpers. */
const rulesArb = fc
  .record({
    helpers: fc.integer({ min: 1, max: 500 }),
    floorPrice: fc.integer({ min: 0, max: 1_000_000_000 }),
    extra: fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 100_000_000_000 })),
    seed: fc.string({ minLength: 1, maxLength: 30 }),
  })
  .map((r) => ({ ...r, originalPrice: r.floorPrice + r.helpers + r.extra, total: r.helpers + r.extra }));

describe('Function: cutSchedule', () => {
  it('splits the spread into exactly helpersRequired integer cuts ≥ 1 summing to the total', () => {
    fc.assert(
      fc.property(rulesArb, ({ total, helpers, seed }) => {
        const s = cutSchedule(total, helpers, seed);
        expect(s).toHaveLength(helpers);
        for (const c of s) {
          expect(Number.isSafeInteger(c)).toBe(true);
          expect(c).toBeGreaterThanOrEqual(1);
        }
        expect(s.reduce((a, b) => a + b, 0)).toBe(total);
      }),
      { numRuns: 300 },
    );
  });

  it('is front-loaded: never increases from one helper to the next', () => {
    fc.assert(
      fc.property(rulesArb, ({ total, helpers, seed }) => {
        const s = cutSchedule(total, helpers, seed);
        for (let i = 1; i < s.length; i++) expect(s[i]!).toBeLessThanOrEqual(s[i - 1]!);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps every cut within the documented bounds', () => {
    fc.assert(
      fc.property(rulesArb, ({ total, helpers, seed }) => {
        const s = cutSchedule(total, helpers, seed);
        const excess = total - helpers;
        const hn = harmonic(helpers);
        s.forEach((c, i) => {
          const k = i + 1;
          const lower = 1 + Math.floor((excess * (2 / 3)) / (k * hn) - 1e-6);
          const upper = 2 + (excess * 1.5) / (k * hn) + 1e-6;
          expect(c).toBeGreaterThanOrEqual(lower);
          expect(c).toBeLessThanOrEqual(upper);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('is reproducible from its seed, and the seed matters', () => {
    fc.assert(
      fc.property(rulesArb, ({ total, helpers, seed }) => {
        expect(cutSchedule(total, helpers, seed)).toEqual(cutSchedule(total, helpers, seed));
      }),
      { numRuns: 100 },
    );
    const a = cutSchedule(100_000, 50, 'brg_A');
    const b = cutSchedule(100_000, 50, 'brg_B');
    expect(a).not.toEqual(b);
  });

  it('gives the first helper of a 50-helper chain a large cut and the last ones small cuts', () => {
    const s = cutSchedule(150_000, 50, 'brg_example');
    expect(s[0]!).toBeGreaterThan(150_000 / 10);
    expect(s[49]!).toBeLessThan(s[0]! / 20);
  });

  it('refuses a total smaller than the number of helpers', () => {
    expect(() => cutSchedule(4, 5, 's')).toThrow(RangeError);
    expect(() => cutSchedule(10, 0, 's')).toThrow(RangeError);
  });
});

describe('Function: nextCut', () => {
  it('holds every price invariant of API.md along a whole chain, with or without new-user bonuses', () => {
    fc.assert(
      fc.property(
        rulesArb,
        fc.array(fc.boolean(), { minLength: 500, maxLength: 500 }),
        ({ total, helpers, seed, originalPrice, floorPrice }, newUsers) => {
          const schedule = cutSchedule(total, helpers, seed);
          let price = originalPrice;
          let cuts = 0;
          for (let count = 0; count < helpers; count++) {
            const cut = nextCut({
              schedule,
              helperCount: count,
              remaining: price - floorPrice,
              bonus: newUsers[count]!,
            });
            expect(cut).toBeGreaterThanOrEqual(1);
            if (count < helpers - 1)
              expect(cut).toBeLessThanOrEqual(schedule[count]! * (newUsers[count] ? NEW_USER_BONUS_FACTOR : 1));
            price -= cut;
            cuts += cut;
            expect(price).toBeGreaterThanOrEqual(floorPrice);
            expect(cuts).toBe(originalPrice - price);
            expect(price === floorPrice).toBe(count + 1 === helpers);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('without bonuses, follows the schedule exactly', () => {
    fc.assert(
      fc.property(rulesArb, ({ total, helpers, seed }) => {
        const schedule = cutSchedule(total, helpers, seed);
        let remaining = total;
        schedule.forEach((scheduled, count) => {
          const cut = nextCut({ schedule, helperCount: count, remaining, bonus: false });
          expect(cut).toBe(scheduled);
          remaining -= cut;
        });
        expect(remaining).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('lets the helper who completes the chain take exactly the remainder', () => {
    expect(nextCut({ schedule: [5, 3, 2], helperCount: 2, remaining: 1, bonus: true })).toBe(1);
    expect(nextCut({ schedule: [5, 3, 2], helperCount: 2, remaining: 7, bonus: false })).toBe(7);
  });

  it('refuses a chain that needs no more helpers', () => {
    expect(() => nextCut({ schedule: [1], helperCount: 1, remaining: 0, bonus: false })).toThrow(RangeError);
  });
});
