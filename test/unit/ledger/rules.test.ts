import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Balance, EntryState, LedgerEntry } from '#shared/domain/ledger/ledger.schema';
import {
  addDeltas,
  BUCKETS,
  bucketOf,
  clampReversal,
  csvField,
  csvLine,
  daysBetween,
  entryIdFor,
  entryOrderKey,
  findFailures,
  formatAmount,
  isEligible,
  mergeBalanceChanges,
  mergeShardPages,
  moveDelta,
  payoutThreshold,
  reconcile,
  resolvePeriod,
  reversalPlacement,
  sumEntries,
} from '#shared/domain/ledger/rules';

const entry = (over: Partial<LedgerEntry>): LedgerEntry => {
  const base = {
    payeeId: 'p1',
    asset: 'cash' as const,
    amount: 100,
    kind: 'commission' as const,
    cause: { type: 'order' as const, id: 'o1' },
    state: 'available' as EntryState,
    createdAt: '2026-11-24T10:00:00.000Z',
    unlockAt: '2026-11-24T10:00:00.000Z',
    held: false,
    ...over,
  };
  return { id: entryIdFor(base.cause.type, base.cause.id, base.payeeId, base.kind), ...base, ...over } as LedgerEntry;
};
const balanceOf = (entries: LedgerEntry[], payeeId = 'p1'): Balance => ({
  payeeId,
  asset: 'cash',
  ...sumEntries(entries.filter((e) => e.payeeId === payeeId)),
});

describe('Rule: entryIdFor', () => {
  it('derives the same id from the same cause, payee and kind, and a different one when any differs', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (type, id, payee) => {
        const a = entryIdFor(type, id, payee, 'commission');
        expect(a).toBe(entryIdFor(type, id, payee, 'commission'));
        expect(a).toMatch(/^led_[0-9a-f]{32}$/);
        expect(a).not.toBe(entryIdFor(type, id, payee, 'commission_reversal'));
        expect(a).not.toBe(entryIdFor(type, `${id}x`, payee, 'commission'));
      }),
    );
  });

  it('cannot be confused by separators inside the parts', () => {
    expect(entryIdFor('a', 'b#c', 'd', 'commission')).not.toBe(entryIdFor('a', 'b', 'c#d', 'commission'));
  });
});

describe('Rule: balance arithmetic', () => {
  const states: EntryState[] = ['locked', 'available', 'in_payout', 'paid', 'rejected'];
  const arbEntry = fc.record({
    amount: fc.integer({ min: -100_000, max: 100_000 }),
    state: fc.constantFrom(...states),
    held: fc.boolean(),
  });

  it('moving an entry between buckets keeps the sum of the balance equal to the sum of the entries', () => {
    fc.assert(
      fc.property(fc.array(arbEntry), fc.nat(), fc.constantFrom(...states), fc.boolean(), (list, pick, to, held) => {
        if (list.length === 0) return;
        const i = pick % list.length;
        const before = sumEntries(list);
        const e = list[i]!;
        const delta = moveDelta(e.amount, bucketOf(e.state, e.held), bucketOf(to, held));
        const after = sumEntries(list.map((x, j) => (j === i ? { ...x, state: to, held } : x)));
        for (const b of BUCKETS) expect(after[b]).toBe(before[b] + (delta[b] ?? 0));
      }),
    );
  });

  it('counts held entries in held whatever their state, and rejected ones nowhere', () => {
    expect(bucketOf('locked', true)).toBe('held');
    expect(bucketOf('available', true)).toBe('held');
    expect(bucketOf('rejected', true)).toBeNull();
    expect(bucketOf('in_payout', false)).toBe('inPayout');
  });

  it('merges changes to one balance so a transaction touches it once', () => {
    const merged = mergeBalanceChanges([
      { payeeId: 'a', asset: 'cash', delta: { locked: 5 }, payable: false },
      { payeeId: 'a', asset: 'cash', delta: { locked: -5, available: 3 }, payable: true },
      { payeeId: 'a', asset: 'points', delta: { available: 1 }, payable: true },
    ]);
    expect(merged).toEqual([
      { payeeId: 'a', asset: 'cash', delta: { available: 3 }, payable: true },
      { payeeId: 'a', asset: 'points', delta: { available: 1 }, payable: true },
    ]);
    expect(addDeltas({ paid: 1 }, { paid: -1 })).toEqual({});
  });
});

describe('Rule: reversals', () => {
  it('never reverse more than is left of the commission, in total', () => {
    fc.assert(
      fc.property(fc.nat(1_000_000), fc.array(fc.nat(1_000_000)), (commission, requests) => {
        let reversed = 0;
        for (const r of requests) {
          const amt = clampReversal(r, commission, reversed);
          expect(amt).toBeGreaterThanOrEqual(0);
          reversed += amt;
        }
        expect(reversed).toBeLessThanOrEqual(commission);
      }),
    );
  });

  it('follow the commission: locked with it, available after, held with it, void when it was rejected', () => {
    const now = '2026-11-25T00:00:00.000Z';
    const unlockAt = '2026-12-01T00:00:00.000Z';
    expect(reversalPlacement({ state: 'locked', held: false, unlockAt }, now)).toEqual({
      state: 'locked',
      held: false,
      unlockAt,
    });
    expect(reversalPlacement({ state: 'paid', held: false, unlockAt }, now)).toEqual({
      state: 'available',
      held: false,
      unlockAt: now,
    });
    expect(reversalPlacement({ state: 'available', held: true, unlockAt }, now)).toMatchObject({ held: true });
    expect(reversalPlacement({ state: 'rejected', held: true, unlockAt }, now)).toMatchObject({ state: 'rejected' });
  });
});

describe('Rule: payout eligibility', () => {
  it('needs the net available to reach minAmount and every campaign minPayout, and to be positive', () => {
    expect(payoutThreshold(100, [200, 50])).toBe(200);
    expect(payoutThreshold(100, [])).toBe(100);
    expect(isEligible(199, 200)).toBe(false);
    expect(isEligible(200, 200)).toBe(true);
    expect(isEligible(0, 0)).toBe(false);
    expect(isEligible(-5, 0)).toBe(false);
  });
});

describe('Rule: CSV and formatting', () => {
  it('formats minor units exactly, with the sign, and points without decimals', () => {
    expect(formatAmount(1999, 'cash')).toBe('19.99');
    expect(formatAmount(-5, 'cash')).toBe('-0.05');
    expect(formatAmount(100, 'cash')).toBe('1.00');
    expect(formatAmount(7, 'points')).toBe('7');
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), (n) => {
        expect(Math.round(Number(formatAmount(n, 'cash')) * 100)).toBe(n);
      }),
    );
  });

  it('quotes fields with commas or quotes and defuses formula-like text', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('=SUM(A1)')).toBe("'=SUM(A1)");
    expect(csvLine(entry({ amount: -5, payeeId: 'x,y' })).split(',').length).toBeGreaterThan(12);
  });
});

describe('Rule: periods', () => {
  it('defaults to the last 31 days and refuses reversed or over-long periods', () => {
    const now = Date.parse('2026-11-24T10:00:00.000Z');
    expect(resolvePeriod({}, now)).toEqual({ from: '2026-10-24T10:00:00.000Z', to: '2026-11-24T10:00:00.000Z' });
    expect(resolvePeriod({ from: '2026-11-25T00:00:00.000Z', to: '2026-11-24T00:00:00.000Z' }, now)).toHaveProperty(
      'error',
    );
    expect(resolvePeriod({ from: '2024-01-01T00:00:00.000Z' }, now)).toHaveProperty('error');
    // Only a `from` still ahead: an empty period, not a reversed one.
    expect(resolvePeriod({ from: '2026-12-01T00:00:00.000Z' }, now)).toEqual({
      from: '2026-12-01T00:00:00.000Z',
      to: '2026-12-01T00:00:00.000Z',
    });
    expect(daysBetween('2026-11-24T23:00:00.000Z', '2026-11-26T01:00:00.000Z')).toEqual([
      '2026-11-24',
      '2026-11-25',
      '2026-11-26',
    ]);
  });
});

describe('Rule: reconcile', () => {
  const c1 = entry({ amount: 1000, state: 'paid', payoutId: 'pay_1' });
  const r1 = entry({
    amount: -300,
    kind: 'commission_reversal',
    cause: { type: 'refund', id: 'r1' },
    state: 'available',
    reverses: c1.id,
  });
  const payouts = [
    { id: 'pay_1', asset: 'cash' as const, status: 'confirmed' as const, total: 1000, minAmount: 100, createdAt: '' },
  ];
  const items = [{ payoutId: 'pay_1', payeeId: 'p1', amount: 1000, status: 'paid' as const, entryIds: [c1.id] }];

  it('is ok when balances, payouts and causes agree, and reports a negative available balance as it is', () => {
    const entries = [c1, r1];
    const r = reconcile({
      entries,
      balances: [balanceOf(entries)],
      balanceEntries: entries,
      payouts,
      payoutItems: items,
    });
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    const neg = r.checks.find((c) => c.name === 'negative_available_reported')!;
    expect(neg.detail).toContain('p1 cash available -300');
  });

  it('names the payee whose balance differs from its entries, and a clamped negative balance', () => {
    const entries = [c1, r1];
    const clamped = { ...balanceOf(entries), available: 0 };
    const r = reconcile({ entries, balances: [clamped], balanceEntries: entries, payouts, payoutItems: items });
    expect(r.ok).toBe(false);
    expect(r.checks.find((c) => c.name === 'balances_match_entries')!.detail).toContain('p1 cash available');
    expect(r.checks.find((c) => c.name === 'negative_available_reported')!.ok).toBe(false);
  });

  it('flags a paid entry whose payout is not confirmed or does not list it, and a cause settled twice', () => {
    const twin = { ...c1, id: 'led_twin' };
    const entries = [c1, twin];
    const r = reconcile({
      entries,
      balances: [balanceOf(entries)],
      balanceEntries: entries,
      payouts: [{ ...payouts[0]!, status: 'pending' }],
      payoutItems: items,
    });
    expect(r.checks.find((c) => c.name === 'paid_entries_in_one_confirmed_payout')!.detail).toContain(c1.id);
    const dup = r.checks.find((c) => c.name === 'no_cause_settled_twice')!;
    expect(dup.ok).toBe(false);
    expect(dup.detail).toContain('led_twin');
  });

  it('flags reversals adding up to more than their commission, and payout totals that do not add up', () => {
    const c = entry({ amount: 100, state: 'available' });
    const over = entry({
      amount: -150,
      kind: 'commission_reversal',
      cause: { type: 'refund', id: 'rx' },
      reverses: c.id,
    });
    const entries = [c, over];
    const r = reconcile({
      entries,
      balances: [balanceOf(entries)],
      balanceEntries: entries,
      payouts: [{ ...payouts[0]!, total: 5 }],
      payoutItems: [],
    });
    expect(r.checks.find((x) => x.name === 'reversals_within_commission')!.ok).toBe(false);
    expect(r.checks.find((x) => x.name === 'payout_totals_match')!.detail).toContain('pay_1');
  });

  it('counts entries in a payout being confirmed as in it, paid or not yet', () => {
    const paid = entry({ amount: 600, state: 'paid', payoutId: 'pay_1' });
    const waiting = entry({ amount: 400, state: 'in_payout', cause: { type: 'order', id: 'o2' }, payoutId: 'pay_1' });
    const entries = [paid, waiting];
    const r = reconcile({
      entries,
      balances: [balanceOf(entries)],
      balanceEntries: entries,
      payouts: [{ ...payouts[0]!, status: 'confirming' }],
      payoutItems: [{ ...items[0]!, status: 'in_payout', entryIds: [paid.id, waiting.id] }],
    });
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.checks.find((c) => c.name === 'paid_entries_in_one_confirmed_payout')!.detail).toContain(
      '1 payouts being confirmed',
    );
  });

  it('names the payee or payout each failure compares, and none for what never changes once written', () => {
    const twin = { ...c1, id: 'led_twin' };
    const entries = [c1, twin];
    const found = findFailures({
      entries,
      balances: [{ ...balanceOf(entries), paid: 1 }],
      balanceEntries: entries,
      payouts: [{ ...payouts[0]!, total: 5 }],
      payoutItems: items,
    });
    expect(found.filter((f) => f.check === 'balances_match_entries').map((f) => f.payeeId)).toEqual(['p1']);
    expect(found.filter((f) => f.check === 'payout_totals_match').map((f) => f.payoutId)).toEqual(['pay_1']);
    expect(found.filter((f) => f.check === 'no_cause_settled_twice').every((f) => !f.payeeId && !f.payoutId)).toBe(
      true,
    );
  });

  it('lists what kept changing in totals.unsettled without failing a check', () => {
    const r = reconcile({ entries: [], balances: [], balanceEntries: [], payouts: [], payoutItems: [] }, [], ['p9']);
    expect(r.ok).toBe(true);
    expect(r.totals.unsettled).toEqual(['p9']);
    expect(r.checks[0]!.detail).toContain('not compared, changing on every re-read: p9');
  });
});

describe('Rule: mergeShardPages', () => {
  it('pages through sharded day lists in global (createdAt, id) order with no gap and no repeat', () => {
    const arbShards = fc.array(fc.uniqueArray(fc.integer({ min: 0, max: 10_000 }), { maxLength: 30 }), {
      minLength: 1,
      maxLength: 8,
    });
    fc.assert(
      fc.property(
        arbShards,
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 5 }),
        (raw, limit, pageSize) => {
          const shards = raw.map((xs, s) =>
            [...xs]
              .map((x) => entry({ id: `led_${s}_${x}`, createdAt: `2026-11-24T${String(x).padStart(6, '0')}` }))
              .sort((a, b) => (entryOrderKey(a) < entryOrderKey(b) ? -1 : 1)),
          );
          const read = (s: number, after: string | null, n: number) => {
            const rest = shards[s]!.filter((e) => after === null || entryOrderKey(e) > after);
            return { items: rest.slice(0, Math.min(n, pageSize)), more: rest.length > Math.min(n, pageSize) };
          };
          let after: (string | null | false)[] = shards.map(() => null);
          const out: string[] = [];
          for (let round = 0; round < 10_000 && !after.every((a) => a === false); round++) {
            const pages = after.map((a, s) => (a === false ? undefined : read(s, a, limit)));
            const m = mergeShardPages(pages, after, limit);
            out.push(...m.taken.map(entryOrderKey));
            after = m.after;
          }
          const all = shards.flat().map(entryOrderKey).sort();
          expect(out).toEqual(all);
        },
      ),
    );
  });
});
